#include "cli/csv_table.hpp"

#include <charconv>  // for the shortest round-trip text of a float
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <stdexcept>

#include "hemolens/atomic_file.hpp"

namespace fs = std::filesystem;

namespace hemolens::cli {
namespace {

template <typename T>
std::string shortest(T v) {
  if (std::isnan(v)) return "";
  char text[64];
  const auto r = std::to_chars(text, text + sizeof text, v);
  return std::string(text, r.ptr);
}

}  // namespace

char table_separator(const std::string& file, const std::string& format) {
  if (format == "csv") return ',';
  if (format == "tsv") return '\t';
  if (!format.empty()) throw std::runtime_error("unknown table format '" + format + "' (csv or tsv)");
  if (file == "-") return ',';
  const std::string ext = fs::path(file).extension().string();
  if (ext == ".csv" || ext == ".CSV") return ',';
  if (ext == ".tsv" || ext == ".tab" || ext == ".TSV") return '\t';
  throw std::runtime_error(file + ": a table is written as .csv or .tsv (or - for standard output); got '" + ext +
                           "' (--format csv|tsv forces one)");
}

std::string csv_field(const std::string& s, char sep) {
  if (s.find_first_of(std::string{sep, '"', '\n', '\r'}) == std::string::npos) return s;
  std::string o = "\"";
  for (char c : s) o += c == '"' ? std::string("\"\"") : std::string(1, c);
  return o + "\"";
}

std::string format_number(float v) { return shortest(v); }
std::string format_number(double v) { return shortest(v); }

std::string format_fixed(double v, int digits) {
  if (std::isnan(v)) return "";
  char text[64];
  std::snprintf(text, sizeof text, "%.*f", digits, v);
  return text;
}

void CsvTable::add(const std::string& name, Cell cell) {
  for (const auto& n : names_)
    if (n == name) throw std::logic_error("table column '" + name + "' added twice");
  names_.push_back(name);
  cells_.push_back(std::move(cell));
}

void CsvTable::write(std::ostream& out, std::size_t rows, char sep) const {
  for (std::size_t c = 0; c < names_.size(); ++c) out << (c ? std::string(1, sep) : "") << csv_field(names_[c], sep);
  out << '\n';
  std::string line;
  for (std::size_t r = 0; r < rows; ++r) {
    line.clear();
    for (std::size_t c = 0; c < cells_.size(); ++c) {
      if (c) line += sep;
      line += csv_field(cells_[c](r), sep);
    }
    line += '\n';
    out << line;
  }
}

void CsvTable::write(const std::string& file, std::size_t rows, char sep) const {
  if (file == "-") {
    write(std::cout, rows, sep);
    if (!std::cout.flush()) throw std::runtime_error("cannot write to standard output");
    return;
  }
  write_file_atomic(file, [&](std::ostream& out) { write(out, rows, sep); });
}

}  // namespace hemolens::cli

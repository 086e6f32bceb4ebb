// Tables written the way pandas reads them with one `pd.read_csv(FILE)` (`sep="\t"` for .tsv):
// a header of unique names, one line per row, a field quoted only when it holds the
// separator, a quote or a line break, numbers as the shortest text that reads back to the same
// value, and a missing value as an empty field (NaN in pandas). `export`, `predict`, `score`
// and `schema --format csv` all write through CsvTable, so every table reads the same way.
//
// A command builds its table as a list of columns in order; a column computes its cell from
// the row index when the table is written, so adding a column is one add() call in the place
// it belongs and a table of a whole store costs no memory beyond one line.
#pragma once
#include <cstddef>
#include <functional>
#include <iosfwd>
#include <string>
#include <vector>

namespace hemolens::cli {

// ',' for FILE.csv and for "-" (stdout), '\t' for FILE.tsv or FILE.tab; `format` ("csv" or
// "tsv", when given) wins over the extension. Another extension is refused, naming the file.
char table_separator(const std::string& file, const std::string& format = "");

// Quoted (with quotes doubled) when it holds the separator, a quote or a line break.
std::string csv_field(const std::string& s, char sep = ',');

// The shortest text that reads back to the same float / double; "" for NaN (missing).
std::string format_number(float v);
std::string format_number(double v);
// With `digits` after the point ("0.921800"): probabilities and scores, where a fixed width reads best.
std::string format_fixed(double v, int digits);

class CsvTable {
 public:
  using Cell = std::function<std::string(std::size_t row)>;

  // Throws on a name the table already has: pandas would rename the second one silently.
  void add(const std::string& name, Cell cell);
  const std::vector<std::string>& names() const { return names_; }

  void write(std::ostream& out, std::size_t rows, char sep) const;
  // To `file` atomically (whole or absent), or to stdout for "-".
  void write(const std::string& file, std::size_t rows, char sep) const;

 private:
  std::vector<std::string> names_;
  std::vector<Cell> cells_;
};

// A cell of the first `n` rows (the images of a table that lists skipped files after them);
// the rows after those are empty.
template <typename F>
CsvTable::Cell first_rows(std::size_t n, F value) {
  return [n, value](std::size_t row) { return row < n ? std::string(value(row)) : std::string(); };
}

}  // namespace hemolens::cli

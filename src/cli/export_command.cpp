// `hemolens export STORE -o FILE.csv`: a feature store as one table, for pandas, R or a
// spreadsheet: one row per image with its id, path, true label, size and quality flags by
// name, then every feature (or those chosen) under its schema name.
//
//   import pandas as pd
//   df = pd.read_csv("features.csv")        # numeric columns come back as numbers
#include <cstdio>
#include <memory>

#include "cli/commands.hpp"
#include "cli/csv_table.hpp"
#include "cli/store_columns.hpp"
#include "hemolens/store.hpp"

namespace hemolens::cli {
namespace {

struct ExportArgs {
  std::string store, output, skipped, format;
  std::vector<std::string> groups, features;
};

void write_skipped(const StoreData& s, const std::string& file, const std::string& format) {
  CsvTable t;
  t.add("path", [&s](std::size_t r) { return s.skipped[r].path; });
  t.add("reason", [&s](std::size_t r) { return s.skipped[r].reason; });
  t.write(file, s.skipped.size(), table_separator(file, format));
}

void run(const ExportArgs& a) {
  const char sep = table_separator(a.output, a.format);
  if (!a.skipped.empty()) table_separator(a.skipped, a.format);  // refuse a bad name before any work
  if (!a.skipped.empty() && a.skipped == a.output) throw std::runtime_error("--skipped must name another file than -o");
  const StoreData s = read_store(a.store);
  const std::vector<std::size_t> features = choose_features(s, a.groups, a.features);
  CsvTable t;
  add_id_column(t, s);
  add_path_column(t, s);
  add_label_column(t, s);
  add_size_columns(t, s);
  add_flag_columns(t, s);
  add_feature_columns(t, s, features);
  t.write(a.output, s.rows, sep);
  if (!a.skipped.empty()) write_skipped(s, a.skipped, a.format);
  // The summary goes to stderr when the table goes to stdout, so a pipe gets the table alone.
  std::FILE* say = a.output == "-" ? stderr : stdout;
  std::fprintf(say, "exported %zu images x %zu features (%zu columns) to %s", s.rows, features.size(), t.names().size(),
               a.output == "-" ? "standard output" : a.output.c_str());
  if (!a.skipped.empty()) std::fprintf(say, "; %zu skipped files to %s", s.skipped.size(), a.skipped.c_str());
  else if (!s.skipped.empty()) std::fprintf(say, "; %zu skipped files not exported (--skipped FILE)", s.skipped.size());
  std::fprintf(say, "\n");
}

void add_export_command(CLI::App& app) {
  auto a = std::make_shared<ExportArgs>();
  CLI::App* cmd = app.add_subcommand("export", "write a store as a CSV/TSV table: id, path, label, size, quality flags, features");
  cmd->add_option("store", a->store, "HDF5 feature store")->required()->check(CLI::ExistingFile);
  cmd->add_option("-o,--output", a->output, "the table: FILE.csv, FILE.tsv, or - for standard output")->required();
  cmd->add_option("--groups", a->groups, "only the features of these groups (shape, colour, texture, moments, quality)")
      ->delimiter(',');
  cmd->add_option("--features", a->features, "only these features: names or patterns such as 'nucleus_*' (with --groups: both)")
      ->delimiter(',');
  cmd->add_option("--skipped", a->skipped, "also write the files extract could not use (path, reason) to this table");
  cmd->add_option("--format", a->format, "csv or tsv, whatever the file name says")->check(CLI::IsMember({"csv", "tsv"}));
  cmd->callback([a] { run(*a); });
}

const Registration kRegistration{25, add_export_command};

}  // namespace
}  // namespace hemolens::cli

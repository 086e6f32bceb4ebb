// Typos on the command line get a suggestion: `hemolens trian` says "did you mean train?",
// `hemolens predict ... --outptu x` "did you mean --output?". CLI11 2.1 has no suggestions of
// its own, so the nearest word is found here (edit distance, a swap of two letters counting
// as one edit).
#pragma once
#include <CLI/CLI.hpp>

#include <string>
#include <vector>

namespace hemolens::cli {

// Edits (insert, delete, substitute, swap two neighbours) between a and b.
std::size_t edit_distance(const std::string& a, const std::string& b);

// The known word nearest to `word`, or "" when none is within a third of its length (at least 2).
std::string nearest_word(const std::string& word, const std::vector<std::string>& known);

// Before parsing: a first word that is no command of `app` is reported with the nearest
// command and the list of commands. Returns the exit status to end with, or -1 when the
// command line names a known command (or none).
int check_command_name(const CLI::App& app, int argc, char** argv);

// After a parse error: CLI11's message, plus the nearest option for each unknown one.
int report_parse_error(CLI::App& app, const CLI::ParseError& e, int argc, char** argv);

}  // namespace hemolens::cli

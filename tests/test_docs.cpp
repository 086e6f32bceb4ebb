// The documentation a user follows: every job-spec key the parser knows is in docs/jobs.md,
// every relative link resolves, nothing points outside the repository (an install or a clone
// has no /work/shared), and the README shows the notebook, cluster and test-set paths.
#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <sstream>

#include "pipeline/job_spec.hpp"
#include "support.hpp"

namespace fs = std::filesystem;
using namespace hemolens;

namespace {

// The keys a table of the spec accepts, as the parser lists them for an unknown key.
std::vector<std::string> keys_known_in(const std::string& table) {
  const std::string base = "name = \"t\"\ndataset = \"/d\"\nrun_dir = \"/r\"\n";
  const std::string text = base + (table.empty() ? "" : "[" + table + "]\n") + "no_such_key = 1\n";
  const std::string message = test::error_of([&] { parse_job_spec(text, "/s/keys.toml"); });
  const auto open = message.find("(known here: ");
  if (open == std::string::npos) return {};
  std::vector<std::string> keys;
  std::stringstream list(message.substr(open + 13, message.rfind(')') - open - 13));
  for (std::string k; std::getline(list, k, ',');) keys.push_back(k.substr(k.find_first_not_of(' ')));
  return keys;
}

// The files a user reads: the README, docs/, and what ships with the job specs and scripts.
std::vector<fs::path> user_docs() {
  std::vector<fs::path> out = {test::source_dir() / "README.md", test::source_dir() / "slurm" / "README.md"};
  for (const char* dir : {"docs", "jobs", "slurm", "scripts"})
    for (const auto& e : fs::directory_iterator(test::source_dir() / dir))
      if (e.is_regular_file()) out.push_back(e.path());
  return out;
}

}  // namespace

TEST(Docs, EverySpecKeyIsDocumented) {
  const std::string doc = test::read_file(test::source_dir() / "docs" / "jobs.md");
  ASSERT_FALSE(doc.empty());
  std::size_t checked = 0;
  for (const char* table : {"", "extract", "model", "test", "slurm", "slurm.train"}) {
    const std::vector<std::string> keys = keys_known_in(table);
    EXPECT_FALSE(keys.empty()) << "no key list for [" << table << "]";
    for (const auto& k : keys) {
      if (doc.find("`[" + k + "]`") != std::string::npos || doc.find("[slurm." + k + "]") != std::string::npos) continue;  // a table
      EXPECT_NE(doc.find("`" + k + "`"), std::string::npos) << "docs/jobs.md does not document " << (*table ? std::string(table) + "." : "") << k;
      ++checked;
    }
  }
  EXPECT_GT(checked, 25u);
  for (const std::string table : {"[extract]", "[model]", "[test]", "[slurm]", "[slurm.STAGE]"})
    EXPECT_NE(doc.find(table), std::string::npos) << table;
}

TEST(Docs, NothingPointsOutsideTheRepository) {
  for (const fs::path& file : user_docs()) {
    const std::string text = test::read_file(file);
    EXPECT_EQ(text.find("/work/"), std::string::npos) << file << " names a path outside the repository";
  }
}

TEST(Docs, EveryRelativeLinkResolves) {
  const std::regex link(R"(\]\(([^)#\s]+)(#[^)]*)?\))");
  for (const fs::path& file : user_docs()) {
    if (file.extension() != ".md") continue;
    const std::string text = test::read_file(file);
    for (auto it = std::sregex_iterator(text.begin(), text.end(), link); it != std::sregex_iterator(); ++it) {
      const std::string target = (*it)[1];
      if (target.find("://") != std::string::npos || target.rfind("mailto:", 0) == 0) continue;
      EXPECT_TRUE(fs::exists(file.parent_path() / target)) << file << " links to " << target << ", which does not exist";
    }
  }
}

TEST(Docs, TheReadmeShowsTheNotebookClusterAndTestSetPaths) {
  const std::string readme = test::read_file(test::source_dir() / "README.md");
  for (const char* must : {"hemolens export", "pd.read_csv", "cmake --install build --prefix", "module load hemolens", "[test]",
                           "fraction ="})
    EXPECT_NE(readme.find(must), std::string::npos) << "README.md lacks " << must;
}

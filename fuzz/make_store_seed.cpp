// Writes small valid feature stores with the real StoreWriter: the seeds of fuzz_store (a
// mutated real store reaches far deeper into the reader than random bytes).
#include <cstdio>
#include <string>
#include <vector>

#include "hemolens/store.hpp"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_store_seed DIR\n");
    return 2;
  }
  using namespace hemolens;
  StoreMeta meta;  // what the reader checks; the rest may stay empty
  meta.schema_version = 3;
  meta.schema_hash = "0123456789abcdef";
  meta.created = "2026-01-01T00:00:00Z";  // fixed, so the seeds (and what is fuzzed) are the same on every machine
  for (int rows : {0, 3}) {
    StoreWriter w(std::string(argv[1]) + "/store-" + std::to_string(rows) + ".h5", {"cell_area", "nucleus_mean_r"}, {"shape", "colour"},
                  {"basophil", "eosinophil"}, meta);
    std::vector<StoreRow> r;
    std::vector<float> f;
    for (int i = 0; i < rows; ++i) {
      r.push_back({"id" + std::to_string(i), "basophil/" + std::to_string(i) + ".jpg", i % 2 - (i == 2), 363, 360, std::uint32_t(i)});
      f.insert(f.end(), {100.f + float(i), 0.5f * float(i)});
    }
    w.append(r, f.data());
    w.add_skipped({{"bad.jpg", "not an image"}});
    w.commit();
  }
  return 0;
}

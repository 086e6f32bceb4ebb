#include "pipeline/test_split.hpp"

#include <xxhash.h>  // for the stable hash of each path

#include <algorithm>
#include <cmath>
#include <map>
#include <stdexcept>
#include <utility>

namespace hemolens {

HeldOut hold_out(const StoreData& store, double fraction) {
  if (!(fraction > 0 && fraction < 1)) throw std::invalid_argument("hold_out: the fraction must be in (0, 1)");
  std::map<int, std::vector<std::pair<std::uint64_t, std::size_t>>> by_class;  // label -> (hash, row)
  for (std::size_t r = 0; r < store.rows; ++r) {
    const StoreRow& row = store.images[r];
    if (row.label >= 0) by_class[row.label].emplace_back(XXH3_64bits(row.path.data(), row.path.size()), r);
  }
  if (by_class.empty())
    throw std::runtime_error("a held-out test set needs labelled images, and " + store.meta.dataset +
                             " has none (give a folder per class, or a path,label CSV)");
  std::vector<bool> is_test(store.rows, false);
  for (auto& [label, members] : by_class) {
    // Ties (equal hashes) are broken by row, which follows the sorted path: still stable.
    std::sort(members.begin(), members.end());
    const std::size_t n = members.size();
    std::size_t k = std::size_t(std::lround(fraction * double(n)));
    if (n >= 2) k = std::clamp<std::size_t>(k, 1, n - 1);
    else k = 0;
    for (std::size_t i = 0; i < k; ++i) is_test[members[i].second] = true;
  }
  HeldOut h;
  for (std::size_t r = 0; r < store.rows; ++r) (is_test[r] ? h.test : h.train).push_back(r);
  return h;
}

HeldOut split_store(const std::filesystem::path& all, double fraction, const std::filesystem::path& train_out,
                    const std::filesystem::path& test_out) {
  const StoreData store = read_store(all);
  const HeldOut h = hold_out(store, fraction);
  StoreData train = select_rows(store, h.train);
  train.skipped = store.skipped;  // listed once, with the images the run trained on
  write_store(test_out, select_rows(store, h.test));
  write_store(train_out, train);
  return h;
}

}  // namespace hemolens

// Runs of set pixels in a mask row (CPU only): labelling, hole filling and the shape
// measurements work on runs, so a blob costs a few operations per run instead of per pixel.
#pragma once
#include <cstdint>
#include <cstring>
#include <utility>

namespace hemolens::cpu {

// First x >= from where (row[x] != 0) != set, or w. Masks are mostly long runs, so whole
// 8-byte words are skipped: all zero, or (for set pixels) no zero byte in the word.
inline int skip_while(const std::uint8_t* row, int x, int w, bool set) {
  constexpr std::uint64_t kLow = 0x0101010101010101ull, kHigh = 0x8080808080808080ull;
  while (x + 8 <= w) {
    std::uint64_t word;
    std::memcpy(&word, row + x, 8);
    const bool all_same = set ? ((word - kLow) & ~word & kHigh) == 0 : word == 0;
    if (!all_same) break;
    x += 8;
  }
  while (x < w && (row[x] != 0) == set) ++x;
  return x;
}

// f(x0, x1) for each run [x0, x1] (inclusive) of set pixels in row[0, w), left to right.
template <class F>
void for_each_run(const std::uint8_t* row, int w, F&& f) {
  for (int x = 0; x < w;) {
    x = skip_while(row, x, w, false);
    if (x >= w) break;
    const int x0 = x;
    x = skip_while(row, x, w, true);
    f(x0, x - 1);
  }
}

// First and last set pixel of a row, {-1, -1} when there is none; eight bytes at a time.
inline std::pair<int, int> row_extent(const std::uint8_t* row, int w) {
  const int first = skip_while(row, 0, w, false);
  if (first == w) return {-1, -1};
  int last = w;
  for (std::uint64_t word; last - 8 > first; last -= 8) {
    std::memcpy(&word, row + last - 8, 8);
    if (word) break;
  }
  while (!row[last - 1]) --last;
  return {first, last - 1};
}

}  // namespace hemolens::cpu

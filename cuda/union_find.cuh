// Concurrent union-find over one image's pixels (Playne and Hawick 2018), the merge step of
// cuda/components.cu. Parents are image-local indices (32-bit: plan_layout refuses images of
// 2^31 pixels); -1 marks a pixel outside the set. Templated on an atomics policy A with
//   static std::int32_t load(std::int32_t& x);
//   static std::int32_t fetch_min(std::int32_t& x, std::int32_t v);   // returns the old value
// so that the same code runs with libcu++ atomics (DeviceAtomics) on the GPU and on the host,
// and under a test scheduler that makes every atomic step a point where another thread may run
// (tests/cuda/test_union_find.cpp). Every access to parent[] goes through A: plain loads would
// race with the atomicMin of other threads (and read stale L1 lines on another SM).
//
// Why it is correct, with any interleaving and relaxed ordering:
//  - parent[x] <= x always, and parent values only decrease (fetch_min), so every chain
//    x -> parent[x] -> ... is strictly decreasing and ends at a root (parent[r] == r); a
//    stale read only gives an older, larger ancestor on the same chain, never a wrong tree.
//  - unite(a, b) hangs the larger root under the smaller with fetch_min. If the old value was
//    still a, a was a root and is now linked: done. Otherwise another thread linked a to `old`
//    meanwhile, and fetch_min may just have replaced that link a -> old by a -> b. The loop
//    then continues with a = old: it unites old with b, so the link to old is never lost.
//    (Retrying from the same a instead lost exactly those links: 249 of 1,000 random 12 x 12
//    masks got wrong labels in the interleaving test with that code.)
//  - each retry continues with a smaller root than the last, so unite terminates.
// After the merge kernel every component is one tree whose root is its smallest index, that
// is its first pixel in raster order, which makes the labels canonical (the CPU's order).
#pragma once
#include <cstdint>

#include "exec.cuh"

HEMOLENS_CUDA_BEGIN

struct DeviceAtomics {
  HL_HD static std::int32_t load(std::int32_t& x) { return exec::atomic_load(x); }
  HL_HD static std::int32_t fetch_min(std::int32_t& x, std::int32_t v) { return exec::atomic_min(x, v); }
};

template <class A>
HL_HD std::int32_t find_root(std::int32_t* parent, std::int32_t x) {
  for (;;) {
    const std::int32_t p = A::load(parent[x]);
    if (p == x) return x;
    x = p;
  }
}

template <class A>
HL_HD void unite(std::int32_t* parent, std::int32_t a, std::int32_t b) {
  for (;;) {
    a = find_root<A>(parent, a);
    b = find_root<A>(parent, b);
    if (a == b) return;
    if (a < b) {
      const std::int32_t t = a;
      a = b;
      b = t;
    }
    const std::int32_t old = A::fetch_min(parent[a], b);
    if (old == a) return;
    a = old;
  }
}

// The merge step for one set pixel (y, x) of an image of w x h whose set pixels are those with
// in_set(mask value): unites it with its set neighbours to the left and above (and the two
// upper diagonals with 8-connectivity); every edge of the pixel graph is seen once.
template <class A>
HL_HD void merge_pixel(std::int32_t* parent, const std::uint8_t* mask, bool invert, int w, int y, int x, int connectivity) {
  const std::int32_t p = y * w + x;
  auto link = [&](int dy, int dx) {
    const int yy = y + dy, xx = x + dx;
    if (yy < 0 || xx < 0 || xx >= w) return;
    const std::int32_t q = yy * w + xx;
    if ((mask[q] != 0) != invert) unite<A>(parent, p, q);
  };
  link(0, -1);
  link(-1, 0);
  if (connectivity == 8) {
    link(-1, -1);
    link(-1, 1);
  }
}

HEMOLENS_CUDA_END

// Batched segmentation preprocessing (cuda/preprocess.hpp, cuda/stages.cuh). Every formula is
// the CPU reference's, in the same integer arithmetic; the per-image tables (brightness levels,
// histograms) are counted through exec::count, in shared memory per tile on the GPU.
#include <string>
#include <vector>

#include "preprocess.hpp"
#include "stages.cuh"

HEMOLENS_CUDA_BEGIN
namespace {

constexpr int kLevels = 766;                 // R + G + B in 0..765
constexpr int kBrightnessBins = kLevels * 4;  // per level: the pixel count, then the sums of R, G, B

HL_HD inline int reflect101(int i, int n) {  // as src/cpu/filters.cpp
  if (n == 1) return 0;
  while (i < 0 || i >= n) i = i < 0 ? -i : 2 * n - 2 - i;
  return i;
}

// Per image and brightness level: pixel count and channel sums (white balance, step 1).
struct CountBrightness {
  const std::uint8_t* rgb;
  template <class C>
  HL_HD void operator()(const Pixel& px, const C& counter) const {
    const std::uint8_t* q = rgb + 3 * px.p;
    const int level = q[0] + q[1] + q[2];
    counter.add(level);
    for (int ch = 0; ch < 3; ++ch) counter.add(kLevels + level * 3 + ch, q[ch]);
  }
};

// One item per image: the background colour of the brightest fraction and the gains (white
// balance, step 2; the loop of src/cpu/color.cpp).
struct Gains {
  const ImageInfo* image;
  const std::uint64_t* brightness;
  double bright_fraction;
  int target;
  std::int32_t* background;
  std::int32_t* gain;
  HL_HD void operator()(std::size_t i) const {
    const std::uint64_t* count = brightness + i * kBrightnessBins;
    const std::uint64_t* sums = count + kLevels;
    const double want = bright_fraction * double(std::uint64_t(image[i].height) * std::uint64_t(image[i].width));
    std::int64_t sum[3] = {0, 0, 0}, above = 0;
    for (int t = kLevels - 1; t >= 0; --t) {
      above += std::int64_t(count[t]);
      for (int c = 0; c < 3; ++c) sum[c] += std::int64_t(sums[t * 3 + c]);
      if (double(above) >= want) break;
    }
    for (int c = 0; c < 3; ++c) {
      const int bg = above ? int((sum[c] + above / 2) / above) : 255;
      background[i * 3 + c] = bg;
      gain[i * 3 + c] = (target * 256 + exec::max_of(bg, 1) / 2) / exec::max_of(bg, 1);
    }
  }
};

// Balanced R, G, B and the stain channel max(B - G, 0).
struct Balance {
  const std::uint8_t* rgb;
  const std::int32_t* gain;
  std::uint8_t *r, *g, *b, *stain;
  HL_HD void operator()(const Pixel& px) const {
    const std::uint8_t* q = rgb + 3 * px.p;
    const std::int32_t* k = gain + 3 * std::size_t(px.image);
    const int vr = exec::min_of(255, (q[0] * k[0] + 128) >> 8), vg = exec::min_of(255, (q[1] * k[1] + 128) >> 8);
    const int vb = exec::min_of(255, (q[2] * k[2] + 128) >> 8);
    r[px.p] = std::uint8_t(vr);
    g[px.p] = std::uint8_t(vg);
    b[px.p] = std::uint8_t(vb);
    stain[px.p] = std::uint8_t(vb > vg ? vb - vg : 0);
  }
};

// Gaussian 5x5 with binomial weights summing to 256, horizontal pass: 8 fractional bits kept
// in 16 bits (reflect-101 borders).
struct GaussianRows {
  const std::uint8_t* in;
  std::uint16_t* tmp;
  HL_HD void operator()(const Pixel& px) const {
    const unsigned k[5] = {16, 64, 96, 64, 16};
    const std::uint8_t* row = in + (px.p - std::uint64_t(px.x));
    unsigned acc = 0;
    for (int j = 0; j < 5; ++j) acc += row[reflect101(px.x + j - 2, px.width)] * k[j];
    tmp[px.p] = std::uint16_t(acc);
  }
};

// Vertical pass: 16 fractional bits, rounded half up.
struct GaussianColumns {
  const std::uint16_t* tmp;
  std::uint8_t* out;
  HL_HD void operator()(const Pixel& px) const {
    const unsigned k[5] = {16, 64, 96, 64, 16};
    const std::uint16_t* col = tmp + px.start() + std::uint64_t(px.x);
    unsigned acc = 0;
    for (int j = 0; j < 5; ++j) acc += unsigned(col[std::size_t(reflect101(px.y + j - 2, px.height)) * std::size_t(px.width)]) * k[j];
    out[px.p] = std::uint8_t((acc + (1u << 15)) >> 16);
  }
};

// Median of the 3x3 window, borders replicated: the 5th of the 9 values.
struct Median3 {
  const std::uint8_t* in;
  std::uint8_t* out;
  HL_HD void operator()(const Pixel& px) const {
    const std::uint8_t* base = in + px.start();
    const int w = px.width, h = px.height;
    std::uint8_t v[9];
    int k = 0;
    for (int dy = -1; dy <= 1; ++dy)
      for (int dx = -1; dx <= 1; ++dx)
        v[k++] = base[std::size_t(exec::min_of(exec::max_of(px.y + dy, 0), h - 1)) * std::size_t(w) + std::size_t(exec::min_of(exec::max_of(px.x + dx, 0), w - 1))];
    for (int a = 0; a <= 4; ++a)  // partial selection sort: v[4] ends as the median
      for (int b = a + 1; b < 9; ++b)
        if (v[b] < v[a]) {
          const std::uint8_t t = v[a];
          v[a] = v[b];
          v[b] = t;
        }
    out[px.p] = v[4];
  }
};

struct CountLevels {
  const std::uint8_t* plane;
  template <class C>
  HL_HD void operator()(const Pixel& px, const C& counter) const {
    counter.add(plane[px.p]);
  }
};

}  // namespace

void preprocess(exec::Context& c, const Layout& l, const std::uint8_t* rgb, double bright_fraction, int target, const PreprocessOut& out) {
  c.stage("preprocess");
  const std::size_t n = l.images, mark = c.mark();
  auto* brightness = c.take<std::uint64_t>(n * kBrightnessBins);
  auto* gain = c.take<std::int32_t>(n * 3);
  auto* stain = c.take<std::uint8_t>(l.extent);
  auto* blurred = c.take<std::uint8_t>(l.extent);
  auto* tmp = c.take<std::uint16_t>(l.extent);
  c.zero(brightness, n * kBrightnessBins * sizeof(std::uint64_t));
  c.zero(out.stain_hist, n * 256 * sizeof(std::uint32_t));
  c.zero(out.green_hist, n * 256 * sizeof(std::uint32_t));
  exec::count(c, l, packed(brightness, kBrightnessBins), kBrightnessBins, 255, CountBrightness{rgb});
  exec::for_each(c, n, Gains{l.image, brightness, bright_fraction, target, out.background, gain});
  exec::for_each_pixel(c, l, Balance{rgb, gain, out.r, out.g, out.b, stain});
  const std::uint8_t* plane[2] = {stain, out.g};
  std::uint8_t* smooth[2] = {out.stain, out.green};
  std::uint32_t* hist[2] = {out.stain_hist, out.green_hist};
  for (int k = 0; k < 2; ++k) {
    exec::for_each_pixel(c, l, GaussianRows{plane[k], tmp});
    exec::for_each_pixel(c, l, GaussianColumns{tmp, blurred});
    exec::for_each_pixel(c, l, Median3{blurred, smooth[k]});
    exec::count(c, l, packed(hist[k], 256), 256, 1, CountLevels{smooth[k]});
  }
  c.release(mark);
}

bool plan_packed_batch(const PackedBatch& batch, LayoutPlan& plan, std::string* error) {
  std::vector<std::size_t> pixel_offset(batch.images);
  for (std::size_t i = 0; i < batch.images; ++i) {
    if (batch.offsets[i] % 3) {
      if (error) *error = "packed batch: image " + std::to_string(i) + " starts at a byte offset that is not a multiple of 3";
      return false;
    }
    pixel_offset[i] = batch.offsets[i] / 3;
  }
  return plan_layout(pixel_offset.data(), batch.heights, batch.widths, batch.images, plan, error);
}

PreprocessOut upload_and_preprocess(exec::Context& c, const Layout& l, const PackedBatch& batch, std::size_t pixels, double bright_fraction,
                                    int balance_target) {
  c.stage("upload");
  auto* rgb = c.take<std::uint8_t>(pixels * 3);
  c.upload(rgb, batch.rgb, pixels * 3);
  PreprocessOut d;
  for (std::uint8_t** p : {&d.r, &d.g, &d.b, &d.stain, &d.green}) {
    *p = c.take<std::uint8_t>(pixels);
    c.zero(*p, pixels);  // the gaps between images are never written
  }
  d.background = c.take<std::int32_t>(batch.images * 3);
  d.stain_hist = c.take<std::uint32_t>(batch.images * 256);
  d.green_hist = c.take<std::uint32_t>(batch.images * 256);
  preprocess(c, l, rgb, bright_fraction, balance_target, d);
  return d;
}

bool preprocess(const PackedBatch& batch, double bright_fraction, int balance_target, Preprocessed& out, std::string* error, Path path) {
  out = Preprocessed{};
  const std::size_t n = batch.images;
  LayoutPlan plan;
  if (!plan_packed_batch(batch, plan, error)) return false;
  const std::size_t pixels = plan.extent;
  for (auto* v : {&out.r, &out.g, &out.b, &out.stain, &out.green}) v->assign(pixels, 0);
  out.background.assign(n * 3, 0);
  out.stain_hist.assign(n * 256, 0);
  out.green_hist.assign(n * 256, 0);
  return exec::run_once(
      path,
      [&](exec::Context& c) {
        const Layout l = upload_layout(c, plan);
        const PreprocessOut d = upload_and_preprocess(c, l, batch, pixels, bright_fraction, balance_target);
        c.stage("download");
        std::uint8_t* const planes[5] = {d.r, d.g, d.b, d.stain, d.green};
        std::vector<std::uint8_t>* host[5] = {&out.r, &out.g, &out.b, &out.stain, &out.green};
        for (int k = 0; k < 5; ++k) c.download(host[k]->data(), planes[k], pixels);
        c.download(out.background.data(), d.background, n * 3 * sizeof(std::int32_t));
        c.download(out.stain_hist.data(), d.stain_hist, n * 256 * sizeof(std::uint32_t));
        c.download(out.green_hist.data(), d.green_hist, n * 256 * sizeof(std::uint32_t));
      },
      error);
}

HEMOLENS_CUDA_END

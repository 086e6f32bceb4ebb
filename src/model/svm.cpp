#include "model/svm.hpp"

#include <libsvm/svm.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <string>

#include "hemolens/atomic_file.hpp"

namespace hemolens::model {
namespace {

constexpr char kMagic[8] = {'H', 'L', 'S', 'V', 'M', '0', '0', '1'};
// Standardized values are clipped: one extreme measurement (a segmentation failure) must not
// dominate every kernel distance.
constexpr float kClip = 6.0f;
// Bounds a file's header must respect before its sizes are multiplied: far above any real model.
constexpr std::uint64_t kMaxClasses = 1024, kMaxFeatures = 1u << 20, kMaxVectors = 1u << 26;

void quiet(const char*) {}

}  // namespace

struct Svm::Parts {
  std::size_t classes = 0, cols = 0, vectors = 0;  // vectors: support vectors
  std::vector<float> mean, inv_scale;
  double gamma = 0;
  std::vector<int> label, count;               // per model class (classes that had rows)
  std::vector<double> rho, prob_a, prob_b;     // per pair of model classes
  std::vector<double> coef;                    // (model classes - 1) x support vectors
  std::vector<float> sv;                       // support vectors x cols, standardized

  // LIBSVM's view of the arrays above (it reads them, never frees them: free_sv = 0).
  std::vector<svm_node> nodes;
  std::vector<svm_node*> sv_rows;
  std::vector<double*> coef_rows;
  svm_model model{};

  float standardize(float v, std::size_t j) const {
    if (std::isnan(v)) return 0.0f;
    return std::clamp((v - mean[j]) * inv_scale[j], -kClip, kClip);
  }

  // One row as LIBSVM's node list (every feature, then the -1 terminator).
  void to_nodes(const float* x, svm_node* out) const {
    for (std::size_t j = 0; j < cols; ++j) out[j] = {int(j + 1), double(standardize(x[j], j))};
    out[cols] = {-1, 0.0};
  }

  void build_view() {
    const std::size_t l = vectors, k = label.size();
    nodes.assign(l * (cols + 1), svm_node{});
    sv_rows.resize(l);
    for (std::size_t i = 0; i < l; ++i) {
      svm_node* row = nodes.data() + i * (cols + 1);
      for (std::size_t j = 0; j < cols; ++j) row[j] = {int(j + 1), double(sv[i * cols + j])};
      row[cols] = {-1, 0.0};
      sv_rows[i] = row;
    }
    coef_rows.resize(k - 1);
    for (std::size_t r = 0; r + 1 < k; ++r) coef_rows[r] = coef.data() + r * l;
    model = svm_model{};
    model.param.svm_type = C_SVC;
    model.param.kernel_type = RBF;
    model.param.gamma = gamma;
    model.nr_class = int(k);
    model.l = int(l);
    model.SV = sv_rows.data();
    model.sv_coef = coef_rows.data();
    model.rho = rho.data();
    model.probA = prob_a.data();
    model.probB = prob_b.data();
    model.label = label.data();
    model.nSV = count.data();
    model.free_sv = 0;
  }
};

Svm::Svm() : parts_(std::make_unique<Parts>()) {}
Svm::~Svm() = default;
Svm::Svm(Svm&&) noexcept = default;
Svm& Svm::operator=(Svm&&) noexcept = default;

std::size_t Svm::classes() const { return parts_->classes; }
std::size_t Svm::features() const { return parts_->cols; }
std::size_t Svm::support_vectors() const { return parts_->vectors; }

Svm Svm::train(const float* features, const std::vector<int>& labels, std::size_t rows, std::size_t cols, std::size_t classes,
               const SvmParams& p) {
  if (labels.size() != rows) throw std::invalid_argument("Svm::train: one label a row");
  Svm s;
  Parts& m = *s.parts_;
  m.classes = classes;
  m.cols = cols;
  // Mean and spread of every feature over the training rows (NaN left out).
  m.mean.assign(cols, 0.0f);
  m.inv_scale.assign(cols, 0.0f);
  for (std::size_t j = 0; j < cols; ++j) {
    double sum = 0, sq = 0;
    std::size_t n = 0;
    for (std::size_t i = 0; i < rows; ++i) {
      const float v = features[i * cols + j];
      if (std::isnan(v)) continue;
      sum += v;
      sq += double(v) * v;
      ++n;
    }
    const double mean = n ? sum / double(n) : 0.0;
    const double var = n ? std::max(0.0, sq / double(n) - mean * mean) : 0.0;
    m.mean[j] = float(mean);
    m.inv_scale[j] = var > 0 ? float(1.0 / std::sqrt(var)) : 0.0f;  // a constant feature says nothing
  }
  // The problem in LIBSVM's form, and gamma = 1 / (features x variance of the standardized
  // values) (scikit-learn's "scale"): about 1 / features, less where clipping shrank the spread.
  std::vector<svm_node> nodes(rows * (cols + 1));
  std::vector<svm_node*> x(rows);
  std::vector<double> y(rows);
  double sum = 0, sq = 0;
  std::vector<double> per_class(classes, 0);
  for (std::size_t i = 0; i < rows; ++i) {
    x[i] = nodes.data() + i * (cols + 1);
    m.to_nodes(features + i * cols, x[i]);
    for (std::size_t j = 0; j < cols; ++j) {
      sum += x[i][j].value;
      sq += x[i][j].value * x[i][j].value;
    }
    if (labels[i] < 0 || std::size_t(labels[i]) >= classes) throw std::invalid_argument("Svm::train: a label outside the classes");
    y[i] = labels[i];
    ++per_class[std::size_t(labels[i])];
  }
  const double n = double(rows * cols), var = n > 0 ? sq / n - (sum / n) * (sum / n) : 0.0;
  m.gamma = var > 0 ? 1.0 / (double(cols) * var) : 1.0 / double(std::max<std::size_t>(cols, 1));

  std::vector<int> weight_label;
  std::vector<double> weight;
  std::size_t present = 0;
  for (std::size_t c = 0; c < classes; ++c) {
    if (per_class[c] == 0) continue;
    ++present;
    weight_label.push_back(int(c));
    weight.push_back(p.balance_classes ? double(rows) / (double(classes) * per_class[c]) : 1.0);
  }
  if (present < 2) throw std::invalid_argument("Svm::train: needs rows of at least two classes");

  svm_problem prob{int(rows), y.data(), x.data()};
  svm_parameter param{};
  param.svm_type = C_SVC;
  param.kernel_type = RBF;
  param.gamma = m.gamma;
  param.cache_size = 200;
  param.eps = 1e-3;
  param.C = p.c;
  param.nr_weight = int(weight.size());
  param.weight_label = weight_label.data();
  param.weight = weight.data();
  param.shrinking = 1;
  param.probability = 1;
  if (const char* err = svm_check_parameter(&prob, &param)) throw std::invalid_argument(std::string("LIBSVM: ") + err);
  svm_set_print_string_function(quiet);
  // LIBSVM shuffles the rows of its probability folds with rand(): seeded, training repeats.
  std::srand(unsigned(p.seed));
  svm_model* trained = svm_train(&prob, &param);

  // Copy the model out of LIBSVM (its support vectors point into `nodes`) into owned arrays.
  const std::size_t k = std::size_t(trained->nr_class), l = std::size_t(trained->l), pairs = k * (k - 1) / 2;
  m.vectors = l;
  m.label.assign(trained->label, trained->label + k);
  m.count.assign(trained->nSV, trained->nSV + k);
  m.rho.assign(trained->rho, trained->rho + pairs);
  m.prob_a.assign(trained->probA, trained->probA + pairs);
  m.prob_b.assign(trained->probB, trained->probB + pairs);
  m.coef.resize((k - 1) * l);
  for (std::size_t r = 0; r + 1 < k; ++r) std::copy_n(trained->sv_coef[r], l, m.coef.begin() + std::ptrdiff_t(r * l));
  m.sv.assign(l * cols, 0.0f);
  for (std::size_t i = 0; i < l; ++i)
    for (const svm_node* nd = trained->SV[i]; nd->index != -1; ++nd) m.sv[i * cols + std::size_t(nd->index - 1)] = float(nd->value);
  svm_free_and_destroy_model(&trained);
  m.build_view();
  return s;
}

std::vector<float> Svm::predict_proba(const float* features, std::size_t rows, int threads) const {
  const Parts& m = *parts_;
  std::vector<float> out(rows * m.classes, 0.0f);
  const auto body = [&](const tbb::blocked_range<std::size_t>& r) {
    std::vector<svm_node> x(m.cols + 1);
    std::vector<double> prob(m.label.size());
    for (std::size_t i = r.begin(); i < r.end(); ++i) {
      m.to_nodes(features + i * m.cols, x.data());
      svm_predict_probability(&m.model, x.data(), prob.data());
      for (std::size_t c = 0; c < m.label.size(); ++c) out[i * m.classes + std::size_t(m.label[c])] = float(prob[c]);
    }
  };
  const tbb::blocked_range<std::size_t> all(0, rows, 16);
  if (threads > 0) {
    tbb::task_arena arena(threads);
    arena.execute([&] { tbb::parallel_for(all, body); });
  } else {
    tbb::parallel_for(all, body);
  }
  return out;
}

namespace {

template <class T>
void put(std::string& out, const T* v, std::size_t n) {
  out.append(reinterpret_cast<const char*>(v), n * sizeof(T));
}

// Reads a file's bytes in order; every read is checked against what is left.
struct Reader {
  const std::string& bytes;
  std::size_t at = 0;
  template <class T>
  void get(T* v, std::size_t n) {
    std::memcpy(v, bytes.data() + at, n * sizeof(T));  // sizes were checked against the file before
    at += n * sizeof(T);
  }
  template <class T>
  void get(std::vector<T>& v, std::size_t n) {
    v.resize(n);
    get(v.data(), n);
  }
};

}  // namespace

void Svm::save(const std::filesystem::path& file) const {
  const Parts& m = *parts_;
  std::string out(kMagic, sizeof kMagic);
  const std::uint32_t head[4] = {std::uint32_t(m.classes), std::uint32_t(m.cols), std::uint32_t(m.label.size()),
                                 std::uint32_t(m.vectors)};
  put(out, head, 4);
  put(out, &m.gamma, 1);
  put(out, m.mean.data(), m.cols);
  put(out, m.inv_scale.data(), m.cols);
  put(out, m.label.data(), m.label.size());
  put(out, m.count.data(), m.count.size());
  put(out, m.rho.data(), m.rho.size());
  put(out, m.prob_a.data(), m.prob_a.size());
  put(out, m.prob_b.data(), m.prob_b.size());
  put(out, m.coef.data(), m.coef.size());
  put(out, m.sv.data(), m.sv.size());
  write_file_atomic(file, out);
}

Svm Svm::load(const std::filesystem::path& file, std::size_t classes, std::size_t features) {
  const auto bad = [&](const std::string& why) { throw std::runtime_error(file.string() + ": " + why); };
  std::error_code ec;
  const std::uintmax_t size = std::filesystem::file_size(file, ec);
  if (ec) bad("cannot read the SVM model: " + ec.message());
  const std::size_t head_bytes = sizeof kMagic + 4 * sizeof(std::uint32_t) + sizeof(double);
  if (size < head_bytes) bad("too short for an SVM model (" + std::to_string(size) + " bytes)");
  std::ifstream in(file, std::ios::binary);
  std::string head(head_bytes, '\0');
  if (!in.read(head.data(), std::streamsize(head_bytes))) bad("cannot read the SVM model");
  if (std::memcmp(head.data(), kMagic, sizeof kMagic) != 0) bad("not a hemolens SVM model (no HLSVM001 header)");
  Reader r{head, sizeof kMagic};
  std::uint32_t h[4];
  Svm s;
  Parts& m = *s.parts_;
  r.get(h, 4);
  r.get(&m.gamma, 1);
  const std::uint64_t cls = h[0], cols = h[1], k = h[2], l = h[3];
  if (cls != classes || cols != features)
    bad("an SVM for " + std::to_string(cls) + " classes and " + std::to_string(cols) + " features, the bundle says " +
        std::to_string(classes) + " and " + std::to_string(features));
  if (cls > kMaxClasses || cols < 1 || cols > kMaxFeatures || l > kMaxVectors || k < 2 || k > cls) bad("an impossible SVM header");
  const std::uint64_t pairs = k * (k - 1) / 2;
  const std::uint64_t expected = head_bytes + 8 * cols + 8 * k + 24 * pairs + 8 * (k - 1) * l + 4 * l * cols;
  if (size != expected)
    bad("holds " + std::to_string(size) + " bytes where its header needs " + std::to_string(expected) + " (truncated or padded)");
  std::string body(std::size_t(size - head_bytes), '\0');
  if (!in.read(body.data(), std::streamsize(body.size()))) bad("cannot read the SVM model");
  Reader b{body};
  m.classes = cls;
  m.cols = cols;
  m.vectors = l;
  b.get(m.mean, cols);
  b.get(m.inv_scale, cols);
  b.get(m.label, k);
  b.get(m.count, k);
  b.get(m.rho, pairs);
  b.get(m.prob_a, pairs);
  b.get(m.prob_b, pairs);
  b.get(m.coef, (k - 1) * l);
  b.get(m.sv, l * cols);

  // What LIBSVM's prediction relies on: class labels distinct and inside the bundle's classes,
  // support vector counts that add up (they index the coefficients), finite numbers.
  std::vector<bool> seen(cls, false);
  std::uint64_t total = 0;
  for (std::size_t c = 0; c < k; ++c) {
    if (m.label[c] < 0 || std::uint64_t(m.label[c]) >= cls || seen[std::size_t(m.label[c])]) bad("class labels repeat or lie outside the classes");
    seen[std::size_t(m.label[c])] = true;
    if (m.count[c] < 0) bad("a negative support vector count");
    total += std::uint64_t(m.count[c]);
  }
  if (total != l) bad("support vector counts add up to " + std::to_string(total) + ", not " + std::to_string(l));
  const auto finite = [](const auto& v) { return std::all_of(v.begin(), v.end(), [](auto x) { return std::isfinite(x); }); };
  if (!(std::isfinite(m.gamma) && m.gamma > 0)) bad("gamma must be a positive number");
  if (!finite(m.mean) || !finite(m.inv_scale) || !finite(m.rho) || !finite(m.prob_a) || !finite(m.prob_b) || !finite(m.coef) || !finite(m.sv))
    bad("holds a number that is not finite");
  m.build_view();
  return s;
}

}  // namespace hemolens::model

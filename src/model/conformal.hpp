// Prediction sets with a coverage guarantee: split-conformal prediction.
//
// A nonconformity score says how badly a class fits an image; on calibration images (ones the
// model did not train on) the score of the true class is taken, and its ceil((n+1)(1-alpha))-th
// smallest value q is the cut: the set of a new image holds every class whose score is at most
// q, plus the top class (a set is never empty). If the calibration images and the new ones are
// exchangeable, the set holds the true class with probability >= 1 - alpha.
//
//   lac   score 1 - p_c ("least ambiguous set-valued classifier", Sadinle, Lei and Wasserman
//         2019): the set is every class with p_c >= 1 - q; the smallest sets on average.
//   aps   score = the probability of the classes ranked above c plus p_c ("adaptive prediction
//         sets", Romano, Sesia and Candes 2020; not randomised): the set is the classes taken
//         in order of probability while their running total stays at or below q.
//   class_conditional  one cut per true class (Mondrian conformal, Vovk 2003), from that
//         class's calibration images: the guarantee holds for each class, not only on average.
//         A class with too few calibration images for alpha (n_c < 1/alpha - 1) gets an
//         unbounded cut: it is in every set.
#pragma once
#include <cstddef>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace hemolens::model {

struct Conformal {
  std::string method = "lac";  // lac or aps
  bool class_conditional = true;
  double alpha = 0.01;
  std::vector<double> cut;  // one cut (marginal) or one per class; +infinity: every class

  // The classes of the set of one row of probabilities, most probable first.
  std::vector<int> set(const float* proba, std::size_t classes) const;

  nlohmann::json to_json() const;  // an unbounded cut is written as null
  // Throws std::runtime_error naming the field that is missing or out of range.
  static Conformal from_json(const nlohmann::json& j, std::size_t classes);
};

// Fits the cut(s) on calibration rows (rows x classes probabilities, true labels).
Conformal fit_conformal(const std::vector<float>& proba, const std::vector<int>& labels, std::size_t classes, double alpha,
                        const std::string& method, bool class_conditional);

// How sets did on labelled rows: coverage (share of sets holding the true class) and mean
// set size, overall and per true class.
struct SetStats {
  double coverage = 0, mean_size = 0, singleton_share = 0;
  std::vector<double> class_coverage, class_mean_size;
  std::vector<std::size_t> class_rows;
};
SetStats set_stats(const Conformal& c, const std::vector<float>& proba, const std::vector<int>& labels, std::size_t classes);

}  // namespace hemolens::model

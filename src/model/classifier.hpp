// The classifier's members and how their class probabilities are combined: the boosted trees
// (always) and the RBF SVM (model/svm.hpp, when trained with one), averaged with the SVM's
// share (TrainParams::svm_weight: fixed, or chosen on the early-stopping split by
// fit_selecting_rounds).
#pragma once
#include <cstddef>
#include <optional>
#include <vector>

#include "model/svm.hpp"
#include "model/xgboost.hpp"

namespace hemolens::model {

struct SvmMember {
  Svm svm;
  double weight = 0;  // the SVM's share of the averaged probabilities, in [0, 1]
};

// rows x classes: (1 - weight) x the trees' probabilities + weight x the SVM's; the trees'
// alone without an SVM member.
std::vector<float> blend_proba(const Booster& trees, const std::optional<SvmMember>& svm, const float* features, std::size_t rows,
                               std::size_t cols, int threads);

// The SVM's share that gives the lowest log-loss on held-back rows (`labels`), from 0 to 1 in
// steps of 0.05, given both members' probabilities for them (rows x classes each).
double choose_svm_weight(const std::vector<float>& trees, const std::vector<float>& svm, const std::vector<int>& labels,
                         std::size_t classes);

}  // namespace hemolens::model

// Writes small real XGBoost models (gbtree, 3 classes, 4 features, a few rounds), trained
// through hemolens' own Booster, and an SVM member trained on the same rows: the seeds of
// fuzz_model.
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "model/svm.hpp"
#include "model/xgboost.hpp"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_model_seed DIR\n");
    return 2;
  }
  using namespace hemolens::model;
  std::mt19937 rng(1);
  std::normal_distribution<float> noise(0.0f, 1.0f);
  std::vector<float> x, y;
  for (int i = 0; i < 90; ++i) {
    const int label = i % 3;
    for (int f = 0; f < 4; ++f) x.push_back(noise(rng) + (f == label ? 2.0f : 0.0f));
    y.push_back(float(label));
  }
  DMatrix train(x.data(), 90, 4, 1);
  train.set_info("label", y);
  for (int rounds : {2, 5}) {
    Booster b({&train});
    for (const auto& [k, v] : std::vector<std::pair<std::string, std::string>>{
             {"objective", "multi:softprob"}, {"num_class", "3"}, {"max_depth", "3"}, {"nthread", "1"}, {"seed", "1"}})
      b.set_param(k, v);
    for (int r = 0; r < rounds; ++r) b.update(r, train);
    b.save(std::string(argv[1]) + "/model-" + std::to_string(rounds) + ".json");
  }
  std::vector<int> labels;
  for (float v : y) labels.push_back(int(v));
  Svm::train(x.data(), labels, 90, 4, 3, {}).save(std::string(argv[1]) + "/svm.bin");
  return 0;
}

#include "model/model_check.hpp"

#include <cstdint>
#include <limits>
#include <stdexcept>
#include <vector>

namespace hemolens::model {
namespace {

using Json = nlohmann::json;

struct Checker {
  const std::string& source;

  [[noreturn]] void fail(const std::string& what) const {
    throw std::runtime_error(source + ": " + what + " (damaged or crafted model file)");
  }

  const Json& at(const Json& j, const char* key, const std::string& where) const {
    if (!j.is_object() || !j.contains(key)) fail(where + " lacks '" + key + "'");
    return j.at(key);
  }

  // XGBoost writes its parameters as decimal strings ("366").
  std::int64_t count(const Json& j, const char* key, const std::string& where, std::int64_t most) const {
    const Json& v = at(j, key, where);
    std::int64_t n = -1;
    try {
      std::size_t used = 0;
      const std::string text = v.is_string() ? v.get<std::string>() : v.dump();
      n = std::stoll(text, &used);
      if (used != text.size()) n = -1;
    } catch (const std::exception&) {
      n = -1;
    }
    if (n < 0 || n > most) fail(where + "'s " + key + " is not a count from 0 to " + std::to_string(most));
    return n;
  }

  std::vector<std::int64_t> integers(const Json& tree, const char* key, std::size_t nodes, const std::string& where) const {
    const Json& a = at(tree, key, where);
    if (!a.is_array() || a.size() != nodes) fail(where + "'s " + key + " does not hold one value per node");
    std::vector<std::int64_t> out;
    out.reserve(nodes);
    for (const Json& v : a) {
      if (!v.is_number_integer()) fail(where + "'s " + key + " holds something other than an integer");
      out.push_back(v.get<std::int64_t>());
    }
    return out;
  }

  void per_node(const Json& tree, const char* key, std::size_t nodes, const std::string& where) const {
    const Json& a = at(tree, key, where);
    if (!a.is_array() || a.size() != nodes) fail(where + "'s " + key + " does not hold one value per node");
  }

  // One regression tree: every node's children lie in the tree, each node but the root is the
  // child of exactly one node that its parent link names, every path from the root ends at a
  // leaf, and every split is on an existing feature.
  void tree(const Json& t, const std::string& where, std::int64_t features) const {
    const Json& param = at(t, "tree_param", where);
    const auto nodes = std::size_t(count(param, "num_nodes", where, std::numeric_limits<std::int32_t>::max()));
    if (nodes == 0) fail(where + " has no nodes");
    const auto left = integers(t, "left_children", nodes, where), right = integers(t, "right_children", nodes, where);
    const auto parents = integers(t, "parents", nodes, where), split = integers(t, "split_indices", nodes, where);
    for (const char* key : {"split_conditions", "default_left", "base_weights", "loss_changes", "sum_hessian"}) per_node(t, key, nodes, where);
    if (t.contains("split_type"))
      for (const std::int64_t type : integers(t, "split_type", nodes, where))
        if (type != 0) fail(where + " has a categorical split, which hemolens never trains");
    if (t.contains("categories") && (!t["categories"].is_array() || !t["categories"].empty()))
      fail(where + " has categories, which hemolens never trains");

    std::vector<char> reached(nodes, 0);
    std::vector<std::size_t> stack{0};
    reached[0] = 1;
    while (!stack.empty()) {
      const std::size_t i = stack.back();
      stack.pop_back();
      const std::string node = where + "'s node " + std::to_string(i);
      if (left[i] == -1 && right[i] == -1) continue;  // a leaf
      if (split[i] < 0 || split[i] >= features) fail(node + " splits on feature " + std::to_string(split[i]) + " of " + std::to_string(features));
      for (const std::int64_t child : {left[i], right[i]}) {
        if (child <= 0 || std::size_t(child) >= nodes) fail(node + " has a child outside the tree");
        if (reached[std::size_t(child)]) fail(node + "'s child " + std::to_string(child) + " is reached twice (not a tree)");
        if (parents[std::size_t(child)] != std::int64_t(i)) fail(node + "'s child " + std::to_string(child) + " names another parent");
        reached[std::size_t(child)] = 1;
        stack.push_back(std::size_t(child));
      }
    }
  }

  void trees(const Json& model, std::int64_t features, std::int64_t groups) const {
    const Json& list = at(model, "trees", "the model");
    const Json& info = at(model, "tree_info", "the model");
    if (!list.is_array() || !info.is_array() || info.size() != list.size()) fail("the model's tree_info does not name one class group per tree");
    const Json& param = at(model, "gbtree_model_param", "the model");
    if (std::size_t(count(param, "num_trees", "the model", std::numeric_limits<std::int32_t>::max())) != list.size())
      fail("the model's num_trees differs from its list of trees");
    for (std::size_t k = 0; k < list.size(); ++k) {
      if (!info[k].is_number_integer() || info[k].get<std::int64_t>() < 0 || info[k].get<std::int64_t>() >= groups)
        fail("tree " + std::to_string(k) + " belongs to no class group");
      // XGBoost loads a tree into the slot its id names: an id out of order leaves a slot empty.
      const Json& id = at(list[k], "id", "tree " + std::to_string(k));
      if (!id.is_number_integer() || id.get<std::int64_t>() != std::int64_t(k)) fail("tree " + std::to_string(k) + " has the id of another tree");
      tree(list[k], "tree " + std::to_string(k), features);
    }
  }
};

}  // namespace

void require_model_well_formed(const Json& model, const std::string& source) {
  const Checker c{source};
  const Json& learner = c.at(model, "learner", "the model");
  const Json& param = c.at(learner, "learner_model_param", "the learner");
  const std::int64_t features = c.count(param, "num_feature", "the learner", std::int64_t(1) << 24);
  const std::int64_t classes = c.count(param, "num_class", "the learner", 1 << 16);
  const std::int64_t groups = classes > 0 ? classes : 1;  // num_class 0: one output (regression, binary)
  const Json& booster = c.at(learner, "gradient_booster", "the learner");
  const Json& name = c.at(booster, "name", "the booster");
  if (name == "gbtree") {
    c.trees(c.at(booster, "model", "the booster"), features, groups);
  } else if (name == "dart") {
    const Json& model = c.at(c.at(booster, "gbtree", "the booster"), "model", "the booster");
    c.trees(model, features, groups);
    const Json& drop = c.at(booster, "weight_drop", "the booster");
    if (!drop.is_array() || drop.size() != model.at("trees").size()) c.fail("the dart booster's weight_drop does not hold one weight per tree");
  } else if (name == "gblinear") {
    const Json& weights = c.at(c.at(booster, "model", "the booster"), "weights", "the booster");
    if (!weights.is_array() || std::int64_t(weights.size()) != (features + 1) * groups)
      c.fail("the linear booster does not hold one weight per feature and class, plus a bias");
  } else {
    c.fail("the booster " + name.dump() + " is not one hemolens trains");
  }
}

}  // namespace hemolens::model

// The structure of an XGBoost model file, checked before XGBoost loads it. XGBoost trusts the
// node links, split features and class groups of a JSON model when it predicts or explains:
// a child index past the tree crashed every command that loads a bundle, and a node that is
// its own child looped for ever. A bundle's hashes catch damage, not a crafted file with its
// hashes made again, so a model whose trees are not trees is refused here with a message.
#pragma once
#include <nlohmann/json.hpp>
#include <string>

namespace hemolens::model {

// Throws std::runtime_error naming `source` and what is wrong. Accepts what XGBoost 1.7 and 2.x
// write for the gbtree, dart and gblinear boosters, without categorical splits (hemolens
// trains none).
void require_model_well_formed(const nlohmann::json& model, const std::string& source);

}  // namespace hemolens::model

#include "lavender/dm/recipe.h"

#include <nlohmann/json.hpp>
#include <set>

#include "lavender/util/error.h"

namespace lavender::dm {
namespace {

int64_t factor_of(const CrossAttentionLayer& layer) {
  return int64_t{1} << layer.level;
}

bool is_mid(const CrossAttentionLayer& layer) {
  return layer.name.rfind("mid_block.", 0) == 0;
}

std::string factors_text(const std::vector<CrossAttentionLayer>& available) {
  std::set<int64_t> factors;
  for (const auto& l : available) factors.insert(factor_of(l));
  std::string text;
  for (int64_t f : factors) text += (text.empty() ? "" : ", ") + std::to_string(f);
  return text.empty() ? "none" : text;
}

SelectedLayer selected(const CrossAttentionLayer& l, double weight) {
  return {l.name, l.height, l.width, weight};
}

}  // namespace

const std::vector<std::string>& recipe_names() {
  static const std::vector<std::string> names = {"single-pass", "p2p", "daam", "small-dm"};
  return names;
}

Recipe recipe_preset(const std::string& name) {
  Recipe r;
  r.name = name;
  if (name == "single-pass") return r;
  if (name == "p2p") {
    // Maps of at most 32×32 for 64×64 latents (factor ≥ 2) from up and down blocks, equal weights.
    r.layers.clear();
    r.min_factor = 2;
    r.include_mid = false;
    return r;
  }
  if (name == "daam") {
    // DAAM sums over everything; a sum is a mean up to scale, which min-max removes.
    r.layers.clear();
    r.min_factor = 1;
    r.include_mid = true;
    r.timesteps = {100, 300, 500, 700};
    return r;
  }
  if (name == "small-dm") {
    // For the pixel-space models of `lavender train-dm` (cross-attention at half and quarter
    // resolution): the half-resolution layers only (16×16 for 32×32 images), at little noise.
    // Measured on the shapes world (test-id, IoU with the truth): with unit-scale token
    // embeddings (600 steps) factor 2 at t = 50 0.203, t = 150 0.159, t = 300 0.110; before that
    // fix (800 steps, one good run) t = 50 0.289, 150 0.222, 300 0.121, 500 0.061, t = 50 and 100
    // together 0.293, factors 2 and 4 together 0.221. One timestep keeps extraction to one pass.
    // Heads are contrast-weighted (dm/aggregate.h), over both attentions of each block (both read
    // the text in train-dm's only-cross-attention blocks). Three models trained with seeds 0, 1, 2
    // on world seed 0 (first 600 test-id pairs): the second attention's heads averaged 0.238,
    // 0.139, 0.104 (the first attention's 0.115, 0.159, 0.195: seed 2 had put colour words in one,
    // shape words in the other); contrast power 1 0.325, 0.313, 0.311; power 2 0.347, 0.336,
    // 0.329; power 4 0.354, 0.349, 0.331. With the 8×8 layers too 0.308, 0.292, 0.303 (power 1);
    // four noise samples +0.01 at four times the cost.
    r.layers = {{2, 1.0}};
    r.contrast_power = 4;
    r.timesteps = {50};
    r.image_size = 32;
    return r;
  }
  throw Error("unknown recipe '" + name + "' (known: single-pass, p2p, daam, small-dm)");
}

std::vector<SelectedLayer> select_layers(const Recipe& recipe,
                                         const std::vector<CrossAttentionLayer>& available) {
  std::vector<SelectedLayer> out;
  if (recipe.layers.empty()) {
    for (const auto& l : available)
      if (factor_of(l) >= recipe.min_factor && (recipe.include_mid || !is_mid(l)))
        out.push_back(selected(l, 1.0));
    if (out.empty())
      throw Error("recipe '" + recipe.name + "': no cross-attention layer with factor >= " +
                  std::to_string(recipe.min_factor) + " (the UNet has factors " +
                  factors_text(available) + ")");
    return out;
  }
  for (const auto& sel : recipe.layers) {
    size_t before = out.size();
    for (const auto& l : available)
      if (factor_of(l) == sel.factor) out.push_back(selected(l, sel.weight));
    if (out.size() == before)
      throw Error("recipe '" + recipe.name + "': no cross-attention layer at downsampling factor " +
                  std::to_string(sel.factor) + " (the UNet has factors " + factors_text(available) +
                  ")");
  }
  return out;
}

nlohmann::json recipe_to_json(const Recipe& recipe) {
  nlohmann::json layers = nlohmann::json::array();
  for (const auto& l : recipe.layers)
    layers.push_back({{"factor", l.factor}, {"weight", l.weight}});
  return {{"name", recipe.name},
          {"timesteps", recipe.timesteps},
          {"samples_per_timestep", recipe.samples_per_timestep},
          {"layers", layers},
          {"min_factor", recipe.min_factor},
          {"include_mid", recipe.include_mid},
          {"contrast_power", recipe.contrast_power},
          {"map_size", recipe.map_size},
          {"image_size", recipe.image_size},
          {"seed", recipe.seed}};
}

}  // namespace lavender::dm

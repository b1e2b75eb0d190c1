// How the teacher's per-word maps are made: which timesteps, how many noise samples, which
// cross-attention layers with which weights, and the output map size. Presets follow the
// published recipes METHOD.md lists ("single-pass", "p2p", "daam").
//
// Layers are chosen by their downsampling factor relative to the latent (1 = latent resolution,
// 2 = half, ...), not by absolute size, so one recipe serves any latent size and the tiny test
// UNets as well as SD's: SD 1.x at 512 px has 64×64 latents, so factor 4 is the 16×16 layers.
#pragma once

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "lavender/dm/unet.h"

namespace lavender::dm {

struct LayerSelection {
  int64_t factor = 1;   // downsampling factor relative to the latent (a power of two)
  double weight = 1.0;  // weights are normalised over the selected layers by combine_layers
};

struct Recipe {
  std::string name = "single-pass";
  std::vector<int64_t> timesteps = {100};
  int64_t samples_per_timestep = 1;
  // Explicit factors; every cross-attention layer at a listed factor gets its weight.
  std::vector<LayerSelection> layers = {{4, 0.7}, {2, 0.3}};
  // When `layers` is empty: every cross-attention layer with factor ≥ min_factor, weight 1 (the mid
  // block only when include_mid).
  int64_t min_factor = 1;
  bool include_mid = true;
  // How heads combine (dm/aggregate.h): 0, their mean; k > 0, each head's map relative to its
  // image mean, weighted by its coefficient of variation^k.
  double contrast_power = 0;
  int64_t map_size = 32;
  int64_t image_size = 512;
  uint64_t seed = 0;
};

// "single-pass" (default), "p2p", "daam", "small-dm" (train-dm's pixel models); anything else is a
// lavender::Error listing the names.
Recipe recipe_preset(const std::string& name);
const std::vector<std::string>& recipe_names();

// One chosen layer for a given latent size.
struct SelectedLayer {
  std::string name;
  int64_t height = 0, width = 0;
  double weight = 1.0;
};

// The recipe's layers among `available` (from UNet::cross_attention_layers). A listed factor
// with no layer, or a selection that is empty, is a lavender::Error naming the factor and the
// factors the UNet has.
std::vector<SelectedLayer> select_layers(const Recipe& recipe,
                                         const std::vector<CrossAttentionLayer>& available);

// For the store's store.json.
nlohmann::json recipe_to_json(const Recipe& recipe);

}  // namespace lavender::dm

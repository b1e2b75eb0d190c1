// The report's per-word map grids: for a few test records of each split, one row per word the
// ground truth marks, with the image, the truth mask, the diffusion model's map and each VLM's
// map before and after fine-tuning (the arms' first seed) side by side. The VLM maps are the
// ones `lavender eval --save-maps` kept during the eval stages.
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <string>

#include "lavender/demo/demo_plan.h"

namespace lavender::demo {

// Where eval-<model>-<split> keeps the VLM's maps (a map store).
std::string saved_vlm_maps(const std::string& out, const std::string& model,
                           const std::string& split);

// Writes, for every test split whose truth store exists, OUT/figures/maps-<split>.png (the whole
// grid as one standalone PNG) and each of its panels as OUT/figures/maps-<split>/*.png, and
// returns the report's figure list (report_html.h: [{title, caption, file, grid}], files relative
// to OUT), whose "grid" the report lays out with text labels. A source that is missing (a stage
// not run) leaves its panels crossed out in the PNG and null in the grid; a split with no truth
// is left out.
nlohmann::json write_map_grids(const DemoOptions& options, int records_per_split = 2);

}  // namespace lavender::demo

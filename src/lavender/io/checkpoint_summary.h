// What `lavender inspect` shows: each tensor (name, dtype, shape, file), totals by dtype, and
// metadata; as text for people or JSON for scripts.
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <string>

#include "lavender/io/checkpoint.h"

namespace lavender::io {

struct SummaryOptions {
  std::string filter;       // ECMAScript regex over names; empty = all
  bool show_files = false;  // add the shard each tensor lives in
};

std::string format_checkpoint_summary(const Checkpoint& ckpt, const SummaryOptions& options = {});
nlohmann::json checkpoint_summary_json(const Checkpoint& ckpt, const SummaryOptions& options = {});

// One line naming the model a folder's config.json describes ("LlavaForConditionalGeneration
// (llava)", "UNet2DConditionModel"), or "" when there is no readable config.json.
std::string describe_model_config(const std::string& folder);

}  // namespace lavender::io

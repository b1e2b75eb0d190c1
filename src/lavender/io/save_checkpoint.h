// Saving a model as a Hugging Face checkpoint folder that transformers' from_pretrained (and
// io::Checkpoint::open) loads: `config.json` plus either one `model.safetensors` or, when the
// tensors exceed the shard size, `model-0000K-of-0000N.safetensors` shards and a
// `model.safetensors.index.json` ({"metadata": {"total_size"}, "weight_map"}), every safetensors
// file carrying {"format": "pt"} metadata as transformers writes it.
//
// Crash safety: the whole folder is written into a hidden sibling (`.<name>.tmp-<pid>-<n>`, same
// parent, so the same filesystem) and renamed into place only when complete. A crash mid-save
// leaves at most that hidden folder behind, never a folder under the target name that lacks a
// shard or holds an index naming missing shards. Per-file atomic writes with the index last would
// not be enough when overwriting: stale shards of a previous save with more shards would survive.
// When the target already exists it is first renamed aside (`.<name>.old-<pid>`), then the new
// folder renamed in, then the old one deleted; a crash between the two renames leaves the target
// missing but both complete folders on disk under their hidden names.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <map>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <utility>
#include <vector>

namespace torch::nn {
class Module;
}

namespace lavender::io {

struct SaveCheckpointOptions {
  // transformers' default max_shard_size "5GB" (decimal: 5·10⁹ bytes). A tensor larger than this
  // gets a shard of its own, as huggingface_hub splits.
  uint64_t max_shard_bytes = 5'000'000'000ULL;
  // Further files to write verbatim into the folder (generation_config.json, tokenizer files...).
  std::map<std::string, std::string> extra_files;
};

struct SaveCheckpointReport {
  std::vector<std::string> files;             // written safetensors files, in shard order
  std::vector<std::string> dropped_aliases;   // names left out because they alias an earlier one
  uint64_t total_size = 0;                    // bytes of tensor data (the index's total_size)
};

// Saves `tensors` (in the order given) with `config` as `dir`/config.json. Tied weights are
// written once, as transformers does: a tensor that is the same view of the same storage as an
// earlier one (lm_head tied to embed_tokens) is left out, so list the tensor to keep first.
// Throws lavender::Error naming the path for an empty list, a duplicate name, or an I/O failure.
SaveCheckpointReport save_hf_checkpoint(const std::string& dir,
                                        const std::vector<std::pair<std::string, at::Tensor>>& tensors,
                                        const nlohmann::json& config,
                                        const SaveCheckpointOptions& options = {});

// A module's parameters then buffers, by full name, in module order, detached.
std::vector<std::pair<std::string, at::Tensor>> module_tensors(const torch::nn::Module& module);

}  // namespace lavender::io

// Writes a random-weight LLaVA-1.5 checkpoint exactly as llava-hf publishes one — transformers-4
// key names (`language_model.model.*`, `vision_tower.vision_model.*`), fp16 safetensors shards
// with a `model.safetensors.index.json`, the given config.json, tokenizer files and the CLIP
// preprocessor config — at any size up to the real 7B, for measuring loading, memory and speed
// at real scale (bench/real_size_llava.sh). Tensors are drawn and written one shard at a time,
// so a 7B checkpoint (13.5 GB) needs about one shard of memory.
//
//   make_hub_checkpoint --config CONFIG.json --out DIR [--shards 3] [--text-layers N]
//                       [--tokenizer DIR] [--seed 0]
#include <torch/torch.h>

#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "lavender/io/config/llava.h"
#include "lavender/io/json_file.h"
#include "lavender/io/safetensors.h"
#include "lavender/nn/init_guard.h"
#include "lavender/runtime/dtype.h"
#include "lavender/util/args.h"
#include "lavender/util/atomic_file.h"
#include "lavender/util/error.h"
#include "lavender/vlm/llava.h"

namespace fs = std::filesystem;
using lavender::Error;

namespace {

// Our module names (transformers 5) back to the 4.x names llava-hf's files use.
std::string hub_name(const std::string& key) {
  const std::pair<const char*, const char*> rules[] = {
      {"model.language_model.", "language_model.model."},
      {"lm_head.", "language_model.lm_head."},
      {"model.vision_tower.", "vision_tower.vision_model."},
      {"model.multi_modal_projector.", "multi_modal_projector."}};
  for (const auto& [from, to] : rules)
    if (key.rfind(from, 0) == 0) return to + key.substr(std::strlen(from));
  return key;
}

// Norm weights one, biases zero, everything else N(0, 0.02), in `dtype`.
at::Tensor random_tensor(const std::string& name, at::IntArrayRef shape, at::ScalarType dtype) {
  const bool norm = name.find("norm") != std::string::npos;
  at::Tensor t = name.size() > 5 && name.compare(name.size() - 5, 5, ".bias") == 0
                     ? torch::zeros(shape)
                 : norm ? torch::ones(shape)
                        : torch::randn(shape) * 0.02;
  return t.to(dtype);
}

const char* kPreprocessor = R"({
  "crop_size": {"height": 336, "width": 336},
  "do_center_crop": true,
  "do_convert_rgb": true,
  "do_normalize": true,
  "do_rescale": true,
  "do_resize": true,
  "image_mean": [0.48145466, 0.4578275, 0.40821073],
  "image_processor_type": "CLIPImageProcessor",
  "image_std": [0.26862954, 0.26130258, 0.27577711],
  "processor_class": "LlavaProcessor",
  "resample": 3,
  "rescale_factor": 0.00392156862745098,
  "size": {"shortest_edge": 336}
}
)";

}  // namespace

int main(int argc, char** argv) try {
  lavender::ArgParser parser("make_hub_checkpoint",
                             "Writes a random LLaVA-1.5 checkpoint in the llava-hf layout.");
  parser.option("config", "a LLaVA config.json (e.g. tests/data/hub-configs/llava-1.5-7b-hf)");
  parser.option("out", "the folder to write");
  parser.option("shards", "number of safetensors shards", "3");
  parser.option("text-layers", "decoder layers (default: the config's)", "0");
  parser.option("tokenizer", "a folder whose files are copied beside the weights");
  parser.option("seed", "random seed", "0");
  parser.option("dtype", "fp16 (llava-hf's) | bf16 | fp32", "fp16");
  if (!parser.parse(std::vector<std::string>(argv + 1, argv + argc))) {
    std::printf("%s", parser.help().c_str());
    return 0;
  }
  const std::string out = parser.get("out");
  if (out.empty() || parser.get("config").empty()) throw Error("--config and --out are required");
  nlohmann::json config = lavender::io::read_json_file(parser.get("config"));
  if (parser.get_int("text-layers") > 0)
    config["text_config"]["num_hidden_layers"] = parser.get_int("text-layers");
  torch::manual_seed(static_cast<uint64_t>(parser.get_int("seed")));
  const at::ScalarType dtype = lavender::runtime::parse_dtype(parser.get("dtype"));
  const int64_t element = static_cast<int64_t>(c10::elementSize(dtype));
  config["torch_dtype"] = lavender::runtime::torch_dtype_name(dtype);
  fs::create_directories(out);
  lavender::write_file_atomically(out + "/config.json", config.dump(2) + "\n");
  lavender::write_file_atomically(out + "/preprocessor_config.json", kPreprocessor);
  if (parser.has("tokenizer"))
    for (const auto& entry : fs::directory_iterator(parser.get("tokenizer")))
      if (entry.is_regular_file())
        fs::copy_file(entry.path(), fs::path(out) / entry.path().filename(),
                      fs::copy_options::overwrite_existing);

  // Names and shapes from the model itself, built without touching its memory.
  const auto cfg = lavender::io::config::parse_llava_config(config, parser.get("config"));
  lavender::nn::SkipInitGuard skip_init;
  lavender::vlm::LlavaForConditionalGeneration model(cfg);
  std::vector<std::pair<std::string, std::vector<int64_t>>> tensors;
  int64_t total_bytes = 0;
  for (const auto& p : model->named_parameters()) {
    tensors.emplace_back(hub_name(p.key()), p.value().sizes().vec());
    total_bytes += p.value().numel() * element;
  }
  std::sort(tensors.begin(), tensors.end());

  const int64_t shards = std::max<int64_t>(1, parser.get_int("shards"));
  const int64_t per_shard = (total_bytes + shards - 1) / shards;
  nlohmann::json weight_map = nlohmann::json::object();
  size_t next = 0;
  for (int64_t s = 0; s < shards && next < tensors.size(); ++s) {
    char name[64];
    std::snprintf(name, sizeof name, "model-%05lld-of-%05lld.safetensors",
                  static_cast<long long>(s + 1), static_cast<long long>(shards));
    std::vector<std::pair<std::string, at::Tensor>> shard;
    int64_t bytes = 0;
    while (next < tensors.size() && (bytes < per_shard || s == shards - 1)) {
      const auto& [key, shape] = tensors[next++];
      shard.emplace_back(key, random_tensor(key, shape, dtype));
      bytes += shard.back().second.numel() * element;
      weight_map[key] = name;
    }
    lavender::io::save_safetensors(out + "/" + name, shard, {{"format", "pt"}});
    std::printf("%s: %zu tensors, %.2f GB\n", name, shard.size(), bytes / 1e9);
  }
  const nlohmann::json index = {{"metadata", {{"total_size", total_bytes}}},
                                {"weight_map", weight_map}};
  lavender::write_file_atomically(out + "/model.safetensors.index.json", index.dump(2) + "\n");
  std::printf("wrote %s: %.3f B parameters, %.2f GB\n", out.c_str(),
              static_cast<double>(total_bytes / element) / 1e9, total_bytes / 1e9);
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "error: %s\n", e.what());
  return 1;
}

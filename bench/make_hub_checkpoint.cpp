// Writes a random-weight checkpoint exactly as the Hub publishes it, for measuring loading,
// memory and speed at real scale (bench/real_size.sh):
//   - LLaVA-1.5 as llava-hf ships it: transformers-4 key names (`language_model.model.*`,
//     `vision_tower.vision_model.*`), fp16 shards, the CLIP preprocessor config;
//   - Llama 3.2 Vision as meta-llama ships it: `language_model.model.*`, `vision_model.*`,
//     `multi_modal_projector.*`, bf16 shards, the Mllama image processor's config;
// each with a `model.safetensors.index.json`, the given config.json and tokenizer files, at any
// size up to the real one (--text-layers cuts the decoder, keeping the cross-attention layers
// that fall inside). Tensors are drawn and written one shard at a time, so a 7B checkpoint
// (13.5 GB) needs about one shard of memory.
//
//   make_hub_checkpoint --config CONFIG.json --out DIR [--shards 3] [--text-layers N]
//                       [--tokenizer DIR] [--seed 0] [--dtype fp16|bf16|fp32]
#include <torch/torch.h>

#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "lavender/io/config/llava.h"
#include "lavender/io/config/mllama.h"
#include "lavender/io/json_file.h"
#include "lavender/io/load_state_dict.h"
#include "lavender/io/safetensors.h"
#include "lavender/nn/init_guard.h"
#include "lavender/runtime/dtype.h"
#include "lavender/util/args.h"
#include "lavender/util/atomic_file.h"
#include "lavender/util/error.h"
#include "lavender/vlm/llava.h"
#include "lavender/vlm/mllama.h"

namespace fs = std::filesystem;
using lavender::Error;

namespace {

// Our module names (transformers 5) back to the 4.x names the published files use.
std::string llava_hub_name(const std::string& key) {
  const std::pair<const char*, const char*> rules[] = {
      {"model.language_model.", "language_model.model."},
      {"lm_head.", "language_model.lm_head."},
      {"model.vision_tower.", "vision_tower.vision_model."},
      {"model.multi_modal_projector.", "multi_modal_projector."}};
  for (const auto& [from, to] : rules)
    if (key.rfind(from, 0) == 0) return to + key.substr(std::strlen(from));
  return key;
}

// mllama's loading rules are one-to-one: run them backwards.
std::string mllama_hub_name(const std::string& key) {
  for (const auto& rule : lavender::io::mllama_key_rules())
    if (key.rfind(rule.to, 0) == 0) return rule.from + key.substr(rule.to.size());
  return key;
}

struct NamedShape {
  std::string name;
  std::vector<int64_t> shape;
};

// The published names and shapes of every parameter, from the model itself built without
// touching its memory; `config` is cut to `text_layers` decoder layers when positive.
std::vector<NamedShape> hub_tensors(nlohmann::json& config, int64_t text_layers,
                                    const std::string& source) {
  const std::string type = config.value("model_type", "");
  if (text_layers > 0) {
    config["text_config"]["num_hidden_layers"] = text_layers;
    if (type == "mllama") {
      nlohmann::json kept = nlohmann::json::array();
      for (const auto& l : config["text_config"]["cross_attention_layers"])
        if (l.get<int64_t>() < text_layers) kept.push_back(l);
      config["text_config"]["cross_attention_layers"] = kept;
    }
  }
  lavender::nn::SkipInitGuard skip_init;
  std::vector<NamedShape> out;
  auto add = [&](const torch::nn::Module& m, std::string (*hub_name)(const std::string&)) {
    for (const auto& p : m.named_parameters())
      out.push_back({hub_name(p.key()), p.value().sizes().vec()});
  };
  if (type == "llava")
    add(*lavender::vlm::LlavaForConditionalGeneration(
            lavender::io::config::parse_llava_config(config, source)),
        llava_hub_name);
  else if (type == "mllama")
    add(*lavender::vlm::MllamaForConditionalGeneration(
            lavender::io::config::parse_mllama_config(config, source)),
        mllama_hub_name);
  else
    throw Error(source + ": model_type \"" + type + "\" is not llava or mllama");
  std::sort(out.begin(), out.end(),
            [](const NamedShape& a, const NamedShape& b) { return a.name < b.name; });
  return out;
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

// What Llama 3.2 Vision's processor uses: 560-pixel tiles, up to 4 of them, CLIP's statistics.
const char* kMllamaPreprocessor = R"({
  "do_convert_rgb": true,
  "do_normalize": true,
  "do_pad": true,
  "do_rescale": true,
  "do_resize": true,
  "image_mean": [0.48145466, 0.4578275, 0.40821073],
  "image_processor_type": "MllamaImageProcessor",
  "image_std": [0.26862954, 0.26130258, 0.27577711],
  "max_image_tiles": 4,
  "processor_class": "MllamaProcessor",
  "resample": 2,
  "rescale_factor": 0.00392156862745098,
  "size": {"height": 560, "width": 560}
}
)";

}  // namespace

int main(int argc, char** argv) try {
  lavender::ArgParser parser("make_hub_checkpoint",
                             "Writes a random LLaVA-1.5 or Llama 3.2 Vision checkpoint in the "
                             "Hub's layout.");
  parser.option("config",
                "a LLaVA or Llama 3.2 Vision config.json (e.g. tests/data/hub-configs/...)");
  parser.option("out", "the folder to write");
  parser.option("shards", "number of safetensors shards", "3");
  parser.option("text-layers", "decoder layers (default: the config's)", "0");
  parser.option("tokenizer", "a folder whose files are copied beside the weights");
  parser.option("seed", "random seed", "0");
  parser.option("dtype", "fp16 | bf16 | fp32 (default: llava-hf's fp16, meta-llama's bf16)");
  if (!parser.parse(std::vector<std::string>(argv + 1, argv + argc))) {
    std::printf("%s", parser.help().c_str());
    return 0;
  }
  const std::string out = parser.get("out");
  if (out.empty() || parser.get("config").empty()) throw Error("--config and --out are required");
  nlohmann::json config = lavender::io::read_json_file(parser.get("config"));
  const bool mllama = config.value("model_type", "") == "mllama";
  // Names and shapes first: this also checks the config.
  const std::vector<NamedShape> tensors =
      hub_tensors(config, parser.get_int("text-layers"), parser.get("config"));
  torch::manual_seed(static_cast<uint64_t>(parser.get_int("seed")));
  const at::ScalarType dtype =
      lavender::runtime::parse_dtype(parser.has("dtype") ? parser.get("dtype")
                                     : mllama            ? "bf16"
                                                         : "fp16");
  const int64_t element = static_cast<int64_t>(c10::elementSize(dtype));
  config["torch_dtype"] = lavender::runtime::torch_dtype_name(dtype);
  fs::create_directories(out);
  lavender::write_file_atomically(out + "/config.json", config.dump(2) + "\n");
  lavender::write_file_atomically(out + "/preprocessor_config.json",
                                  mllama ? kMllamaPreprocessor : kPreprocessor);
  if (parser.has("tokenizer"))
    for (const auto& entry : fs::directory_iterator(parser.get("tokenizer")))
      if (entry.is_regular_file())
        fs::copy_file(entry.path(), fs::path(out) / entry.path().filename(),
                      fs::copy_options::overwrite_existing);

  int64_t total_bytes = 0;
  for (const auto& t : tensors) total_bytes += c10::multiply_integers(t.shape) * element;

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

// Putting the release's three parts together: the vision folder, the MPT folder, and the
// checkpoint of trainable weights over them, with the sizes checked before anything is built.
#include <torch/torch.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>

#include "lavender/io/checkpoint.h"
#include "lavender/io/json_file.h"
#include "lavender/io/load_state_dict.h"
#include "lavender/io/torch_pickle.h"
#include "lavender/nn/init_guard.h"
#include "lavender/util/error.h"
#include "lavender/util/log.h"
#include "lavender/vlm/open_flamingo.h"

namespace fs = std::filesystem;

namespace lavender::vlm {
namespace {

using TensorMap = std::map<std::string, at::Tensor>;

// The merged name → tensor map the model loads from; as writable as the least writable part
// (the vision tensors may be views of a read-only file mapping).
class MergedSource : public io::TensorMapSource {
 public:
  MergedSource(TensorMap tensors, std::string name, bool writable)
      : TensorMapSource(std::move(tensors), std::move(name)), writable_(writable) {}
  bool writable() const override { return writable_; }

 private:
  bool writable_;
};

std::string flamingo_shape_text(const at::Tensor& t) {
  std::ostringstream s;
  s << t.sizes();
  return s.str();
}

// The MPT weights under our module names: pytorch_model.bin as MPT-1B ships them, or a
// safetensors checkpoint; "mpt"-layout names renamed, its tied lm_head (a copy of wte) dropped.
TensorMap load_lang_weights(const std::string& dir, const io::config::MptConfig& lang) {
  TensorMap raw;
  if (fs::is_regular_file(dir + "/pytorch_model.bin")) {
    raw = io::load_torch_pickle(dir + "/pytorch_model.bin");
  } else {
    const std::string file = io::find_checkpoint_in_folder(dir);
    if (file.empty()) throw Error(dir + ": no pytorch_model.bin or safetensors checkpoint");
    io::Checkpoint c = io::Checkpoint::open(file);
    for (const auto& name : c.names()) raw[name] = c.tensor(name);
  }
  if (lang.layout != io::config::MptConfig::Layout::mpt) return raw;
  TensorMap out;
  for (auto& [name, t] : raw)
    if (name != "lm_head.weight") out[mpt_module_key(name)] = t;
  return out;
}

// A whole CLIPModel's tensors that are not its vision tower (the vision folder may be
// openai/clip-vit-large-patch14 as downloaded); OpenFlamingo uses the tower alone.
bool is_clip_model_extra(const std::string& name) {
  for (const char* prefix :
       {"text_model.", "text_projection.", "visual_projection.", "logit_scale"})
    if (name.rfind(prefix, 0) == 0) return true;
  return false;
}

io::config::MptConfig parse_lang_config(const nlohmann::json& j, const std::string& path) {
  std::string type = "(none)";
  if (j.is_object() && j.contains("model_type") && j["model_type"].is_string())
    type = j["model_type"].get<std::string>();
  if (type != "mosaic_gpt" && type != "mpt")
    throw Error(path + ": language model type \"" + type +
                "\" is not supported for OpenFlamingo; lavender runs the MPT releases "
                "(model_type \"mosaic_gpt\" as MPT-1B ships, or \"mpt\"), not LLaMA, "
                "RedPajama/GPT-NeoX or other LMs");
  return io::config::parse_mpt_config(j, path);
}

io::config::MptConfig read_lang_config(const std::string& path) {
  return parse_lang_config(io::read_json_file(path), path);
}

// The checkpoint's shape of `name`, or an error naming the file when it lacks the tensor.
const at::Tensor& checkpoint_tensor(const TensorMap& ckpt, const std::string& name,
                                    const std::string& file) {
  auto it = ckpt.find(name);
  if (it == ckpt.end()) throw Error(file + ": no tensor " + name);
  return it->second;
}

void expect_size(int64_t from_config, const std::string& what, const at::Tensor& tensor,
                 int64_t from_shape, const std::string& config_path, const std::string& file,
                 const std::string& name) {
  if (from_config == from_shape) return;
  throw Error(config_path + ": " + what + " = " + std::to_string(from_config) + " disagrees with " +
              file + " (" + name + " is " + flamingo_shape_text(tensor) + ", which means " +
              std::to_string(from_shape) + ")");
}

// Config sizes against the shapes of the checkpoint (heads and dim_head only through their
// product, which is all a shape shows).
void check_flamingo_sizes(const io::config::OpenFlamingoConfig& c,
                          const io::config::MptConfig& lang, int64_t vis_dim,
                          const std::vector<int64_t>& gated, const TensorMap& ckpt,
                          const std::string& config_path, const std::string& file) {
  auto check = [&](int64_t value, const std::string& what, const std::string& name, int64_t dim,
                   int64_t divisor) {
    const at::Tensor& t = checkpoint_tensor(ckpt, name, file);
    if (t.dim() <= dim) throw Error(file + ": " + name + " has shape " + flamingo_shape_text(t));
    expect_size(value, what, t, t.size(dim) / divisor, config_path, file, name);
  };
  const auto& p = c.perceiver;
  check(p.num_latents, "perceiver.num_latents", "perceiver.latents", 0, 1);
  check(vis_dim, "vis_dim (the vision tower's width)", "perceiver.latents", 1, 1);
  int64_t depth = 0;
  while (ckpt.count("perceiver.layers." + std::to_string(depth) + ".0.to_q.weight")) ++depth;
  if (depth != p.depth)
    throw Error(config_path + ": perceiver.depth = " + std::to_string(p.depth) + " but " + file +
                " holds " + std::to_string(depth) + " Perceiver layers");
  check(p.heads * p.dim_head, "perceiver.heads × dim_head", "perceiver.layers.0.0.to_q.weight", 0,
        1);
  check(p.ff_mult, "perceiver.ff_mult", "perceiver.layers.0.1.1.weight", 0, vis_dim);

  std::set<int64_t> in_file;
  const std::regex gated_key(
      R"(^lang_encoder\.transformer\.blocks\.(\d+)\.gated_cross_attn_layer\.)");
  for (const auto& [name, t] : ckpt) {
    std::smatch m;
    if (std::regex_search(name, m, gated_key)) in_file.insert(std::stoll(m[1]));
  }
  if (std::set<int64_t>(gated.begin(), gated.end()) != in_file) {
    std::string have;
    for (int64_t i : in_file) have += (have.empty() ? "" : ", ") + std::to_string(i);
    throw Error(config_path + ": gated cross-attention layers (gated_xattn_layers / " +
                "cross_attn_every_n_layers) disagree with " + file + ", which has them before " +
                "decoder blocks [" + have + "]");
  }
  if (gated.empty()) return;
  const std::string g =
      "lang_encoder.transformer.blocks." + std::to_string(gated[0]) + ".gated_cross_attn_layer.";
  const auto& x = c.gated_xattn;
  check(x.heads * x.dim_head, "gated_xattn.heads × dim_head", g + "attn.to_q.weight", 0, 1);
  check(lang.d_model, "the language model's d_model", g + "attn.to_q.weight", 1, 1);
  check(vis_dim, "vis_dim (the vision tower's width)", g + "attn.to_kv.weight", 1, 1);
  check(x.ff_mult, "gated_xattn.ff_mult", g + "ff.1.weight", 0, lang.d_model);
}

// A folder lavender saved after training (train/final_model.cpp): one checkpoint of the whole
// model under its module names beside a config.json that carries the vision and language
// models' configs inline ("vision_config", "lang_config"), so the folder stands alone.
OpenFlamingo load_saved_open_flamingo(const std::string& folder, const nlohmann::json& root,
                                      at::ScalarType dtype, at::Device device) {
  const std::string config_path = folder + "/config.json";
  const io::config::OpenFlamingoConfig config =
      io::config::parse_open_flamingo_config(root, config_path);
  const auto vision = io::config::parse_clip_vision_config(root.at("vision_config"), config_path);
  io::config::MptConfig lang = parse_lang_config(root.at("lang_config"), config_path);
  const std::string file = io::find_checkpoint_in_folder(folder);
  if (file.empty()) throw Error(folder + ": no safetensors checkpoint beside its config.json");
  io::Checkpoint ckpt = io::Checkpoint::open(file);
  const std::string wte = "lang_encoder.transformer.wte.weight";
  if (!ckpt.contains(wte)) throw Error(file + ": no tensor " + wte);
  lang.vocab_size = ckpt.tensor(wte).size(0);
  const std::vector<int64_t> gated = io::config::gated_layer_indices(config, lang.n_layers);
  OpenFlamingo model = [&] {
    nn::SkipInitGuard skip_init;
    return OpenFlamingo(config, vision, lang, gated);
  }();
  io::LoadOptions options;
  options.strict = true;
  options.place = io::LoadOptions::Placement{dtype, device};
  const io::LoadReport report = io::load_state_dict(*model, ckpt, options);
  log::info("loaded ", folder, ": ", report.summary());
  model->to(device, dtype);
  model->eval();
  return model;
}

// The release's parts as a root config names them, their configs read (cheap, so a wrong folder
// is reported before the checkpoint is read).
struct FlamingoParts {
  std::string config_path, vision_dir, lang_dir, ckpt_path;
  io::config::OpenFlamingoConfig config;
  io::config::ClipVisionConfig vision;
  io::config::MptConfig lang;
};

FlamingoParts read_flamingo_parts(const std::string& folder, const nlohmann::json& root) {
  FlamingoParts p;
  p.config_path = folder + "/config.json";
  p.config = io::config::parse_open_flamingo_config(root, p.config_path);
  p.vision_dir = io::config::open_flamingo_part_path(folder, p.config.vision);
  p.lang_dir = io::config::open_flamingo_part_path(folder, p.config.lang);
  p.ckpt_path = io::config::open_flamingo_part_path(folder, p.config.checkpoint);
  p.vision = io::config::load_open_flamingo_vision_config(p.vision_dir + "/config.json");
  p.lang = read_lang_config(p.lang_dir + "/config.json");
  if (p.config.vis_dim && *p.config.vis_dim != p.vision.hidden_size)
    throw Error(p.config_path + ": vis_dim = " + std::to_string(*p.config.vis_dim) + " but " +
                p.vision_dir + "/config.json has hidden_size " +
                std::to_string(p.vision.hidden_size));
  return p;
}

// The vocabulary against the checkpoint's resized embedding (which then sets the language
// model's vocab_size), and every size against its tensors; returns the gated layers.
std::vector<int64_t> check_flamingo_checkpoint(FlamingoParts& p, const TensorMap& ckpt) {
  // The release resized the vocabulary for its added tokens; its wte is the one that counts.
  const std::string wte = "lang_encoder.transformer.wte.weight";
  const auto& config = p.config;
  if (ckpt.count(wte)) {
    const at::Tensor& w = ckpt.at(wte);
    if (w.dim() != 2 || w.size(1) != p.lang.d_model)
      throw Error(p.ckpt_path + ": " + wte + " has shape " + flamingo_shape_text(w) +
                  ", expected [vocab, " + std::to_string(p.lang.d_model) + "]");
    if (config.vocab_size && *config.vocab_size != w.size(0))
      expect_size(*config.vocab_size, "vocab_size", w, w.size(0), p.config_path, p.ckpt_path, wte);
    p.lang.vocab_size = w.size(0);
  } else if (config.vocab_size && *config.vocab_size != p.lang.vocab_size) {
    throw Error(p.config_path + ": vocab_size " + std::to_string(*config.vocab_size) + " but " +
                p.ckpt_path + " has no " + wte + " and the language model's is " +
                std::to_string(p.lang.vocab_size));
  }
  const std::vector<int64_t> gated = io::config::gated_layer_indices(config, p.lang.n_layers);
  check_flamingo_sizes(config, p.lang, p.vision.hidden_size, gated, ckpt, p.config_path,
                       p.ckpt_path);
  return gated;
}

}  // namespace

io::config::MptConfig load_open_flamingo_lang_config(const std::string& path) {
  return read_lang_config(path);
}

void check_open_flamingo_config(const std::string& folder, const nlohmann::json& root,
                                const std::map<std::string, at::Tensor>& checkpoint) {
  FlamingoParts parts = read_flamingo_parts(folder, root);
  check_flamingo_checkpoint(parts, checkpoint);
}

OpenFlamingo load_open_flamingo(const std::string& folder, at::ScalarType dtype,
                                at::Device device) {
  const std::string config_path = folder + "/config.json";
  const nlohmann::json root = io::read_json_file(config_path);
  if (root.is_object() && root.contains("vision_config") && root.contains("lang_config"))
    return load_saved_open_flamingo(folder, root, dtype, device);
  FlamingoParts parts = read_flamingo_parts(folder, root);
  const auto& config = parts.config;
  const auto& vision = parts.vision;
  const auto& vision_dir = parts.vision_dir;
  const TensorMap ckpt = io::load_torch_pickle(parts.ckpt_path);
  TensorMap lang_weights = load_lang_weights(parts.lang_dir, parts.lang);
  const std::vector<int64_t> gated = check_flamingo_checkpoint(parts, ckpt);
  const auto& lang = parts.lang;
  // The checkpoint's resized embedding replaces the language model's.
  if (ckpt.count("lang_encoder.transformer.wte.weight"))
    lang_weights.erase("transformer.wte.weight");

  OpenFlamingo model = [&] {
    nn::SkipInitGuard skip_init;
    return OpenFlamingo(config, vision, lang, gated);
  }();

  // One map under the module's names: vision, then the LM, then the checkpoint over both.
  TensorMap tensors;
  io::Checkpoint vision_ckpt = io::Checkpoint::open(vision_dir);
  const std::vector<io::KeyRule> vision_rules{io::KeyRule{"vision_model.", "vision_encoder."}};
  for (const auto& name : vision_ckpt.names())
    if (!is_clip_model_extra(name))
      tensors[io::rewrite_key(name, vision_rules)] = vision_ckpt.tensor(name);
  for (auto& [name, t] : lang_weights) tensors["lang_encoder." + name] = t;
  const std::regex gated_key(
      R"(^lang_encoder\.transformer\.blocks\.(\d+)\.gated_cross_attn_layer\.(.*)$)");
  for (const auto& [name, t] : ckpt) {
    std::smatch m;
    if (std::regex_match(name, m, gated_key))
      tensors["gated_cross_attn_layers." + m[1].str() + "." + m[2].str()] = t;
    else
      tensors[name] = t;
  }
  MergedSource source(std::move(tensors), folder, vision_ckpt.writable());

  io::LoadOptions options;
  options.strict = true;
  options.place = io::LoadOptions::Placement{dtype, device};
  // Buffers older CLIP checkpoints carry, and copies of the gated layers a checkpoint saved
  // without the release's filter may hold under the mixin's other names.
  options.ignore_unexpected = {R"(\.position_ids$)", R"(^lang_encoder\.gated_cross_attn_layers\.)",
                               R"(^lang_encoder\.old_decoder_blocks\.)"};
  const io::LoadReport report = io::load_state_dict(*model, source, options);
  log::info("loaded ", folder, ": ", report.summary());
  model->to(device, dtype);
  model->eval();
  return model;
}

std::string open_flamingo_tokenizer_folder(const std::string& folder) {
  if (fs::exists(folder + "/tokenizer.json")) return folder;
  const nlohmann::json c = io::read_json_file(folder + "/config.json");
  const std::string lang =
      io::config::open_flamingo_part_path(folder, c.value("lang", std::string("lang")));
  return fs::exists(lang + "/tokenizer.json") ? lang : folder;
}

ClipImageProcessor open_flamingo_image_processor(const std::string& folder,
                                                 const OpenFlamingoImpl& model) {
  const std::string path = folder + "/preprocessor_config.json";
  if (fs::exists(path)) return ClipImageProcessor::load(path);
  io::config::ClipImageProcessorConfig c;
  c.shortest_edge = model.vision_encoder->config().image_size;
  c.crop_height = c.crop_width = c.shortest_edge;
  return ClipImageProcessor(c);
}

}  // namespace lavender::vlm

#include "lavender/vlm/parameter_count.h"

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "lavender/io/config/llava.h"
#include "lavender/io/config/minicpmv.h"
#include "lavender/io/config/mllama.h"
#include "lavender/io/config/mpt.h"
#include "lavender/io/config/open_flamingo.h"
#include "lavender/io/json_file.h"
#include "lavender/util/error.h"
#include "lavender/vlm/hf_architecture.h"

namespace lavender::vlm {
namespace {

namespace config = io::config;

int64_t layer_norm(int64_t width) {
  return 2 * width;  // weight and bias
}

int64_t linear(int64_t in, int64_t out, bool bias) {
  return in * out + (bias ? out : 0);
}

// CLIP's vision transformer as CLIPVisionModel holds it (with post_layernorm, without the
// visual projection).
int64_t clip_vision_layer(const config::ClipVisionConfig& c) {
  const int64_t h = c.hidden_size;
  return 4 * linear(h, h, true) + linear(h, c.intermediate_size, true) +
         linear(c.intermediate_size, h, true) + 2 * layer_norm(h);
}

int64_t clip_vision(const config::ClipVisionConfig& c) {
  const int64_t h = c.hidden_size,
                patches = (c.image_size / c.patch_size) * (c.image_size / c.patch_size);
  const int64_t embeddings = h * c.num_channels * c.patch_size * c.patch_size  // conv, no bias
                             + h                                               // class embedding
                             + (patches + 1) * h;                              // positions
  return embeddings + layer_norm(h) + c.num_hidden_layers * clip_vision_layer(c) + layer_norm(h);
}

// What LoRA and the activation estimate need of a decoder: its attention projections (q: the
// heads' width, kv: the key/value heads' width) in every layer, and its sizes.
void describe_decoder(ParameterCount& n, int64_t hidden, int64_t q, int64_t kv, int64_t layers,
                      int64_t heads) {
  n.attention_linears = {{"q_proj", hidden, q, layers},
                         {"k_proj", hidden, kv, layers},
                         {"v_proj", hidden, kv, layers},
                         {"o_proj", q, hidden, layers}};
  n.hidden_size = hidden;
  n.num_layers = layers;
  n.num_heads = heads;
}

// One Llama decoder layer: attention projections, the SwiGLU MLP and two RMSNorms.
int64_t llama_decoder_layer(const config::LlamaConfig& t) {
  const int64_t h = t.hidden_size, q = t.num_attention_heads * t.head_dim,
                kv = t.num_key_value_heads * t.head_dim;
  return linear(h, q, t.attention_bias) + 2 * linear(h, kv, t.attention_bias) +
         linear(q, h, t.attention_bias) + 2 * linear(h, t.intermediate_size, t.mlp_bias) +
         linear(t.intermediate_size, h, t.mlp_bias) + 2 * h;
}

ParameterCount llava(const nlohmann::json& j, const std::string& source) {
  const config::LlavaConfig c = config::parse_llava_config(j, source);
  const config::LlamaConfig& t = c.text_config;
  ParameterCount n;
  n.architecture = "LlavaForConditionalGeneration";
  n.vision = clip_vision(c.vision_config);
  const int64_t features =
      c.vision_config.hidden_size * static_cast<int64_t>(c.vision_feature_layers.size());
  n.projector = linear(features, t.hidden_size, c.multimodal_projector_bias) +
                linear(t.hidden_size, t.hidden_size, c.multimodal_projector_bias);
  const int64_t h = t.hidden_size, q = t.num_attention_heads * t.head_dim,
                kv = t.num_key_value_heads * t.head_dim;
  const int64_t layer = llama_decoder_layer(t);
  const bool tied = t.tie_word_embeddings || c.tie_word_embeddings;
  n.language = t.vocab_size * h * (tied ? 1 : 2) + t.num_hidden_layers * layer + h;
  n.language_layers = t.num_hidden_layers * layer;
  n.vision_layers = c.vision_config.num_hidden_layers * clip_vision_layer(c.vision_config);
  n.largest_layer = std::max(layer, clip_vision_layer(c.vision_config));
  describe_decoder(n, h, q, kv, t.num_hidden_layers, t.num_attention_heads);
  n.vocab_size = t.vocab_size;
  n.image_tokens = c.image_seq_length;
  n.image_tokens_in_sequence = true;
  return n;
}

int64_t mllama_vision_layer(const config::MllamaVisionConfig& v, bool gated) {
  const int64_t h = v.hidden_size;
  return 4 * linear(h, h, false) + linear(h, v.intermediate_size, true) +
         linear(v.intermediate_size, h, true) + 2 * layer_norm(h) + (gated ? 2 : 0);
}

int64_t mllama_vision(const config::MllamaVisionConfig& v) {
  const int64_t h = v.hidden_size, side = v.image_size / v.patch_size;
  const int64_t positions = side * side + 1;  // patches and the class token, per tile
  const int64_t ratios = static_cast<int64_t>(v.supported_aspect_ratios.size()) + 1;  // + padding
  const int64_t gate = 1;
  int64_t n = h * v.num_channels * v.patch_size * v.patch_size  // patch embedding, no bias
              + h                                               // class embedding
              + positions * h + gate                            // gated positional embedding
              + ratios * v.max_num_tiles * positions * h        // its tile embedding
              + 2 * (ratios * v.max_num_tiles * h + gate)       // pre- and post-tile embeddings
              + 2 * layer_norm(h);                              // layernorm_pre / _post
  n += v.num_hidden_layers * mllama_vision_layer(v, false) +
       v.num_global_layers * mllama_vision_layer(v, true);
  return n;
}

ParameterCount mllama(const nlohmann::json& j, const std::string& source) {
  const config::MllamaConfig c = config::parse_mllama_config(j, source);
  const config::MllamaTextConfig& t = c.text_config;
  ParameterCount n;
  n.architecture = "MllamaForConditionalGeneration";
  n.vision = mllama_vision(c.vision_config);
  n.projector = linear(c.vision_config.vision_output_dim, t.hidden_size, true);
  const int64_t h = t.hidden_size, q = t.num_attention_heads * t.head_dim,
                kv = t.num_key_value_heads * t.head_dim;
  const int64_t attention = linear(h, q, false) + 2 * linear(h, kv, false) + linear(q, h, false);
  const int64_t rest = 3 * h * t.intermediate_size + 2 * h;  // MLP and two RMSNorms
  const auto cross = static_cast<int64_t>(t.cross_attention_layers.size());
  const int64_t self = t.num_hidden_layers - cross;
  // Cross-attention layers add q/k RMSNorms over a head and two tanh gates.
  n.language = (t.vocab_size + 8) * h                            // embeddings: 8 extra rows
               + (t.tie_word_embeddings ? 0 : t.vocab_size * h)  // LM head
               + self * (attention + rest) + cross * (attention + 2 * t.head_dim + 2 + rest) + h;
  const config::MllamaVisionConfig& v = c.vision_config;
  n.language_layers = self * (attention + rest) + cross * (attention + 2 * t.head_dim + 2 + rest);
  n.vision_layers = v.num_hidden_layers * mllama_vision_layer(v, false) +
                    v.num_global_layers * mllama_vision_layer(v, true);
  n.largest_layer = std::max({attention + 2 * t.head_dim + 2 + rest, mllama_vision_layer(v, true)});
  describe_decoder(n, h, q, kv, t.num_hidden_layers, t.num_attention_heads);
  const int64_t side = c.vision_config.image_size / c.vision_config.patch_size;
  n.vocab_size = t.vocab_size;
  n.image_tokens = c.vision_config.max_num_tiles * (side * side + 1);  // cross-attention keys
  return n;
}

// SigLIP in the Idefics2 form: the patch convolution has a bias, positions have no class token.
int64_t siglip_vision_layer(const config::ClipVisionConfig& c) {
  return clip_vision_layer(c);
}

int64_t siglip_vision(const config::ClipVisionConfig& c, int64_t layers) {
  const int64_t h = c.hidden_size, side = c.image_size / c.patch_size;
  return h * c.num_channels * c.patch_size * c.patch_size + h  // patch embedding
         + side * side * h                                     // position embedding
         + layers * siglip_vision_layer(c) + layer_norm(h);    // post_layernorm
}

ParameterCount minicpmv(const nlohmann::json& j, const std::string& source) {
  const config::MiniCpmVConfig c = config::parse_minicpmv_config(j, source);
  const config::LlamaConfig& t = c.llm;
  ParameterCount n;
  n.architecture = "MiniCPMV";
  const int64_t vision_layers =
      c.vision_config.num_hidden_layers - (c.drop_vision_last_layer ? 1 : 0);
  n.vision = siglip_vision(c.vision_config, vision_layers);
  // The resampler: learnt queries, the key/value projection from the tower's width, one
  // nn.MultiheadAttention (packed q/k/v with biases, output projection), three LayerNorms and
  // the final projection (a bare matrix).
  const int64_t d = t.hidden_size, v = c.vision_config.hidden_size;
  n.projector = c.query_num * d + (v != d ? v * d : 0) + linear(d, 3 * d, true) +
                linear(d, d, true) + 3 * layer_norm(d) + d * d;
  const int64_t h = t.hidden_size, q = t.num_attention_heads * t.head_dim,
                kv = t.num_key_value_heads * t.head_dim;
  const int64_t layer = llama_decoder_layer(t);
  n.language = t.vocab_size * h * (t.tie_word_embeddings ? 1 : 2) + t.num_hidden_layers * layer + h;
  n.language_layers = t.num_hidden_layers * layer;
  n.vision_layers = vision_layers * siglip_vision_layer(c.vision_config);
  n.largest_layer = std::max(layer, siglip_vision_layer(c.vision_config));
  describe_decoder(n, h, q, kv, t.num_hidden_layers, t.num_attention_heads);
  n.vocab_size = t.vocab_size;
  // The source image and up to max_slice_nums slices, each query_num tokens in the sequence.
  n.image_tokens = c.query_num * (1 + c.slice_config.max_slice_nums);
  n.image_tokens_in_sequence = true;
  return n;
}

// OpenFlamingo's feed-forward (Perceiver layers, gated blocks): LayerNorm, two bias-free linears.
int64_t flamingo_ff_parameters(int64_t dim, int64_t mult) {
  return layer_norm(dim) + 2 * dim * dim * mult;
}

// OpenFlamingo from its root config (the release's parts: the vision tower's and the language
// model's folders beside it, or their configs inline as lavender saves a trained model;
// `checkpoint.pt`'s Perceiver and gated cross-attention layers). The vision tower counts as
// CLIPVisionModel holds it (open_clip's unused output projection aside).
ParameterCount open_flamingo(const nlohmann::json& j, const std::string& source) {
  const config::OpenFlamingoConfig c = config::parse_open_flamingo_config(j, source);
  const std::string dir = std::filesystem::path(source).parent_path().string();
  const auto vision = j.contains("vision_config")
                          ? config::parse_clip_vision_config(j.at("vision_config"), source)
                          : config::load_open_flamingo_vision_config(
                                config::open_flamingo_part_path(dir, c.vision) + "/config.json");
  const config::MptConfig lang =
      j.contains("lang_config")
          ? config::parse_mpt_config(j.at("lang_config"), source)
          : config::load_mpt_config(config::open_flamingo_part_path(dir, c.lang) + "/config.json");
  const int64_t v = c.vis_dim.value_or(vision.hidden_size), d = lang.d_model;
  ParameterCount n;
  n.architecture = "OpenFlamingo";
  n.vision = clip_vision(vision);
  const auto& p = c.perceiver;
  const int64_t perceiver_layer = 2 * layer_norm(v) + v * p.heads * p.dim_head * 3 +
                                  p.heads * p.dim_head * v + flamingo_ff_parameters(v, p.ff_mult);
  n.projector = p.num_latents * v + p.depth * perceiver_layer + layer_norm(v);
  const bool bias = !lang.no_bias;
  const int64_t norm = bias ? layer_norm(d) : d;
  const int64_t block = 2 * norm + linear(d, 3 * d, bias) + (lang.attn_qk_ln ? 2 * norm : 0) +
                        linear(d, d, bias) + linear(d, lang.mlp_ratio * d, bias) +
                        linear(lang.mlp_ratio * d, d, bias);
  const auto& x = c.gated_xattn;
  const int64_t inner = x.heads * x.dim_head;
  const int64_t gated = layer_norm(d) + d * inner + v * 2 * inner + inner * d + 1 +
                        flamingo_ff_parameters(d, x.ff_mult) + 1;
  const auto n_gated = static_cast<int64_t>(config::gated_layer_indices(c, lang.n_layers).size());
  const int64_t vocab = c.vocab_size.value_or(lang.vocab_size);  // the release's resized rows
  n.language = vocab * d + lang.n_layers * block + n_gated * gated + norm;  // tied head
  n.language_layers = lang.n_layers * block + n_gated * gated;
  n.vision_layers = vision.num_hidden_layers * clip_vision_layer(vision);
  n.largest_layer = std::max({block + gated, clip_vision_layer(vision), perceiver_layer});
  n.attention_linears = {{"Wqkv", d, 3 * d, lang.n_layers}, {"out_proj", d, d, lang.n_layers}};
  n.hidden_size = d;
  n.num_layers = lang.n_layers;
  n.num_heads = lang.n_heads;
  n.vocab_size = vocab;
  n.image_tokens = p.num_latents;  // cross-attention keys per image
  return n;
}

}  // namespace

ParameterCount count_parameters(const nlohmann::json& config, const std::string& source) {
  const std::string arch = architecture_of(config);
  if (arch == "LlavaForConditionalGeneration" || arch == "llava") return llava(config, source);
  if (arch == "MllamaForConditionalGeneration" || arch == "mllama") return mllama(config, source);
  if (arch == "MiniCPMV" || arch == "minicpmv") return minicpmv(config, source);
  if (arch == "openflamingo") return open_flamingo(config, source);
  throw Error(source + ": architecture " + arch +
              " has no parameter count (lavender's students: LlavaForConditionalGeneration, "
              "MllamaForConditionalGeneration, MiniCPMV, openflamingo)");
}

ParameterCount count_parameters(const std::string& path) {
  const std::filesystem::path p(path);
  const std::string file =
      std::filesystem::is_directory(p) ? (p / "config.json").string() : p.string();
  return count_parameters(io::read_json_file(file), file);
}

int64_t lora_parameters(const ParameterCount& count, int64_t rank,
                        const std::vector<std::string>& targets) {
  int64_t n = 0;
  for (const LinearShape& l : count.attention_linears)
    if (std::find(targets.begin(), targets.end(), l.name) != targets.end())
      n += l.count * rank * (l.in + l.out);
  return n;
}

}  // namespace lavender::vlm

#include "lavender/vlm/minicpmv.h"

#include <torch/torch.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "lavender/io/json_file.h"
#include "lavender/io/load_state_dict.h"
#include "lavender/nn/init_guard.h"
#include "lavender/util/error.h"
#include "lavender/vlm/hf_architecture.h"
#include "lavender/vlm/lm_loss.h"

namespace lavender::vlm {
namespace {

// Patches of image i from its [3, p, h·w·p] pixels and tgt_sizes row, checked.
int64_t patch_count(const at::Tensor& pixels, const at::Tensor& sizes, int64_t i, int64_t p) {
  const int64_t h = sizes[i][0].item<int64_t>(), w = sizes[i][1].item<int64_t>();
  if (pixels.dim() != 3 || pixels.size(0) != 3 || pixels.size(1) != p ||
      pixels.size(2) != h * w * p || h <= 0 || w <= 0)
    throw Error("MiniCPM-V: pixel_values " + std::to_string(i) + " must be [3, " +
                std::to_string(p) + ", h·w·" + std::to_string(p) + "] with tgt_sizes (" +
                std::to_string(h) + ", " + std::to_string(w) + ")");
  return h * w;
}

// Each row's image-token positions (the <unk> runs of its bounds, in order).
std::vector<std::vector<int64_t>> bound_positions(const std::vector<at::Tensor>& image_bounds,
                                                  int64_t rows) {
  std::vector<std::vector<int64_t>> out(rows);
  for (size_t row = 0; row < image_bounds.size() && static_cast<int64_t>(row) < rows; ++row) {
    if (!image_bounds[row].defined()) continue;
    const at::Tensor bb = image_bounds[row].to(torch::kCPU, torch::kLong).reshape({-1, 2});
    for (int64_t k = 0; k < bb.size(0); ++k)
      for (int64_t j = bb[k][0].item<int64_t>(); j < bb[k][1].item<int64_t>(); ++j)
        out[row].push_back(j);
  }
  return out;
}

}  // namespace

MiniCpmVLlmImpl::MiniCpmVLlmImpl(const io::config::LlamaConfig& c) {
  model = register_module("model", LlamaModel(c));
  if (!c.tie_word_embeddings)
    lm_head = register_module(
        "lm_head", nn::Linear(torch::nn::LinearOptions(c.hidden_size, c.vocab_size).bias(false)));
}

at::Tensor MiniCpmVLlmImpl::logits(const at::Tensor& hidden) {
  if (lm_head) return lm_head(hidden);
  return torch::nn::functional::linear(hidden, model->embed_tokens->weight);
}

MiniCpmVImpl::MiniCpmVImpl(const io::config::MiniCpmVConfig& c) : config_(c) {
  llm = register_module("llm", MiniCpmVLlm(c.llm));
  const int64_t layers = c.vision_config.num_hidden_layers - (c.drop_vision_last_layer ? 1 : 0);
  vpm = register_module("vpm", SiglipVisionTransformer(c.vision_config, layers));
  resampler =
      register_module("resampler", MiniCpmVResampler(c.query_num, c.llm.hidden_size,
                                                     io::config::minicpmv_resampler_heads(c),
                                                     c.vision_config.hidden_size));
}

MiniCpmVVisionOutput MiniCpmVImpl::encode_images(const std::vector<at::Tensor>& pixel_values,
                                                 const at::Tensor& tgt_sizes,
                                                 MiniCpmVVisionBatching batching,
                                                 bool capture_resampler) {
  const int64_t n = static_cast<int64_t>(pixel_values.size()), p = config_.patch_size;
  if (!tgt_sizes.defined() || tgt_sizes.dim() != 2 || tgt_sizes.size(0) != n ||
      tgt_sizes.size(1) != 2)
    throw Error("MiniCPM-V: tgt_sizes must be [" + std::to_string(n) + ", 2] for " +
                std::to_string(n) + " images");
  const at::Tensor sizes = tgt_sizes.to(torch::kCPU, torch::kLong);
  std::vector<int64_t> lengths;
  for (int64_t i = 0; i < n; ++i) lengths.push_back(patch_count(pixel_values[i], sizes, i, p));
  MiniCpmVVisionOutput out;
  if (n == 0) return out;
  const auto dtype = vpm->embeddings->position_embedding->weight.scalar_type();
  const auto device = vpm->embeddings->position_embedding->weight.device();

  if (batching == MiniCpmVVisionBatching::kPerImage) {
    std::vector<at::Tensor> features, heads;
    for (int64_t i = 0; i < n; ++i) {
      at::Tensor h = vpm->forward(pixel_values[i].unsqueeze(0).to(device, dtype));
      out.hidden.push_back(h[0]);
      ResamplerOutput r = resampler(h, tgt_sizes.narrow(0, i, 1), capture_resampler);
      features.push_back(r.out);
      if (capture_resampler) heads.push_back(r.attn_heads);
    }
    out.features = torch::cat(features, 0);
    if (capture_resampler) {
      // Per-image key lengths differ: pad every block to the longest with zeros (masked keys).
      const int64_t len = *std::max_element(lengths.begin(), lengths.end());
      for (auto& a : heads) a = torch::constant_pad_nd(a, {0, len - a.size(-1)});
      out.resampler_attn_heads = torch::cat(heads, 0);
    }
    return out;
  }

  // One batch zero-padded to the longest image, Lmax patches of one row each.
  const int64_t len = *std::max_element(lengths.begin(), lengths.end());
  std::vector<at::Tensor> padded;
  for (int64_t i = 0; i < n; ++i)
    padded.push_back(
        torch::constant_pad_nd(pixel_values[i].to(device, dtype), {0, (len - lengths[i]) * p}));
  at::Tensor batch = torch::stack(padded, 0);  // [N, 3, p, Lmax·p]
  at::Tensor mask = torch::ones({n, 1, len}, torch::dtype(torch::kBool));
  // kRelease keeps the all-true mask the release ends up with (see the enum).
  if (batching == MiniCpmVVisionBatching::kMasked)
    for (int64_t i = 0; i < n; ++i) mask[i][0].narrow(0, lengths[i], len - lengths[i]).fill_(false);
  at::Tensor h = vpm->forward(batch, mask);
  for (int64_t i = 0; i < n; ++i) out.hidden.push_back(h[i].narrow(0, 0, lengths[i]));
  ResamplerOutput r = resampler(h, tgt_sizes, capture_resampler);
  out.features = r.out;
  out.resampler_attn_heads = r.attn_heads;
  return out;
}

at::Tensor MiniCpmVImpl::embed_inputs(const at::Tensor& input_ids,
                                      const std::vector<at::Tensor>& image_bounds,
                                      const at::Tensor& features) {
  at::Tensor embeds = llm->model->embed(input_ids);
  const int64_t b = input_ids.size(0), t = input_ids.size(1);
  const int64_t images = features.defined() ? features.size(0) : 0;
  if (static_cast<int64_t>(image_bounds.size()) > b)
    throw Error("MiniCPM-V: image bounds for " + std::to_string(image_bounds.size()) +
                " rows, but the batch has " + std::to_string(b));
  std::vector<int64_t> rows, positions;
  int64_t next = 0;
  for (size_t row = 0; row < image_bounds.size(); ++row) {
    const at::Tensor& bounds = image_bounds[row];
    if (!bounds.defined() || bounds.numel() == 0) continue;
    const at::Tensor bb = bounds.to(torch::kCPU, torch::kLong).reshape({-1, 2});
    for (int64_t k = 0; k < bb.size(0); ++k, ++next) {
      const int64_t s = bb[k][0].item<int64_t>(), e = bb[k][1].item<int64_t>();
      if (next >= images)
        throw Error("MiniCPM-V: the prompt has more image bounds than the " +
                    std::to_string(images) + " images given");
      if (e - s != features.size(1) || s < 0 || e > t)
        throw Error("MiniCPM-V: image bound [" + std::to_string(s) + ", " + std::to_string(e) +
                    ") of row " + std::to_string(row) + " does not hold " +
                    std::to_string(features.size(1)) + " positions within " + std::to_string(t));
      for (int64_t j = s; j < e; ++j) {
        rows.push_back(static_cast<int64_t>(row));
        positions.push_back(j);
      }
    }
  }
  if (next != images)
    throw Error("MiniCPM-V: " + std::to_string(images) + " images given but the prompt has " +
                std::to_string(next) + " image bounds");
  if (images == 0) return embeds;
  auto index = [&](const std::vector<int64_t>& v) {
    return torch::tensor(v, torch::dtype(torch::kLong)).to(embeds.device());
  };
  return embeds.index_put({index(rows), index(positions)},
                          features.reshape({-1, features.size(2)}).to(embeds.scalar_type()));
}

MiniCpmVOutput MiniCpmVImpl::forward(const MiniCpmVInputs& in, MiniCpmVCapture* capture) {
  if (!in.input_ids.defined() || in.input_ids.dim() != 2)
    throw Error("MiniCPM-V: input_ids must be [batch, tokens]");
  MiniCpmVOutput out;
  if (!in.pixel_values.empty())
    out.vision = encode_images(in.pixel_values, in.tgt_sizes, in.vision_batching,
                               capture && capture->resampler_attention);
  out.inputs_embeds = embed_inputs(in.input_ids, in.image_bounds, out.vision.features);

  LlamaForwardOptions o;
  o.attention_mask = in.attention_mask;
  o.position_ids = in.position_ids;
  o.right_padded = in.right_padded;
  const int64_t n_layers = static_cast<int64_t>(llm->model->num_layers());
  const int64_t b = in.input_ids.size(0), t = in.input_ids.size(1);
  std::vector<nn::AttentionCapture> slots(n_layers);
  at::Tensor gather_index;  // [B, n_image] columns relative to key_begin
  if (capture && !capture->layers.empty()) {
    o.captures.assign(n_layers, nullptr);
    for (int64_t l : capture->layers) {
      const int64_t i = l < 0 ? l + n_layers : l;
      if (i < 0 || i >= n_layers)
        throw Error("MiniCPM-V: decoder layer " + std::to_string(l) + " out of range for " +
                    std::to_string(n_layers));
      o.captures[i] = &slots[i];
    }
    if (!capture->full_matrix) {
      const auto positions = bound_positions(in.image_bounds, b);
      size_t n = 0;
      int64_t key_begin = t, key_end = 0, query_begin = t;
      for (const auto& row : positions) {
        if (row.empty()) throw Error("MiniCPM-V attention capture: a row has no image tokens");
        n = std::max(n, row.size());
        key_begin = std::min(key_begin, row.front());
        key_end = std::max(key_end, row.back() + 1);
        // Rows start after the earliest-ending image.
        query_begin = std::min(query_begin, row.back() + 1);
      }
      at::Tensor pos = torch::zeros({b, static_cast<int64_t>(n)}, torch::kLong);
      at::Tensor real = torch::zeros({b, static_cast<int64_t>(n)}, torch::kBool);
      at::Tensor is_image = torch::zeros({b, t}, torch::kBool);
      for (int64_t r = 0; r < b; ++r)
        for (size_t k = 0; k < positions[r].size(); ++k) {
          pos[r][k] = positions[r][k];
          real[r][k] = true;
          is_image[r][positions[r][k]] = true;
        }
      for (auto& slot : slots) {
        slot.query_begin = query_begin;
        slot.key_begin = key_begin;
        slot.key_end = key_end;
      }
      gather_index = (pos - key_begin).clamp_min(0);
      capture->query_begin = query_begin;
      capture->image_positions = pos.masked_fill(real.logical_not(), 0);
      capture->image_columns = real;
      at::Tensor rows = is_image.slice(1, query_begin).logical_not();
      if (in.attention_mask.defined())
        rows = rows & (in.attention_mask.slice(1, query_begin).to(torch::kCPU) != 0);
      capture->text_rows = rows;
    }
  }
  at::Tensor hidden = decode(out.inputs_embeds, o);
  if (in.labels.defined() && in.labels.sizes() != in.input_ids.sizes())
    throw Error("MiniCPM-V: labels must have the shape of input_ids");
  LmHeadOutput head = lm_head_and_loss(hidden, in.labels, /*labelled_only=*/false, 0,
                                       [this](const at::Tensor& h) { return llm->logits(h); });
  out.logits = head.logits;
  out.loss = head.loss;
  if (capture)
    for (int64_t i = 0; i < n_layers; ++i) {
      if (o.captures.empty() || !o.captures[i]) continue;
      at::Tensor p = slots[i].probs;
      if (gather_index.defined()) {
        // Each row's own image columns within the captured span; padded columns become zeros.
        at::Tensor index = gather_index.to(p.device()).view({b, 1, 1, -1});
        index = index.expand({b, p.size(1), p.size(2), index.size(3)});
        at::Tensor keep = capture->image_columns.to(p.device()).view({b, 1, 1, -1});
        p = p.gather(3, index) * keep.to(p.scalar_type());
      }
      capture->probs[i] = p;
    }
  return out;
}

at::Tensor image_bounds_from_ids(const at::Tensor& row_ids, int64_t im_start_id,
                                 int64_t im_end_id) {
  const at::Tensor ids = row_ids.to(torch::kCPU, torch::kLong).reshape({-1});
  at::Tensor starts = (ids == im_start_id).nonzero().reshape({-1}) + 1;
  at::Tensor ends = (ids == im_end_id).nonzero().reshape({-1});
  // The release pairs the first k of each (k = the larger count); unpaired runs are an error
  // here rather than a silent misalignment.
  if (starts.size(0) != ends.size(0))
    throw Error("MiniCPM-V: " + std::to_string(starts.size(0)) + " image starts but " +
                std::to_string(ends.size(0)) + " image ends in a prompt");
  return torch::stack({starts, ends}, 1);
}

at::Tensor generate_minicpmv(MiniCpmVImpl& model, const at::Tensor& prompt_embeds,
                             const at::Tensor& prompt_ids, const GenerationOptions& options) {
  if (prompt_embeds.dim() != 3 || prompt_ids.dim() != 2 ||
      prompt_embeds.size(1) != prompt_ids.size(1) || prompt_embeds.size(0) != prompt_ids.size(0))
    throw Error("MiniCPM-V generate: prompt embeddings [B, T, hidden] and ids [B, T] must agree");
  const int64_t t0 = prompt_ids.size(1);
  KvCache cache = model.llm->model->make_cache();
  StepFunction step = [&](const at::Tensor& ids, const at::Tensor& mask,
                          const at::Tensor& positions, bool first, KvCache* c) {
    // The prompt keeps its image embeddings; tokens generated after it are looked up.
    at::Tensor embeds;
    if (c && !first) {
      embeds = model.llm->model->embed(ids);
    } else {
      embeds = prompt_embeds;
      if (ids.size(1) > t0)
        embeds = torch::cat({embeds, model.llm->model->embed(ids.slice(1, t0))}, 1);
    }
    LlamaForwardOptions o;
    o.attention_mask = mask;
    o.position_ids = positions;
    o.cache = c;
    at::Tensor hidden = model.decode(embeds, o);
    return model.llm->logits(hidden.narrow(1, hidden.size(1) - 1, 1)).select(1, 0);
  };
  return generate(step, options.use_cache ? &cache : nullptr, prompt_ids, at::Tensor(), options);
}

MiniCpmV load_minicpmv(const std::string& folder, at::ScalarType dtype, at::Device device) {
  const std::string config_path = folder + "/config.json";
  nlohmann::json j = io::read_json_file(config_path);
  check_architecture(j, config_path, "MiniCPMV", "minicpmv");
  io::config::MiniCpmVConfig config = io::config::parse_minicpmv_config(j, config_path);
  MiniCpmV m = [&] {
    nn::SkipInitGuard skip_init;
    return MiniCpmV(config);
  }();
  io::LoadOptions options;
  // Buffers older checkpoints carry that we compute instead.
  options.ignore_unexpected = {R"(\.rotary_emb\.inv_freq$)", R"(\.position_ids$)"};
  if (config.llm.tie_word_embeddings) options.ignore_unexpected.push_back(R"(^llm\.lm_head\.)");
  // With drop_vision_last_layer the release builds the tower without its last layer and
  // from_pretrained skips that layer's weights if the file has them; so do we.
  if (config.drop_vision_last_layer)
    options.ignore_unexpected.push_back(R"(^vpm\.encoder\.layers\.)" +
                                        std::to_string(config.vision_config.num_hidden_layers - 1) +
                                        R"(\.)");
  io::load_model_weights(*m, folder, options, dtype, device);
  return m;
}

}  // namespace lavender::vlm

#include "lavender/vlm/open_flamingo.h"

#include <torch/torch.h>

#include <algorithm>

#include "lavender/nn/checkpoint.h"
#include "lavender/util/error.h"
#include "lavender/vlm/lm_loss.h"

namespace lavender::vlm {

OpenFlamingoImpl::OpenFlamingoImpl(const io::config::OpenFlamingoConfig& config,
                                   const io::config::ClipVisionConfig& vision,
                                   const io::config::MptConfig& lang,
                                   const std::vector<int64_t>& gated_layers)
    : config_(config), gated_layers_(gated_layers) {
  vision_encoder = register_module("vision_encoder", ClipVisionTransformer(vision));
  PerceiverConfig p;
  p.dim = vision.hidden_size;
  p.depth = config.perceiver.depth;
  p.heads = config.perceiver.heads;
  p.dim_head = config.perceiver.dim_head;
  p.num_latents = config.perceiver.num_latents;
  p.ff_mult = config.perceiver.ff_mult;
  perceiver = register_module("perceiver", PerceiverResampler(p));
  lang_encoder = register_module("lang_encoder", MptForCausalLM(lang));
  GatedCrossAttentionConfig x;
  x.dim = lang.d_model;
  x.dim_visual = vision.hidden_size;
  x.heads = config.gated_xattn.heads;
  x.dim_head = config.gated_xattn.dim_head;
  x.ff_mult = config.gated_xattn.ff_mult;
  x.only_attend_immediate_media = config.gated_xattn.only_attend_immediate_media;
  std::vector<std::pair<std::string, std::shared_ptr<torch::nn::Module>>> gated;
  for (int64_t i : gated_layers) {
    if (i < 0 || i >= lang.n_layers)
      throw Error("OpenFlamingo: gated cross-attention layer " + std::to_string(i) +
                  " outside the " + std::to_string(lang.n_layers) + "-block language model");
    gated.emplace_back(std::to_string(i), GatedCrossAttentionBlock(x).ptr());
  }
  gated_cross_attn_layers =
      register_module("gated_cross_attn_layers", torch::nn::ModuleDict(gated));
}

at::Tensor OpenFlamingoImpl::encode_vision(const at::Tensor& vision_x,
                                           OpenFlamingoCapture* capture) {
  if (vision_x.dim() != 6)
    throw Error("OpenFlamingo: vision_x must be [batch, images, frames, channels, size, size]");
  if (vision_x.size(2) != 1) throw Error("OpenFlamingo: only one frame per image is supported");
  const int64_t b = vision_x.size(0), t = vision_x.size(1);
  // The features are the last layer's patch tokens (class token dropped) before post_layernorm,
  // as open_clip returns its tokens.
  // The release runs its frozen vision tower without autograd; so does lavender.
  at::Tensor features;
  {
    torch::NoGradGuard no_grad;
    features = vision_encoder->forward(vision_x.flatten(0, 2)).hidden_states.back().slice(1, 1);
  }
  const bool keep = capture && capture->vision;
  at::Tensor media =
      perceiver->forward(features.reshape({b, t, features.size(1), features.size(2)}),
                         keep ? &capture->perceiver_attn : nullptr);
  if (keep) {
    capture->vision_features = features;
    capture->perceiver_out = media;
  }
  return media;
}

void OpenFlamingoImpl::set_layer_hooks(nn::LayerHooks* hooks) {
  layer_hooks_ = hooks;
  vision_encoder->set_layer_hooks(hooks);
  lang_encoder->set_layer_hooks(hooks);
}

OpenFlamingoOutput OpenFlamingoImpl::forward(const OpenFlamingoInputs& in,
                                             OpenFlamingoCapture* capture, KvCache* cache) {
  at::Tensor media = in.media.defined() ? in.media : encode_vision(in.vision_x, capture);
  if (media.size(0) != in.input_ids.size(0))
    throw Error("OpenFlamingo: " + std::to_string(media.size(0)) + " image rows for " +
                std::to_string(in.input_ids.size(0)) + " text rows");
  at::Tensor text_time =
      in.text_time.defined() ? in.text_time : media_time(in.input_ids, config_.media_token_id);
  if (capture) capture->xattn.clear();

  MptForwardOptions options;
  options.attention_mask = in.attention_mask;
  options.cache = cache;
  const bool recompute = lang_encoder->recomputes(options);
  options.before_block = [&](int64_t i, const at::Tensor& x) -> at::Tensor {
    const std::string key = std::to_string(i);
    if (!gated_cross_attn_layers->contains(key)) return x;
    const bool keep =
        capture && std::count(capture->xattn_layers.begin(), capture->xattn_layers.end(), i) > 0;
    auto layer = (*gated_cross_attn_layers)[key]->as<GatedCrossAttentionBlock>();
    const nn::HookedLayer hooked{layer_hooks_, layer};
    if (!recompute) {
      nn::WholeLayer whole(hooked, x);
      at::Tensor probs;
      at::Tensor out = layer->forward(x, media, text_time, keep ? &probs : nullptr);
      if (keep) capture->xattn[i] = probs;
      return out;
    }
    // The latents train (the Perceiver does), so they enter the recomputation as an input; the
    // probabilities leave it as an output, so the alignment loss reaches the layer through it.
    const std::vector<at::Tensor> out = nn::checkpoint(
        [layer, text_time, keep](const std::vector<at::Tensor>& inputs) {
          at::Tensor probs;
          at::Tensor y = layer->forward(inputs[0], inputs[1], text_time, keep ? &probs : nullptr);
          return keep ? std::vector<at::Tensor>{y, probs} : std::vector<at::Tensor>{y};
        },
        {x, media}, hooked);
    if (keep) capture->xattn[i] = out[1];
    return out[0];
  };
  OpenFlamingoOutput out;
  out.logits = lang_encoder->logits(lang_encoder->forward(in.input_ids, options));
  if (in.labels.defined()) out.loss = causal_lm_loss(out.logits, in.labels);
  return out;
}

at::Tensor generate_open_flamingo(OpenFlamingoImpl& model, const at::Tensor& vision_x,
                                  const at::Tensor& input_ids, const at::Tensor& attention_mask,
                                  GenerationOptions options, std::vector<at::Tensor>* step_logits) {
  torch::NoGradGuard no_grad;
  if (options.eos_token_ids.empty()) options.eos_token_ids = {model.config().eoc_token_id};
  const int64_t media_token = model.config().media_token_id;
  const at::Tensor media = model.encode_vision(vision_x);
  // The image count each row's newest tokens read, carried between decode steps as the release
  // carries its last media locations.
  at::Tensor last_time;
  StepFunction step = [&](const at::Tensor& ids, const at::Tensor& mask, const at::Tensor&,
                          bool first, KvCache* cache) {
    OpenFlamingoInputs in;
    in.input_ids = ids;
    in.attention_mask = mask;
    in.media = media;
    at::Tensor is_media = ids == media_token;
    if (first || is_media.any().item<bool>()) {
      // Tokens that include an <image> are placed by their own media locations (a lone new
      // <image> thus reads image 1), which then become the ones cached.
      in.text_time = media_time(ids, media_token);
      last_time = is_media.to(torch::kLong).sum(1, /*keepdim=*/true);
    } else {
      in.text_time = last_time.expand({ids.size(0), ids.size(1)});
    }
    at::Tensor logits = model.forward(in, nullptr, cache).logits.select(1, -1);
    if (step_logits) step_logits->push_back(logits);
    return logits;
  };
  KvCache cache = model.make_cache();
  return generate(step, &cache, input_ids, attention_mask, options);
}

}  // namespace lavender::vlm

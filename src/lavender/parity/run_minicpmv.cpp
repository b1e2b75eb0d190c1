// Parity runner for the MiniCPM-Llama3-V 2.5 fixture. The model runs on the fixture's own
// pixel values (so a preprocessing difference does not hide behind a model one): the release's
// batched vision path gives the primary outputs, the per-image path the `unbatched.*` ones; the
// decoder runs with every layer's attention captured in full, and greedy decoding continues row 0
// alone from its input embeddings.
#include <torch/torch.h>

#include "lavender/io/image.h"
#include "lavender/parity/parity.h"
#include "lavender/util/error.h"
#include "lavender/vlm/minicpmv.h"
#include "lavender/vlm/minicpmv_image_processor.h"

namespace lavender::parity {
namespace {

int64_t count_prefixed(const Fixture& f, const std::string& prefix) {
  int64_t n = 0;
  while (f.has(prefix + std::to_string(n))) ++n;
  return n;
}

// The special ids the fixture's toy tokenizer gives <image> and </image>.
int64_t special_id(const Fixture& f, const char* token) {
  const auto& ids = f.meta.at("tokenizer").at("special_ids");
  if (!ids.contains(token)) throw Error(f.path("meta.json") + ": no special id for " + token);
  return ids.at(token).get<int64_t>();
}

// The processor on every row's images (meta.json "rows"), numbered over the batch in row order.
void run_processor(const Fixture& f, Outputs& out) {
  vlm::MiniCpmVImageProcessor processor(
      vlm::load_minicpmv_image_processor_config(f.path("preprocessor_config.json")));
  int64_t n = 0;
  std::vector<at::Tensor> sizes;
  for (const auto& row : f.meta.at("rows")) {
    for (const auto& image : row.at("images")) {
      auto result =
          processor.preprocess(io::read_image(f.path(image.at("file").get<std::string>())));
      for (size_t i = 0; i < result.images.size(); ++i, ++n) {
        out["slice_image." + std::to_string(n)] = result.images[i];
        out["pixel_values." + std::to_string(n)] = result.pixel_values[i];
      }
      sizes.push_back(result.tgt_sizes);
    }
  }
  if (!sizes.empty()) out["tgt_sizes"] = torch::cat(sizes, 0);
}

}  // namespace

Outputs run_minicpmv(const Fixture& f) {
  torch::NoGradGuard no_grad;
  auto model = vlm::load_minicpmv(f.dir);
  Outputs out;
  run_processor(f, out);

  vlm::MiniCpmVInputs in;
  in.input_ids = f.tensor("input_ids");
  in.attention_mask = f.optional_tensor("attention_mask");
  in.position_ids = f.optional_tensor("position_ids");
  in.labels = f.optional_tensor("labels");
  in.tgt_sizes = f.tensor("tgt_sizes");
  const int64_t images = count_prefixed(f, "pixel_values.");
  for (int64_t i = 0; i < images; ++i)
    in.pixel_values.push_back(f.tensor("pixel_values." + std::to_string(i)));
  // Image bounds from the prompt's <image> / </image> tokens, as the release derives them.
  const int64_t b = in.input_ids.size(0);
  const int64_t im_start = special_id(f, "<image>"), im_end = special_id(f, "</image>");
  for (int64_t row = 0; row < b; ++row) {
    at::Tensor bounds = vlm::image_bounds_from_ids(in.input_ids[row], im_start, im_end);
    in.image_bounds.push_back(bounds);
    out["image_bound." + std::to_string(row)] = bounds;
  }

  // What the release feeds the tower in a batch: the padded pixels, the (all-true) patch mask and
  // the position ids its embeddings compute.
  const int64_t p = model->config().patch_size;
  int64_t len = 0;
  for (const auto& pv : in.pixel_values) len = std::max(len, pv.size(2) / p);
  std::vector<at::Tensor> padded;
  for (const auto& pv : in.pixel_values)
    padded.push_back(torch::constant_pad_nd(pv, {0, len * p - pv.size(2)}));
  out["vision_pixel_batch"] = torch::stack(padded, 0);
  at::Tensor release_mask = torch::ones({images, 1, len}, torch::kLong);
  out["vision_patch_attention_mask"] = release_mask;
  const int64_t per_side = model->vpm->embeddings->patches_per_side();
  out["vision_position_ids"] = vlm::bucketed_position_ids(release_mask.to(torch::kBool), per_side);

  vlm::MiniCpmVCapture capture;
  capture.resampler_attention = true;
  capture.full_matrix = true;
  for (int64_t l = 0; l < static_cast<int64_t>(model->llm->model->num_layers()); ++l)
    capture.layers.push_back(l);
  auto result = model->forward(in, &capture);
  for (int64_t i = 0; i < images; ++i)
    out["vision_hidden." + std::to_string(i)] = result.vision.hidden[i];
  out["resampler_out"] = result.vision.features;
  out["resampler_attn_heads"] = result.vision.resampler_attn_heads;
  // nn.MultiheadAttention's default weights: the mean over heads.
  out["resampler_attn"] = result.vision.resampler_attn_heads.mean(1);
  out["inputs_embeds"] = result.inputs_embeds;
  out["logits"] = result.logits;
  if (result.loss.defined()) out["loss"] = result.loss;
  for (const auto& [layer, probs] : capture.probs)
    out["lm_attentions." + std::to_string(layer)] = probs;

  // Each image alone through the tower (batch_vision_input false).
  vlm::MiniCpmVInputs single = in;
  single.vision_batching = vlm::MiniCpmVVisionBatching::kPerImage;
  single.labels = at::Tensor();
  auto unbatched = model->forward(single);
  for (int64_t i = 0; i < images; ++i) {
    out["unbatched.vision_hidden." + std::to_string(i)] = unbatched.vision.hidden[i];
    at::Tensor mask = torch::ones({1, 1, in.pixel_values[i].size(2) / p}, torch::kBool);
    out["unbatched.vision_position_ids." + std::to_string(i)] =
        vlm::bucketed_position_ids(mask, per_side)[0];
  }
  out["unbatched.resampler_out"] = unbatched.vision.features;
  out["unbatched.inputs_embeds"] = unbatched.inputs_embeds;

  // Greedy decoding of row 0 alone (its real tokens), no KV cache, as the reference ran it.
  if (f.has("greedy_ids")) {
    const int64_t steps = f.tensor("greedy_ids").size(0);
    const int64_t len0 = in.attention_mask.defined() ? in.attention_mask[0].sum().item<int64_t>()
                                                     : in.input_ids.size(1);
    vlm::GenerationOptions options;
    options.max_new_tokens = steps;
    options.use_cache = false;
    at::Tensor prompt = result.inputs_embeds.narrow(0, 0, 1).narrow(1, 0, len0);
    at::Tensor ids = vlm::generate_minicpmv(
        *model, prompt, in.input_ids.narrow(0, 0, 1).narrow(1, 0, len0), options);
    out["greedy_ids"] = ids[0].slice(0, len0);
    // Each step's top-1 minus top-2 logit, from one pass over the whole generated sequence
    // (causal: position len0 - 1 + s sees exactly what step s saw).
    at::Tensor embeds =
        torch::cat({prompt, model->llm->model->embed(ids.slice(1, len0, len0 + steps - 1))}, 1);
    at::Tensor logits = model->llm->logits(model->decode(embeds, {})).narrow(1, len0 - 1, steps);
    at::Tensor top2 = std::get<0>(logits[0].topk(2, -1));
    out["greedy_top1_minus_top2"] = top2.select(1, 0) - top2.select(1, 1);
  }
  return out;
}

}  // namespace lavender::parity

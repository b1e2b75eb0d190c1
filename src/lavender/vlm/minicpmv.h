// MiniCPM-Llama3-V 2.5 (the release's MiniCPMV remote code, model_type "minicpmv"): a SigLIP tower
// (`vpm.*`, Idefics2 form), a one-layer resampler turning each image or slice into `query_num`
// embeddings (`resampler.*`), and a Llama 3 LlamaForCausalLM (`llm.model.*`, `llm.lm_head`) whose
// input embeddings get the resampler's outputs written over the <unk> runs between <image> and
// </image> tokens (the "image bounds").
//
// Images arrive as the processor makes them: one tensor per source image or slice, [3, p, h·w·p]
// (its h × w patches laid side by side in one row, reshape_by_patch), with tgt_sizes [N, 2] = (h,
// w). They are numbered over the whole batch in row order, and each row's image bounds take that
// row's images in order.
#pragma once

#include <torch/nn/module.h>

#include <map>
#include <string>
#include <vector>

#include "lavender/io/config/minicpmv.h"
#include "lavender/nn/linear.h"
#include "lavender/vlm/generate.h"
#include "lavender/vlm/llama.h"
#include "lavender/vlm/minicpmv_resampler.h"
#include "lavender/vlm/siglip_vision.h"

namespace lavender::vlm {

// How the images of a batch go through the vision tower.
enum class MiniCpmVVisionBatching {
  // The release with batch_vision_input (its default): all images together, zero-padded to the
  // longest, Lmax patches. Its patch mask is built as zeros(N, 1, Lmax) and then filled with
  // mask[i, :h·w] = true, which indexes the size-1 dimension, so the mask is all true. Two
  // consequences reproduced here: (a) no key is masked, so the real patches of a shorter image
  // attend to its padding (zero pixels: the conv bias plus a position embedding), and (b) every
  // image's position ids are the 1-D buckets of k / Lmax over the table's row 0, so an image's
  // features depend on the longest image in the batch.
  kRelease,
  // Each image alone through the tower (the release with batch_vision_input false): no padding,
  // position ids bucket k / (h·w). Still 1-D over row 0: 2.5 flattens every image into one row of
  // patches, so the 2-D structure never reaches the position table.
  kPerImage,
  // Batched with the mask the release meant (mask[i, 0, :h·w], as MiniCPM-V 2.6 fixed it): padded
  // keys masked and buckets of k / (h·w). Equals kPerImage up to rounding, in one batch.
  kMasked,
};

// The LlamaForCausalLM under `llm.`.
class MiniCpmVLlmImpl : public torch::nn::Module {
 public:
  explicit MiniCpmVLlmImpl(const io::config::LlamaConfig& c);
  at::Tensor logits(const at::Tensor& hidden);

  LlamaModel model{nullptr};
  nn::Linear lm_head{nullptr};  // null when tied to the input embeddings
};
TORCH_MODULE(MiniCpmVLlm);

struct MiniCpmVVisionOutput {
  at::Tensor features;              // [N, query_num, hidden] resampler outputs
  std::vector<at::Tensor> hidden;   // per image [h·w, vision hidden]: the tower's real rows
  at::Tensor resampler_attn_heads;  // [N, heads, query_num, L] when asked
};

struct MiniCpmVInputs {
  at::Tensor input_ids;       // [B, T]
  at::Tensor attention_mask;  // [B, T] (1 = real token); undefined: no padding
  at::Tensor position_ids;    // [B, T]; undefined: arange(T) (what the release passes)
  at::Tensor labels;          // [B, T] with -100 where no loss is taken; undefined: no loss
  std::vector<at::Tensor> pixel_values;  // N tensors [3, p, h·w·p]; empty: no images
  at::Tensor tgt_sizes;                  // [N, 2] (h, w) in patches
  // Per row, [k, 2] [start, end) of each <unk> run; undefined or absent rows: none.
  std::vector<at::Tensor> image_bounds;
  MiniCpmVVisionBatching vision_batching = MiniCpmVVisionBatching::kRelease;
  bool right_padded = false;  // LlamaForwardOptions::right_padded
};

// Attention on demand, as LlavaCapture: the named decoder layers return the softmax probabilities
// of text rows × image columns (or the whole matrix), with gradients; the others keep the fast
// path. Image columns are each row's <unk> positions inside its image bounds, in order; rows may
// hold different numbers of them (different slice grids), so the columns are padded to the
// longest row and `image_columns` says which are real (padded columns hold zeros).
struct MiniCpmVCapture {
  // --- request ---
  std::vector<int64_t> layers;       // decoder layers, Python-style (-1 is the last)
  bool full_matrix = false;          // the whole [B, heads, T, T] instead of the block (parity)
  bool resampler_attention = false;  // the resampler's per-head probabilities
  // --- results ---
  // Decoder layer (non-negative index) → [B, heads, n_rows, n_image]: rows are the query
  // positions query_begin .. T-1, columns each row's image tokens in order.
  std::map<int64_t, at::Tensor> probs;
  int64_t query_begin = 0;
  at::Tensor image_positions;  // [B, n_image] long: the key position of each column (0 if padded)
  at::Tensor image_columns;    // [B, n_image] bool: the column is one of the row's image tokens
  at::Tensor text_rows;        // [B, n_rows] bool: the row is a real text token (not image/pad)
};

struct MiniCpmVOutput {
  at::Tensor logits;         // [B, T, vocab]
  at::Tensor loss;           // scalar mean CE over shifted labels != -100 (when labels)
  at::Tensor inputs_embeds;  // [B, T, hidden] what the decoder read
  MiniCpmVVisionOutput vision;
};

class MiniCpmVImpl : public torch::nn::Module {
 public:
  explicit MiniCpmVImpl(const io::config::MiniCpmVConfig& c);

  // The tower and the resampler on N images (see MiniCpmVVisionBatching).
  MiniCpmVVisionOutput encode_images(const std::vector<at::Tensor>& pixel_values,
                                     const at::Tensor& tgt_sizes, MiniCpmVVisionBatching batching,
                                     bool capture_resampler = false);
  // input_ids' embeddings with row b's image bounds filled, in order, by the next images of
  // `features` [N, query_num, hidden]. Throws when counts or run lengths disagree.
  at::Tensor embed_inputs(const at::Tensor& input_ids, const std::vector<at::Tensor>& image_bounds,
                          const at::Tensor& features);
  MiniCpmVOutput forward(const MiniCpmVInputs& inputs, MiniCpmVCapture* capture = nullptr);

  // Decoder run on ready embeddings [B, T, hidden]; returns the hidden states after the norm.
  at::Tensor decode(const at::Tensor& inputs_embeds, const LlamaForwardOptions& options) {
    return llm->model->forward(inputs_embeds, options);
  }
  const io::config::MiniCpmVConfig& config() const { return config_; }

  MiniCpmVLlm llm{nullptr};
  SiglipVisionTransformer vpm{nullptr};
  MiniCpmVResampler resampler{nullptr};

 private:
  io::config::MiniCpmVConfig config_;
};
TORCH_MODULE(MiniCpmV);

// [k, 2] bounds of one row of ids: (index of each `im_start` + 1, index of the matching `im_end`),
// as the release's _convert_to_tensors pairs them.
at::Tensor image_bounds_from_ids(const at::Tensor& row_ids, int64_t im_start_id, int64_t im_end_id);

// Greedy or sampled decoding continuing prompt embeddings [1, T, hidden] (images already in) whose
// token ids are `prompt_ids` [1, T]: the new tokens are embedded from the vocabulary, as the
// release's llm.generate(inputs_embeds=...) does. Returns [1, T + generated] ids.
at::Tensor generate_minicpmv(MiniCpmVImpl& model, const at::Tensor& prompt_embeds,
                             const at::Tensor& prompt_ids, const GenerationOptions& options);

// Builds the model from a Hub folder (config.json + model.safetensors, single or sharded) and
// loads its weights strictly; other architectures or missing tensors are a lavender::Error naming
// the folder. Placement as load_llava.
MiniCpmV load_minicpmv(const std::string& folder, at::ScalarType dtype = at::kFloat,
                       at::Device device = at::kCPU);

}  // namespace lavender::vlm

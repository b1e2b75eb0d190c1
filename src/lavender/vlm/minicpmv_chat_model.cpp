// MiniCPM-Llama3-V 2.5 as `lavender generate` and evaluation meet it: one image before the prompt
// (minicpm-v chat format; the image token expanded into the image's placeholder), replies up to
// <|eot_id|> or <|end_of_text|> (the release's chat() terminators, pad id 0), and the words'
// attention composed through the resampler onto the source picture and the slices
// (align/sliced_attention_maps.h).
#include <torch/torch.h>

#include <algorithm>

#include "lavender/align/sliced_attention_maps.h"
#include "lavender/util/error.h"
#include "lavender/vlm/chat_model.h"
#include "lavender/vlm/llava.h"
#include "lavender/vlm/minicpmv.h"
#include "lavender/vlm/minicpmv_prompt.h"

namespace lavender::vlm {
namespace {

// The image expanded into one prompt: the model's ids [1, T'], its inputs, and where each token
// of the chat's ids went.
struct MiniCpmVPrompt {
  MiniCpmVInputs inputs;
  std::vector<int64_t> positions;
  align::SlicedImage sliced;
};

class MiniCpmVChatModel : public ChatModel {
 public:
  MiniCpmVChatModel(const std::string& folder, std::unique_ptr<text::Tokenizer> tokenizer,
                    GenerationDefaults defaults, at::Device device, MiniCpmV model)
      : ChatModel(std::move(tokenizer), text::ChatFormat::minicpmv, std::move(defaults)),
        model_(std::move(model)),
        processor_(minicpmv_image_processor(folder, model_->config())),
        device_(device) {
    im_start_ = tokenizer_->token_to_id(processor_.config().im_start);
    im_end_ = tokenizer_->token_to_id(processor_.config().im_end);
  }

 protected:
  MiniCpmVPrompt prompt(const io::Image& image, const at::Tensor& ids) const {
    MiniCpmVImageInputs p = processor_.preprocess(image, model_->config().slice_mode);
    const auto placeholder = minicpmv_placeholder_ids(*tokenizer_, p, processor_.config());
    std::vector<int64_t> chat(ids.data_ptr<int64_t>(), ids.data_ptr<int64_t>() + ids.numel());
    MiniCpmVPrompt out;
    const auto expanded = expand_minicpmv_image(chat, im_start_, placeholder, &out.positions);
    if (expanded.size() == chat.size())
      throw Error("minicpmv: the prompt has no image token (" + processor_.config().im_start + ")");
    at::Tensor row = torch::tensor(expanded, torch::kLong);
    out.inputs.input_ids = row.unsqueeze(0).to(device_);
    out.inputs.image_bounds = {image_bounds_from_ids(row, im_start_, im_end_)};
    const auto dtype = model_->llm->model->embed_tokens->weight.scalar_type();
    for (const auto& pixels : p.pixel_values)
      out.inputs.pixel_values.push_back(pixels.to(device_, dtype));
    out.inputs.tgt_sizes = p.tgt_sizes;
    if (!model_->config().batch_vision_input)
      out.inputs.vision_batching = MiniCpmVVisionBatching::kPerImage;
    for (int64_t k = 0; k < p.tgt_sizes.size(0); ++k)
      out.sliced.patch_grids.push_back(
          {p.tgt_sizes[k][0].item<int64_t>(), p.tgt_sizes[k][1].item<int64_t>()});
    out.sliced.grid_cols = p.grid_cols;
    out.sliced.grid_rows = p.grid_rows;
    return out;
  }
  at::Tensor generate_ids(const io::Image& image, const at::Tensor& ids,
                          const GenerationOptions& o) override {
    torch::NoGradGuard no_grad;
    MiniCpmVPrompt p = prompt(image, ids);
    const MiniCpmVInputs& in = p.inputs;
    MiniCpmVVisionOutput vision =
        model_->encode_images(in.pixel_values, in.tgt_sizes, in.vision_batching);
    at::Tensor embeds = model_->embed_inputs(in.input_ids, in.image_bounds, vision.features);
    return generate_minicpmv(*model_, embeds, in.input_ids, o).slice(1, in.input_ids.size(1)).cpu();
  }
  at::Tensor sequence_logits(const io::Image& image, const at::Tensor& ids) override {
    torch::NoGradGuard no_grad;
    MiniCpmVPrompt p = prompt(image, ids);
    at::Tensor logits = model_->forward(p.inputs).logits[0].to(torch::kFloat).cpu();
    // Back to the chat's positions: the image token reads its placeholder's last token.
    return logits.index_select(0, torch::tensor(p.positions, torch::kLong));
  }
  at::Tensor attention_maps(const io::Image& image, const at::Tensor& ids,
                            const std::vector<int64_t>& layers, int64_t size) override {
    torch::NoGradGuard no_grad;
    MiniCpmVPrompt p = prompt(image, ids);
    MiniCpmVCapture capture;
    capture.layers = layers;
    capture.resampler_attention = true;
    MiniCpmVOutput o = model_->forward(p.inputs, &capture);
    const at::Tensor to_patch =
        align::query_patch_attention(o.vision.resampler_attn_heads).to(torch::kFloat).cpu();
    std::vector<at::Tensor> query_to_patch;
    for (size_t k = 0; k < p.sliced.patch_grids.size(); ++k) {
      const auto [h, w] = p.sliced.patch_grids[k];
      query_to_patch.push_back(to_patch[static_cast<int64_t>(k)].narrow(1, 0, h * w));
    }
    const int64_t t = ids.size(1);
    std::vector<at::Tensor> per_layer;
    for (int64_t l : layers) {
      at::Tensor maps =  // [H, rows from query_begin, S, S]
          align::sliced_image_maps(capture.probs.at(l)[0].to(torch::kFloat).cpu(), p.sliced,
                                   query_to_patch, latent_maps_, size, sliced_views_);
      at::Tensor full = torch::zeros({maps.size(0), t, size, size});
      for (int64_t q = 0; q < t; ++q) {
        const int64_t row = p.positions[static_cast<size_t>(q)] - capture.query_begin;
        if (row >= 0 && row < maps.size(1)) full.select(1, q).copy_(maps.select(1, row));
      }
      per_layer.push_back(full);
    }
    return torch::stack(per_layer);
  }
  std::vector<int64_t> default_layers() const override {
    return default_grounding_layers(num_layers());
  }
  int64_t num_layers() const override {
    return static_cast<int64_t>(model_->llm->model->num_layers());
  }
  io::Image view(const io::Image& image) const override {
    return minicpmv_slice_image(image, processor_.config(), !model_->config().slice_mode).source;
  }
  int64_t image_token() const override { return im_start_; }

 private:
  MiniCpmV model_;
  MiniCpmVImageProcessor processor_;
  at::Device device_;
  int64_t im_start_ = 0, im_end_ = 0;
};

}  // namespace

std::unique_ptr<ChatModel> make_minicpmv_chat_model(const std::string& folder, at::ScalarType dtype,
                                                    at::Device device) {
  auto tokenizer = text::load_tokenizer(folder);
  GenerationDefaults defaults = load_generation_defaults(folder);
  // The release's chat() stops at either terminator and pads with id 0.
  for (const char* end : {"<|end_of_text|>", "<|eot_id|>"}) {
    const int64_t id = tokenizer->token_to_id(end);  // -1: not in this vocabulary
    if (id >= 0 && std::find(defaults.eos_token_ids.begin(), defaults.eos_token_ids.end(), id) ==
                       defaults.eos_token_ids.end())
      defaults.eos_token_ids.push_back(id);
  }
  defaults.pad_token_id = 0;
  return std::make_unique<MiniCpmVChatModel>(folder, std::move(tokenizer), std::move(defaults),
                                             device, load_minicpmv(folder, dtype, device));
}

}  // namespace lavender::vlm

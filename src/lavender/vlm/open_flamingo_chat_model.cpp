// OpenFlamingo as `lavender generate` and evaluation meet it: one image before the prompt
// (openflamingo chat format), greedy or sampled replies up to <|endofchunk|>, and the words'
// attention read from the gated cross-attention layers either through the Perceiver's attention
// to patches or as a raster of the latents (align/resampled_attention_maps.h; set_latent_maps()).
#include <torch/torch.h>

#include <algorithm>

#include "lavender/align/resampled_attention_maps.h"
#include "lavender/util/error.h"
#include "lavender/vlm/chat_model.h"
#include "lavender/vlm/open_flamingo.h"

namespace lavender::vlm {
namespace {

class OpenFlamingoChatModel : public ChatModel {
 public:
  OpenFlamingoChatModel(const std::string& folder, at::Device device, OpenFlamingo model)
      : ChatModel(text::load_tokenizer(open_flamingo_tokenizer_folder(folder)),
                  text::ChatFormat::open_flamingo, defaults_of(*model)),
        model_(std::move(model)),
        processor_(open_flamingo_image_processor(folder, *model_)),
        device_(device) {}

 protected:
  static GenerationDefaults defaults_of(const OpenFlamingoImpl& m) {
    GenerationDefaults d;
    d.eos_token_ids = {m.config().eoc_token_id};
    d.pad_token_id = m.config().pad_token_id.value_or(m.config().eoc_token_id);
    return d;
  }
  at::Tensor vision_x(const io::Image& image) const {
    return processor_.preprocess(image).unsqueeze(0).unsqueeze(0).unsqueeze(0).to(device_);
  }
  at::Tensor generate_ids(const io::Image& image, const at::Tensor& ids,
                          const GenerationOptions& o) override {
    at::Tensor prompt = ids.to(device_);
    return generate_open_flamingo(*model_, vision_x(image), prompt, at::Tensor(), o)
        .slice(1, ids.size(1))
        .cpu();
  }
  at::Tensor sequence_logits(const io::Image& image, const at::Tensor& ids) override {
    torch::NoGradGuard no_grad;
    OpenFlamingoInputs in;
    in.vision_x = vision_x(image);
    in.input_ids = ids.to(device_);
    return model_->forward(in).logits[0].to(torch::kFloat).cpu();
  }
  at::Tensor attention_maps(const io::Image& image, const at::Tensor& ids,
                            const std::vector<int64_t>& layers, int64_t size) override {
    torch::NoGradGuard no_grad;
    const auto& gated = model_->gated_layers();
    for (int64_t l : layers)
      if (std::find(gated.begin(), gated.end(), l) == gated.end())
        throw Error("openflamingo: layer " + std::to_string(l) +
                    " has no gated cross-attention layer; text sees the image only through those");
    OpenFlamingoInputs in;
    in.vision_x = vision_x(image);
    in.input_ids = ids.to(device_);
    const bool composed = latent_maps_ == align::LatentMaps::composed;
    OpenFlamingoCapture capture;
    capture.vision = composed;
    capture.xattn_layers = layers;
    model_->forward(in, &capture);
    at::Tensor to_patch;
    if (composed)
      to_patch =
          align::latent_patch_attention(capture.perceiver_attn.back().to(torch::kFloat).cpu());
    std::vector<at::Tensor> per_layer;
    for (int64_t l : layers) {  // rows before the image are zero in the probabilities already
      const at::Tensor block = capture.xattn.at(l).to(torch::kFloat).cpu();
      per_layer.push_back(composed ? align::composed_latent_maps(block, to_patch, size)[0]
                                   : align::square_latent_maps(block, size)[0]);
    }
    return torch::stack(per_layer);
  }
  std::vector<int64_t> default_layers() const override { return model_->gated_layers(); }
  int64_t num_layers() const override {
    return static_cast<int64_t>(model_->lang_encoder->transformer->blocks->size());
  }
  io::Image view(const io::Image& image) const override {
    return processor_.resize_and_crop(image);
  }
  int64_t image_token() const override { return model_->config().media_token_id; }

 private:
  OpenFlamingo model_;
  ClipImageProcessor processor_;
  at::Device device_;
};

}  // namespace

std::unique_ptr<ChatModel> make_open_flamingo_chat_model(const std::string& folder,
                                                         at::ScalarType dtype, at::Device device) {
  return std::make_unique<OpenFlamingoChatModel>(folder, device,
                                                 load_open_flamingo(folder, dtype, device));
}

}  // namespace lavender::vlm

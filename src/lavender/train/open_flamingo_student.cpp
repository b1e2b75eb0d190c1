// OpenFlamingo as a student: the image is one <image> token in the text, the Perceiver turns the
// image's patch tokens into a few latents, and the text reads them through gated
// cross-attention layers before chosen decoder blocks. A word's attention to the image is its
// rows of a gated layer's probabilities over the latents, made a map either through the
// Perceiver's attention to patches or by reading the latents as a raster
// (align/resampled_attention_maps.h).
#include <torch/torch.h>

#include <algorithm>

#include "lavender/align/alignment_loss.h"
#include "lavender/align/resampled_attention_maps.h"
#include "lavender/io/json_file.h"
#include "lavender/runtime/device.h"
#include "lavender/train/student.h"
#include "lavender/util/error.h"
#include "lavender/vlm/open_flamingo.h"

namespace lavender::train {
namespace {

class OpenFlamingoStudent : public Student {
 public:
  OpenFlamingoStudent(const std::string& folder, at::ScalarType dtype, at::Device device)
      : Student(folder, text::load_tokenizer(vlm::open_flamingo_tokenizer_folder(folder)),
                text::ChatFormat::open_flamingo),
        model_(vlm::load_open_flamingo(folder, dtype, device)),
        processor_(vlm::open_flamingo_image_processor(folder, *model_)) {
    pad_id_ = model_->config().pad_token_id.value_or(model_->config().eoc_token_id);
  }

  torch::nn::Module& module() override { return *model_; }
  std::string vision_encoder_prefix() const override { return "vision_encoder."; }
  void enable_parallel_attention(const std::vector<int64_t>&) override {
    throw Error("--parallel-attention is not implemented for OpenFlamingo");
  }
  void set_gradient_checkpointing(bool on) override { model_->set_gradient_checkpointing(on); }
  // The decoder's layers in the order they run: each gated cross-attention layer is a layer of
  // its own (a sharding unit under its own name) just before its MPT block. One unit for both
  // would need one module holding both, which the checkpoint's names do not have; as two, the
  // gated layer's start prefetches its block.
  std::vector<const torch::nn::Module*> decoder_layers() const override {
    std::vector<const torch::nn::Module*> out;
    const auto blocks = modules_of(model_->lang_encoder->transformer->blocks);
    for (size_t i = 0; i < blocks.size(); ++i) {
      const std::string key = std::to_string(i);
      if (model_->gated_cross_attn_layers->contains(key))
        out.push_back((*model_->gated_cross_attn_layers)[key].get());
      out.push_back(blocks[i]);
    }
    return out;
  }
  std::vector<const torch::nn::Module*> vision_layers() const override {
    return modules_of(model_->vision_encoder->encoder->layers);
  }
  void set_layer_hooks(nn::LayerHooks* hooks) override { model_->set_layer_hooks(hooks); }
  void set_latent_maps(align::LatentMaps maps) override { maps_ = maps; }
  int64_t heads() const override { return model_->config().gated_xattn.heads; }
  int64_t num_layers() const override {
    return static_cast<int64_t>(model_->lang_encoder->transformer->blocks->size());
  }
  std::vector<int64_t> default_align_layers() const override { return model_->gated_layers(); }
  void check_align_layer(int64_t layer) const override {
    Student::check_align_layer(layer);
    const auto& g = model_->gated_layers();
    if (std::find(g.begin(), g.end(), layer) == g.end())
      throw Error("align layer " + std::to_string(layer) +
                  " has no gated cross-attention layer in this OpenFlamingo; its text sees the "
                  "image only through those");
  }

  // The release's layout needs its three parts; a saved folder carries the parts' configs inline
  // and one checkpoint of the whole model (vlm::load_open_flamingo reads both).
  nlohmann::json saved_config() const override {
    nlohmann::json c = io::read_json_file(folder_ + "/config.json");
    // The embedding's rows after the release's resize (what lavender plan counts).
    c["vocab_size"] = model_->lang_encoder->config().vocab_size;
    if (c.contains("vision_config") && c.contains("lang_config")) return c;
    auto part = [&](const char* key) {
      return io::config::open_flamingo_part_path(folder_, c.value(key, std::string(key)));
    };
    c["vision_config"] =
        io::config::open_flamingo_vision_config_json(part("vision") + "/config.json");
    c["lang_config"] = io::read_json_file(part("lang") + "/config.json");
    c.erase("checkpoint");
    return c;
  }

  StudentOutput forward(const std::vector<const PreparedExample*>& batch,
                        const std::vector<int64_t>& layers, int64_t map_size,
                        const at::Device& device) override {
    const int64_t words = most_matches(batch);
    PaddedText text = pad_text(batch, pad_id_);
    const int64_t t = text.ids.size(1);
    StudentOutput out;
    out.label_tokens = text.label_tokens;
    vlm::OpenFlamingoInputs in;
    // One image of one frame per sample: [B, 1, 1, 3, S, S].
    in.vision_x =
        runtime::to_device(stacked_images(batch).unsqueeze(1).unsqueeze(1), device, float_dtype());
    in.input_ids = runtime::to_device(text.ids, device);
    in.attention_mask = runtime::to_device(text.mask, device);
    in.labels = runtime::to_device(text.labels, device);
    // Which image each token reads, from the host's ids (no device round trip).
    in.text_time =
        runtime::to_device(vlm::media_time(text.ids, model_->config().media_token_id), device);
    const bool aligning = !layers.empty() && words > 0;
    vlm::OpenFlamingoCapture capture;
    capture.vision = aligning && maps_ == align::LatentMaps::composed;
    if (aligning) capture.xattn_layers = layers;
    vlm::OpenFlamingoOutput o = model_->forward(in, aligning ? &capture : nullptr);
    out.text_loss = o.loss;
    if (!aligning) return out;

    at::Tensor averaging, valid;
    word_averaging(batch, 0, t, words, averaging, valid);
    averaging = runtime::to_device(averaging, device);
    at::Tensor latent_to_patch;
    if (maps_ == align::LatentMaps::composed)
      latent_to_patch = align::latent_patch_attention(capture.perceiver_attn.back());
    std::vector<at::Tensor> per_layer;
    for (int64_t l : layers) {
      // [B, heads, W, latents]: one image, so its latents are all the columns.
      at::Tensor block = align::student_word_block(capture.xattn.at(l), averaging);
      per_layer.push_back(maps_ == align::LatentMaps::composed
                              ? align::composed_latent_maps(block, latent_to_patch, map_size)
                              : align::square_latent_maps(block, map_size));
    }
    out.word_maps = torch::stack(per_layer, 1);
    out.valid = valid;  // stays on the host, which reads it
    out.teacher = runtime::to_device(stacked_teacher(batch, words, map_size), device);
    return out;
  }

 protected:
  int64_t image_token() const override { return model_->config().media_token_id; }
  int64_t tokens_per_image() const override { return 1; }
  std::vector<at::Tensor> prepare_image(const io::Image& image, io::Image& view) const override {
    view = processor_.resize_and_crop(image);
    return {processor_.preprocess(image)};
  }

 private:
  vlm::OpenFlamingo model_;
  vlm::ClipImageProcessor processor_;
  int64_t pad_id_ = 0;
  align::LatentMaps maps_ = align::LatentMaps::composed;
};

}  // namespace

std::unique_ptr<Student> make_open_flamingo_student(const std::string& folder, at::ScalarType dtype,
                                                    at::Device device) {
  return std::make_unique<OpenFlamingoStudent>(folder, dtype, device);
}

}  // namespace lavender::train

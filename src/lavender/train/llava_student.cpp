// LLaVA-1.5 as a student: the image enters as tokens_per_image copies of the image token, and a
// word's attention to the image is the block of its rows × the image-token columns of a
// decoder layer's self-attention.
#include <torch/torch.h>

#include <algorithm>

#include "lavender/align/alignment_loss.h"
#include "lavender/align/attention_maps.h"
#include "lavender/runtime/device.h"
#include "lavender/train/student.h"
#include "lavender/util/error.h"
#include "lavender/vlm/clip_image_processor.h"
#include "lavender/vlm/llava.h"

namespace lavender::train {
namespace {

class LlavaStudent : public Student {
 public:
  LlavaStudent(const std::string& folder, at::ScalarType dtype, at::Device device)
      : Student(folder, text::load_tokenizer(folder), text::ChatFormat::llava15),
        model_(vlm::load_llava(folder, dtype, device)),
        processor_(vlm::ClipImageProcessor::load(folder + "/preprocessor_config.json")) {
    const auto& text = model_->config().text_config;
    pad_id_ = text.pad_token_id.value_or(0);
  }

  torch::nn::Module& module() override { return *model_; }
  std::string vision_encoder_prefix() const override { return "model.vision_tower."; }
  void enable_parallel_attention(const std::vector<int64_t>& layers) override {
    for (int64_t l : layers)
      model_->model->language_model->layers[static_cast<size_t>(l)]
          ->as<vlm::LlamaDecoderLayer>()
          ->self_attn->enable_parallel_attention();
  }
  void set_gradient_checkpointing(bool on) override {
    model_->model->language_model->set_gradient_checkpointing(on);
  }
  std::vector<const torch::nn::Module*> decoder_layers() const override {
    return modules_of(model_->model->language_model->layers);
  }
  std::vector<const torch::nn::Module*> vision_layers() const override {
    return modules_of(model_->model->vision_tower->encoder->layers);
  }
  void set_layer_hooks(nn::LayerHooks* hooks) override {
    model_->model->language_model->set_layer_hooks(hooks);
    model_->model->vision_tower->set_layer_hooks(hooks);
  }
  int64_t heads() const override { return model_->config().text_config.num_attention_heads; }
  int64_t num_layers() const override {
    return static_cast<int64_t>(model_->model->language_model->num_layers());
  }
  std::vector<int64_t> default_align_layers() const override {
    return vlm::default_grounding_layers(num_layers());
  }

  StudentOutput forward(const std::vector<const PreparedExample*>& batch,
                        const std::vector<int64_t>& layers, int64_t map_size,
                        const at::Device& device) override {
    const int64_t words = most_matches(batch);
    PaddedText text = pad_text(batch, pad_id_);
    const int64_t t = text.ids.size(1);
    StudentOutput out;
    out.label_tokens = text.label_tokens;
    vlm::LlavaInputs in;
    in.input_ids = runtime::to_device(text.ids, device);
    in.host_input_ids = text.ids;
    in.labels = runtime::to_device(text.labels, device);
    in.loss_logits_only = true;  // the trainer reads the loss, not the logits
    in.attention_mask = runtime::to_device(text.mask, device);
    in.right_padded = true;  // pad_text pads at the ends
    in.pixel_values = runtime::to_device(stacked_images(batch), device, float_dtype());
    vlm::LlavaCapture capture;
    capture.layers = layers;
    vlm::LlavaOutput o = model_->forward(in, layers.empty() ? nullptr : &capture);
    out.text_loss = o.loss;
    if (layers.empty() || words == 0) return out;

    const int64_t rows = t - capture.query_begin;
    at::Tensor averaging, valid;
    word_averaging(batch, capture.query_begin, rows, words, averaging, valid);
    averaging = runtime::to_device(averaging, device);
    std::vector<at::Tensor> per_layer;
    for (int64_t l : layers) {
      at::Tensor block = align::student_word_block(capture.probs.at(l), averaging);
      per_layer.push_back(align::self_attention_maps(block, map_size));  // [B, H, W, S, S]
    }
    out.word_maps = torch::stack(per_layer, 1);
    out.valid = valid;  // stays on the host, which reads it
    out.teacher = runtime::to_device(stacked_teacher(batch, words, map_size), device);
    return out;
  }

 protected:
  int64_t image_token() const override { return model_->config().image_token_index; }
  int64_t tokens_per_image() const override { return model_->tokens_per_image(); }
  std::vector<at::Tensor> prepare_image(const io::Image& image, io::Image& view) const override {
    view = processor_.resize_and_crop(image);
    return {processor_.preprocess(image)};
  }

 private:
  vlm::LlavaForConditionalGeneration model_;
  vlm::ClipImageProcessor processor_;
  int64_t pad_id_ = 0;
};

}  // namespace

std::unique_ptr<Student> make_llava_student(const std::string& folder, at::ScalarType dtype,
                                            at::Device device) {
  return std::make_unique<LlavaStudent>(folder, dtype, device);
}

}  // namespace lavender::train

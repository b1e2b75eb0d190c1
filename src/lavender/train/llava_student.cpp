// LLaVA-1.5 as a student: the image enters as tokens_per_image copies of the image token, and a
// word's attention to the image is the block of its rows × the image-token columns of a
// decoder layer's self-attention.
#include <torch/torch.h>

#include <algorithm>

#include "lavender/align/alignment_loss.h"
#include "lavender/align/attention_maps.h"
#include "lavender/train/student.h"
#include "lavender/util/error.h"
#include "lavender/vlm/clip_image_processor.h"
#include "lavender/vlm/llava.h"

namespace lavender::train {
namespace {

class LlavaStudent : public Student {
 public:
  explicit LlavaStudent(const std::string& folder)
      : Student(folder, text::load_tokenizer(folder), text::ChatFormat::llava15),
        model_(vlm::load_llava(folder)),
        processor_(vlm::ClipImageProcessor::load(folder + "/preprocessor_config.json")) {
    const auto& text = model_->config().text_config;
    pad_id_ = text.pad_token_id.value_or(0);
  }

  torch::nn::Module& module() override { return *model_; }
  int64_t heads() const override { return model_->config().text_config.num_attention_heads; }
  int64_t num_layers() const override {
    return static_cast<int64_t>(model_->model->language_model->num_layers());
  }
  std::vector<int64_t> default_align_layers() const override {
    std::vector<int64_t> all(static_cast<size_t>(num_layers()));
    for (size_t i = 0; i < all.size(); ++i) all[i] = static_cast<int64_t>(i);
    return all;
  }

  StudentOutput forward(const std::vector<const PreparedExample*>& batch,
                        const std::vector<int64_t>& layers, int64_t map_size,
                        const at::Device& device) override {
    const int64_t b = static_cast<int64_t>(batch.size());
    int64_t t = 0, words = 0;
    for (const auto* ex : batch) {
      t = std::max<int64_t>(t, static_cast<int64_t>(ex->ids.size()));
      words = std::max<int64_t>(words, static_cast<int64_t>(ex->matches.size()));
    }
    // Right padding: real tokens keep positions 0.., as transformers' training collators do.
    at::Tensor ids = torch::full({b, t}, pad_id_, torch::kLong);
    at::Tensor labels = torch::full({b, t}, text::kIgnoreLabel, torch::kLong);
    at::Tensor mask = torch::zeros({b, t}, torch::kLong);
    std::vector<at::Tensor> pixels;
    StudentOutput out;
    for (int64_t i = 0; i < b; ++i) {
      const auto& ex = *batch[static_cast<size_t>(i)];
      const int64_t n = static_cast<int64_t>(ex.ids.size());
      ids[i].narrow(0, 0, n).copy_(torch::tensor(ex.ids, torch::kLong));
      labels[i].narrow(0, 0, n).copy_(torch::tensor(ex.labels, torch::kLong));
      mask[i].narrow(0, 0, n).fill_(1);
      pixels.push_back(ex.image_inputs.at(0));
      for (size_t k = 1; k < ex.labels.size(); ++k)
        out.label_tokens += ex.labels[k] != text::kIgnoreLabel;
    }
    vlm::LlavaInputs in;
    in.input_ids = ids.to(device);
    in.labels = labels.to(device);
    in.attention_mask = mask.to(device);
    in.pixel_values = torch::stack(pixels).to(device, first_float_dtype());
    vlm::LlavaCapture capture;
    capture.layers = layers;
    vlm::LlavaOutput o = model_->forward(in, layers.empty() ? nullptr : &capture);
    out.text_loss = o.loss;
    if (layers.empty() || words == 0) return out;

    const int64_t rows = t - capture.query_begin;
    at::Tensor averaging, valid;
    word_averaging(batch, capture.query_begin, rows, words, averaging, valid);
    averaging = averaging.to(device);
    std::vector<at::Tensor> per_layer;
    for (int64_t l : layers) {
      at::Tensor block = align::student_word_block(capture.probs.at(l), averaging);
      per_layer.push_back(align::self_attention_maps(block, map_size));  // [B, H, W, S, S]
    }
    out.word_maps = torch::stack(per_layer, 1);
    out.valid = valid.to(device);
    out.teacher = torch::zeros({b, words, map_size, map_size});
    for (int64_t i = 0; i < b; ++i) {
      const auto& ex = *batch[static_cast<size_t>(i)];
      if (ex.teacher.defined())
        out.teacher[i].narrow(0, 0, ex.teacher.size(0)).copy_(ex.teacher);
    }
    out.teacher = out.teacher.to(device);
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
  at::ScalarType first_float_dtype() {
    for (const auto& p : model_->parameters())
      if (p.is_floating_point()) return p.scalar_type();
    return torch::kFloat;
  }

  vlm::LlavaForConditionalGeneration model_;
  vlm::ClipImageProcessor processor_;
  int64_t pad_id_ = 0;
};

}  // namespace

std::unique_ptr<Student> make_llava_student(const std::string& folder) {
  return std::make_unique<LlavaStudent>(folder);
}

}  // namespace lavender::train

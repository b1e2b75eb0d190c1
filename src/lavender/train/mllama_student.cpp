// Llama 3.2 Vision (mllama) as a student: the image is one <|image|> token in the text, the
// text reads the image through cross-attention layers, and a word's attention to the image is
// its rows of a cross-attention layer's probabilities over tiles × patches, placed on the
// image's tile canvas.
#include <torch/torch.h>

#include <algorithm>

#include "lavender/align/alignment_loss.h"
#include "lavender/align/attention_maps.h"
#include "lavender/runtime/device.h"
#include "lavender/train/student.h"
#include "lavender/util/error.h"
#include "lavender/vlm/mllama.h"
#include "lavender/vlm/mllama_image_processor.h"

namespace lavender::train {
namespace {

class MllamaStudent : public Student {
 public:
  MllamaStudent(const std::string& folder, at::ScalarType dtype, at::Device device)
      : Student(folder, text::load_tokenizer(folder), text::ChatFormat::llama3_vision),
        model_(vlm::load_mllama(folder, dtype, device)),
        processor_(vlm::MllamaImageProcessor::load(folder + "/preprocessor_config.json")) {
    pad_id_ = model_->config().text_config.pad_token_id.value_or(0);
  }

  torch::nn::Module& module() override { return *model_; }
  std::string vision_encoder_prefix() const override { return "model.vision_model."; }
  void enable_parallel_attention(const std::vector<int64_t>& layers) override {
    for (int64_t l : layers) {
      check_align_layer(l);
      model_->model->language_model->layers[static_cast<size_t>(l)]
          ->as<vlm::MllamaCrossAttentionDecoderLayer>()
          ->cross_attn->enable_parallel_attention();
    }
  }
  void set_gradient_checkpointing(bool on) override {
    model_->model->language_model->set_gradient_checkpointing(on);
  }
  std::vector<const torch::nn::Module*> decoder_layers() const override {
    return modules_of(model_->model->language_model->layers);
  }
  std::vector<const torch::nn::Module*> vision_layers() const override {
    auto out = modules_of(model_->model->vision_model->transformer->layers);
    for (const auto* m : modules_of(model_->model->vision_model->global_transformer->layers))
      out.push_back(m);
    return out;
  }
  void set_layer_hooks(nn::LayerHooks* hooks) override {
    model_->model->language_model->set_layer_hooks(hooks);
    model_->model->vision_model->set_layer_hooks(hooks);
  }
  int64_t heads() const override { return model_->config().text_config.num_attention_heads; }
  int64_t num_layers() const override {
    return static_cast<int64_t>(model_->model->language_model->layers->size());
  }
  std::vector<int64_t> default_align_layers() const override {
    return model_->config().text_config.cross_attention_layers;
  }
  void check_align_layer(int64_t layer) const override {
    Student::check_align_layer(layer);
    if (!model_->model->language_model->is_cross_attention_layer(static_cast<size_t>(layer)))
      throw Error("align layer " + std::to_string(layer) +
                  " is a self-attention layer of mllama; its text sees the image only in the "
                  "cross-attention layers");
  }

  StudentOutput forward(const std::vector<const PreparedExample*>& batch,
                        const std::vector<int64_t>& layers, int64_t map_size,
                        const at::Device& device) override {
    const int64_t b = static_cast<int64_t>(batch.size());
    const int64_t words = most_matches(batch);
    int64_t tiles = 0;
    for (const auto* ex : batch) tiles = std::max<int64_t>(tiles, ex->image_inputs.at(0).size(0));
    PaddedText text = pad_text(batch, pad_id_);
    const int64_t t = text.ids.size(1);
    StudentOutput out;
    out.label_tokens = text.label_tokens;
    const auto& first = batch.front()->image_inputs.at(0);
    at::Tensor pixels = torch::zeros({b, 1, tiles, first.size(1), first.size(2), first.size(3)});
    at::Tensor ratio_ids = torch::zeros({b, 1}, torch::kLong);
    at::Tensor ratio_mask = torch::zeros({b, 1, tiles}, torch::kLong);
    at::Tensor cross = torch::zeros({b, t, 1, tiles}, torch::kLong);
    std::vector<std::array<int64_t, 2>> grids;
    for (int64_t i = 0; i < b; ++i) {
      const auto& ex = *batch[static_cast<size_t>(i)];
      const int64_t n = static_cast<int64_t>(ex.ids.size());
      const at::Tensor& px = ex.image_inputs.at(0);
      pixels[i][0].narrow(0, 0, px.size(0)).copy_(px);
      ratio_ids[i][0] = ex.image_inputs.at(1).item<int64_t>();
      const at::Tensor& rm = ex.image_inputs.at(2);
      ratio_mask[i][0].narrow(0, 0, rm.size(0)).copy_(rm);
      const at::Tensor& grid = ex.image_inputs.at(3);  // {rows, columns, tiles used}
      grids.push_back({grid[0].item<int64_t>(), grid[1].item<int64_t>()});
      // Every token from the image token on sees the image's real tiles (transformers' rule
      // for one image); padding sees nothing.
      const int64_t image_at = static_cast<int64_t>(
          std::find(ex.ids.begin(), ex.ids.end(), image_token()) - ex.ids.begin());
      cross[i].narrow(0, image_at, n - image_at).narrow(2, 0, grid[2].item<int64_t>()).fill_(1);
    }
    vlm::MllamaInputs in;
    in.input_ids = runtime::to_device(text.ids, device);
    in.host_input_ids = text.ids;
    in.labels = runtime::to_device(text.labels, device);
    in.loss_logits_only = true;  // the trainer reads the loss, not the logits
    in.attention_mask = runtime::to_device(text.mask, device);
    in.right_padded = true;  // pad_text pads at the ends
    in.pixel_values = runtime::to_device(pixels, device, float_dtype());
    in.aspect_ratio_ids = runtime::to_device(ratio_ids, device);
    in.aspect_ratio_mask = runtime::to_device(ratio_mask, device);
    in.cross_attention_mask = runtime::to_device(cross, device);
    vlm::MllamaCapture capture;
    capture.layers = layers;
    vlm::MllamaOutput o = model_->forward(in, layers.empty() ? nullptr : &capture);
    out.text_loss = o.loss;
    if (layers.empty() || words == 0) return out;

    at::Tensor averaging, valid;
    word_averaging(batch, 0, t, words, averaging, valid);
    averaging = runtime::to_device(averaging, device);
    const int64_t patches = model_->model->vision_model->patches_per_tile();
    std::vector<at::Tensor> per_layer;
    for (int64_t l : layers) {
      at::Tensor block = align::student_word_block(capture.probs.at(l), averaging);
      per_layer.push_back(align::tiled_cross_attention_maps(block, grids, patches, map_size));
    }
    out.word_maps = torch::stack(per_layer, 1);
    out.valid = valid;  // stays on the host, which reads it
    out.teacher = runtime::to_device(stacked_teacher(batch, words, map_size), device);
    return out;
  }

 protected:
  int64_t image_token() const override { return model_->config().image_token_index; }
  int64_t tokens_per_image() const override { return 1; }
  std::vector<at::Tensor> prepare_image(const io::Image& image, io::Image& view) const override {
    const auto plan = processor_.plan(image);
    view = processor_.canvas(image, plan);
    vlm::MllamaImage p = processor_.preprocess(image);
    return {p.pixel_values, torch::tensor(p.aspect_ratio_id, torch::kLong), p.aspect_ratio_mask,
            torch::tensor({plan.grid.first, plan.grid.second, p.num_tiles}, torch::kLong)};
  }

 private:
  vlm::MllamaForConditionalGeneration model_;
  vlm::MllamaImageProcessor processor_;
  int64_t pad_id_ = 0;
};

}  // namespace

std::unique_ptr<Student> make_mllama_student(const std::string& folder, at::ScalarType dtype,
                                             at::Device device) {
  return std::make_unique<MllamaStudent>(folder, dtype, device);
}

}  // namespace lavender::train

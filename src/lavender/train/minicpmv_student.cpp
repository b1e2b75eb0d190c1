// MiniCPM-Llama3-V 2.5 as a student: the image enters the sequence as its placeholder (the source
// picture's and each slice's query_num <unk> tokens, filled with the resampler's outputs), and a
// word's attention to the image is its rows of a decoder layer's self-attention over those
// tokens, composed through the resampler's query→patch attention onto each picture's patch grid
// (or read as rasters: --latent-maps square), the slices placed on the image's grid and the two
// views added (align/sliced_attention_maps.h).
#include <torch/torch.h>

#include <utility>

#include "lavender/align/alignment_loss.h"
#include "lavender/align/sliced_attention_maps.h"
#include "lavender/io/config/minicpmv.h"
#include "lavender/runtime/device.h"
#include "lavender/train/student.h"
#include "lavender/vlm/llava.h"
#include "lavender/vlm/minicpmv.h"
#include "lavender/vlm/minicpmv_prompt.h"

namespace lavender::train {
namespace {

// The image_inputs of a prepared MiniCPM-V example, by position.
enum MiniCpmVInput : size_t { kTgtSizes = 0, kSliceGrid = 1, kPlaceholder = 2, kFirstPicture = 3 };

class MiniCpmVStudent : public Student {
 public:
  MiniCpmVStudent(const std::string& folder, at::ScalarType dtype, at::Device device)
      : Student(folder, text::load_tokenizer(folder), text::ChatFormat::minicpmv),
        model_(vlm::load_minicpmv(folder, dtype, device)),
        processor_(vlm::minicpmv_image_processor(folder, model_->config())) {
    im_start_ = tokenizer_->token_to_id(processor_.config().im_start);
    im_end_ = tokenizer_->token_to_id(processor_.config().im_end);
    pad_id_ = model_->config().llm.pad_token_id.value_or(0);
    // The release's batch_vision_input: all pictures through the tower together, with its
    // patch-mask quirk (vlm/minicpmv.h); false: each picture alone.
    batching_ = model_->config().batch_vision_input ? vlm::MiniCpmVVisionBatching::kRelease
                                                    : vlm::MiniCpmVVisionBatching::kPerImage;
  }

  torch::nn::Module& module() override { return *model_; }
  // The resampler trains with the decoder, as LLaVA's projector does.
  std::string vision_encoder_prefix() const override { return "vpm."; }
  void enable_parallel_attention(const std::vector<int64_t>& layers) override {
    for (int64_t l : layers)
      decoder()
          ->layers[static_cast<size_t>(l)]
          ->as<vlm::LlamaDecoderLayer>()
          ->self_attn->enable_parallel_attention();
  }
  void set_gradient_checkpointing(bool on) override { decoder()->set_gradient_checkpointing(on); }
  std::vector<const torch::nn::Module*> decoder_layers() const override {
    return modules_of(model_->llm->model->layers);
  }
  std::vector<const torch::nn::Module*> vision_layers() const override {
    return modules_of(model_->vpm->encoder->layers);
  }
  void set_layer_hooks(nn::LayerHooks* hooks) override {
    decoder()->set_layer_hooks(hooks);
    model_->vpm->set_layer_hooks(hooks);
  }
  void set_latent_maps(align::LatentMaps maps) override { maps_ = maps; }
  void set_sliced_views(align::SlicedViews views) override { views_ = views; }
  int64_t heads() const override { return model_->config().llm.num_attention_heads; }
  int64_t num_layers() const override {
    return static_cast<int64_t>(model_->llm->model->num_layers());
  }
  // The middle half of the decoder, as LLaVA's (vlm::default_grounding_layers says why).
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
    vlm::MiniCpmVInputs in = inputs(batch, text, device);
    const bool aligning = !layers.empty() && words > 0;
    vlm::MiniCpmVCapture capture;
    capture.layers = layers;
    capture.resampler_attention = aligning && maps_ == align::LatentMaps::composed;
    vlm::MiniCpmVOutput o = model_->forward(in, aligning ? &capture : nullptr);
    out.text_loss = o.loss;
    if (!aligning) return out;

    at::Tensor averaging, valid;
    word_averaging(batch, capture.query_begin, t - capture.query_begin, words, averaging, valid);
    averaging = runtime::to_device(averaging, device);
    const auto pictures = pictures_of(batch, o.vision.resampler_attn_heads);
    std::vector<at::Tensor> per_layer;
    for (int64_t l : layers) {
      at::Tensor block = align::student_word_block(capture.probs.at(l), averaging);
      std::vector<at::Tensor> per_sample;
      for (size_t i = 0; i < batch.size(); ++i) {
        const auto& [image, query_to_patch] = pictures[i];
        // The sample's own image columns come first in its row of the block.
        const int64_t columns =
            static_cast<int64_t>(image.patch_grids.size()) * model_->config().query_num;
        per_sample.push_back(
            align::sliced_image_maps(block[static_cast<int64_t>(i)].narrow(2, 0, columns), image,
                                     query_to_patch, maps_, map_size, views_));
      }
      per_layer.push_back(torch::stack(per_sample));  // [B, H, W, S, S]
    }
    out.word_maps = torch::stack(per_layer, 1);
    out.valid = valid;  // stays on the host, which reads it
    out.teacher = runtime::to_device(stacked_teacher(batch, words, map_size), device);
    return out;
  }

 protected:
  int64_t image_token() const override { return im_start_; }
  int64_t tokens_per_image() const override { return 1; }  // image_sequence says the rest
  std::vector<int64_t> image_sequence(const std::vector<at::Tensor>& inputs) const override {
    const at::Tensor& ids = inputs.at(kPlaceholder);
    return std::vector<int64_t>(ids.data_ptr<int64_t>(), ids.data_ptr<int64_t>() + ids.numel());
  }
  std::vector<at::Tensor> prepare_image(const io::Image& image, io::Image& view) const override {
    vlm::MiniCpmVImageInputs p = processor_.preprocess(image, model_->config().slice_mode);
    const auto ids = vlm::minicpmv_placeholder_ids(*tokenizer_, p, processor_.config());
    view = std::move(p.source);
    std::vector<at::Tensor> out{p.tgt_sizes,
                                torch::tensor({p.grid_cols, p.grid_rows}, torch::kLong),
                                torch::tensor(ids, torch::kLong)};
    for (auto& pixels : p.pixel_values) out.push_back(std::move(pixels));
    return out;
  }

 private:
  vlm::LlamaModel& decoder() { return model_->llm->model; }

  // Each sample's pictures: their grids and, for composed maps, each picture's query→patch
  // attention out of the resampler's [N, heads, queries, Lmax] (pictures in batch order).
  std::vector<std::pair<align::SlicedImage, std::vector<at::Tensor>>> pictures_of(
      const std::vector<const PreparedExample*>& batch, const at::Tensor& resampler_attn) const {
    at::Tensor to_patch;  // [N, queries, Lmax]: each picture's first h·w columns are its patches
    if (maps_ == align::LatentMaps::composed)
      to_patch = align::query_patch_attention(resampler_attn);
    std::vector<std::pair<align::SlicedImage, std::vector<at::Tensor>>> out;
    int64_t first = 0;  // the sample's first picture among the batch's
    for (const auto* ex : batch) {
      align::SlicedImage image = sliced_image(*ex);
      std::vector<at::Tensor> query_to_patch;
      for (const auto& [h, w] : image.patch_grids) {
        if (to_patch.defined()) query_to_patch.push_back(to_patch[first].narrow(1, 0, h * w));
        ++first;
      }
      out.emplace_back(std::move(image), std::move(query_to_patch));
    }
    return out;
  }

  static align::SlicedImage sliced_image(const PreparedExample& ex) {
    align::SlicedImage image;
    const at::Tensor& sizes = ex.image_inputs.at(kTgtSizes);
    for (int64_t k = 0; k < sizes.size(0); ++k)
      image.patch_grids.push_back({sizes[k][0].item<int64_t>(), sizes[k][1].item<int64_t>()});
    const at::Tensor& grid = ex.image_inputs.at(kSliceGrid);
    image.grid_cols = grid[0].item<int64_t>();
    image.grid_rows = grid[1].item<int64_t>();
    return image;
  }

  // The batch's pictures in row order, their sizes, and each row's image bounds (from the
  // host's ids: no device round trip).
  vlm::MiniCpmVInputs inputs(const std::vector<const PreparedExample*>& batch,
                             const PaddedText& text, const at::Device& device) {
    vlm::MiniCpmVInputs in;
    in.input_ids = runtime::to_device(text.ids, device);
    in.labels = runtime::to_device(text.labels, device);
    in.attention_mask = runtime::to_device(text.mask, device);
    in.right_padded = true;  // pad_text pads at the ends
    in.vision_batching = batching_;
    std::vector<at::Tensor> sizes;
    for (size_t i = 0; i < batch.size(); ++i) {
      const auto& ex = *batch[i];
      sizes.push_back(ex.image_inputs.at(kTgtSizes));
      for (size_t k = kFirstPicture; k < ex.image_inputs.size(); ++k)
        in.pixel_values.push_back(runtime::to_device(ex.image_inputs[k], device, float_dtype()));
      in.image_bounds.push_back(
          vlm::image_bounds_from_ids(text.ids[static_cast<int64_t>(i)], im_start_, im_end_));
    }
    in.tgt_sizes = torch::cat(sizes);
    return in;
  }

  vlm::MiniCpmV model_;
  vlm::MiniCpmVImageProcessor processor_;
  int64_t im_start_ = 0, im_end_ = 0, pad_id_ = 0;
  vlm::MiniCpmVVisionBatching batching_ = vlm::MiniCpmVVisionBatching::kRelease;
  align::LatentMaps maps_ = align::LatentMaps::composed;
  align::SlicedViews views_ = align::SlicedViews::both;
};

}  // namespace

std::unique_ptr<Student> make_minicpmv_student(const std::string& folder, at::ScalarType dtype,
                                               at::Device device) {
  return std::make_unique<MiniCpmVStudent>(folder, dtype, device);
}

}  // namespace lavender::train

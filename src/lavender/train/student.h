// The VLM being fine-tuned, as the trainer drives it: a sample becomes a prepared example
// (teacher-forced token ids with the reply labelled, the image as the model's inputs, the words
// matched with the teacher's), examples are collated into a batch, and one forward gives the
// text loss and, when asked, the per-word attention maps of the chosen layers, with gradients.
//
// The model families differ only in how an image enters the sequence and where its attention is
// read (LLaVA: image tokens in the sequence, self-attention rows; mllama: cross-attention to
// tiles), so each family implements prepare_image / forward, and the rest is shared here.
#pragma once

#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "lavender/align/resampled_attention_maps.h"
#include "lavender/align/sliced_attention_maps.h"
#include "lavender/align/word_match.h"
#include "lavender/io/image.h"
#include "lavender/nn/layer_hooks.h"
#include "lavender/text/chat_template.h"
#include "lavender/text/tokenizer.h"
#include "lavender/train/training_data.h"

namespace lavender::io {
class MapStoreReader;
}

namespace lavender::train {

// Which tokens' attention is aligned with the teacher's words.
enum class MatchScope { reply, all_text };
MatchScope parse_match_scope(const std::string& name);  // "reply" | "all"

struct ExampleOptions {
  MatchScope scope = MatchScope::reply;
  align::WordFilter filter;
  int64_t map_size = 32;
  int64_t max_tokens = 2048;  // longer sequences are cut (the labels with them)
};

struct PreparedExample {
  std::string key, origin;
  std::vector<int64_t> ids, labels;       // the model's sequence (LLaVA: image tokens expanded)
  std::vector<align::WordMatch> matches;  // student_tokens are positions in ids
  at::Tensor teacher;                     // [matches, S, S] fp32; undefined without maps
  std::vector<at::Tensor> image_inputs;   // the family's image tensors (CPU)
  io::Image view;                         // the image as the model saw it (figures)
  bool has_maps = false;                  // the teacher store held this key
};

struct StudentOutput {
  at::Tensor text_loss;  // scalar mean next-token loss over labelled tokens
  int64_t label_tokens = 0;
  at::Tensor word_maps;  // [B, L, H, W, S, S] (W = most matched words in a sample); or undefined
  at::Tensor teacher;    // [B, W, S, S]
  at::Tensor valid;      // [B, W] bool, on the CPU: the host selects the words by it
};

class Student {
 public:
  virtual ~Student() = default;
  // A Hugging Face folder (LLaVA-1.5, Llama 3.2 Vision or MiniCPM-Llama3-V 2.5) or an
  // OpenFlamingo folder (root config.json with model_type "openflamingo"), its weights loaded
  // straight into
  // `dtype` on `device` (vlm::load_llava says how). Throws naming the folder.
  static std::unique_ptr<Student> load(const std::string& folder, at::ScalarType dtype,
                                       at::Device device);

  const std::string& folder() const { return folder_; }
  const text::Tokenizer& tokenizer() const { return *tokenizer_; }
  text::ChatFormat format() const { return format_; }
  virtual torch::nn::Module& module() = 0;
  // The name prefix of the vision encoder's parameters in module() (LLaVA "model.vision_tower.",
  // mllama "model.vision_model."): what `--freeze @vision` holds still.
  virtual std::string vision_encoder_prefix() const = 0;
  virtual int64_t heads() const = 0;       // attention heads of the aligned layers
  virtual int64_t num_layers() const = 0;  // decoder layers
  // The layers aligned by default: LLaVA every decoder layer, mllama its cross-attention layers.
  virtual std::vector<int64_t> default_align_layers() const = 0;
  // Layers the family can align (mllama: cross-attention layers only). Throws naming the layer.
  virtual void check_align_layer(int64_t layer) const;
  // Learned parallel attention on these (aligned) layers: new W_Qd, W_Kd whose attention the
  // captures return from then on (nn/parallel_attention.h). Their parameters are named
  // `...parallel_attn.{q,k}.weight` in module().
  virtual void enable_parallel_attention(const std::vector<int64_t>& layers) = 0;
  // Recompute the decoder layers' activations in backward instead of keeping them.
  virtual void set_gradient_checkpointing(bool on) = 0;
  // The model's repeated layers (what --sharding full shards one by one): decoder layers, and
  // the vision encoders' layers. Modules of module().
  virtual std::vector<const torch::nn::Module*> decoder_layers() const = 0;
  virtual std::vector<const torch::nn::Module*> vision_layers() const = 0;
  // Hooks around every decoder and vision layer (nn/layer_hooks.h); nullptr: none.
  virtual void set_layer_hooks(nn::LayerHooks* hooks) = 0;
  // How attention to resampled latents becomes maps, for the families whose text reads such
  // latents (OpenFlamingo); the others have none and ignore it.
  virtual void set_latent_maps(align::LatentMaps) {}
  // Which of the pictures' maps make a word's map, for the families that see an image as a source
  // picture and slices (MiniCPM-V); the others ignore it.
  virtual void set_sliced_views(align::SlicedViews) {}

  // Tokenizes, expands the image, matches words with the teacher's entry for the sample's key
  // (when `store` has it) and decodes the image. Throws lavender::Error naming the sample's
  // origin for what cannot be used (unreadable image, nothing left to learn after truncation).
  PreparedExample prepare(const TrainingSample& sample, const io::MapStoreReader* store,
                          const ExampleOptions& options) const;

  // `layers` empty: no attention maps are computed (plain SFT).
  virtual StudentOutput forward(const std::vector<const PreparedExample*>& batch,
                                const std::vector<int64_t>& layers, int64_t map_size,
                                const at::Device& device) = 0;

  // The files of the source folder a saved model folder carries along (tokenizer, processor and
  // generation settings), so the saved folder is complete.
  virtual std::vector<std::string> companion_files() const;
  // The config.json a saved model folder gets (default: the source folder's own).
  virtual nlohmann::json saved_config() const;

 protected:
  Student(std::string folder, std::unique_ptr<text::Tokenizer> tokenizer, text::ChatFormat format)
      : folder_(std::move(folder)), tokenizer_(std::move(tokenizer)), format_(format) {}
  virtual int64_t image_token() const = 0;
  virtual int64_t tokens_per_image() const = 0;  // copies of the image token in the sequence
  // What one image token of the chat becomes in the model's sequence, given the image's
  // prepare_image tensors: tokens_per_image() copies of the image token (MiniCPM-V: the image's
  // placeholder, <image><unk>…</image> and its slices' rows). None of them is labelled or a word.
  virtual std::vector<int64_t> image_sequence(const std::vector<at::Tensor>& image_inputs) const;
  virtual std::vector<at::Tensor> prepare_image(const io::Image& image, io::Image& view) const = 0;
  // The dtype of the model's floating-point weights (images are cast to it).
  at::ScalarType float_dtype();

  std::string folder_;
  std::unique_ptr<text::Tokenizer> tokenizer_;
  text::ChatFormat format_;
};

// The store's key for a sample's maps: the sample's own key (as lavender sd-attn writes it), else
// its image file name (the authors' layout keys maps by image); "" when the store has neither.
std::string teacher_key(const TrainingSample& sample, const io::MapStoreReader& store);

// The tokens an example's next-token loss predicts: labelled positions after the first.
int64_t predicted_tokens(const PreparedExample& example);

// A batch's token sequences right-padded to the longest (real tokens keep positions 0.., as
// transformers' training collators do): ids [B, T] (pad_id), labels [B, T] (-100), mask [B, T].
struct PaddedText {
  at::Tensor ids, labels, mask;
  int64_t label_tokens = 0;  // labelled tokens the loss predicts (all but a first position)
};
PaddedText pad_text(const std::vector<const PreparedExample*>& batch, int64_t pad_id);

// The most words any example of `batch` matched: W of the batch's [B, W, ...] maps.
int64_t most_matches(const std::vector<const PreparedExample*>& batch);
// Each example's first image input, stacked into [B, ...] (families whose images share a shape).
at::Tensor stacked_images(const std::vector<const PreparedExample*>& batch);

// `fraction` of `layers` (at least one), evenly spaced: the paper finds parallel attention on
// 1/5 of the layers enough. E.g. 10 layers, 0.2 → layers 2 and 7.
std::vector<int64_t> evenly_spaced(const std::vector<int64_t>& layers, double fraction);

// The matches' teacher maps of a batch, zero-padded to `words`: [B, words, S, S] fp32 on the CPU.
at::Tensor stacked_teacher(const std::vector<const PreparedExample*>& batch, int64_t words,
                           int64_t size);

// The modules of a ModuleList, in order.
std::vector<const torch::nn::Module*> modules_of(const torch::nn::ModuleList& list);

// Row weights [B, W, R] that average each match's token rows: rows are query positions
// row_begin .. row_begin + R - 1; tokens before row_begin cannot see the image and are left out.
// `valid` [B, W] says which matches have a row.
void word_averaging(const std::vector<const PreparedExample*>& batch, int64_t row_begin,
                    int64_t rows, int64_t words, at::Tensor& averaging, at::Tensor& valid);

}  // namespace lavender::train

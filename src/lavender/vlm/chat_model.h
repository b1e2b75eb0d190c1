// A VLM as a user meets it: a Hugging Face folder (config.json, weights, tokenizer,
// preprocessor_config.json) loaded as whichever family it is (LLaVA-1.5, Llama 3.2 Vision,
// OpenFlamingo or MiniCPM-Llama3-V 2.5),
// that answers a prompt about an image and shows where its text looked in the image.
// This is what `lavender generate` calls; the pieces (tokenizer, processor, chat format, model)
// stay reachable for training code.
#pragma once

#include <ATen/core/Tensor.h>

#include <memory>
#include <string>
#include <vector>

#include "lavender/align/resampled_attention_maps.h"
#include "lavender/align/sliced_attention_maps.h"
#include "lavender/io/image.h"
#include "lavender/text/chat_template.h"
#include "lavender/text/tokenizer.h"
#include "lavender/text/words.h"
#include "lavender/vlm/generate.h"

namespace lavender::vlm {

struct ChatReply {
  std::vector<int64_t> prompt_ids;  // as the tokenizer wrote the prompt (one image token)
  std::vector<int64_t> reply_ids;   // generated, without the end-of-turn token
  std::string text;                 // the reply, decoded
};

// Attention of every token of `ids` to the image, teacher-forced in one forward.
struct TokenAttention {
  std::vector<int64_t> ids;
  at::Tensor maps;               // [layers, heads, T, S, S]; zero rows for tokens before the image
  std::vector<int64_t> layers;   // the decoder layers, in order
  text::WordSegmentation words;  // over ids (image and special tokens belong to no word)
  io::Image view;                // the image region the maps cover, as the model saw it
};

class ChatModel {
 public:
  virtual ~ChatModel() = default;
  // Throws lavender::Error naming the folder and what is missing or unsupported. The weights
  // load straight into `dtype` on `device` (vlm::load_llava says how); inputs follow them and
  // results come back to the CPU.
  static std::unique_ptr<ChatModel> load(const std::string& folder,
                                         at::ScalarType dtype = at::kFloat,
                                         at::Device device = at::kCPU);

  const text::Tokenizer& tokenizer() const { return *tokenizer_; }
  text::ChatFormat format() const { return format_; }
  // The prompt for one user turn with `image` before `prompt`, ready for the reply.
  std::vector<int64_t> prompt_ids(const std::string& prompt) const;

  ChatReply generate(const io::Image& image, const std::string& prompt, GenerationOptions options);
  // The conversation "user: image + prompt, assistant: reply" tokenized as training sees it;
  // labels mark the reply's tokens and the token ending the turn (text::tokenize_chat).
  text::TokenizedChat conversation_ids(const std::string& prompt, const std::string& reply) const;
  // Natural-log likelihood of `reply` as the whole answer to `prompt` about `image`,
  // teacher-forced in one forward: the sum over the labelled tokens of conversation_ids (the
  // turn's end included, so a reply that is only the start of a longer one is not favoured).
  // Multiple-choice evaluation ranks the choices by it.
  double reply_log_likelihood(const io::Image& image, const std::string& prompt,
                              const std::string& reply);
  // The same sum with the number of tokens it covers: -log_likelihood / tokens is the text loss
  // training would compute on this one conversation.
  struct ReplyScore {
    double log_likelihood = 0;
    int64_t tokens = 0;
  };
  ReplyScore reply_score(const io::Image& image, const std::string& prompt,
                         const std::string& reply);
  // log p(ids[t] | image, ids[< t]) for t = 1 .. T-1 (entry t - 1), teacher-forced.
  std::vector<double> token_log_probs(const io::Image& image, const std::vector<int64_t>& ids);
  // `layers` empty: the model's default (LLaVA: every decoder layer; mllama: its
  // cross-attention layers). Negative indices count from the end.
  TokenAttention attention(const io::Image& image, const std::vector<int64_t>& ids,
                           std::vector<int64_t> layers, int64_t size = 32);
  // How attention() makes maps of attention to resampled latents, for the families whose text
  // reads such latents (OpenFlamingo's Perceiver, MiniCPM-V's resampler); the others have none
  // and ignore it. Evaluation sets it as the model was trained (`--latent-maps`).
  void set_latent_maps(align::LatentMaps maps) { latent_maps_ = maps; }
  align::LatentMaps latent_maps() const { return latent_maps_; }
  // Which views make the maps of a model that sees an image as a source picture and slices
  // (MiniCPM-V; `--sliced-views`); the others ignore it.
  void set_sliced_views(align::SlicedViews views) { sliced_views_ = views; }

 protected:
  ChatModel(std::unique_ptr<text::Tokenizer> tokenizer, text::ChatFormat format,
            GenerationDefaults defaults)
      : tokenizer_(std::move(tokenizer)), format_(format), defaults_(std::move(defaults)) {}
  virtual at::Tensor generate_ids(const io::Image& image, const at::Tensor& ids,
                                  const GenerationOptions& options) = 0;
  // Next-token logits [T, vocab] (fp32) at each position of `ids` [1, T], teacher-forced.
  virtual at::Tensor sequence_logits(const io::Image& image, const at::Tensor& ids) = 0;
  // [layers, heads, T, S, S] for the given decoder layers.
  virtual at::Tensor attention_maps(const io::Image& image, const at::Tensor& ids,
                                    const std::vector<int64_t>& layers, int64_t size) = 0;
  virtual std::vector<int64_t> default_layers() const = 0;
  virtual int64_t num_layers() const = 0;
  virtual io::Image view(const io::Image& image) const = 0;
  virtual int64_t image_token() const = 0;

  std::unique_ptr<text::Tokenizer> tokenizer_;
  text::ChatFormat format_;
  GenerationDefaults defaults_;
  // The trainer's default (train::TrainOptions::latent_maps; a test keeps the two equal).
  align::LatentMaps latent_maps_ = align::LatentMaps::composed;
  align::SlicedViews sliced_views_ = align::SlicedViews::both;
};

// Mean over layers and heads of the maps of each requested word's tokens (every occurrence),
// min-max normalised: one [S, S] map per word. Throws when a word is not in the text.
std::vector<at::Tensor> word_attention(const TokenAttention& attention,
                                       const std::vector<std::string>& words);

}  // namespace lavender::vlm

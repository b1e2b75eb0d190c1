#include "lavender/vlm/chat_model.h"

#include <torch/torch.h>

#include <algorithm>
#include <filesystem>

#include "lavender/align/attention_maps.h"
#include "lavender/align/map_ops.h"
#include "lavender/io/json_file.h"
#include "lavender/runtime/dtype.h"
#include "lavender/util/error.h"
#include "lavender/vlm/clip_image_processor.h"
#include "lavender/vlm/hf_architecture.h"
#include "lavender/vlm/llava.h"
#include "lavender/vlm/mllama.h"
#include "lavender/vlm/mllama_image_processor.h"

namespace lavender::vlm {

std::unique_ptr<ChatModel> make_open_flamingo_chat_model(const std::string& folder,
                                                         at::ScalarType dtype, at::Device device);
std::unique_ptr<ChatModel> make_minicpmv_chat_model(const std::string& folder, at::ScalarType dtype,
                                                    at::Device device);

namespace {

at::Tensor ids_tensor(const std::vector<int64_t>& ids) {
  return torch::tensor(ids, torch::kLong).unsqueeze(0);
}

int64_t resolve(int64_t layer, int64_t n) {
  const int64_t i = layer < 0 ? layer + n : layer;
  if (i < 0 || i >= n)
    throw Error("layer " + std::to_string(layer) + " outside the model's " + std::to_string(n) +
                " decoder layers");
  return i;
}

std::string preprocessor_config(const std::string& folder) {
  const std::string path = folder + "/preprocessor_config.json";
  if (!std::filesystem::exists(path))
    throw Error(folder + ": no preprocessor_config.json (the image processor's settings)");
  return path;
}

class LlavaChatModel : public ChatModel {
 public:
  LlavaChatModel(const std::string& folder, std::unique_ptr<text::Tokenizer> tokenizer,
                 at::ScalarType dtype, at::Device device)
      : ChatModel(std::move(tokenizer), text::ChatFormat::llava15,
                  load_generation_defaults(folder)),
        model_(load_llava(folder, dtype, device)),
        processor_(ClipImageProcessor::load(preprocessor_config(folder))),
        device_(device) {}

 protected:
  // The prompt's one image token becomes as many as the image has features.
  at::Tensor expand(const at::Tensor& ids) const {
    std::vector<int64_t> out;
    for (int64_t i = 0; i < ids.size(1); ++i) {
      const int64_t id = ids[0][i].item<int64_t>();
      if (id == image_token())
        out.insert(out.end(), static_cast<size_t>(model_->tokens_per_image()), id);
      else
        out.push_back(id);
    }
    return ids_tensor(out);
  }
  at::Tensor pixels(const io::Image& image) const {
    return processor_.preprocess(image).unsqueeze(0).to(device_);
  }
  at::Tensor generate_ids(const io::Image& image, const at::Tensor& ids,
                          const GenerationOptions& o) override {
    at::Tensor expanded = expand(ids).to(device_);
    at::Tensor out = generate_llava(*model_, pixels(image), expanded, at::Tensor(), o);
    return out.slice(1, expanded.size(1)).cpu();
  }
  at::Tensor sequence_logits(const io::Image& image, const at::Tensor& ids) override {
    torch::NoGradGuard no_grad;
    LlavaInputs in;
    in.input_ids = expand(ids).to(device_);
    in.pixel_values = pixels(image);
    at::Tensor logits = model_->forward(in).logits[0].to(torch::kFloat).cpu();  // [T + extra, V]
    // Back to the unexpanded positions: those after the image token shift by the extra copies.
    const int64_t extra = model_->tokens_per_image() - 1;
    std::vector<int64_t> rows;
    bool after = false;
    for (int64_t p = 0; p < ids.size(1); ++p) {
      rows.push_back(after ? p + extra : p);
      if (ids[0][p].item<int64_t>() == image_token()) after = true, rows.back() += extra;
    }
    return logits.index_select(0, torch::tensor(rows, torch::kLong));
  }
  at::Tensor attention_maps(const io::Image& image, const at::Tensor& ids,
                            const std::vector<int64_t>& layers, int64_t size) override {
    torch::NoGradGuard no_grad;
    LlavaInputs in;
    in.input_ids = expand(ids).to(device_);
    in.pixel_values = pixels(image);
    LlavaCapture capture;
    capture.layers = layers;
    model_->forward(in, &capture);
    const int64_t t = ids.size(1), extra = model_->tokens_per_image() - 1;
    std::vector<at::Tensor> per_layer;
    for (int64_t l : layers) {
      at::Tensor block =  // [H, n, S, S]
          align::self_attention_maps(capture.probs.at(l).to(torch::kFloat).cpu(), size)[0];
      at::Tensor full = torch::zeros({block.size(0), t, size, size});
      // Unexpanded position p after the image sits at p + extra in the expanded sequence.
      for (int64_t p = 0; p < t; ++p) {
        const int64_t row = p + extra - capture.query_begin;
        if (p + extra >= capture.query_begin && row < block.size(1))
          full.select(1, p).copy_(block.select(1, row));
      }
      per_layer.push_back(full);
    }
    return torch::stack(per_layer);
  }
  std::vector<int64_t> default_layers() const override {
    return vlm::default_grounding_layers(num_layers());
  }
  int64_t num_layers() const override {
    return static_cast<int64_t>(model_->model->language_model->num_layers());
  }
  io::Image view(const io::Image& image) const override {
    return processor_.resize_and_crop(image);
  }
  int64_t image_token() const override { return model_->config().image_token_index; }

 private:
  LlavaForConditionalGeneration model_;
  ClipImageProcessor processor_;
  at::Device device_;
};

class MllamaChatModel : public ChatModel {
 public:
  MllamaChatModel(const std::string& folder, std::unique_ptr<text::Tokenizer> tokenizer,
                  at::ScalarType dtype, at::Device device)
      : ChatModel(std::move(tokenizer), text::ChatFormat::llama3_vision,
                  load_generation_defaults(folder)),
        model_(load_mllama(folder, dtype, device)),
        processor_(MllamaImageProcessor::load(preprocessor_config(folder))),
        device_(device) {}

 protected:
  // One image: its tiles and, for every token from the first image token on, which tiles it
  // may see (transformers' rule for a single image).
  MllamaInputs inputs(const io::Image& image, const at::Tensor& ids) const {
    MllamaImage processed = processor_.preprocess(image);
    MllamaInputs in;
    in.input_ids = ids;
    in.pixel_values = processed.pixel_values.unsqueeze(0).unsqueeze(0);
    in.aspect_ratio_ids = torch::tensor({processed.aspect_ratio_id}, torch::kLong).view({1, 1});
    in.aspect_ratio_mask = processed.aspect_ratio_mask.view({1, 1, -1});
    const int64_t t = ids.size(1), tiles = processed.pixel_values.size(0);
    at::Tensor mask = torch::zeros({1, t, 1, tiles}, torch::kLong);
    at::Tensor image_at = (ids[0] == image_token()).nonzero();
    if (image_at.numel() == 0)
      throw Error("mllama: the prompt has no image token (" +
                  std::string(text::image_placeholder(format())) + ")");
    const int64_t first = image_at[0][0].item<int64_t>();
    mask.narrow(1, first, t - first).narrow(3, 0, processed.num_tiles).fill_(1);
    in.cross_attention_mask = mask;
    return in;
  }
  MllamaInputs on_device(MllamaInputs in) const {
    for (at::Tensor* t : {&in.input_ids, &in.pixel_values, &in.aspect_ratio_ids,
                          &in.aspect_ratio_mask, &in.cross_attention_mask})
      *t = t->to(device_);
    return in;
  }
  at::Tensor generate_ids(const io::Image& image, const at::Tensor& ids,
                          const GenerationOptions& o) override {
    return generate_mllama(*model_, on_device(inputs(image, ids)), o).slice(1, ids.size(1)).cpu();
  }
  at::Tensor sequence_logits(const io::Image& image, const at::Tensor& ids) override {
    torch::NoGradGuard no_grad;
    return model_->forward(on_device(inputs(image, ids))).logits[0].to(torch::kFloat).cpu();
  }
  at::Tensor attention_maps(const io::Image& image, const at::Tensor& ids,
                            const std::vector<int64_t>& layers, int64_t size) override {
    torch::NoGradGuard no_grad;
    auto& text_model = model_->model->language_model;
    for (int64_t l : layers)
      if (!text_model->is_cross_attention_layer(static_cast<size_t>(l)))
        throw Error("mllama: layer " + std::to_string(l) +
                    " is a self-attention layer; text sees the image only in the "
                    "cross-attention layers");
    MllamaInputs in = inputs(image, ids);
    MllamaCapture capture;
    capture.layers = layers;
    model_->forward(on_device(in), &capture);
    const auto grid = processor_.plan(image).grid;
    const int64_t patches = model_->model->vision_model->patches_per_tile();
    // Rows that may see no tile attend nowhere in particular: leave them empty.
    at::Tensor sees =
        in.cross_attention_mask.sum({2, 3}).gt(0).to(torch::kFloat).view({1, -1, 1, 1});
    std::vector<at::Tensor> per_layer;
    for (int64_t l : layers)
      per_layer.push_back(
          align::tiled_cross_attention_maps(capture.probs.at(l).to(torch::kFloat).cpu(),
                                            {{grid.first, grid.second}}, patches, size)[0] *
          sees);
    return torch::stack(per_layer);
  }
  std::vector<int64_t> default_layers() const override {
    return model_->config().text_config.cross_attention_layers;
  }
  int64_t num_layers() const override {
    return static_cast<int64_t>(model_->model->language_model->layers->size());
  }
  io::Image view(const io::Image& image) const override {
    return processor_.canvas(image, processor_.plan(image));
  }
  int64_t image_token() const override { return model_->config().image_token_index; }

 private:
  MllamaForConditionalGeneration model_;
  MllamaImageProcessor processor_;
  at::Device device_;
};

}  // namespace

std::unique_ptr<ChatModel> ChatModel::load(const std::string& folder, at::ScalarType dtype,
                                           at::Device device) {
  runtime::check_dtype_on_device(dtype, device);
  const std::string config_path = folder + "/config.json";
  const nlohmann::json config = io::read_json_file(config_path);
  const std::string arch = architecture_of(config);
  if (arch == "LlavaForConditionalGeneration" || arch == "llava")
    return std::make_unique<LlavaChatModel>(folder, text::load_tokenizer(folder), dtype, device);
  if (arch == "MllamaForConditionalGeneration" || arch == "mllama")
    return std::make_unique<MllamaChatModel>(folder, text::load_tokenizer(folder), dtype, device);
  if (arch == "openflamingo") return make_open_flamingo_chat_model(folder, dtype, device);
  if (arch == "MiniCPMV" || arch == "minicpmv")
    return make_minicpmv_chat_model(folder, dtype, device);
  throw Error(config_path + ": unsupported architecture \"" + arch +
              "\" (lavender chats with LlavaForConditionalGeneration, "
              "MllamaForConditionalGeneration, OpenFlamingo and MiniCPMV)");
}

std::vector<int64_t> ChatModel::prompt_ids(const std::string& prompt) const {
  auto segments = text::render_chat(format_, {{"user", prompt, 1}}, /*add_generation_prompt=*/true);
  return text::tokenize_chat(*tokenizer_, segments, format_ == text::ChatFormat::llava15).ids;
}

ChatReply ChatModel::generate(const io::Image& image, const std::string& prompt,
                              GenerationOptions options) {
  ChatReply reply;
  reply.prompt_ids = prompt_ids(prompt);
  if (options.eos_token_ids.empty()) options.eos_token_ids = defaults_.eos_token_ids;
  options.pad_token_id = defaults_.pad_token_id;
  at::Tensor out = generate_ids(image, ids_tensor(reply.prompt_ids), options);
  for (int64_t i = 0; i < out.size(1); ++i) {
    const int64_t id = out[0][i].item<int64_t>();
    if (std::find(options.eos_token_ids.begin(), options.eos_token_ids.end(), id) !=
        options.eos_token_ids.end())
      break;
    reply.reply_ids.push_back(id);
  }
  reply.text = tokenizer_->decode(reply.reply_ids);
  return reply;
}

text::TokenizedChat ChatModel::conversation_ids(const std::string& prompt,
                                                const std::string& reply) const {
  auto segments = text::render_chat(format_, {{"user", prompt, 1}, {"assistant", reply, 0}},
                                    /*add_generation_prompt=*/false);
  return text::tokenize_chat(*tokenizer_, segments, format_ == text::ChatFormat::llava15);
}

std::vector<double> ChatModel::token_log_probs(const io::Image& image,
                                               const std::vector<int64_t>& ids) {
  std::vector<double> out;
  if (ids.size() < 2) return out;
  const at::Tensor logp = torch::log_softmax(sequence_logits(image, ids_tensor(ids)), -1);
  const auto t = static_cast<int64_t>(ids.size());
  // Row t - 1 predicts token t.
  const at::Tensor picked =
      logp.slice(0, 0, t - 1)
          .gather(1, torch::tensor(std::vector<int64_t>(ids.begin() + 1, ids.end()), torch::kLong)
                         .unsqueeze(1))
          .squeeze(1)
          .to(torch::kDouble)
          .contiguous();
  out.assign(picked.data_ptr<double>(), picked.data_ptr<double>() + picked.numel());
  return out;
}

double ChatModel::reply_log_likelihood(const io::Image& image, const std::string& prompt,
                                       const std::string& reply) {
  return reply_score(image, prompt, reply).log_likelihood;
}

ChatModel::ReplyScore ChatModel::reply_score(const io::Image& image, const std::string& prompt,
                                             const std::string& reply) {
  const text::TokenizedChat chat = conversation_ids(prompt, reply);
  const std::vector<double> logp = token_log_probs(image, chat.ids);
  ReplyScore score;
  for (size_t t = 1; t < chat.ids.size(); ++t)
    if (chat.labels[t] != text::kIgnoreLabel) score.log_likelihood += logp[t - 1], ++score.tokens;
  return score;
}

TokenAttention ChatModel::attention(const io::Image& image, const std::vector<int64_t>& ids,
                                    std::vector<int64_t> layers, int64_t size) {
  if (layers.empty()) layers = default_layers();
  for (auto& l : layers) l = resolve(l, num_layers());
  std::sort(layers.begin(), layers.end());
  layers.erase(std::unique(layers.begin(), layers.end()), layers.end());
  TokenAttention out;
  out.ids = ids;
  out.layers = layers;
  out.maps = attention_maps(image, ids_tensor(ids), layers, size);
  out.words = text::segment_words(*tokenizer_, ids);
  // The image placeholder is a token, not a word ("<image>" could read as the word "image").
  for (size_t t = 0; t < ids.size(); ++t)
    if (ids[t] == image_token()) out.words.word_of_token[t] = -1;
  out.view = view(image);
  return out;
}

std::vector<at::Tensor> word_attention(const TokenAttention& attention,
                                       const std::vector<std::string>& words) {
  at::Tensor per_token = attention.maps.mean(std::vector<int64_t>{0, 1});  // [T, S, S]
  std::vector<at::Tensor> out;
  for (const auto& wanted : words) {
    std::string w = wanted;
    std::transform(w.begin(), w.end(), w.begin(), [](unsigned char c) { return std::tolower(c); });
    std::vector<int64_t> rows;
    for (size_t t = 0; t < attention.ids.size(); ++t) {
      const int k = attention.words.word_of_token[t];
      if (k >= 0 && attention.words.words[static_cast<size_t>(k)] == w)
        rows.push_back(static_cast<int64_t>(t));
    }
    if (rows.empty()) throw Error("show-attention: the word \"" + wanted + "\" is not in the text");
    at::Tensor m = per_token.index_select(0, torch::tensor(rows, torch::kLong)).mean(0);
    out.push_back(align::minmax_normalise(m.unsqueeze(0))[0]);
  }
  return out;
}

}  // namespace lavender::vlm

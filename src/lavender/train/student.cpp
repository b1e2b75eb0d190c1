#include "lavender/train/student.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "lavender/align/attention_maps.h"
#include "lavender/io/json_file.h"
#include "lavender/io/map_store.h"
#include "lavender/util/error.h"
#include "lavender/vlm/hf_architecture.h"

namespace lavender::train {

std::unique_ptr<Student> make_llava_student(const std::string& folder, at::ScalarType dtype,
                                            at::Device device);
std::unique_ptr<Student> make_mllama_student(const std::string& folder, at::ScalarType dtype,
                                             at::Device device);
std::unique_ptr<Student> make_open_flamingo_student(const std::string& folder, at::ScalarType dtype,
                                                    at::Device device);
std::unique_ptr<Student> make_minicpmv_student(const std::string& folder, at::ScalarType dtype,
                                               at::Device device);

MatchScope parse_match_scope(const std::string& name) {
  if (name == "reply") return MatchScope::reply;
  if (name == "all") return MatchScope::all_text;
  throw Error("unknown word-match scope \"" + name + "\" (reply, all)");
}

std::unique_ptr<Student> Student::load(const std::string& folder, at::ScalarType dtype,
                                       at::Device device) {
  const std::string config_path = folder + "/config.json";
  const std::string arch = vlm::architecture_of(io::read_json_file(config_path));
  if (arch == "LlavaForConditionalGeneration" || arch == "llava")
    return make_llava_student(folder, dtype, device);
  if (arch == "MllamaForConditionalGeneration" || arch == "mllama")
    return make_mllama_student(folder, dtype, device);
  if (arch == "openflamingo") return make_open_flamingo_student(folder, dtype, device);
  if (arch == "MiniCPMV" || arch == "minicpmv") return make_minicpmv_student(folder, dtype, device);
  throw Error(config_path + ": unsupported architecture \"" + arch +
              "\" (lavender trains LlavaForConditionalGeneration, "
              "MllamaForConditionalGeneration, OpenFlamingo and MiniCPMV)");
}

void Student::check_align_layer(int64_t layer) const {
  if (layer < 0 || layer >= num_layers())
    throw Error("align layer " + std::to_string(layer) + " outside the model's " +
                std::to_string(num_layers()) + " decoder layers");
}

std::vector<std::string> Student::companion_files() const {
  std::vector<std::string> out;
  for (const char* f : {"tokenizer.json", "tokenizer_config.json", "tokenizer.model", "vocab.json",
                        "merges.txt", "special_tokens_map.json", "added_tokens.json",
                        "preprocessor_config.json", "processor_config.json",
                        "generation_config.json", "chat_template.json", "chat_template.jinja"})
    if (std::filesystem::exists(folder_ + "/" + f)) out.push_back(f);
  return out;
}

nlohmann::json Student::saved_config() const {
  return io::read_json_file(folder_ + "/config.json");
}

std::string teacher_key(const TrainingSample& sample, const io::MapStoreReader& store) {
  if (store.contains(sample.key)) return sample.key;
  const std::string file = std::filesystem::path(sample.image).filename().string();
  return store.contains(file) ? file : "";
}

PreparedExample Student::prepare(const TrainingSample& sample, const io::MapStoreReader* store,
                                 const ExampleOptions& options) const {
  PreparedExample ex;
  ex.key = sample.key;
  ex.origin = sample.origin;
  const auto segments = text::render_chat(format_, sample.messages, false);
  text::TokenizedChat chat =
      text::tokenize_chat(*tokenizer_, segments, format_ == text::ChatFormat::llava15);
  text::WordSegmentation words = text::segment_words(*tokenizer_, chat.ids);
  ex.image_inputs = prepare_image(io::read_image(sample.image), ex.view);

  // The image token becomes the family's image sequence; words and labels follow.
  const std::vector<int64_t> image_ids = image_sequence(ex.image_inputs);
  std::vector<int> word_of_token;
  std::vector<bool> in_scope;
  bool after_image = false;
  for (size_t t = 0; t < chat.ids.size(); ++t) {
    const bool image = chat.ids[t] == image_token();
    const size_t n = image ? image_ids.size() : 1;
    for (size_t k = 0; k < n; ++k) {
      ex.ids.push_back(image ? image_ids[k] : chat.ids[t]);
      ex.labels.push_back(image ? text::kIgnoreLabel : chat.labels[t]);
      word_of_token.push_back(image ? -1 : words.word_of_token[t]);
      // Only tokens after the image can attend to it: a word before it (a reply in an earlier
      // turn) would be an all-zero map, and whether it counted would depend on the batch.
      in_scope.push_back(
          after_image && !image &&
          (options.scope == MatchScope::all_text || chat.labels[t] != text::kIgnoreLabel));
    }
    after_image = after_image || image;
  }
  if (!after_image) throw Error(sample.origin + ": the chat has no image token");
  if (static_cast<int64_t>(ex.ids.size()) > options.max_tokens) {
    const size_t n = static_cast<size_t>(options.max_tokens);
    ex.ids.resize(n), ex.labels.resize(n), word_of_token.resize(n), in_scope.resize(n);
  }
  if (std::all_of(ex.labels.begin(), ex.labels.end(),
                  [](int64_t l) { return l == text::kIgnoreLabel; }))
    throw Error(sample.origin + ": no reply token left to learn within " +
                std::to_string(options.max_tokens) + " tokens");
  words.word_of_token = std::move(word_of_token);

  const std::string key = store ? teacher_key(sample, *store) : "";
  if (!key.empty()) {
    const io::MapEntry& entry = store->entry(key);
    ex.has_maps = true;
    ex.matches = align::match_words(words, in_scope, entry.words, options.filter);
    if (!ex.matches.empty())
      ex.teacher = align::matched_teacher_maps(store->maps(key), ex.matches, options.map_size);
  }
  return ex;
}

std::vector<int64_t> Student::image_sequence(const std::vector<at::Tensor>&) const {
  return std::vector<int64_t>(static_cast<size_t>(tokens_per_image()), image_token());
}

at::ScalarType Student::float_dtype() {
  for (const auto& p : module().parameters())
    if (p.is_floating_point()) return p.scalar_type();
  return torch::kFloat;
}

int64_t most_matches(const std::vector<const PreparedExample*>& batch) {
  int64_t words = 0;
  for (const auto* ex : batch)
    words = std::max<int64_t>(words, static_cast<int64_t>(ex->matches.size()));
  return words;
}

at::Tensor stacked_images(const std::vector<const PreparedExample*>& batch) {
  std::vector<at::Tensor> images;
  for (const auto* ex : batch) images.push_back(ex->image_inputs.at(0));
  return torch::stack(images);
}

PaddedText pad_text(const std::vector<const PreparedExample*>& batch, int64_t pad_id) {
  const int64_t b = static_cast<int64_t>(batch.size());
  int64_t t = 0;
  for (const auto* ex : batch) t = std::max<int64_t>(t, static_cast<int64_t>(ex->ids.size()));
  PaddedText out;
  out.ids = torch::full({b, t}, pad_id, torch::kLong);
  out.labels = torch::full({b, t}, text::kIgnoreLabel, torch::kLong);
  out.mask = torch::zeros({b, t}, torch::kLong);
  for (int64_t i = 0; i < b; ++i) {
    const auto& ex = *batch[static_cast<size_t>(i)];
    const int64_t n = static_cast<int64_t>(ex.ids.size());
    out.ids[i].narrow(0, 0, n).copy_(torch::tensor(ex.ids, torch::kLong));
    out.labels[i].narrow(0, 0, n).copy_(torch::tensor(ex.labels, torch::kLong));
    out.mask[i].narrow(0, 0, n).fill_(1);
    out.label_tokens += predicted_tokens(ex);
  }
  return out;
}

int64_t predicted_tokens(const PreparedExample& example) {
  int64_t n = 0;
  for (size_t k = 1; k < example.labels.size(); ++k) n += example.labels[k] != text::kIgnoreLabel;
  return n;
}

std::vector<int64_t> evenly_spaced(const std::vector<int64_t>& layers, double fraction) {
  const size_t n = layers.size();
  if (n == 0) return {};
  const size_t k = std::clamp<size_t>(static_cast<size_t>(std::lround(fraction * n)), 1, n);
  std::vector<int64_t> out;
  for (size_t i = 0; i < k; ++i) out.push_back(layers[(2 * i + 1) * n / (2 * k)]);
  return out;
}

at::Tensor stacked_teacher(const std::vector<const PreparedExample*>& batch, int64_t words,
                           int64_t size) {
  at::Tensor out = torch::zeros({static_cast<int64_t>(batch.size()), words, size, size});
  for (size_t i = 0; i < batch.size(); ++i)
    if (batch[i]->teacher.defined())
      out[static_cast<int64_t>(i)].narrow(0, 0, batch[i]->teacher.size(0)).copy_(batch[i]->teacher);
  return out;
}

void word_averaging(const std::vector<const PreparedExample*>& batch, int64_t row_begin,
                    int64_t rows, int64_t words, at::Tensor& averaging, at::Tensor& valid) {
  const int64_t b = static_cast<int64_t>(batch.size());
  averaging = torch::zeros({b, words, rows});
  valid = torch::zeros({b, words}, torch::kBool);
  auto a = averaging.accessor<float, 3>();
  auto v = valid.accessor<bool, 2>();
  for (int64_t i = 0; i < b; ++i) {
    const auto& matches = batch[static_cast<size_t>(i)]->matches;
    for (size_t w = 0; w < matches.size(); ++w) {
      std::vector<int64_t> r;
      for (int t : matches[w].student_tokens)
        if (t >= row_begin && t - row_begin < rows) r.push_back(t - row_begin);
      for (int64_t row : r)
        a[i][static_cast<int64_t>(w)][row] = 1.0f / static_cast<float>(r.size());
      v[i][static_cast<int64_t>(w)] = !r.empty();
    }
  }
}

std::vector<const torch::nn::Module*> modules_of(const torch::nn::ModuleList& list) {
  std::vector<const torch::nn::Module*> out;
  for (const auto& m : *list) out.push_back(m.get());
  return out;
}

}  // namespace lavender::train

// The price of the Lavender objective in a training step, measured through the real trainer:
// a LLaVA-shaped model with random weights (~130M parameters: CLIP tower 384 wide × 6 layers at
// 224 px / patch 14 = 256 image tokens, Llama 768 wide × 10 layers, GQA 12q/4kv, 32000-token
// vocabulary) written as a Hugging Face folder, a caption dataset and a teacher map store, then
//   plain SFT (--lambda 0)  and  Lavender (--lambda 10, the middle layers aligned, sim Aligner)
// with the same batches. Reports mean step time (steps after the first two), the ratio (goal
// ≤ 1.15), peak resident memory of each (VmHWM, reset between runs; goal ≤ 1.10), and achieved
// FLOP/s (≈ 6 × parameters × tokens per step) as a fraction of the measured fp32 matmul peak.
// Environment: LAVENDER_BENCH_STEPS (default 6), LAVENDER_BENCH_BATCH (default 2),
// LAVENDER_BENCH_LAYERS (aligned layers, comma-separated; default the trainer's: layers 2..6),
// LAVENDER_BENCH_CHECKPOINTING=1 (both runs recompute decoder activations in backward).
#include <torch/torch.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "lavender/io/image.h"
#include "lavender/io/map_store.h"
#include "lavender/io/safetensors.h"
#include "lavender/runtime/peak_memory.h"
#include "lavender/runtime/system_info.h"
#include "lavender/text/byte_tokenizer_json.h"
#include "lavender/train/trainer.h"
#include "lavender/util/remove_tree.h"
#include "lavender/vlm/llava.h"

namespace {

using namespace lavender;

constexpr int64_t kVocab = 32000;
constexpr int64_t kImageToken = kVocab - 1;

nlohmann::json model_config() {
  return {{"architectures", {"LlavaForConditionalGeneration"}},
          {"model_type", "llava"},
          {"image_token_index", kImageToken},
          {"projector_hidden_act", "gelu"},
          {"vision_feature_layer", -2},
          {"vision_feature_select_strategy", "default"},
          {"tie_word_embeddings", false},
          {"text_config",
           {{"model_type", "llama"},
            {"vocab_size", kVocab},
            {"hidden_size", 768},
            {"intermediate_size", 2048},
            {"num_hidden_layers", 10},
            {"num_attention_heads", 12},
            {"num_key_value_heads", 4},
            {"head_dim", 64},
            {"max_position_embeddings", 4096},
            {"pad_token_id", 0},
            {"rms_norm_eps", 1e-5}}},
          {"vision_config",
           {{"model_type", "clip_vision_model"},
            {"hidden_size", 384},
            {"intermediate_size", 1536},
            {"num_hidden_layers", 6},
            {"num_attention_heads", 6},
            {"image_size", 224},
            {"patch_size", 14},
            {"hidden_act", "quick_gelu"},
            {"layer_norm_eps", 1e-5}}}};
}

nlohmann::json preprocessor_config() {
  return {{"do_resize", true},
          {"size", {{"shortest_edge", 224}}},
          {"do_center_crop", true},
          {"crop_size", {{"height", 224}, {"width", 224}}},
          {"do_rescale", true},
          {"rescale_factor", 1.0 / 255},
          {"do_normalize", true},
          {"image_mean", {0.48145466, 0.4578275, 0.40821073}},
          {"image_std", {0.26862954, 0.26130258, 0.27577711}},
          {"resample", 3},
          {"do_convert_rgb", true}};
}

// The folder, data and teacher store; returns the parameter count without the token embedding
// (a lookup, not a matmul: it does not count towards FLOPs).
int64_t write_world(const std::string& dir, int samples) {
  namespace fs = std::filesystem;
  fs::create_directories(dir + "/model");
  fs::create_directories(dir + "/images");
  std::ofstream(dir + "/model/config.json") << model_config().dump(2);
  std::ofstream(dir + "/model/preprocessor_config.json") << preprocessor_config().dump(2);
  std::ofstream(dir + "/model/tokenizer.json")
      << text::byte_level_tokenizer_json(kVocab, {"<image>"}).dump();
  const auto config = io::config::parse_llava_config(model_config(), "bench");
  torch::manual_seed(0);
  vlm::LlavaForConditionalGeneration model(config);
  std::vector<std::pair<std::string, at::Tensor>> weights;
  int64_t params = 0;
  {
    torch::NoGradGuard no_grad;
    for (auto& p : model->named_parameters()) {
      if (p.value().dim() >= 2) p.value().normal_(0, 0.02);
      weights.emplace_back(p.key(), p.value());
      if (p.key().find("embed_tokens") == std::string::npos) params += p.value().numel();
    }
  }
  io::save_safetensors(dir + "/model/model.safetensors", weights);

  io::Image image;
  image.width = image.height = 256, image.channels = 3;
  image.pixels.resize(256 * 256 * 3);
  for (size_t i = 0; i < image.pixels.size(); ++i) image.pixels[i] = static_cast<uint8_t>(i * 7);
  io::write_png(dir + "/images/img.png", image);
  const std::string caption =
      "a large red circle above a small blue square next to a green star on a grey background";
  std::ofstream data(dir + "/data.tsv");
  io::MapStoreWriter store(dir + "/maps", {{"map_size", 32}, {"recipe", "bench"}});
  std::vector<std::string> words;
  for (size_t b = 0, e; b < caption.size(); b = e + 1) {
    e = caption.find(' ', b);
    if (e == std::string::npos) e = caption.size();
    words.push_back(caption.substr(b, e - b));
  }
  for (int i = 0; i < samples; ++i) {
    data << "img.png\t" << caption << "\n";
    io::MapEntry e;
    e.key = "img.png#" + std::to_string(i);  // one record, one caption per line
    e.image = "img.png";
    e.text = caption;
    e.words = words;
    e.token_spans.assign(words.size(), {0, 1});
    store.add(e, torch::rand({static_cast<int64_t>(words.size()), 32, 32}));
  }
  return params;
}

struct RunResult {
  double step_seconds = 0;
  double peak_mib = 0;
  int64_t tokens = 0;
};

RunResult run(const std::string& dir, double lambda, int64_t steps, int64_t batch,
              const std::vector<int64_t>& layers) {
  train::TrainOptions o;
  o.model = dir + "/model";
  o.data = dir + "/data.tsv";
  o.images = dir + "/images";
  o.maps = lambda > 0 ? dir + "/maps" : "";
  o.out = dir + (lambda > 0 ? "/out-lavender" : "/out-sft");
  o.lambda.lambda = lambda;
  o.max_steps = steps;
  o.batch_size = batch;
  o.lr.lr = 1e-5;
  o.save_every = 1000000;  // the final save only, outside the timed steps
  o.align_layers = layers;
  o.gradient_checkpointing = std::getenv("LAVENDER_BENCH_CHECKPOINTING") != nullptr &&
                             std::string(std::getenv("LAVENDER_BENCH_CHECKPOINTING")) == "1";
  std::ofstream("/proc/self/clear_refs") << "5";  // resets VmHWM
  train::TrainSummary s = train::Trainer(o).run();
  RunResult r;
  r.peak_mib = static_cast<double>(runtime::peak_rss_bytes()) / (1 << 20);
  int64_t timed = 0;
  for (const auto& h : s.history)
    if (h.step > 2) r.step_seconds += h.seconds, r.tokens += h.tokens, ++timed;
  r.step_seconds /= static_cast<double>(std::max<int64_t>(1, timed));
  if (timed > 0) r.tokens /= timed;
  std::printf("  %-9s words aligned/step %lld, last loss %.4f (text %.4f, attention %.4f)\n",
              lambda > 0 ? "lavender" : "sft", static_cast<long long>(s.history.back().words),
              s.history.back().total, s.history.back().text, s.history.back().attention);
  return r;
}

int64_t env_int(const char* name, int64_t fallback) {
  const char* v = std::getenv(name);
  return v ? std::atoll(v) : fallback;
}

}  // namespace

int main() {
  const int64_t steps = env_int("LAVENDER_BENCH_STEPS", 6);
  const int64_t batch = env_int("LAVENDER_BENCH_BATCH", 2);
  std::vector<int64_t> layers;
  if (const char* v = std::getenv("LAVENDER_BENCH_LAYERS"))
    for (std::string s = v; !s.empty();) {
      const size_t comma = s.find(',');
      layers.push_back(std::stoll(s.substr(0, comma)));
      s = comma == std::string::npos ? "" : s.substr(comma + 1);
    }
  const std::string dir =
      (std::filesystem::temp_directory_path() / "lavender-bench-train").string();
  remove_tree(dir);
  const int64_t params = write_world(dir, static_cast<int>(steps * batch + 4));
  runtime::configure_threads(0);
  const double peak = runtime::measure_matmul().gflops;
  std::printf(
      "LLaVA-shaped model: %.1fM parameters besides the embedding, batch %lld, %lld steps (first 2 "
      "untimed), "
      "%d threads, matmul peak %.0f GFLOP/s\n",
      params / 1e6, static_cast<long long>(batch), static_cast<long long>(steps),
      torch::get_num_threads(), peak);
  RunResult sft = run(dir, 0.0, steps, batch, layers);
  RunResult lav = run(dir, 10.0, steps, batch, layers);
  // The sequence is ~340 tokens (256 image + prompt + caption) per sample: all of it costs
  // forward and backward, so FLOPs count every token, not only the labelled ones.
  const double seq_tokens = static_cast<double>(batch) * (256 + 100);
  for (const auto& [name, r] : {std::pair<const char*, RunResult>{"sft", sft}, {"lavender", lav}}) {
    const double gflops = 6.0 * static_cast<double>(params) * seq_tokens / r.step_seconds / 1e9;
    std::printf("%-9s step %.3f s, peak RSS %.0f MiB, ~%.0f GFLOP/s (%.0f%% of matmul peak)\n",
                name, r.step_seconds, r.peak_mib, gflops, 100.0 * gflops / peak);
  }
  std::printf(
      "Lavender step / SFT step: time %.3f (goal <= 1.15), peak memory %.3f (goal <= 1.10)\n",
      lav.step_seconds / sft.step_seconds, lav.peak_mib / sft.peak_mib);
  remove_tree(dir);
  return 0;
}

// The student's cost of attention on demand and of generation, on a LLaVA-shaped model with
// random weights (~130M parameters: CLIP tower 384 wide × 6 layers at 224 px / patch 14 = 256
// image tokens, Llama 768 wide × 10 layers with GQA 12q/4kv, 32000-token vocabulary):
//  - forward (batch 1, 256 image tokens + 48 text tokens) with capture of the text × image
//    block on 1/5 of the decoder layers ÷ the same forward without capture (goal ≤ 1.1);
//  - greedy generation with the KV cache vs without it (the whole sequence every step): new
//    tokens per second and peak resident memory of each (VmHWM, reset between runs).
// Runs in one process so the ratios are not skewed by the machine. LAVENDER_BENCH_NEW_TOKENS
// sets the number of new tokens (default 128 with the cache, 32 without: recomputing the whole
// sequence every step is quadratic and takes minutes on two cores).
#include <benchmark/benchmark.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "lavender/runtime/system_info.h"
#include "lavender/vlm/generate.h"
#include "lavender/vlm/llava.h"
#include "ratio_reporter.h"

namespace {

using namespace lavender;

constexpr int64_t kText = 48;
int64_t g_cached_tokens = 128, g_uncached_tokens = 32;

struct Setup {
  vlm::LlavaForConditionalGeneration model{nullptr};
  at::Tensor input_ids, pixel_values;
  int64_t params = 0;
};
Setup* g = nullptr;

io::config::LlavaConfig bench_config() {
  io::config::LlavaConfig c;
  auto& t = c.text_config;
  t.vocab_size = 32000;
  t.hidden_size = 768;
  t.intermediate_size = 2048;
  t.num_hidden_layers = 10;
  t.num_attention_heads = 12;
  t.num_key_value_heads = 4;
  t.head_dim = 64;
  t.max_position_embeddings = 4096;
  auto& v = c.vision_config;
  v.hidden_size = 384;
  v.intermediate_size = 1536;
  v.num_hidden_layers = 6;
  v.num_attention_heads = 6;
  v.head_dim = 64;
  v.image_size = 224;
  v.patch_size = 14;
  c.image_token_index = 31999;
  return c;
}

// Peak resident set since the last reset, in MiB.
double peak_rss_mib() {
  std::ifstream status("/proc/self/status");
  std::string key;
  while (status >> key) {
    if (key == "VmHWM:") {
      double kb = 0;
      status >> kb;
      return kb / 1024.0;
    }
    status.ignore(1 << 20, '\n');
  }
  return 0;
}
// Linux resets the VmHWM high-water mark when "5" is written to clear_refs.
void reset_peak_rss() {
  std::ofstream("/proc/self/clear_refs") << "5";
}

void setup() {
  torch::manual_seed(0);
  g = new Setup;
  g->model = vlm::LlavaForConditionalGeneration(bench_config());
  g->model->eval();
  {
    torch::NoGradGuard no_grad;
    // Default init gives near-uniform logits; small weights keep generation from NaNs.
    for (auto& p : g->model->parameters()) p.normal_(0, 0.02);
  }
  for (const auto& p : g->model->parameters()) g->params += p.numel();
  const int64_t per_image = g->model->tokens_per_image();
  g->input_ids = torch::cat({torch::randint(1, 31000, {1, 8}), torch::full({1, per_image}, 31999),
                             torch::randint(1, 31000, {1, kText - 8})},
                            1);
  g->pixel_values = torch::randn({1, 3, 224, 224});
  std::printf("LLaVA-shaped model: %.1fM parameters, %lld tokens (%lld image), %d threads\n",
              g->params / 1e6, static_cast<long long>(g->input_ids.size(1)),
              static_cast<long long>(per_image), torch::get_num_threads());
  torch::NoGradGuard no_grad;
  vlm::LlavaInputs in{g->input_ids, g->pixel_values, {}, {}, {}};
  g->model->forward(in);  // warm-up
}

void BM_Forward(benchmark::State& state) {
  torch::NoGradGuard no_grad;
  vlm::LlavaInputs in{g->input_ids, g->pixel_values, {}, {}, {}};
  for (auto _ : state) benchmark::DoNotOptimize(g->model->forward(in).logits);
}

void BM_ForwardCaptureFifth(benchmark::State& state) {
  torch::NoGradGuard no_grad;
  vlm::LlavaInputs in{g->input_ids, g->pixel_values, {}, {}, {}};
  for (auto _ : state) {
    vlm::LlavaCapture capture;
    capture.layers = {4, 9};  // 2 of 10 layers
    benchmark::DoNotOptimize(g->model->forward(in, &capture).logits);
    benchmark::DoNotOptimize(capture.probs.at(9));
  }
}

void run_generation(benchmark::State& state, bool cache) {
  vlm::GenerationOptions o;
  o.max_new_tokens = cache ? g_cached_tokens : g_uncached_tokens;
  o.use_cache = cache;  // no eos: always the full count
  reset_peak_rss();
  int64_t made = 0;
  for (auto _ : state) {
    at::Tensor out = vlm::generate_llava(*g->model, g->pixel_values, g->input_ids, {}, o);
    made += out.size(1) - g->input_ids.size(1);
  }
  state.counters["new_tokens"] = static_cast<double>(o.max_new_tokens);
  state.counters["tokens_per_s"] =
      benchmark::Counter(static_cast<double>(made), benchmark::Counter::kIsRate);
  state.counters["peak_rss_MiB"] = peak_rss_mib();
}
void BM_GenerateCached(benchmark::State& state) {
  run_generation(state, true);
}
void BM_GenerateUncached(benchmark::State& state) {
  run_generation(state, false);
}

// Plain and capturing forwards alternated, best of `rounds` each: on a machine shared with
// other jobs, load changes between two consecutive benchmarks skew their ratio; alternating and
// taking minima cancels most of that.
double interleaved_capture_ratio(int rounds) {
  torch::NoGradGuard no_grad;
  vlm::LlavaInputs in{g->input_ids, g->pixel_values, {}, {}, {}};
  auto seconds = [](auto&& f) {
    auto t0 = std::chrono::steady_clock::now();
    f();
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  };
  double plain = 1e30, capture = 1e30;
  for (int r = 0; r < rounds; ++r) {
    plain = std::min(plain, seconds([&] { g->model->forward(in); }));
    capture = std::min(capture, seconds([&] {
                         vlm::LlavaCapture c;
                         c.layers = {4, 9};
                         g->model->forward(in, &c);
                       }));
  }
  std::printf("interleaved, best of %d: plain %.0f ms, capture on 1/5 of layers %.0f ms\n", rounds,
              plain * 1e3, capture * 1e3);
  return capture / plain;
}

BENCHMARK(BM_Forward)->Unit(benchmark::kMillisecond)->MinTime(8.0)->UseRealTime();
BENCHMARK(BM_ForwardCaptureFifth)->Unit(benchmark::kMillisecond)->MinTime(8.0)->UseRealTime();
BENCHMARK(BM_GenerateCached)->Unit(benchmark::kSecond)->Iterations(1)->UseRealTime();
BENCHMARK(BM_GenerateUncached)->Unit(benchmark::kSecond)->Iterations(1)->UseRealTime();

}  // namespace

int main(int argc, char** argv) {
  runtime::configure_threads(0);
  if (const char* n = std::getenv("LAVENDER_BENCH_NEW_TOKENS"))
    g_cached_tokens = g_uncached_tokens = std::atoll(n);
  setup();
  benchmark::Initialize(&argc, argv);
  bench::RatioReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  const double plain = reporter.times["BM_Forward/min_time:8.000/real_time"];
  const double capture = reporter.times["BM_ForwardCaptureFifth/min_time:8.000/real_time"];
  if (plain > 0 && capture > 0) {
    std::printf("forward with capture on 1/5 of layers / without = %.3f (goal <= 1.1)\n",
                capture / plain);
    std::printf("the same, interleaved = %.3f\n", interleaved_capture_ratio(8));
  }
  const double cached = reporter.times["BM_GenerateCached/iterations:1/real_time"];
  const double uncached = reporter.times["BM_GenerateUncached/iterations:1/real_time"];
  if (cached > 0 && uncached > 0) {
    const double rate_cached = g_cached_tokens / cached,
                 rate_uncached = g_uncached_tokens / uncached;
    std::printf(
        "generation: %.2f tokens/s with KV cache (%lld new), %.2f without (%lld new): "
        "%.1fx\n",
        rate_cached, static_cast<long long>(g_cached_tokens), rate_uncached,
        static_cast<long long>(g_uncached_tokens), rate_cached / rate_uncached);
  }
  benchmark::Shutdown();
  return 0;
}

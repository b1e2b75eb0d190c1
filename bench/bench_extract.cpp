// The teacher's cost of reading attention: an SD-1.5-shaped UNet (random weights, 32×32 latents,
// batch 2, 77 tokens of random context) run plainly, against the same forward capturing the
// "single-pass" recipe's layers (factors 4 and 2) followed by the aggregation to per-word maps
// (goal: ≤ 1.15 × plain). Both run in one process so the ratio is not skewed by the machine.
//
// Runs on CUDA when available (LAVENDER_BENCH_DEVICE=cpu forces the CPU). Other settings from
// the environment: LAVENDER_BENCH_DTYPE (fp32 | fp16 | bf16, default fp32), LAVENDER_BENCH_LATENT
// (latent side, default 32; 64 is SD 1.5 at 512 px), LAVENDER_BENCH_BATCH (default 2).
// Prints the peak memory of the process (and of the CUDA allocator when built against CUDA):
// run one benchmark per process (--benchmark_filter) for each one's own peak.
#include <benchmark/benchmark.h>
#include <torch/torch.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "ratio_reporter.h"
#include "lavender/dm/aggregate.h"
#include "lavender/dm/recipe.h"
#include "lavender/dm/unet.h"
#include "lavender/runtime/dtype.h"
#include "lavender/runtime/peak_memory.h"
#include "lavender/runtime/system_info.h"

namespace {

using lavender::dm::LayerAttention;

constexpr int64_t kTokens = 77;

int64_t env_int(const char* name, int64_t fallback) {
  const char* v = std::getenv(name);
  return v ? std::atoll(v) : fallback;
}
const int64_t kBatch = env_int("LAVENDER_BENCH_BATCH", 2);
const int64_t kLatent = env_int("LAVENDER_BENCH_LATENT", 32);

struct Setup {
  lavender::dm::UNet2DConditionModel unet{nullptr};
  at::Tensor latents, timesteps, context;
  std::vector<lavender::dm::SelectedLayer> layers;
  std::vector<int> word_of_token;  // 10 words of 1 token each after the start token
};
Setup* g = nullptr;

// SD 1.5's UNet config (diffusers defaults are SD 1.x sizes; the text encoder is CLIP ViT-L/14).
lavender::io::config::UNet2DConditionConfig sd15_config() {
  lavender::io::config::UNet2DConditionConfig c;
  c.sample_size = lavender::io::config::SampleSize{64, 64};
  c.cross_attention_dim = {768, 768, 768, 768};
  return c;
}

torch::Device bench_device() {
  const char* env = std::getenv("LAVENDER_BENCH_DEVICE");
  if (env) return torch::Device(env);
  return torch::cuda::is_available() ? torch::Device(torch::kCUDA) : torch::Device(torch::kCPU);
}

void setup() {
  torch::manual_seed(0);
  g = new Setup;
  torch::Device d = bench_device();
  const char* dtype_env = std::getenv("LAVENDER_BENCH_DTYPE");
  const auto dtype = lavender::runtime::parse_dtype(dtype_env ? dtype_env : "fp32");
  lavender::runtime::check_dtype_on_device(dtype, d);
  g->unet = lavender::dm::UNet2DConditionModel(sd15_config());
  g->unet->eval();
  g->unet->to(d, dtype);
  const auto opts = torch::TensorOptions(dtype).device(d);
  g->latents = torch::randn({kBatch, 4, kLatent, kLatent}, opts);
  g->timesteps = torch::full({kBatch}, 100, torch::TensorOptions(torch::kLong).device(d));
  g->context = torch::randn({kBatch, kTokens, 768}, opts);
  g->layers = lavender::dm::select_layers(lavender::dm::recipe_preset("single-pass"),
                                          g->unet->cross_attention_layers(kLatent, kLatent));
  g->word_of_token.assign(kTokens, -1);
  for (int t = 1; t <= 10; ++t) g->word_of_token[static_cast<size_t>(t)] = t - 1;
  std::printf("device %s, %s, batch %lld, latents %lldx%lld, %zu captured layers\n",
              d.str().c_str(), lavender::runtime::dtype_name(dtype).c_str(),
              static_cast<long long>(kBatch), static_cast<long long>(kLatent),
              static_cast<long long>(kLatent), g->layers.size());
  // One untimed pass so allocator and kernel warm-up do not land on the first benchmark.
  torch::NoGradGuard no_grad;
  g->unet->forward(g->latents, g->timesteps, g->context);
}

void sync() {
  if (g->latents.is_cuda()) torch::cuda::synchronize();
}

void BM_UNetPlain(benchmark::State& state) {
  torch::NoGradGuard no_grad;
  for (auto _ : state) {
    benchmark::DoNotOptimize(g->unet->forward(g->latents, g->timesteps, g->context));
    sync();
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
}

void BM_UNetCaptureAggregate(benchmark::State& state) {
  torch::NoGradGuard no_grad;
  lavender::dm::CrossAttentionCapture capture;
  for (const auto& l : g->layers) capture.layers.insert(l.name);
  for (auto _ : state) {
    g->unet->forward(g->latents, g->timesteps, g->context, &capture);
    std::vector<LayerAttention> list;
    for (const auto& l : g->layers)
      list.push_back({capture.probs.at(l.name), l.height, l.width, l.weight});
    at::Tensor tokens = lavender::dm::combine_layers(list, kLatent / 2);
    for (int64_t b = 0; b < kBatch; ++b)
      benchmark::DoNotOptimize(lavender::dm::word_maps(tokens[b], g->word_of_token, 10, 32));
    sync();
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
}

BENCHMARK(BM_UNetPlain)->Unit(benchmark::kMillisecond)->MinTime(5.0)->UseRealTime();
BENCHMARK(BM_UNetCaptureAggregate)->Unit(benchmark::kMillisecond)->MinTime(5.0)->UseRealTime();


}  // namespace

int main(int argc, char** argv) {
  lavender::runtime::configure_threads(0);
  setup();
  benchmark::Initialize(&argc, argv);
  lavender::bench::RatioReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  const double plain = reporter.times["BM_UNetPlain/min_time:5.000/real_time"];
  const double capture = reporter.times["BM_UNetCaptureAggregate/min_time:5.000/real_time"];
  if (plain > 0 && capture > 0)
    std::printf("capture+aggregate / plain = %.3f (goal <= 1.15); images/s: %.2f plain, %.2f "
                "with capture (throughput ratio %.3f)\n",
                capture / plain, kBatch * 1e3 / plain, kBatch * 1e3 / capture, plain / capture);
  std::printf("%s\n", lavender::runtime::peak_memory_report().c_str());
  benchmark::Shutdown();
  return 0;
}

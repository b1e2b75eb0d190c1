// Image preprocessing for the students, on a 640x480 photo-sized image, against decoding the
// same image from PNG in the same run (preprocessing should cost no more than decoding):
//
//   decode-png        io::decode_image of the PNG bytes
//   clip-336          CLIPImageProcessor (LLaVA-1.5): bicubic to 448x336, crop, normalise
//   mllama-560x4      MllamaImageProcessor (Llama 3.2 Vision): bilinear to a 2x2 canvas of
//                     560-pixel tiles, pad, normalise, split
#include <benchmark/benchmark.h>

#include <cstdio>
#include <string>

#include "lavender/io/image.h"
#include "lavender/vlm/clip_image_processor.h"
#include "lavender/vlm/mllama_image_processor.h"
#include "ratio_reporter.h"

namespace {

lavender::io::Image g_image;
std::string g_png;

void make_image() {
  g_image = lavender::io::Image{640, 480, 3, std::vector<uint8_t>(640 * 480 * 3)};
  uint32_t seed = 1;
  for (int y = 0; y < 480; ++y)
    for (int x = 0; x < 640 * 3; ++x) {
      seed = seed * 1664525u + 1013904223u;
      // Smooth gradients plus a little noise, so PNG compresses as it does on photographs.
      g_image.row(y)[x] = static_cast<uint8_t>((x / 3 + y) / 5 + (seed >> 29));
    }
  g_png = lavender::io::encode_png(g_image);
}

void BM_DecodePng(benchmark::State& state) {
  for (auto _ : state)
    benchmark::DoNotOptimize(lavender::io::decode_image(
        reinterpret_cast<const uint8_t*>(g_png.data()), g_png.size(), "bench.png"));
}
BENCHMARK(BM_DecodePng)->Name("decode-png")->Unit(benchmark::kMillisecond);

void BM_Clip(benchmark::State& state) {
  lavender::io::config::ClipImageProcessorConfig config;
  config.shortest_edge = config.crop_height = config.crop_width = 336;
  const lavender::vlm::ClipImageProcessor processor(config);
  for (auto _ : state) benchmark::DoNotOptimize(processor.preprocess(g_image));
}
BENCHMARK(BM_Clip)->Name("clip-336")->Unit(benchmark::kMillisecond);

void BM_Mllama(benchmark::State& state) {
  lavender::io::config::MllamaImageProcessorConfig config;
  config.tile_size = 560;
  const lavender::vlm::MllamaImageProcessor processor(config);
  for (auto _ : state) benchmark::DoNotOptimize(processor.preprocess(g_image));
}
BENCHMARK(BM_Mllama)->Name("mllama-560x4")->Unit(benchmark::kMillisecond);

}  // namespace

int main(int argc, char** argv) {
  make_image();
  benchmark::Initialize(&argc, argv);
  lavender::bench::RatioReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  const double base = reporter.times["decode-png"];
  for (const char* name : {"clip-336", "mllama-560x4"})
    if (base > 0) std::printf("ratio %-14s %.3f x decode-png\n", name, reporter.times[name] / base);
  return 0;
}

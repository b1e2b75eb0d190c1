// Loading a ~1 GB safetensors checkpoint into tensors, against reading the same bytes with plain
// read() in the same run (goal: load ≤ 1.2 × read). The file is generated here and is warm in the
// page cache for every variant, so the ratio measures our overhead, not the disk.
//
//   read()            open + read() the whole file into one malloc'd buffer
//   mmap+touch        SafetensorsFile::open + tensor() for all (zero-copy) + touch every page
//   load-into-params  the same, then copy_ into preallocated tensors (what loading a model does)
//
// LAVENDER_BENCH_BYTES overrides the size (default 1 GiB).
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <torch/torch.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <vector>

#include "ratio_reporter.h"
#include "lavender/io/safetensors.h"
#include "lavender/runtime/system_info.h"

namespace {

std::string g_path;
size_t g_file_bytes = 0;

void make_file(size_t total_bytes) {
  g_path = (std::filesystem::temp_directory_path() / "lavender-bench-load.safetensors").string();
  // A checkpoint-like mix: many 4 MiB F32 matrices, some BF16 ones, small vectors.
  std::vector<std::pair<std::string, at::Tensor>> tensors;
  size_t bytes = 0;
  for (int i = 0; bytes < total_bytes; ++i) {
    at::Tensor t =
        i % 4 == 3 ? torch::rand({1024, 1024}).to(torch::kBFloat16) : torch::rand({1024, 1024});
    bytes += t.nbytes();
    tensors.emplace_back("layers." + std::to_string(i) + ".weight", t);
    tensors.emplace_back("layers." + std::to_string(i) + ".bias", torch::rand({1024}));
  }
  lavender::io::save_safetensors(g_path, tensors, {{"format", "pt"}});
  g_file_bytes = std::filesystem::file_size(g_path);
}

void BM_ReadBaseline(benchmark::State& state) {
  std::vector<char> buffer(g_file_bytes);
  for (auto _ : state) {
    int fd = ::open(g_path.c_str(), O_RDONLY);
    size_t done = 0;
    while (done < g_file_bytes) {
      ssize_t n = ::read(fd, buffer.data() + done, g_file_bytes - done);
      if (n <= 0) break;
      done += static_cast<size_t>(n);
    }
    ::close(fd);
    benchmark::DoNotOptimize(buffer.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * g_file_bytes));
}

void BM_MmapTouch(benchmark::State& state) {
  for (auto _ : state) {
    auto file = lavender::io::SafetensorsFile::open(g_path);
    uint64_t sum = 0;
    for (const auto& info : file->tensors()) {
      at::Tensor t = file->tensor(info.name);
      auto* p = static_cast<const uint8_t*>(t.data_ptr());
      for (size_t off = 0; off < static_cast<size_t>(t.nbytes()); off += 4096) sum += p[off];
    }
    benchmark::DoNotOptimize(sum);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * g_file_bytes));
}

void BM_LoadIntoParams(benchmark::State& state) {
  auto file = lavender::io::SafetensorsFile::open(g_path);
  std::map<std::string, at::Tensor> params;
  for (const auto& info : file->tensors())
    params[info.name] = torch::empty(info.shape, file->tensor(info.name).options());
  file.reset();
  torch::NoGradGuard no_grad;
  for (auto _ : state) {
    auto f = lavender::io::SafetensorsFile::open(g_path);
    for (auto& [name, p] : params) p.copy_(f->tensor(name));
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * g_file_bytes));
}

BENCHMARK(BM_ReadBaseline)->Unit(benchmark::kMillisecond)->MinTime(2.0)->UseRealTime();
BENCHMARK(BM_MmapTouch)->Unit(benchmark::kMillisecond)->MinTime(2.0)->UseRealTime();
BENCHMARK(BM_LoadIntoParams)->Unit(benchmark::kMillisecond)->MinTime(2.0)->UseRealTime();


}  // namespace

int main(int argc, char** argv) {
  lavender::runtime::configure_threads(0);
  size_t bytes = size_t{1} << 30;
  if (const char* env = std::getenv("LAVENDER_BENCH_BYTES"))
    bytes = std::strtoull(env, nullptr, 10);
  make_file(bytes);
  std::printf("file: %s, %.2f GiB\n", g_path.c_str(), g_file_bytes / double(1 << 30));
  benchmark::Initialize(&argc, argv);
  lavender::bench::RatioReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  double base = reporter.times["BM_ReadBaseline/min_time:2.000/real_time"];
  for (const auto& [name, t] : reporter.times)
    if (base > 0) std::printf("ratio %-45s %.3f x read()\n", name.c_str(), t / base);
  std::filesystem::remove(g_path);
  benchmark::Shutdown();
  return 0;
}

// Tokenizer throughput: our Llama 3 byte-level BPE against the real tiktoken (Rust core as WASM,
// run by node on the same ranks and corpus) in one run (goal: ours >= 1x tiktoken's tokens/s).
//
// The corpus is tests/tokenizer-ref's generated one (4000 lines of mixed scripts, code, numbers,
// white space, emoji); without node and its npm packages (`npm ci` in tests/tokenizer-ref) the
// shared sample corpus is repeated instead and only our figures are printed.
//
//   BM_Llama3Encode       encode every line, per-piece cache warm (steady state of a long job)
//   BM_Llama3EncodeCold   the same with the cache emptied before each pass
//   BM_Llama3Decode       decode every line's ids
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "lavender/text/byte_bpe.h"
#include "ratio_reporter.h"

namespace {

namespace fs = std::filesystem;

const std::string kShared = LAVENDER_SOURCE_DIR "/../shared";
const std::string kRefDir = LAVENDER_SOURCE_DIR "/tests/tokenizer-ref";

std::unique_ptr<lavender::text::ByteBpeTokenizer> g_tok;
std::vector<std::string> g_corpus;
size_t g_bytes = 0, g_tokens = 0;

std::string shared_dir() {
  const char* env = std::getenv("LAVENDER_SHARED");
  return env ? env : kShared;
}

std::string run(const std::string& cmd, int* status) {
  std::string out;
  if (std::FILE* pipe = ::popen(cmd.c_str(), "r")) {
    char buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, pipe)) > 0) out.append(buf, n);
    *status = ::pclose(pipe);
  } else {
    *status = -1;
  }
  return out;
}

bool have_node() {
  int status;
  run("node --version 2>/dev/null", &status);
  return status == 0 && fs::is_directory(kRefDir + "/node_modules/tiktoken") &&
         fs::is_directory(kRefDir + "/node_modules/llama3-tokenizer-js");
}

void load_corpus(const std::string& path) {
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) g_corpus.push_back(nlohmann::json::parse(line).get<std::string>());
}

void BM_Llama3Encode(benchmark::State& state) {
  for (auto _ : state)
    for (const auto& s : g_corpus) benchmark::DoNotOptimize(g_tok->encode(s, false));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * g_tokens));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * g_bytes));
}

void BM_Llama3EncodeCold(benchmark::State& state) {
  for (auto _ : state) {
    state.PauseTiming();
    g_tok->clear_cache();
    state.ResumeTiming();
    for (const auto& s : g_corpus) benchmark::DoNotOptimize(g_tok->encode(s, false));
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * g_tokens));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * g_bytes));
}

void BM_Llama3Decode(benchmark::State& state) {
  std::vector<std::vector<int64_t>> ids;
  for (const auto& s : g_corpus) ids.push_back(g_tok->encode(s, false));
  for (auto _ : state)
    for (const auto& v : ids) benchmark::DoNotOptimize(g_tok->decode(v));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * g_tokens));
}

BENCHMARK(BM_Llama3Encode)->MinTime(3)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Llama3EncodeCold)->MinTime(3)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Llama3Decode)->MinTime(2)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace

int main(int argc, char** argv) {
  const std::string llama3 = shared_dir() + "/data/llama3/tokenizer.json";
  g_tok = lavender::text::load_byte_bpe_tokenizer(llama3);
  const bool node = have_node();
  const std::string dir = (fs::temp_directory_path() / "lavender-bench-tokenizer").string();
  int status = 0;
  if (node) {
    run("cd '" + kRefDir + "' && node reference.mjs --llama3 '" + llama3 + "' --out '" + dir +
            "' --lines 4000",
        &status);
    if (status == 0) load_corpus(dir + "/corpus.jsonl");
  }
  if (g_corpus.empty()) {
    std::printf(
        "node or its npm packages missing (npm ci in %s): shared samples x 300, "
        "no tiktoken comparison\n",
        kRefDir.c_str());
    for (int k = 0; k < 300; ++k)
      load_corpus(shared_dir() + "/data/tokenizer-samples/corpus.jsonl");
  }
  for (const auto& s : g_corpus) {
    g_bytes += s.size();
    g_tokens += g_tok->encode(s, false).size();
  }
  std::printf("corpus: %zu lines, %.2f MB, %zu Llama 3 tokens\n", g_corpus.size(), g_bytes / 1e6,
              g_tokens);
  benchmark::Initialize(&argc, argv);
  lavender::bench::RatioReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  // Seconds per pass over the corpus -> tokens/s.
  auto tokens_per_s = [&](const std::string& name) {
    const double ms = reporter.times[name + "/min_time:3.000/real_time"];
    return ms > 0 ? g_tokens / (ms / 1e3) : 0.0;
  };
  const double warm = tokens_per_s("BM_Llama3Encode"), cold = tokens_per_s("BM_Llama3EncodeCold");
  std::printf("ours: %.3g tokens/s (cache warm), %.3g tokens/s (cold)\n", warm, cold);
  if (node && status == 0) {
    const std::string out = run("cd '" + kRefDir + "' && node reference.mjs --llama3 '" + llama3 +
                                    "' --bench '" + dir + "/corpus.jsonl' --seconds 5",
                                &status);
    const auto j = nlohmann::json::parse(out, nullptr, false);
    if (status == 0 && j.is_object() && j.contains("tokens_per_s")) {
      const double tiktoken = j["tokens_per_s"].get<double>();
      std::printf("tiktoken (node, WASM): %.3g tokens/s\n", tiktoken);
      std::printf("ours / tiktoken = %.2fx (cache warm), %.2fx (cold) (goal >= 1)\n",
                  warm / tiktoken, cold / tiktoken);
    } else {
      std::printf("tiktoken benchmark failed: %s\n", out.c_str());
    }
  }
  fs::remove_all(dir);
  benchmark::Shutdown();
  return 0;
}

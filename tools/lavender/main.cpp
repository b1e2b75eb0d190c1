// lavender: Diffusion Instruction Tuning, natively. Dispatches to one subcommand per file.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>
#include <vector>

#include "commands.h"
#include "lavender/runtime/omp_wait_policy.h"
#include "lavender/runtime/system_info.h"
#include "lavender/util/error.h"
#include "lavender/util/log.h"

namespace {

struct Command {
  const char* name;
  const char* summary;
  int (*run)(const lavender::cli::Args&);
};

const Command kCommands[] = {
    {"demo", "the whole method on the shapes world, from nothing to report.html (no downloads)",
     lavender::cli::run_demo},
    {"eval", "accuracy on a benchmark; attention vs teacher maps and ground truth",
     lavender::cli::run_eval},
    {"generate", "answer a prompt about an image (LLaVA-1.5, Llama 3.2 Vision); show attention",
     lavender::cli::run_generate},
    {"info", "LibTorch, threads, BLAS, CUDA devices and a measured matmul rate",
     lavender::cli::run_info},
    {"init-vlm", "write a LLaVA-architecture model with random weights (to train from scratch)",
     lavender::cli::run_init_vlm},
    {"inspect", "list the tensors of a safetensors file or checkpoint folder",
     lavender::cli::run_inspect},
    {"maps", "import or export maps in the Lavender authors' JPEG layout", lavender::cli::run_maps},
    {"openflamingo-config",
     "write config.json for a downloaded OpenFlamingo release (its three parts)",
     lavender::cli::run_openflamingo_config},
    {"parity", "compare lavender with a reference fixture's outputs", lavender::cli::run_parity},
    {"plan", "parameters and memory per rank of a training run, from config.json alone",
     lavender::cli::run_plan},
    {"sd-attn", "draw Stable Diffusion's per-word attention maps for a dataset",
     lavender::cli::run_sd_attn},
    {"show-maps", "draw a stored image with each word's map as a heat map (PNG)",
     lavender::cli::run_show_maps},
    {"synth", "build the shapes world: images, captions, questions and ground-truth maps",
     lavender::cli::run_synth},
    {"tokenize", "print the token ids of each line of a JSONL file", lavender::cli::run_tokenize},
    {"train", "fine-tune a VLM with the Lavender objective (or plain SFT with --lambda 0)",
     lavender::cli::run_train},
    {"train-dm", "train a small pixel-space diffusion model from scratch (a teacher for sd-attn)",
     lavender::cli::run_train_dm},
};

void print_usage() {
  std::printf(
      "usage: lavender [--threads N] [--log-level LEVEL | -v | -q] COMMAND [options]\n\n"
      "commands:\n");
  int width = 0;  // the longest command name's
  for (const auto& c : kCommands) width = std::max(width, static_cast<int>(std::strlen(c.name)));
  for (const auto& c : kCommands) std::printf("  %-*s %s\n", width, c.name, c.summary);
  std::printf(
      "\nglobal options (anywhere on the line):\n"
      "  --threads N        LibTorch intra-op threads (default: all cores)\n"
      "  --log-level LEVEL  debug | info | warn | error | off (default: info, or $LAVENDER_LOG)\n"
      "  -v, -q             shorthand for --log-level debug / warn\n\n"
      "`lavender COMMAND --help` lists a command's options.\n");
}

// Pulls the global options out of argv, leaving the command's own arguments.
struct Globals {
  int threads = 0;
  std::vector<std::string> rest;
};

Globals parse_globals(int argc, char** argv) {
  Globals g;
  if (const char* env = std::getenv("LAVENDER_LOG"))
    lavender::log::set_level(lavender::log::parse_level(env));
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&](const std::string& flag) -> std::string {
      if (a.size() > flag.size() && a.compare(0, flag.size() + 1, flag + "=") == 0)
        return a.substr(flag.size() + 1);
      if (i + 1 >= argc) throw lavender::Error(flag + " needs a value");
      return argv[++i];
    };
    if (a == "--threads" || a.rfind("--threads=", 0) == 0) {
      std::string v = value("--threads");
      char* end = nullptr;
      long n = std::strtol(v.c_str(), &end, 10);
      if (v.empty() || *end != '\0' || n < 1 || n > 4096)
        throw lavender::Error("--threads: \"" + v + "\" is not a positive thread count");
      g.threads = static_cast<int>(n);
    } else if (a == "--log-level" || a.rfind("--log-level=", 0) == 0) {
      lavender::log::set_level(lavender::log::parse_level(value("--log-level")));
    } else if (a == "-v") {
      lavender::log::set_level(lavender::log::Level::debug);
    } else if (a == "-q") {
      lavender::log::set_level(lavender::log::Level::warn);
    } else {
      g.rest.push_back(a);
    }
  }
  return g;
}

}  // namespace

int main(int argc, char** argv) {
  lavender::runtime::restart_with_passive_omp_threads(argv);
  try {
    Globals globals = parse_globals(argc, argv);
    if (globals.rest.empty() || globals.rest[0] == "--help" || globals.rest[0] == "-h" ||
        globals.rest[0] == "help") {
      print_usage();
      return globals.rest.empty() ? 2 : 0;
    }
    if (globals.rest[0] == "--version") {
      std::printf("lavender %s\n", LAVENDER_VERSION);
      return 0;
    }
    lavender::runtime::configure_threads(globals.threads);
    const std::string name = globals.rest[0];
    for (const auto& c : kCommands)
      if (name == c.name)
        return c.run(lavender::cli::Args(globals.rest.begin() + 1, globals.rest.end()));
    std::fprintf(stderr, "lavender: unknown command \"%s\"\n\n", name.c_str());
    print_usage();
    return 2;
  } catch (const lavender::Error& e) {
    std::fprintf(stderr, "lavender: error: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "lavender: internal error: %s\n", e.what());
    return 70;
  }
}

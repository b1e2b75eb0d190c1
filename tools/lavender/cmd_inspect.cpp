#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "lavender/io/checkpoint.h"
#include "lavender/io/checkpoint_summary.h"
#include "lavender/util/args.h"

namespace lavender::cli {
namespace {

nlohmann::json inspect_one(const std::string& path, const io::SummaryOptions& options, bool json) {
  auto ckpt = io::Checkpoint::open(path);
  std::string model = std::filesystem::is_directory(path) ? io::describe_model_config(path) : "";
  if (json) {
    nlohmann::json out = io::checkpoint_summary_json(ckpt, options);
    if (!model.empty()) out["model"] = model;
    return out;
  }
  if (!model.empty()) std::printf("model: %s\n", model.c_str());
  std::printf("%s", io::format_checkpoint_summary(ckpt, options).c_str());
  return {};
}

}  // namespace

int run_inspect(const Args& args) {
  ArgParser parser("inspect",
                   "Lists the tensors (name, dtype, shape) of a safetensors file, a sharded "
                   "checkpoint's index, a model folder, or each component of a diffusers pipeline "
                   "folder, with totals and metadata. The header and every offset are validated; "
                   "tensor data is not read.");
  parser.positional("PATH", "a .safetensors file, a *.safetensors.index.json, or a folder");
  parser.option("filter", "only tensors whose name matches this regex");
  parser.flag("files", "show which shard holds each tensor");
  parser.flag("json", "print JSON instead of a table");
  if (!parser.parse(args)) {
    std::printf("%s", parser.help().c_str());
    return 0;
  }
  const std::string path = parser.positionals()[0];
  const bool json = parser.has("json");
  io::SummaryOptions options{parser.get("filter"), parser.has("files")};

  // A diffusers pipeline folder: no weights of its own, one checkpoint per component folder.
  auto components =
      std::filesystem::is_directory(path) && io::find_checkpoint_in_folder(path).empty()
          ? io::find_pipeline_components(path)
          : std::vector<std::string>{};
  if (components.empty()) {
    nlohmann::json out = inspect_one(path, options, json);
    if (json) std::printf("%s\n", out.dump(2).c_str());
    return 0;
  }
  nlohmann::json all = nlohmann::json::object();
  for (const auto& c : components) {
    if (!json) std::printf("== %s\n", c.c_str());
    nlohmann::json out = inspect_one(path + "/" + c, options, json);
    if (json)
      all[c] = out;
    else
      std::printf("\n");
  }
  if (json) std::printf("%s\n", all.dump(2).c_str());
  return 0;
}

}  // namespace lavender::cli

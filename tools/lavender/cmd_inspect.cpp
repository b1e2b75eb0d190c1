#include <cstdio>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "lavender/io/checkpoint.h"
#include "lavender/io/checkpoint_summary.h"
#include "lavender/util/args.h"

namespace lavender::cli {

int run_inspect(const Args& args) {
  ArgParser parser("inspect",
                   "Lists the tensors (name, dtype, shape) of a safetensors file, a sharded "
                   "checkpoint's index, or a model folder, with totals and metadata. The header "
                   "and every offset are validated; tensor data is not read.");
  parser.positional("PATH", "a .safetensors file, a *.safetensors.index.json, or a folder");
  parser.option("filter", "only tensors whose name matches this regex");
  parser.flag("files", "show which shard holds each tensor");
  parser.flag("json", "print JSON instead of a table");
  if (!parser.parse(args)) {
    std::printf("%s", parser.help().c_str());
    return 0;
  }
  auto ckpt = io::Checkpoint::open(parser.positionals()[0]);
  io::SummaryOptions options{parser.get("filter"), parser.has("files")};
  if (parser.has("json"))
    std::printf("%s\n", io::checkpoint_summary_json(ckpt, options).dump(2).c_str());
  else
    std::printf("%s", io::format_checkpoint_summary(ckpt, options).c_str());
  return 0;
}

}  // namespace lavender::cli

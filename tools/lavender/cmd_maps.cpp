#include <cstdio>

#include "commands.h"
#include "lavender/io/authors_layout.h"
#include "lavender/io/map_store.h"
#include "lavender/util/args.h"
#include "lavender/util/error.h"

namespace lavender::cli {
namespace {

int import_maps(const ArgParser& parser) {
  const int64_t size = parser.get_int("map-size");
  io::MapStoreWriter store(parser.get("store"), {{"map_size", size},
                                                 {"dtype", "float16"},
                                                 {"recipe", {{"name", "authors-layout"}}},
                                                 {"source", parser.get("root")}});
  auto report = io::import_authors_layout(parser.get("root"), store, size);
  store.flush();
  std::printf("maps import: %zu images imported, %zu already in the store, %zu problems\n",
              report.images, report.skipped, report.problems.size());
  for (const auto& p : report.problems) std::printf("  problem: %s\n", p.c_str());
  return report.images + report.skipped > 0 ? 0 : 2;
}

int export_maps(const ArgParser& parser) {
  auto store = io::MapStoreReader::open(parser.get("store"));
  std::vector<std::string> skipped;
  size_t files = io::export_authors_layout(store, parser.get("root"), &skipped);
  std::printf("maps export: %zu JPEG files for %zu images; %zu words skipped (not file names)\n",
              files, store.entries().size(), skipped.size());
  return 0;
}

}  // namespace

int run_maps(const Args& args) {
  ArgParser parser("maps",
                   "Converts between a map store and the Lavender authors' published layout "
                   "(<root>/<image>/lpm_attention/<stem>/attention_<word>.jpg).");
  parser.positional("action", "import (layout → store) or export (store → layout)")
      .option("store", "map store folder (import: created or resumed)")
      .option("root", "root folder of the authors' layout")
      .option("map-size", "import: side of the stored maps", "32");
  if (!parser.parse(args)) {
    std::printf("%s", parser.help().c_str());
    return 0;
  }
  for (const char* required : {"store", "root"})
    if (!parser.has(required)) throw Error(std::string("maps: --") + required + " is required");
  const std::string action = parser.positionals().at(0);
  if (action == "import") return import_maps(parser);
  if (action == "export") return export_maps(parser);
  throw Error("maps: unknown action '" + action + "' (expected import or export)");
}

}  // namespace lavender::cli

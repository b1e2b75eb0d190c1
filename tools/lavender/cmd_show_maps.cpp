#include <cstdio>

#include "commands.h"
#include "lavender/eval/store_figure.h"
#include "lavender/util/args.h"
#include "lavender/util/error.h"
#include "lavender/util/log.h"

namespace lavender::cli {

int run_show_maps(const Args& args) {
  ArgParser parser("show-maps",
                   "Draws one stored image with each word's attention map laid over it as a heat "
                   "map, words labelled, into a PNG.");
  parser.option("store", "map store folder (or a sharded run's folder of part-i-of-n stores)")
      .option("image", "the image's key in the store (see its index.jsonl)")
      .option("out", "PNG file to write")
      .option("images", "root folder for relative image paths (as given to sd-attn)")
      .option("words", "comma-separated words to show (default: all)")
      .option("panel", "panel side in pixels", "192")
      .option("columns", "panels per row", "5");
  if (!parser.parse(args)) {
    std::printf("%s", parser.help().c_str());
    return 0;
  }
  for (const char* required : {"store", "image", "out"})
    if (!parser.has(required))
      throw Error(std::string("show-maps: --") + required + " is required");
  eval::StoreFigureOptions o;
  o.images = parser.get("images");
  o.words = parser.get_list("words");
  o.figure.panel = static_cast<int>(parser.get_int("panel"));
  o.figure.columns = static_cast<int>(parser.get_int("columns"));
  auto figure = eval::store_figure(parser.get("store"), parser.get("image"), o);
  if (!figure.note.empty()) log::warn(figure.note);
  io::write_png(parser.get("out"), figure.image);
  std::printf("show-maps: wrote %s (%dx%d)\n", parser.get("out").c_str(), figure.image.width,
              figure.image.height);
  return 0;
}

}  // namespace lavender::cli

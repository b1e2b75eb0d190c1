// The layout in which the Lavender authors published their Stable Diffusion maps (Flickr30k and
// RLAIF-V subsets): one 8-bit grey JPEG per word,
//   <root>/<image file name>/lpm_attention/<image stem>/attention_<word>.jpg
// Importing it lets users train on those maps; exporting lets them look at ours the same way.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "lavender/io/map_store.h"

namespace lavender::io {

struct AuthorsImportReport {
  size_t images = 0;                  // image folders imported
  size_t skipped = 0;                 // keys already in the store
  std::vector<std::string> problems;  // "path: reason" for unreadable or inconsistent files
};

// Reads every <root>/<image>/lpm_attention/<stem>/attention_<word>.jpg into `store` (key = image
// file name, words sorted by name, maps resized to the store's map size when they differ).
AuthorsImportReport import_authors_layout(const std::string& root, MapStoreWriter& store,
                                          int64_t map_size);

// True when `root` holds at least one <image>/lpm_attention/<stem>/ folder.
bool is_authors_layout(const std::string& root);

// Writes every entry of `store` in that layout (JPEG quality 95; words that are not safe file
// names are skipped and counted). Returns the number of JPEG files written.
size_t export_authors_layout(const MapStoreReader& store, const std::string& root,
                             std::vector<std::string>* skipped_words = nullptr);

}  // namespace lavender::io

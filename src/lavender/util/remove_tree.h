// Removing a folder and everything in it (old checkpoints, temporary trees).
// Not std::filesystem::remove_all: the LibTorch inside PyTorch 2.x wheels exports its own copy of
// that symbol, which crashes when it wins symbol resolution (seen with PyTorch 2.11).
#pragma once

#include <string>

namespace lavender {

// Best effort: keeps going past entries that cannot be removed; returns whether `path` is gone.
bool remove_tree(const std::string& path);

}  // namespace lavender

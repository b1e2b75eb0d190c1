#include "lavender/io/save_checkpoint.h"

#include <fcntl.h>
#include <ftw.h>
#include <torch/torch.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>
#include <tuple>

#include "lavender/io/safetensors.h"
#include "lavender/util/atomic_file.h"
#include "lavender/util/error.h"

namespace lavender::io {
namespace {

namespace fs = std::filesystem;

uint64_t tensor_bytes(const at::Tensor& t) {
  return static_cast<uint64_t>(t.numel()) * static_cast<uint64_t>(t.element_size());
}

// The same view of the same memory: what tying a weight produces.
using AliasKey = std::tuple<const void*, int64_t, std::vector<int64_t>, std::vector<int64_t>, int>;
AliasKey alias_key(const at::Tensor& t) {
  return {t.storage().data(), t.storage_offset(), t.sizes().vec(), t.strides().vec(),
          static_cast<int>(t.scalar_type())};
}

// huggingface_hub's split: greedy in the given order; a tensor over the limit alone.
std::vector<std::vector<size_t>> split_shards(const std::vector<uint64_t>& sizes, uint64_t max) {
  std::vector<std::vector<size_t>> shards;
  std::vector<size_t> current;
  uint64_t current_size = 0;
  for (size_t i = 0; i < sizes.size(); ++i) {
    if (sizes[i] > max) {
      shards.push_back({i});
      continue;
    }
    if (!current.empty() && current_size + sizes[i] > max) {
      shards.push_back(std::move(current));
      current.clear();
      current_size = 0;
    }
    current.push_back(i);
    current_size += sizes[i];
  }
  if (!current.empty()) shards.push_back(std::move(current));
  return shards;
}

std::string shard_name(size_t k, size_t n) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "model-%05zu-of-%05zu.safetensors", k + 1, n);
  return buf;
}

// Makes the renames durable (best effort: some filesystems refuse fsync on directories).
void sync_directory(const fs::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

// Best-effort recursive delete. Not std::filesystem::remove_all: the LibTorch inside PyTorch 2.x
// wheels exports its own copy of that symbol, which crashes when it wins symbol resolution.
void remove_tree(const fs::path& path) {
  auto remove_one = [](const char* p, const struct stat*, int, struct FTW*) {
    std::remove(p);
    return 0;
  };
  ::nftw(path.c_str(), remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

}  // namespace

std::vector<std::pair<std::string, at::Tensor>> module_tensors(const torch::nn::Module& module) {
  std::vector<std::pair<std::string, at::Tensor>> out;
  for (const auto& p : module.named_parameters()) out.emplace_back(p.key(), p.value().detach());
  for (const auto& b : module.named_buffers()) out.emplace_back(b.key(), b.value().detach());
  return out;
}

SaveCheckpointReport save_hf_checkpoint(
    const std::string& dir, const std::vector<std::pair<std::string, at::Tensor>>& tensors,
    const nlohmann::json& config, const SaveCheckpointOptions& options) {
  fs::path target = fs::path(dir).lexically_normal();
  if (!target.has_filename()) target = target.parent_path();
  if (target.empty()) throw Error("save_hf_checkpoint: empty folder name");
  if (tensors.empty()) throw Error(target.string() + ": no tensors to save");
  if (options.max_shard_bytes == 0) throw Error(target.string() + ": max_shard_bytes is 0");

  SaveCheckpointReport report;
  std::vector<std::pair<std::string, at::Tensor>> kept;
  std::set<std::string> names;
  std::set<AliasKey> seen;
  for (const auto& [name, t] : tensors) {
    if (!names.insert(name).second) throw Error(target.string() + ": tensor " + name + " given twice");
    if (!t.defined()) throw Error(target.string() + ": tensor " + name + " is undefined");
    if (!seen.insert(alias_key(t)).second) {
      report.dropped_aliases.push_back(name);
      continue;
    }
    kept.emplace_back(name, t.detach());
    report.total_size += tensor_bytes(t);
  }

  std::vector<uint64_t> sizes;
  for (const auto& kv : kept) sizes.push_back(tensor_bytes(kv.second));
  const auto shards = split_shards(sizes, options.max_shard_bytes);

  fs::path parent = target.parent_path();
  if (parent.empty()) parent = ".";
  fs::create_directories(parent);
  static std::atomic<int> counter{0};
  const std::string stem = "." + target.filename().string();
  const std::string suffix = std::to_string(::getpid()) + "-" + std::to_string(counter++);
  const fs::path temp = parent / (stem + ".tmp-" + suffix);
  remove_tree(temp);
  fs::create_directory(temp);
  try {
    const std::map<std::string, std::string> metadata{{"format", "pt"}};
    nlohmann::json weight_map = nlohmann::json::object();
    for (size_t k = 0; k < shards.size(); ++k) {
      const std::string file = shards.size() == 1 ? "model.safetensors" : shard_name(k, shards.size());
      std::vector<std::pair<std::string, at::Tensor>> part;
      for (size_t i : shards[k]) {
        part.push_back(kept[i]);
        weight_map[kept[i].first] = file;
      }
      save_safetensors((temp / file).string(), part, metadata);
      report.files.push_back(file);
    }
    if (shards.size() > 1) {
      const nlohmann::json index = {{"metadata", {{"total_size", report.total_size}}},
                                    {"weight_map", weight_map}};
      write_file_atomically((temp / "model.safetensors.index.json").string(), index.dump(2) + "\n");
    }
    write_file_atomically((temp / "config.json").string(), config.dump(2) + "\n");
    for (const auto& [name, content] : options.extra_files) {
      if (name.empty() || name.find('/') != std::string::npos || name == "." || name == "..")
        throw Error(target.string() + ": extra file name '" + name + "' is not a plain file name");
      write_file_atomically((temp / name).string(), content);
    }
    sync_directory(temp);
    if (fs::exists(target)) {
      const fs::path old = parent / (stem + ".old-" + suffix);
      fs::rename(target, old);
      fs::rename(temp, target);
      sync_directory(parent);
      remove_tree(old);
    } else {
      fs::rename(temp, target);
      sync_directory(parent);
    }
  } catch (const fs::filesystem_error& e) {
    remove_tree(temp);
    throw Error(target.string() + ": saving the checkpoint failed: " + e.what());
  } catch (...) {
    remove_tree(temp);
    throw;
  }
  return report;
}

}  // namespace lavender::io

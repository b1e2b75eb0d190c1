#include "lavender/io/checkpoint.h"

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "lavender/io/json_file.h"
#include "lavender/util/error.h"

namespace fs = std::filesystem;

namespace lavender::io {
namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// A shard named by an index must be a plain file name beside the index (as HF writes them),
// never a path that could reach elsewhere on the machine.
void check_shard_name(const std::string& shard, const std::string& index_path) {
  fs::path p(shard);
  bool escapes = shard.empty() || p.is_absolute();
  for (const auto& part : p)
    if (part == "..") escapes = true;
  if (escapes)
    throw Error(index_path + ": shard path \"" + shard + "\" leaves the checkpoint folder");
}

}  // namespace

std::vector<std::string> TensorMapSource::names() const {
  std::vector<std::string> out;
  for (const auto& kv : tensors_) out.push_back(kv.first);
  return out;
}

at::Tensor TensorMapSource::tensor(const std::string& name) const {
  auto it = tensors_.find(name);
  if (it == tensors_.end()) throw Error(name_ + ": no tensor named '" + name + "'");
  return it->second;
}

namespace {

// transformers' and diffusers' own file names, index first so a sharded save wins.
std::string standard_checkpoint_in(const std::string& folder) {
  for (const char* name :
       {"model.safetensors.index.json", "model.safetensors",
        "diffusion_pytorch_model.safetensors.index.json", "diffusion_pytorch_model.safetensors"}) {
    fs::path p = fs::path(folder) / name;
    if (fs::is_regular_file(p)) return p.string();
  }
  return "";
}

}  // namespace

std::vector<std::string> find_pipeline_components(const std::string& folder) {
  std::vector<std::string> components;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(folder, ec))
    if (e.is_directory() && !standard_checkpoint_in(e.path().string()).empty())
      components.push_back(e.path().filename().string());
  std::sort(components.begin(), components.end());
  return components;
}

std::string find_checkpoint_in_folder(const std::string& folder) {
  std::string standard = standard_checkpoint_in(folder);
  if (!standard.empty() || !find_pipeline_components(folder).empty()) return standard;
  // Otherwise a lone .safetensors file (e.g. adapter_model.safetensors, a single-file export).
  std::vector<std::string> found;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(folder, ec))
    if (e.is_regular_file() && ends_with(e.path().string(), ".safetensors"))
      found.push_back(e.path().string());
  return found.size() == 1 ? found[0] : "";
}

Checkpoint Checkpoint::open(const std::string& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) throw Error(path + ": no such file or folder");
  std::string file = path;
  if (fs::is_directory(path, ec)) {
    file = find_checkpoint_in_folder(path);
    if (file.empty())
      throw Error(
          path +
          ": folder holds no safetensors checkpoint (looked for "
          "model.safetensors[.index.json], diffusion_pytorch_model.safetensors[.index.json])");
  }

  Checkpoint ckpt;
  ckpt.path_ = path;
  if (!ends_with(file, ".json")) {
    ckpt.files_.push_back(SafetensorsFile::open(file));
    for (const auto& t : ckpt.files_[0]->tensors()) ckpt.where_[t.name] = 0;
    ckpt.metadata_ = ckpt.files_[0]->metadata();
    return ckpt;
  }

  nlohmann::json index = read_json_file(file);
  if (!index.is_object() || !index.contains("weight_map") || !index["weight_map"].is_object())
    throw Error(file + ": not a safetensors index (no 'weight_map' object)");
  if (index.contains("metadata") && index["metadata"].is_object())
    for (auto it = index["metadata"].begin(); it != index["metadata"].end(); ++it)
      ckpt.metadata_[it.key()] =
          it.value().is_string() ? it.value().get<std::string>() : it.value().dump();

  fs::path folder = fs::path(file).parent_path();
  std::map<std::string, size_t> shard_index;
  for (auto it = index["weight_map"].begin(); it != index["weight_map"].end(); ++it) {
    if (!it.value().is_string())
      throw Error(file + ": weight_map entry '" + it.key() + "' is not a file name");
    std::string shard = it.value().get<std::string>();
    if (!shard_index.count(shard)) {
      check_shard_name(shard, file);
      fs::path shard_path = folder / shard;
      if (!fs::is_regular_file(shard_path))
        throw Error(file + ": shard \"" + shard + "\" (for tensor '" + it.key() + "') is missing");
      shard_index[shard] = ckpt.files_.size();
      ckpt.files_.push_back(SafetensorsFile::open(shard_path.string()));
    }
    size_t i = shard_index[shard];
    if (!ckpt.files_[i]->contains(it.key()))
      throw Error(file + ": tensor '" + it.key() + "' is listed in shard \"" + shard +
                  "\" but that file does not hold it");
    ckpt.where_[it.key()] = i;
  }
  // A tensor the index does not list, or one stored twice, means the shards and index disagree.
  for (size_t i = 0; i < ckpt.files_.size(); ++i)
    for (const auto& t : ckpt.files_[i]->tensors()) {
      auto it = ckpt.where_.find(t.name);
      if (it == ckpt.where_.end())
        throw Error(file + ": shard " + ckpt.files_[i]->path() + " holds tensor '" + t.name +
                    "' that the index does not list");
      if (it->second != i)
        throw Error(file + ": tensor '" + t.name + "' is stored in both " + ckpt.files_[i]->path() +
                    " and " + ckpt.files_[it->second]->path());
    }
  return ckpt;
}

std::vector<std::string> Checkpoint::names() const {
  std::vector<std::string> out;
  out.reserve(where_.size());
  for (const auto& kv : where_) out.push_back(kv.first);
  return out;
}

const SafetensorsFile& Checkpoint::file_holding(const std::string& name) const {
  auto it = where_.find(name);
  if (it == where_.end()) throw Error(path_ + ": no tensor named '" + name + "'");
  return *files_[it->second];
}

at::Tensor Checkpoint::tensor(const std::string& name) const {
  return file_holding(name).tensor(name);
}
void Checkpoint::release(const std::string& name) const {
  file_holding(name).release(name);
}
bool Checkpoint::writable() const {
  for (const auto& f : files_)
    if (!f->writable()) return false;
  return true;
}
const StTensorInfo& Checkpoint::info(const std::string& name) const {
  return file_holding(name).info(name);
}
const std::string& Checkpoint::file_of(const std::string& name) const {
  return file_holding(name).path();
}

uint64_t Checkpoint::total_bytes() const {
  uint64_t total = 0;
  for (const auto& kv : where_) total += info(kv.first).nbytes();
  return total;
}

}  // namespace lavender::io

#include "lavender/train/train_checkpoint.h"

#include <torch/torch.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "lavender/io/json_file.h"
#include "lavender/io/safetensors.h"
#include "lavender/util/atomic_file.h"
#include "lavender/util/error.h"
#include "lavender/util/remove_tree.h"

namespace lavender::train {
namespace fs = std::filesystem;
namespace {

std::string step_name(int64_t step) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "step-%06lld", static_cast<long long>(step));
  return buf;
}

// Complete checkpoints (no .tmp), oldest first.
std::vector<std::string> checkpoints_in(const std::string& dir) {
  std::vector<std::string> out;
  if (!fs::is_directory(dir)) return out;
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (e.is_directory() && name.rfind("step-", 0) == 0 && name.find('.') == std::string::npos)
      out.push_back(name);
  }
  std::sort(out.begin(), out.end());
  return out;
}

// "trainable.safetensors", or "trainable-rank-00001-of-00004.safetensors" for a shard.
std::string shard_file(const std::string& stem, const std::string& ext,
                       const CheckpointShard& shard) {
  if (shard.world <= 1) return stem + ext;
  char buf[64];
  std::snprintf(buf, sizeof buf, "-rank-%05d-of-%05d", shard.rank, shard.world);
  return stem + buf + ext;
}

}  // namespace

std::string save_training_checkpoint(const std::string& out, int64_t step,
                                     const CheckpointContents& contents,
                                     torch::optim::Optimizer& optimizer, int64_t keep,
                                     const CheckpointShard& shard) {
  const std::string dir = out + "/checkpoints";
  const std::string final_dir = dir + "/" + step_name(step), tmp = final_dir + ".tmp";
  const bool sharded = shard.world > 1;
  if (shard.rank == 0) {
    fs::create_directories(dir);
    remove_tree(tmp);
    fs::create_directories(tmp);
  }
  if (sharded) shard.barrier();  // the folder exists before any rank writes into it
  io::save_safetensors(tmp + "/" + shard_file("trainable", ".safetensors", shard),
                       contents.tensors);
  torch::save(optimizer, tmp + "/" + shard_file("optimizer", ".pt", shard));
  if (sharded) shard.barrier();  // every share is written before the folder is renamed
  if (shard.rank != 0) return final_dir;
  nlohmann::json state = contents.state;
  if (sharded) state["shards"] = shard.world;
  write_file_atomically(tmp + "/state.json", state.dump(2) + "\n");
  remove_tree(final_dir);  // a re-run that reached the same step
  fs::rename(tmp, final_dir);
  write_file_atomically(dir + "/latest", step_name(step) + "\n");
  std::vector<std::string> all = checkpoints_in(dir);
  for (size_t i = 0; i + static_cast<size_t>(std::max<int64_t>(1, keep)) < all.size(); ++i)
    if (all[i] != step_name(step)) remove_tree(dir + "/" + all[i]);
  return final_dir;
}

std::string latest_checkpoint(const std::string& out) {
  const std::string dir = out + "/checkpoints";
  std::ifstream in(dir + "/latest");
  std::string name;
  if (in >> name && fs::is_directory(dir + "/" + name)) return dir + "/" + name;
  // `latest` lost or naming a removed folder: the newest complete one.
  std::vector<std::string> all = checkpoints_in(dir);
  return all.empty() ? "" : dir + "/" + all.back();
}

nlohmann::json load_training_checkpoint(const std::string& folder, CheckpointContents& contents,
                                        torch::optim::Optimizer& optimizer,
                                        const CheckpointShard& shard) {
  nlohmann::json state = io::read_json_file(folder + "/state.json");
  const int shards = state.value("shards", 1);
  if (shards != std::max(shard.world, 1))
    throw Error(folder + ": written " +
                (shards > 1 ? "in " + std::to_string(shards) + " shards by a sharded run"
                            : std::string("unsharded")) +
                ", but this run " +
                (shard.world > 1 ? "shards over " + std::to_string(shard.world) + " ranks"
                                 : std::string("is not sharded")) +
                "; resume with the sharding and world size that wrote it");
  const std::string file = folder + "/" + shard_file("trainable", ".safetensors", shard);
  auto saved = io::SafetensorsFile::open(file);
  torch::NoGradGuard no_grad;
  for (auto& [name, tensor] : contents.tensors) {
    if (!saved->contains(name))
      throw Error(file + ": no tensor \"" + name +
                  "\" (was the checkpoint written by a run with other options?)");
    at::Tensor value = saved->tensor(name);
    if (value.sizes() != tensor.sizes())
      throw Error(file + ": \"" + name + "\" has another shape than the model's");
    tensor.copy_(value);
  }
  const std::string opt = folder + "/" + shard_file("optimizer", ".pt", shard);
  try {
    torch::load(optimizer, opt);
  } catch (const c10::Error& e) {
    throw Error(opt + ": cannot restore the optimizer: " + e.what_without_backtrace());
  }
  return state;
}

}  // namespace lavender::train

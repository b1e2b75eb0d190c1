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

}  // namespace

std::string save_training_checkpoint(const std::string& out, int64_t step,
                                     const CheckpointContents& contents,
                                     torch::optim::Optimizer& optimizer, int64_t keep) {
  const std::string dir = out + "/checkpoints";
  const std::string final_dir = dir + "/" + step_name(step), tmp = final_dir + ".tmp";
  fs::create_directories(dir);
  remove_tree(tmp);
  fs::create_directories(tmp);
  io::save_safetensors(tmp + "/trainable.safetensors", contents.tensors);
  torch::save(optimizer, tmp + "/optimizer.pt");
  write_file_atomically(tmp + "/state.json", contents.state.dump(2) + "\n");
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
                                        torch::optim::Optimizer& optimizer) {
  const std::string file = folder + "/trainable.safetensors";
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
  const std::string opt = folder + "/optimizer.pt";
  try {
    torch::load(optimizer, opt);
  } catch (const c10::Error& e) {
    throw Error(opt + ": cannot restore the optimizer: " + e.what_without_backtrace());
  }
  return io::read_json_file(folder + "/state.json");
}

}  // namespace lavender::train

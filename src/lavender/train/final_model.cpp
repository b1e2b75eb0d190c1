#include "lavender/train/final_model.h"

#include <torch/torch.h>

#include <filesystem>

#include "lavender/io/safetensors.h"
#include "lavender/train/student.h"
#include "lavender/util/remove_tree.h"

namespace lavender::train {
namespace fs = std::filesystem;

std::string save_final_model(Student& student, const align::AttentionAlignment& alignment,
                             const std::string& out) {
  const std::string dir = out + "/model", tmp = out + "/model.tmp";
  remove_tree(tmp);
  fs::create_directories(tmp);
  std::vector<std::pair<std::string, at::Tensor>> weights;
  for (const auto& p : student.module().named_parameters()) weights.emplace_back(p.key(), p.value().detach());
  io::save_safetensors(tmp + "/model.safetensors", weights, {{"format", "pt"}});
  fs::copy_file(student.folder() + "/config.json", tmp + "/config.json");
  for (const auto& f : student.companion_files())
    fs::copy_file(student.folder() + "/" + f, tmp + "/" + f);
  remove_tree(dir);
  fs::rename(tmp, dir);
  if (alignment) {
    std::vector<std::pair<std::string, at::Tensor>> a;
    for (const auto& p : alignment->named_parameters()) a.emplace_back(p.key(), p.value().detach());
    for (const auto& b : alignment->named_buffers()) a.emplace_back(b.key(), b.value().detach());
    io::save_safetensors(out + "/aligner.safetensors", a, {{"format", "pt"}});
  }
  return dir;
}

}  // namespace lavender::train

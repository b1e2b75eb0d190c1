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
  // Learned parallel projections are Lavender's, not the architecture's: transformers would
  // not know them, so they go to a file of their own.
  std::vector<std::pair<std::string, at::Tensor>> weights, parallel;
  for (const auto& p : student.module().named_parameters())
    (p.key().find("parallel_attn.") == std::string::npos ? weights : parallel)
        .emplace_back(p.key(), p.value().detach());
  io::save_safetensors(tmp + "/model.safetensors", weights, {{"format", "pt"}});
  if (!parallel.empty())
    io::save_safetensors(out + "/parallel_attention.safetensors", parallel, {{"format", "pt"}});
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

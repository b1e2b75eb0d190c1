#include "lavender/train/final_model.h"

#include <torch/torch.h>

#include <fstream>
#include <optional>
#include <sstream>

#include "lavender/io/json_file.h"
#include "lavender/io/safetensors.h"
#include "lavender/io/save_checkpoint.h"
#include "lavender/runtime/dtype.h"
#include "lavender/train/student.h"

namespace lavender::train {
namespace {

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void save_tensors(const std::string& path, const torch::nn::Module& module, bool buffers) {
  std::vector<std::pair<std::string, at::Tensor>> t;
  for (const auto& p : module.named_parameters()) t.emplace_back(p.key(), p.value().detach());
  if (buffers)
    for (const auto& b : module.named_buffers()) t.emplace_back(b.key(), b.value().detach());
  io::save_safetensors(path, t, {{"format", "pt"}});
}

bool is_parallel(const std::string& name) {
  return name.find("parallel_attn.") != std::string::npos;
}

// Learned parallel projections are Lavender's, not the architecture's (transformers would not
// know them): they go to a file of their own.
void save_parallel_projections(Student& student, const std::string& out) {
  std::vector<std::pair<std::string, at::Tensor>> parallel;
  for (const auto& p : student.module().named_parameters())
    if (is_parallel(p.key())) parallel.emplace_back(p.key(), p.value().detach());
  if (!parallel.empty())
    io::save_safetensors(out + "/parallel_attention.safetensors", parallel, {{"format", "pt"}});
}

// The dtype the source checkpoint says it is stored in ("torch_dtype", or transformers 5's
// "dtype"), which the saved model keeps whatever the training ran in; nullopt when unsaid.
std::optional<at::ScalarType> stored_dtype(const nlohmann::json& config) {
  for (const char* key : {"torch_dtype", "dtype"})
    if (config.contains(key) && config[key].is_string())
      return runtime::parse_dtype(config[key].get<std::string>());
  return std::nullopt;
}

// The full model as a Hugging Face folder, in the source checkpoint's own dtype (so the config
// copied beside it stays true).
std::string save_model_folder(Student& student, const std::string& out) {
  const nlohmann::json config = student.saved_config();
  const std::optional<at::ScalarType> dtype = stored_dtype(config);
  std::vector<std::pair<std::string, at::Tensor>> weights;
  for (const auto& p : student.module().named_parameters())
    if (!is_parallel(p.key()))
      weights.emplace_back(p.key(), dtype ? p.value().detach().to(*dtype) : p.value().detach());
  io::SaveCheckpointOptions options;
  for (const auto& f : student.companion_files())
    options.extra_files[f] = read_all(student.folder() + "/" + f);
  const std::string dir = out + "/model";
  io::save_hf_checkpoint(dir, weights, config, options);
  return dir;
}

}  // namespace

std::string save_final_model(Student& student, const align::AttentionAlignment& alignment,
                             const std::string& out, const FinalModelOptions& options) {
  torch::NoGradGuard no_grad;
  if (alignment) save_tensors(out + "/aligner.safetensors", *alignment, /*buffers=*/true);
  save_parallel_projections(student, out);
  if (!options.lora) return save_model_folder(student, out);
  save_peft_adapter(out + "/adapter", student.module(), *options.lora, student.folder());
  if (!options.merge_lora) return out + "/adapter";
  merge_all_lora(student.module());
  return save_model_folder(student, out);
}

}  // namespace lavender::train

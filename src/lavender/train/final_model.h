// What a finished run leaves for users:
//   <out>/model/    a Hugging Face folder (config.json, the weights — sharded beyond 5 GB as
//                   transformers does — and the tokenizer, processor and generation files of the
//                   source folder) that `lavender generate`, `transformers` and the next run load
//                   directly; with LoRA only when the adapters are merged (--merge-lora)
//   <out>/adapter/  with LoRA: the PEFT adapter folder (adapter_config.json +
//                   adapter_model.safetensors) for `peft.PeftModel.from_pretrained`
//   <out>/aligner.safetensors             the Aligner (evaluation of alignment reuses it)
//   <out>/parallel_attention.safetensors  learned parallel projections, when used
#pragma once

#include <string>

#include "lavender/align/alignment_loss.h"
#include "lavender/train/lora.h"

namespace lavender::train {

class Student;

struct FinalModelOptions {
  const LoraConfig* lora = nullptr;  // adapters were trained
  bool merge_lora = false;           // also write the merged full model
};

// Returns the model folder, or the adapter folder when only that was written.
std::string save_final_model(Student& student, const align::AttentionAlignment& alignment,
                             const std::string& out, const FinalModelOptions& options = {});

}  // namespace lavender::train

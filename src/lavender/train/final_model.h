// What a finished run leaves for users: <out>/model, a Hugging Face folder (config.json, the
// weights, the tokenizer and processor files of the source folder) that `lavender generate`,
// `transformers` and the next run load directly, and <out>/aligner.safetensors (the Aligner,
// which evaluation of attention alignment reuses), and with learned parallel attention
// <out>/parallel_attention.safetensors.
#pragma once

#include <string>

#include "lavender/align/alignment_loss.h"

namespace lavender::train {

class Student;

// Returns the model folder. The folder is assembled under <out>/model.tmp and renamed into place.
std::string save_final_model(Student& student, const align::AttentionAlignment& alignment,
                             const std::string& out);

}  // namespace lavender::train

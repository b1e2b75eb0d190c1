// Reading the state dicts PyTorch's torch.save writes (the zip format every torch >= 1.6 uses):
// the OpenFlamingo release ships its trainable weights as `checkpoint.pt` and MPT-1B as
// `pytorch_model.bin`, both pickles of a name → tensor dict.
#pragma once

#include <ATen/core/Tensor.h>

#include <map>
#include <string>

namespace lavender::io {

// The name → tensor dict saved in the torch.save file at `path` (tensors on the CPU, as saved).
// Throws lavender::Error naming the file when it cannot be read, is in the legacy (pre-1.6,
// non-zip) format, is truncated or otherwise unreadable, or does not hold a dict of tensors.
std::map<std::string, at::Tensor> load_torch_pickle(const std::string& path);

}  // namespace lavender::io

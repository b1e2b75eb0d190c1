// Activation functions by the names Hugging Face configs use.
#pragma once

#include <ATen/core/Tensor.h>

#include <string>

namespace lavender::nn {

// "quick_gelu" (x·σ(1.702x), CLIP), "gelu" (exact erf), "gelu_new"/"gelu_pytorch_tanh" (tanh
// approximation), "silu"/"swish", "relu". Throws lavender::Error naming `name` otherwise.
at::Tensor activate(const std::string& name, const at::Tensor& x);
// Throws for unknown names, so models can reject a config at construction.
void check_activation(const std::string& name);

}  // namespace lavender::nn

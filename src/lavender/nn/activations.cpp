#include "lavender/nn/activations.h"

#include <ATen/ATen.h>

#include "lavender/util/error.h"

namespace lavender::nn {

void check_activation(const std::string& name) {
  for (const char* known :
       {"quick_gelu", "gelu", "gelu_new", "gelu_pytorch_tanh", "silu", "swish", "relu"})
    if (name == known) return;
  throw Error("activation \"" + name + "\" is not implemented");
}

at::Tensor activate(const std::string& name, const at::Tensor& x) {
  if (name == "quick_gelu") return x * at::sigmoid(1.702 * x);
  if (name == "gelu") return at::gelu(x);
  if (name == "gelu_new" || name == "gelu_pytorch_tanh") return at::gelu(x, "tanh");
  if (name == "silu" || name == "swish") return at::silu(x);
  if (name == "relu") return at::relu(x);
  check_activation(name);
  return x;
}

}  // namespace lavender::nn

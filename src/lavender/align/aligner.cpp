#include "lavender/align/aligner.h"

#include <torch/torch.h>

#include "lavender/util/error.h"

namespace lavender::align {
namespace {

torch::nn::AnyModule norm(const std::string& kind, int64_t channels) {
  if (kind == "instance")
    return torch::nn::AnyModule(
        torch::nn::InstanceNorm2d(torch::nn::InstanceNorm2dOptions(channels).affine(true)));
  if (kind == "batch") return torch::nn::AnyModule(torch::nn::BatchNorm2d(channels));
  if (kind == "group") {
    int64_t groups = std::min<int64_t>(8, channels);
    while (channels % groups != 0) --groups;
    return torch::nn::AnyModule(torch::nn::GroupNorm(groups, channels));
  }
  if (kind == "none") return torch::nn::AnyModule(torch::nn::Identity());
  throw Error("aligner: unknown norm '" + kind + "' (instance, batch, group, none)");
}

torch::nn::AnyModule activation(const std::string& kind) {
  if (kind == "relu6") return torch::nn::AnyModule(torch::nn::ReLU6());
  if (kind == "leaky_relu")
    return torch::nn::AnyModule(
        torch::nn::LeakyReLU(torch::nn::LeakyReLUOptions().negative_slope(0.1)));
  throw Error("aligner: unknown activation '" + kind + "' (relu6, leaky_relu)");
}

torch::nn::Conv2d conv(int64_t in, int64_t out, int64_t kernel) {
  return torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, kernel).padding(kernel / 2));
}

}  // namespace

AlignerImpl::AlignerImpl(const AlignerOptions& o) : options_(o) {
  if (o.in_channels < 1 || o.hidden < 1)
    throw Error("aligner: channels and hidden width must be positive");
  int64_t kernel = 3, middle = 1;
  if (o.variant == "light")
    middle = 0;
  else if (o.variant == "sim")
    middle = 1;
  else if (o.variant == "deep")
    middle = 3;
  else if (o.variant == "mlp")
    kernel = 1;
  else
    throw Error("aligner: unknown variant '" + o.variant + "' (light, sim, deep, mlp)");
  layers = register_module("layers", torch::nn::Sequential());
  auto stage = [&](int64_t in, int64_t out) {
    layers->push_back(conv(in, out, kernel));
    layers->push_back(norm(o.norm, out));
    layers->push_back(activation(o.activation));
  };
  stage(o.in_channels, o.hidden);  // expand
  for (int64_t i = 0; i < middle; ++i) stage(o.hidden, o.hidden);
  stage(o.hidden, o.in_channels);                // back to the input's channels
  layers->push_back(conv(o.in_channels, 1, 1));  // squeeze to one map
}

at::Tensor AlignerImpl::forward(const at::Tensor& x) {
  if (x.dim() != 4 || x.size(1) != options_.in_channels)
    throw Error("aligner: input must be [N, " + std::to_string(options_.in_channels) + ", S, S]");
  at::Tensor y = layers->forward(x).squeeze(1);  // [N, S, S]
  at::Tensor flat = y.flatten(1);
  at::Tensor lo = std::get<0>(flat.min(1, true)), hi = std::get<0>(flat.max(1, true));
  at::Tensor range = hi - lo;
  return ((flat - lo) / range.clamp_min(1e-12)).masked_fill(range <= 1e-12, 0.0).view_as(y);
}

}  // namespace lavender::align

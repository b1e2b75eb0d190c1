// A drop-in for torch::nn::Linear (same `weight` [out, in] and optional `bias` parameters, same
// options, same default init and the same F::linear forward) that can carry a LoRA adapter
// (Hu et al. 2021, as PEFT implements it): submodules `lora_A` (in → r, no bias, kaiming-uniform
// a=√5) and `lora_B` (r → out, no bias, zeros), so that
//   y = x Wᵀ + b + B(A(dropout(x))) · scale,   scale = alpha / r   (alpha / √r with rsLoRA).
// B starts at zero, so a fresh adapter leaves the output unchanged. The VLM side (vlm/, nn/) uses
// this type; the diffusion side (dm/) keeps torch::nn::Linear.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/dropout.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/options/linear.h>

namespace lavender::nn {

class LinearImpl : public torch::nn::Module {
 public:
  LinearImpl(int64_t in_features, int64_t out_features)
      : LinearImpl(torch::nn::LinearOptions(in_features, out_features)) {}
  explicit LinearImpl(const torch::nn::LinearOptions& options);

  at::Tensor forward(const at::Tensor& x);
  void pretty_print(std::ostream& stream) const override;

  // Adds a LoRA adapter (throws lavender::Error if one is already there or rank < 1). The
  // adapter's weights take the base weight's dtype and device, as PEFT moves them.
  void add_lora(int64_t rank, double alpha, double dropout, bool use_rslora = false);
  bool has_lora() const { return !lora_A.is_empty(); }
  int64_t lora_rank() const { return rank_; }
  double lora_scale() const { return scale_; }
  // B·A·scale folded into `weight` (computed in fp32, then cast to the weight's dtype) and the
  // adapter removed: the forward is unchanged up to rounding, and the module again holds only
  // `weight`/`bias`. Throws if there is no adapter.
  void merge_lora();
  // The adapter's delta B·A·scale as an [out, in] fp32 tensor (no gradient).
  at::Tensor lora_delta() const;

  torch::nn::LinearOptions options;
  at::Tensor weight;
  at::Tensor bias;  // undefined when options.bias() is false
  torch::nn::Linear lora_A{nullptr}, lora_B{nullptr};
  torch::nn::Dropout lora_dropout{nullptr};  // null when dropout == 0 (PEFT's Identity)

 private:
  int64_t rank_ = 0;
  double scale_ = 0;
};
TORCH_MODULE(Linear);

}  // namespace lavender::nn

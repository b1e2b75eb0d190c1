// The CLIP transformer encoder shared by the text encoder (Stable Diffusion's conditioning) and
// the vision tower (LLaVA): pre-norm layers of multi-head attention and a two-layer MLP.
// Submodules carry the checkpoint's key names (`layers.N.self_attn.q_proj`, `layer_norm1`, ...).
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/normalization.h>

#include <string>
#include <vector>

#include "lavender/nn/attention.h"
#include "lavender/nn/linear.h"

namespace lavender::nn {

struct ClipEncoderOptions {
  int64_t hidden_size = 0;
  int64_t intermediate_size = 0;
  int64_t num_heads = 0;
  int64_t num_layers = 0;
  std::string hidden_act = "quick_gelu";
  double layer_norm_eps = 1e-5;
};

class ClipAttentionImpl : public torch::nn::Module {
 public:
  ClipAttentionImpl(int64_t hidden, int64_t heads);
  at::Tensor forward(const at::Tensor& x, const at::Tensor& mask, bool causal,
                     AttentionCapture* capture = nullptr);

  Linear q_proj{nullptr}, k_proj{nullptr}, v_proj{nullptr}, out_proj{nullptr};

 private:
  int64_t heads_, head_dim_;
};
TORCH_MODULE(ClipAttention);

class ClipMlpImpl : public torch::nn::Module {
 public:
  ClipMlpImpl(int64_t hidden, int64_t intermediate, std::string act);
  at::Tensor forward(const at::Tensor& x);

  Linear fc1{nullptr}, fc2{nullptr};

 private:
  std::string act_;
};
TORCH_MODULE(ClipMlp);

class ClipEncoderLayerImpl : public torch::nn::Module {
 public:
  explicit ClipEncoderLayerImpl(const ClipEncoderOptions& o);
  at::Tensor forward(const at::Tensor& x, const at::Tensor& mask, bool causal,
                     AttentionCapture* capture = nullptr);

  ClipAttention self_attn{nullptr};
  torch::nn::LayerNorm layer_norm1{nullptr}, layer_norm2{nullptr};
  ClipMlp mlp{nullptr};
};
TORCH_MODULE(ClipEncoderLayer);

// `encoder.layers.*`. forward() returns the hidden states after each layer when asked (index 0 is
// the input, as transformers' `hidden_states` tuple), else only the last.
class ClipEncoderImpl : public torch::nn::Module {
 public:
  explicit ClipEncoderImpl(const ClipEncoderOptions& o);
  // `captures`: empty, or one entry per layer (nullptr where nothing is asked of that layer).
  std::vector<at::Tensor> forward(const at::Tensor& x, const at::Tensor& mask, bool causal,
                                  bool all_hidden_states,
                                  const std::vector<AttentionCapture*>& captures = {});
  size_t num_layers() const { return layers->size(); }

  torch::nn::ModuleList layers{nullptr};
};
TORCH_MODULE(ClipEncoder);

}  // namespace lavender::nn

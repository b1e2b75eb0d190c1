// diffusers' Transformer2DModel (continuous input) with its BasicTransformerBlocks, as the SD
// UNet uses them: GroupNorm → proj_in → [self-attention, cross-attention, GEGLU feed-forward] →
// proj_out → residual. Also the multi-head Attention module (to_q/to_k/to_v/to_out.0) that the
// VAE's mid block reuses.
//
// Cross-attention capture: the UNet hands each block a CrossAttentionCapture naming the attn2
// layers to record; only those compute explicit probabilities, every other attention (all attn1
// self-attention included) takes nn::attention's fast path.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>

#include <map>
#include <set>
#include <string>
#include <vector>

namespace lavender::dm {

// What one UNet forward records: `layers` names attn2 modules by their diffusers path
// (`down_blocks.0.attentions.0.transformer_blocks.0.attn2`); `probs` receives, for each,
// the softmax over text positions, [batch, heads, H·W, text tokens].
struct CrossAttentionCapture {
  std::set<std::string> layers;
  std::map<std::string, at::Tensor> probs;
};

struct AttentionOptions {
  int64_t query_dim = 0;
  int64_t context_dim = 0;  // 0: self-attention (keys from the queries' input)
  int64_t heads = 1;
  int64_t head_dim = 0;
  bool qkv_bias = false;          // the UNet has none; the VAE has them
  bool upcast_attention = false;  // scores in fp32 when running in half precision
};

class AttentionImpl : public torch::nn::Module {
 public:
  explicit AttentionImpl(const AttentionOptions& o);
  // x: [B, N, query_dim]; context: [B, T, context_dim] or undefined for self-attention. When
  // `probs` is given it receives the softmax [B, heads, N, T].
  at::Tensor forward(const at::Tensor& x, const at::Tensor& context, at::Tensor* probs = nullptr);
  const AttentionOptions& options() const { return o_; }

  torch::nn::Linear to_q{nullptr}, to_k{nullptr}, to_v{nullptr}, out{nullptr};
  torch::nn::ModuleList to_out{nullptr};  // [Linear, Dropout], keys `to_out.0.*`

 private:
  AttentionOptions o_;
};
TORCH_MODULE(Attention);

// `ff.net.0.proj` (to 2·inner: value and gate), GELU gate, `ff.net.2` back to dim.
class FeedForwardImpl : public torch::nn::Module {
 public:
  FeedForwardImpl(int64_t dim, int64_t inner_dim);
  at::Tensor forward(const at::Tensor& x);

  torch::nn::ModuleList net{nullptr};
  torch::nn::Linear proj{nullptr}, out{nullptr};
};
TORCH_MODULE(FeedForward);

struct TransformerOptions {
  int64_t channels = 0;  // = heads × head_dim (the UNet's inner dim equals its channels)
  int64_t heads = 8;
  int64_t context_dim = 768;
  int64_t layers = 1;
  int64_t groups = 32;
  bool use_linear_projection = false;
  bool only_cross_attention = false;  // attn1 also attends to the text
  bool upcast_attention = false;
};

class BasicTransformerBlockImpl : public torch::nn::Module {
 public:
  // `name`: this block's diffusers path (`….transformer_blocks.0`); its attention modules'
  // paths are the keys capture requests use.
  BasicTransformerBlockImpl(const TransformerOptions& o, std::string name);
  at::Tensor forward(const at::Tensor& x, const at::Tensor& context,
                     CrossAttentionCapture* capture);
  // The paths of its attentions over the text, in forward order: attn2, preceded by attn1 in an
  // only_cross_attention block (both read the text there).
  std::vector<std::string> cross_attention_names() const;

  torch::nn::LayerNorm norm1{nullptr}, norm2{nullptr}, norm3{nullptr};
  Attention attn1{nullptr}, attn2{nullptr};
  FeedForward ff{nullptr};

 private:
  bool only_cross_attention_;
  std::string name_;
};
TORCH_MODULE(BasicTransformerBlock);

class Transformer2DModelImpl : public torch::nn::Module {
 public:
  // `name`: this module's diffusers path (`down_blocks.0.attentions.1`).
  Transformer2DModelImpl(const TransformerOptions& o, const std::string& name);
  // x: [B, C, H, W]; context: [B, T, context_dim].
  at::Tensor forward(const at::Tensor& x, const at::Tensor& context,
                     CrossAttentionCapture* capture);
  // The cross-attention paths of its blocks, in forward order.
  std::vector<std::string> cross_attention_names() const;

  torch::nn::GroupNorm norm{nullptr};
  // proj_in / proj_out: 1×1 convs, or Linear with use_linear_projection (one pair is null). Both
  // are applied as a matmul over the channels of [B, H·W, C] tokens, which is what a 1×1 conv is.
  torch::nn::Conv2d proj_in_conv{nullptr}, proj_out_conv{nullptr};
  torch::nn::Linear proj_in_linear{nullptr}, proj_out_linear{nullptr};
  torch::nn::ModuleList transformer_blocks{nullptr};

 private:
  TransformerOptions o_;
};
TORCH_MODULE(Transformer2DModel);

}  // namespace lavender::dm

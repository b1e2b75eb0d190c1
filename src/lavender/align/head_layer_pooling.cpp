#include "lavender/align/head_layer_pooling.h"

#include <torch/torch.h>

#include "lavender/util/error.h"

namespace lavender::align {
namespace {

at::Tensor reduce(const at::Tensor& x, int64_t dim, Pool pool, bool keepdim) {
  return pool == Pool::max ? std::get<0>(x.max(dim, keepdim)) : x.mean(dim, keepdim);
}

const char* pool_name(Pool p) {
  return p == Pool::max ? "max" : "mean";
}

// Per-head weights [B, heads]: how peaked each head is, the mean over patches of its maximum
// over text rows, normalised to sum to 1 over heads.
at::Tensor head_weights(const at::Tensor& layer_maps) {                  // [B, H, W, S, S]
  at::Tensor peak = std::get<0>(layer_maps.max(2)).flatten(2).mean(-1);  // [B, H]
  return peak / peak.sum(-1, true).clamp_min(1e-12);
}

}  // namespace

HeadLayerPooling parse_head_layer_pooling(const std::string& name) {
  HeadLayerPooling p;
  auto pool_of = [&](const std::string& s) {
    if (s == "max") return Pool::max;
    if (s == "mean") return Pool::mean;
    throw Error("unknown pooling '" + name + "'");
  };
  const size_t dash = name.find('-');
  const std::string first = name.substr(0, dash),
                    rest = dash == std::string::npos ? "" : name.substr(dash + 1);
  if (first == "flow") {
    p.kind = HeadLayerPooling::Kind::flow;
    if (rest == "product" || rest == "product-weighted")
      p.flow_product = true;
    else if (rest == "sum" || rest == "sum-weighted")
      p.flow_product = false;
    else
      throw Error("unknown pooling '" + name + "' (flow-product, flow-sum, …-weighted)");
    p.head_weighting = rest.find("weighted") != std::string::npos;
  } else if (first == "heads") {
    p.kind = HeadLayerPooling::Kind::heads;
    p.over_layers = pool_of(rest);
  } else if (dash != std::string::npos) {
    p.over_heads = pool_of(first);
    p.over_layers = pool_of(rest);
  } else {
    throw Error("unknown pooling '" + name +
                "' (max-max, max-mean, mean-max, mean-mean, heads-max, heads-mean, flow-product, "
                "flow-sum, flow-product-weighted, flow-sum-weighted)");
  }
  return p;
}

std::string head_layer_pooling_name(const HeadLayerPooling& p) {
  switch (p.kind) {
    case HeadLayerPooling::Kind::pool:
      return std::string(pool_name(p.over_heads)) + "-" + pool_name(p.over_layers);
    case HeadLayerPooling::Kind::heads:
      return std::string("heads-") + pool_name(p.over_layers);
    case HeadLayerPooling::Kind::flow:
      return std::string("flow-") + (p.flow_product ? "product" : "sum") +
             (p.head_weighting ? "-weighted" : "");
  }
  return "";
}

int64_t pooled_channels(const HeadLayerPooling& p, int64_t heads) {
  return p.kind == HeadLayerPooling::Kind::heads ? heads : 1;
}

at::Tensor pool_heads_layers(const at::Tensor& maps, const HeadLayerPooling& p) {
  if (maps.dim() != 6) throw Error("pooling: maps must be [B, layers, heads, words, S, S]");
  switch (p.kind) {
    case HeadLayerPooling::Kind::pool: {
      at::Tensor heads = reduce(maps, 2, p.over_heads, /*keepdim=*/false);  // [B, L, W, S, S]
      return reduce(heads, 1, p.over_layers, false).unsqueeze(2);           // [B, W, 1, S, S]
    }
    case HeadLayerPooling::Kind::heads:
      return reduce(maps, 1, p.over_layers, false).transpose(1, 2);  // [B, W, H, S, S]
    case HeadLayerPooling::Kind::flow: {
      at::Tensor acc;
      for (int64_t l = 0; l < maps.size(1); ++l) {
        at::Tensor layer = maps.select(1, l);  // [B, H, W, S, S]
        at::Tensor a = p.head_weighting
                           ? (layer * head_weights(layer).view({layer.size(0), -1, 1, 1, 1})).sum(1)
                           : layer.mean(1);  // [B, W, S, S]
        acc = !acc.defined() ? a : (p.flow_product ? acc * a : acc + a);
      }
      return acc.unsqueeze(2);
    }
  }
  return {};
}

}  // namespace lavender::align

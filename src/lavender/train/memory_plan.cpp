#include "lavender/train/memory_plan.h"

#include <algorithm>
#include <cstdio>

#include "lavender/align/aligner.h"
#include "lavender/train/train_options.h"
#include "lavender/util/error.h"

namespace lavender::train {
namespace {

double dtype_bytes(const std::string& dtype, const char* what) {
  if (dtype == "fp32" || dtype == "float32") return 4;
  if (dtype == "bf16" || dtype == "bfloat16" || dtype == "fp16" || dtype == "float16") return 2;
  throw Error(std::string(what) + " \"" + dtype + "\" is not one of fp32, bf16, fp16");
}

std::string with_commas(int64_t n) {
  std::string digits = std::to_string(n), out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

std::string gib(double bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%9.2f GiB", bytes / (1024.0 * 1024.0 * 1024.0));
  return buf;
}

// Activations a decoder layer keeps for the backward pass, per sample, without recomputation
// (Korthikanti et al. 2022, "Reducing Activation Recomputation in Large Transformer Models":
// s·h·(34 + 5·a·s/h) bytes in 16-bit), with the attention scores over image keys added for
// cross-attention (Lavender reads them, so they are kept), and fp32 logits for the loss.
double activation_bytes(const vlm::ParameterCount& c, const PlanOptions& o, double bytes) {
  const double text = static_cast<double>(o.seq_len);
  const double s = text + (c.image_tokens_in_sequence ? c.image_tokens : 0);
  const double h = static_cast<double>(c.hidden_size), a = static_cast<double>(c.num_heads);
  double per_layer = s * h * (34 + 5 * a * s / h) * bytes / 2;
  if (!c.image_tokens_in_sequence) per_layer += 5 * a * text * c.image_tokens * bytes / 2;
  const double logits = s * static_cast<double>(c.vocab_size) * 4 * 2;  // fp32, and its gradient
  // With checkpointing each layer keeps its input, and one layer at a time is recomputed whole.
  const double layers = o.gradient_checkpointing
                            ? s * h * bytes * static_cast<double>(c.num_layers) + per_layer
                            : per_layer * static_cast<double>(c.num_layers);
  return static_cast<double>(o.batch_size) * (layers + logits);
}

}  // namespace

PlanOptions plan_options_from(const TrainOptions& t) {
  PlanOptions o;
  o.lora = t.lora;
  o.lora_rank = t.lora_rank;
  o.lora_targets = t.lora_targets;
  o.train_vision = std::find(t.freeze.begin(), t.freeze.end(), "@vision") == t.freeze.end();
  o.dtype = t.dtype;
  o.master = t.master_weights;
  o.sharding = t.sharding;
  o.batch_size = t.batch_size;
  o.grad_accum = t.grad_accum;
  o.seq_len = t.max_tokens;
  o.gradient_checkpointing = t.gradient_checkpointing || t.sharding == "full";
  align::AlignerOptions a;
  a.variant = t.aligner;
  a.hidden = t.aligner_hidden;
  a.norm = t.aligner_norm;
  a.activation = t.aligner_activation;
  for (const auto& p : align::Aligner(a)->parameters()) o.aligner_parameters += p.numel();
  return o;
}

MemoryPlan plan_memory(const vlm::ParameterCount& count, const PlanOptions& o) {
  const double b = dtype_bytes(o.dtype, "--dtype");
  const double m = dtype_bytes(o.master, "--master-weights");
  if (o.world_size < 1) throw Error("--world-size must be at least 1");
  if (o.sharding != "none" && o.sharding != "grad-op" && o.sharding != "full")
    throw Error("--sharding \"" + o.sharding + "\" is not one of none, grad-op, full");
  MemoryPlan p;
  p.total_parameters = count.total() + o.aligner_parameters;
  const int64_t base_trainable =
      o.lora ? vlm::lora_parameters(count, o.lora_rank, o.lora_targets)
             : count.projector + count.language + (o.train_vision ? count.vision : 0);
  if (o.lora) p.total_parameters += base_trainable;
  p.trainable_parameters = base_trainable + o.aligner_parameters;
  const double n = static_cast<double>(o.world_size);
  const bool full = o.sharding == "full";
  const double shard_state = o.sharding == "none" ? 1 : n;
  const double all = static_cast<double>(p.total_parameters);
  const double trainable = static_cast<double>(p.trainable_parameters);
  // Full sharding shards the repeated layers (the decoder's; the vision encoder's when frozen),
  // LoRA's adapters inside them included, and gathers them as they run; the rest (embeddings, the
  // output head, norms, the projector, the Aligner) stays whole on every rank. Two layers are
  // whole at a time: the one running and the next, gathered ahead of it.
  const double in_layers =
      static_cast<double>(count.language_layers + (o.train_vision ? 0 : count.vision_layers) +
                          (o.lora ? base_trainable : 0));
  const double trainable_in_layers =
      static_cast<double>(o.lora ? base_trainable : count.language_layers);
  const double largest = static_cast<double>(count.largest_layer);
  p.weights = full ? (all - in_layers) * b + in_layers * b / n + 2 * largest * b : all * b;
  // A separate master copy only when the weights are narrower than the master dtype.
  p.master_weights = m > b ? trainable * m / shard_state : 0;
  // Gradients are summed in the master dtype (sharded: each rank its share). A backward leaves
  // them in the weights' dtype: folded in tensor by tensor when the masters are separate, but
  // with accumulation the whole set of them meets the sum of the earlier micro-batches, and
  // under grad-op the whole set exists until it is reduced. Full sharding reduces a layer's
  // gradients as soon as its backward is done (a layer's worth, and its fp32 flat copy), and the
  // other parameters' as grad-op does.
  if (o.sharding == "none" && m == b)
    p.gradients = trainable * b;  // autograd accumulates into the parameters' own
  else if (full)
    p.gradients = trainable * m / n + (trainable - trainable_in_layers) * b + largest * (b + 4);
  else
    p.gradients = trainable * m / shard_state +
                  (o.sharding == "grad-op" || (m > b && o.grad_accum > 1) ? trainable * b : 0);
  p.optimizer = 2 * trainable * m / shard_state;  // AdamW's two moments
  p.activations = activation_bytes(count, o, b);
  if (o.gpu_memory_gib > 0) {
    p.has_verdict = true;
    p.fits = p.total() + MemoryPlan::kReserveGiB * 1024.0 * 1024.0 * 1024.0 <=
             o.gpu_memory_gib * 1024.0 * 1024.0 * 1024.0;
  }
  return p;
}

std::string format_plan(const vlm::ParameterCount& c, const PlanOptions& o, const MemoryPlan& p) {
  std::string out;
  char line[256];
  out += "architecture      " + c.architecture + "\n";
  out += "parameters        " + with_commas(c.total()) + " = vision " + with_commas(c.vision) +
         " + projector " + with_commas(c.projector) + " + language " + with_commas(c.language) +
         "\n";
  out += "added for training";
  if (o.lora) out += " LoRA " + with_commas(p.trainable_parameters - o.aligner_parameters) + ",";
  out += " Aligner " + with_commas(o.aligner_parameters) + "\n";
  out += "trainable         " + with_commas(p.trainable_parameters) +
         (o.lora           ? " (LoRA r=" + std::to_string(o.lora_rank) + " and the Aligner)"
          : o.train_vision ? " (everything)"
                           : " (all but the vision encoder)") +
         "\n";
  std::snprintf(
      line, sizeof line,
      "per rank          world size %lld, sharding %s, %s weights, %s master "
      "weights and AdamW state, batch %lld x (%lld text%s tokens)\n",
      static_cast<long long>(o.world_size), o.sharding.c_str(), o.dtype.c_str(), o.master.c_str(),
      static_cast<long long>(o.batch_size), static_cast<long long>(o.seq_len),
      c.image_tokens_in_sequence ? (" + " + std::to_string(c.image_tokens) + " image").c_str()
                                 : "");
  out += line;
  out += "  weights         " + gib(p.weights) + "\n";
  out += "  master weights  " + gib(p.master_weights) + "\n";
  out += "  gradients       " + gib(p.gradients) + "\n";
  out += "  optimizer state " + gib(p.optimizer) + "\n";
  out += "  activations     " + gib(p.activations) +
         (o.gradient_checkpointing ? "  (estimate, with gradient checkpointing)\n"
                                   : "  (estimate, no recomputation)\n");
  out += "  total           " + gib(p.total()) + "\n";
  if (p.has_verdict) {
    std::snprintf(line, sizeof line,
                  "fits %.0f GiB?     %s (with %.1f GiB kept for the CUDA context)\n",
                  o.gpu_memory_gib, p.fits ? "yes" : "no", MemoryPlan::kReserveGiB);
    out += line;
  }
  return out;
}

}  // namespace lavender::train

#include "lavender/nn/checkpoint.h"

#include <ATen/core/ivalue.h>
#include <torch/torch.h>

#include <memory>
#include <optional>

#include "lavender/runtime/autocast.h"

namespace lavender::nn {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

struct CheckpointState : torch::CustomClassHolder {
  CheckpointedFn fn;
  HookedLayer hooked;
  runtime::AutocastState autocast;
  at::Tensor cpu_rng;
  std::optional<c10::Device> accelerator;  // the inputs' device, when not the CPU
  at::Tensor accelerator_rng;
};

// The default generator of `device` (CUDA: that GPU's).
at::Generator generator_of(const std::optional<c10::Device>& device) {
  return device ? at::globalContext().defaultGenerator(*device)
                : at::detail::getDefaultCPUGenerator();
}

// Replays the forward's random generator states (CPU, and the inputs' accelerator) for the
// recomputation, so dropout draws the same masks, and puts the generators back afterwards.
class RngReplay {
 public:
  explicit RngReplay(const CheckpointState& s) : accelerator_(s.accelerator) {
    cpu_now_ = generator_of(std::nullopt).get_state();
    generator_of(std::nullopt).set_state(s.cpu_rng);
    if (accelerator_) {
      accelerator_now_ = generator_of(accelerator_).get_state();
      generator_of(accelerator_).set_state(s.accelerator_rng);
    }
  }
  ~RngReplay() {
    generator_of(std::nullopt).set_state(cpu_now_);
    if (accelerator_) generator_of(accelerator_).set_state(accelerator_now_);
  }
  RngReplay(const RngReplay&) = delete;
  RngReplay& operator=(const RngReplay&) = delete;

 private:
  std::optional<c10::Device> accelerator_;
  at::Tensor cpu_now_, accelerator_now_;
};

class Checkpointed : public torch::autograd::Function<Checkpointed> {
 public:
  // `inputs` ends with a dummy that requires grad: parameters the piece uses are not inputs, and
  // without one differentiable input autograd would not record this node at all.
  static variable_list forward(AutogradContext* ctx, at::TensorList inputs,
                               c10::intrusive_ptr<CheckpointState> state) {
    variable_list real(inputs.begin(), inputs.end() - 1), outputs;
    state->autocast = runtime::autocast_state();
    state->cpu_rng = generator_of(std::nullopt).get_state();
    for (const auto& t : real)
      if (t.defined() && !t.device().is_cpu()) state->accelerator = t.device();
    if (state->accelerator) state->accelerator_rng = generator_of(state->accelerator).get_state();
    {
      torch::NoGradGuard no_grad;
      WholeLayer whole(state->hooked, at::Tensor());
      outputs = state->fn(real);
    }
    ctx->save_for_backward(real);
    ctx->saved_data["state"] = c10::IValue::make_capsule(state);
    return outputs;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
    auto state =
        c10::static_intrusive_pointer_cast<CheckpointState>(ctx->saved_data["state"].toCapsule());
    variable_list inputs;
    for (const auto& saved : ctx->get_saved_variables())
      inputs.push_back(saved.defined() ? saved.detach().requires_grad_(saved.requires_grad())
                                       : saved);
    LayerHooks* hooks = state->hooked.hooks;
    if (hooks) hooks->before(*state->hooked.layer);
    variable_list outputs;
    {
      // The recomputation runs as the forward did: same random draws, same autocast dtypes.
      RngReplay rng(*state);
      runtime::AutocastReentry autocast(state->autocast);
      torch::AutoGradMode enable(true);
      outputs = state->fn(inputs);
    }
    variable_list roots, grads;
    for (size_t i = 0; i < outputs.size(); ++i)
      if (outputs[i].requires_grad() && grad_outputs[i].defined())
        roots.push_back(outputs[i]), grads.push_back(grad_outputs[i]);
    if (!roots.empty()) torch::autograd::backward(roots, grads);
    outputs.clear();  // the recomputed graph goes before the layer's parameters are given up
    if (hooks) hooks->after_backward(*state->hooked.layer);
    variable_list out;
    for (const auto& in : inputs)
      out.push_back(in.defined() && in.requires_grad() ? in.grad() : at::Tensor());
    out.emplace_back();  // the dummy
    out.emplace_back();  // the state argument
    return out;
  }
};

}  // namespace

std::vector<at::Tensor> checkpoint(const CheckpointedFn& fn, const std::vector<at::Tensor>& inputs,
                                   HookedLayer hooked) {
  if (!torch::GradMode::is_enabled()) {
    WholeLayer whole(hooked, at::Tensor());
    return fn(inputs);
  }
  auto state = c10::make_intrusive<CheckpointState>();
  state->fn = fn;
  state->hooked = hooked;
  std::vector<at::Tensor> with_dummy = inputs;
  with_dummy.push_back(torch::empty({0}, torch::requires_grad()));
  return Checkpointed::apply(at::TensorList(with_dummy), state);
}

at::Tensor checkpoint_layer(const CapturingLayerFn& layer, const std::vector<at::Tensor>& inputs,
                            AttentionCapture* capture, HookedLayer hooked) {
  const AttentionCapture request = capture ? *capture : AttentionCapture{};
  auto outputs = checkpoint(
      [layer, request, capture](const std::vector<at::Tensor>& in) {
        AttentionCapture slot = request;
        at::Tensor y = layer(in, capture ? &slot : nullptr);
        return capture ? std::vector<at::Tensor>{y, slot.probs} : std::vector<at::Tensor>{y};
      },
      inputs, hooked);
  if (capture) capture->probs = outputs[1];
  return outputs[0];
}

}  // namespace lavender::nn

// Mixed precision for the forward pass: inside an AutocastScope, matmuls and convolutions on the
// given device run in bf16 (or fp16) while reductions and the loss stay in fp32, as
// torch.autocast does. The weights and the optimizer stay in their own dtype.
#pragma once

#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

namespace lavender::runtime {

class AutocastScope {
 public:
  // `enabled` false: does nothing. Throws lavender::Error for a dtype autocast cannot use.
  AutocastScope(bool enabled, const c10::Device& device, c10::ScalarType dtype = c10::kBFloat16);
  ~AutocastScope();
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

 private:
  bool enabled_ = false;
  bool was_enabled_ = false;
  c10::DeviceType type_ = c10::DeviceType::CPU;
  c10::ScalarType old_dtype_ = c10::kBFloat16;
};

// The autocast settings in force for both device types, captured so that code run later can
// re-enter them: gradient checkpointing recomputes a forward inside the backward, outside the
// forward's AutocastScope, and must compute in the same dtypes to give the same graph.
struct AutocastState {
  bool cpu = false, cuda = false;
  c10::ScalarType cpu_dtype = c10::kBFloat16, cuda_dtype = c10::kHalf;
};
AutocastState autocast_state();

// Puts `state` in force for its lifetime, then what was in force before.
class AutocastReentry {
 public:
  explicit AutocastReentry(const AutocastState& state);
  ~AutocastReentry();
  AutocastReentry(const AutocastReentry&) = delete;
  AutocastReentry& operator=(const AutocastReentry&) = delete;

 private:
  AutocastState before_;
  bool nested_ = false;
};

}  // namespace lavender::runtime

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

}  // namespace lavender::runtime

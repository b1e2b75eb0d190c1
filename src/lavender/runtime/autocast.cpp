#include "lavender/runtime/autocast.h"

#include <ATen/autocast_mode.h>
#include <torch/version.h>

#include "lavender/util/error.h"

namespace lavender::runtime {
namespace {

// LibTorch 2.4 replaced the per-device functions with ones taking the device type.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
bool is_on(c10::DeviceType t) {
  return at::autocast::is_autocast_enabled(t);
}
void set_on(c10::DeviceType t, bool on) {
  at::autocast::set_autocast_enabled(t, on);
}
c10::ScalarType dtype_of(c10::DeviceType t) {
  return at::autocast::get_autocast_dtype(t);
}
void set_dtype(c10::DeviceType t, c10::ScalarType d) {
  at::autocast::set_autocast_dtype(t, d);
}
#else
bool is_on(c10::DeviceType t) {
  return t == c10::DeviceType::CUDA ? at::autocast::is_enabled() : at::autocast::is_cpu_enabled();
}
void set_on(c10::DeviceType t, bool on) {
  if (t == c10::DeviceType::CUDA)
    at::autocast::set_enabled(on);
  else
    at::autocast::set_cpu_enabled(on);
}
c10::ScalarType dtype_of(c10::DeviceType t) {
  return t == c10::DeviceType::CUDA ? at::autocast::get_autocast_gpu_dtype()
                                    : at::autocast::get_autocast_cpu_dtype();
}
void set_dtype(c10::DeviceType t, c10::ScalarType d) {
  if (t == c10::DeviceType::CUDA)
    at::autocast::set_autocast_gpu_dtype(d);
  else
    at::autocast::set_autocast_cpu_dtype(d);
}
#endif

}  // namespace

AutocastScope::AutocastScope(bool enabled, const c10::Device& device, c10::ScalarType dtype)
    : enabled_(enabled), type_(device.type()) {
  if (!enabled_) return;
  if (type_ != c10::DeviceType::CUDA && type_ != c10::DeviceType::CPU)
    throw Error("autocast: only CPU and CUDA devices are supported");
  if (dtype != c10::kBFloat16 && dtype != c10::kHalf)
    throw Error("autocast: the compute dtype must be bf16 or fp16");
  if (type_ == c10::DeviceType::CPU && dtype != c10::kBFloat16)
    throw Error("autocast: on the CPU only bf16 is available");
  was_enabled_ = is_on(type_);
  old_dtype_ = dtype_of(type_);
  set_dtype(type_, dtype);
  set_on(type_, true);
  at::autocast::increment_nesting();
}

AutocastScope::~AutocastScope() {
  if (!enabled_) return;
  // Casts cached for this scope's weights are dropped when the outermost scope ends.
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  set_on(type_, was_enabled_);
  set_dtype(type_, old_dtype_);
}

AutocastState autocast_state() {
  AutocastState s;
  s.cpu = is_on(c10::DeviceType::CPU);
  s.cuda = is_on(c10::DeviceType::CUDA);
  s.cpu_dtype = dtype_of(c10::DeviceType::CPU);
  s.cuda_dtype = dtype_of(c10::DeviceType::CUDA);
  return s;
}

namespace {

void apply(const AutocastState& s) {
  set_dtype(c10::DeviceType::CPU, s.cpu_dtype);
  set_dtype(c10::DeviceType::CUDA, s.cuda_dtype);
  set_on(c10::DeviceType::CPU, s.cpu);
  set_on(c10::DeviceType::CUDA, s.cuda);
}

}  // namespace

AutocastReentry::AutocastReentry(const AutocastState& state) : before_(autocast_state()) {
  apply(state);
  nested_ = state.cpu || state.cuda;
  if (nested_) at::autocast::increment_nesting();
}

AutocastReentry::~AutocastReentry() {
  if (nested_ && at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  apply(before_);
}

}  // namespace lavender::runtime

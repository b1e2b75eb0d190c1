#include "lavender/runtime/device.h"

#include <torch/cuda.h>

#include <cstdlib>

#include "lavender/util/error.h"

namespace lavender::runtime {

c10::Device parse_device(const std::string& name) {
  c10::Device device(c10::kCPU);
  try {
    device = c10::Device(name);
  } catch (const std::exception&) {
    throw Error("--device \"" + name + "\" is not cpu, cuda or cuda:N");
  }
  if (!device.is_cpu() && !device.is_cuda())
    throw Error("--device \"" + name + "\": only cpu and cuda are supported");
  if (device.is_cpu()) return device;
  if (!torch::cuda::is_available())
    throw Error("--device " + name +
                ": no CUDA device here (a CPU-only LibTorch build, or no GPU visible)");
  if (!device.has_index())
    if (const char* local = std::getenv("LOCAL_RANK"))
      device = c10::Device(c10::kCUDA, static_cast<c10::DeviceIndex>(std::atoi(local)));
  if (device.has_index() && device.index() >= static_cast<int>(torch::cuda::device_count()))
    throw Error("--device " + name + ": cuda:" + std::to_string(device.index()) +
                " does not exist (" + std::to_string(torch::cuda::device_count()) +
                " CUDA device(s) visible)");
  return device;
}

at::Tensor to_device(const at::Tensor& t, const c10::Device& device,
                     c10::optional<c10::ScalarType> dtype) {
  const c10::ScalarType type = dtype.value_or(t.scalar_type());
  if (device.is_cuda() && t.is_cpu()) {
    // Cast on the host first (fewer bytes over the bus for narrower types), then pin and copy.
    return t.to(type).pin_memory().to(device, type, /*non_blocking=*/true);
  }
  return t.to(device, type);
}

}  // namespace lavender::runtime

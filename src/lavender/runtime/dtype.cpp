#include "lavender/runtime/dtype.h"

#include <torch/version.h>

#include "lavender/util/error.h"

namespace lavender::runtime {

c10::ScalarType parse_dtype(const std::string& name) {
  if (name == "fp32" || name == "float32" || name == "float") return c10::kFloat;
  if (name == "fp16" || name == "float16" || name == "half") return c10::kHalf;
  if (name == "bf16" || name == "bfloat16") return c10::kBFloat16;
  throw Error("unknown dtype '" + name + "': expected fp32, fp16 or bf16");
}

std::string dtype_name(c10::ScalarType type) {
  switch (type) {
    case c10::kFloat:
      return "fp32";
    case c10::kHalf:
      return "fp16";
    case c10::kBFloat16:
      return "bf16";
    default:
      return c10::toString(type);
  }
}

std::string torch_dtype_name(c10::ScalarType type) {
  switch (type) {
    case c10::kFloat:
      return "float32";
    case c10::kHalf:
      return "float16";
    case c10::kBFloat16:
      return "bfloat16";
    default:
      throw Error(std::string("no torch_dtype name for ") + c10::toString(type));
  }
}

void check_dtype_on_device(c10::ScalarType type, const c10::Device& device) {
#if TORCH_VERSION_MAJOR < 2
  if (type == c10::kHalf && device.is_cpu())
    throw Error(
        "fp16 runs on CUDA only (the CPU lacks half-precision matmul here): use "
        "--dtype bf16 or fp32 on the CPU, or --device cuda");
#else
  (void)type, (void)device;
#endif
}

}  // namespace lavender::runtime

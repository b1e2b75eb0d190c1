// Compute precision chosen on the command line: "fp32" (float32, float), "fp16" (float16, half),
// "bf16" (bfloat16). One parser so every subcommand accepts the same spellings.
#pragma once

#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

#include <string>

namespace lavender::runtime {

// Throws lavender::Error naming the accepted spellings.
c10::ScalarType parse_dtype(const std::string& name);
std::string dtype_name(c10::ScalarType type);
// The name config.json's "torch_dtype" uses: "float32", "bfloat16", "float16".
std::string torch_dtype_name(c10::ScalarType type);

// LibTorch 1.x has no half-precision matmul on the CPU (Debian's 1.13): say so before a model
// fails deep inside a layer.
void check_dtype_on_device(c10::ScalarType type, const c10::Device& device);

}  // namespace lavender::runtime

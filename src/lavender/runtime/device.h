// The device chosen on the command line, one parser for every subcommand: "cpu", "cuda" or
// "cuda:N". Under torchrun a bare "cuda" means this process's
// own GPU, cuda:LOCAL_RANK, so that ranks on one machine do not all land on cuda:0.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>
#include <c10/util/Optional.h>

#include <string>

namespace lavender::runtime {

// Throws lavender::Error naming the accepted spellings, or saying that this build or machine
// has no CUDA device when one is asked for.
c10::Device parse_device(const std::string& name);

// A host tensor's copy on `device` (in `dtype`, when given) without stalling the host: on a GPU
// through pinned memory and an asynchronous copy on the current stream, so the host goes on
// preparing while the copy runs. The same tensor when it is already there.
at::Tensor to_device(const at::Tensor& t, const c10::Device& device,
                     c10::optional<c10::ScalarType> dtype = c10::nullopt);

}  // namespace lavender::runtime

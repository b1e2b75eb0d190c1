// The device chosen on the command line, one parser for every subcommand: "cpu", "cuda" or
// "cuda:N". Under torchrun a bare "cuda" means this process's
// own GPU, cuda:LOCAL_RANK, so that ranks on one machine do not all land on cuda:0.
#pragma once

#include <c10/core/Device.h>

#include <string>

namespace lavender::runtime {

// Throws lavender::Error naming the accepted spellings, or saying that this build or machine
// has no CUDA device when one is asked for.
c10::Device parse_device(const std::string& name);

}  // namespace lavender::runtime

#include "lavender/runtime/peak_memory.h"

#include <torch/cuda.h>

#include <fstream>
#include <sstream>

#ifdef LAVENDER_CUDA
#include <c10/cuda/CUDACachingAllocator.h>
#endif

namespace lavender::runtime {

int64_t peak_rss_bytes() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmHWM:", 0) == 0) {
      std::istringstream fields(line.substr(6));
      int64_t kib = 0;
      fields >> kib;
      return kib * 1024;
    }
  return 0;
}

int64_t peak_cuda_bytes() {
#ifdef LAVENDER_CUDA
  if (!torch::cuda::is_available()) return -1;
  // Index 0 of the stat arrays is the aggregate over pools in every LibTorch version.
  return c10::cuda::CUDACachingAllocator::getDeviceStats(0).allocated_bytes[0].peak;
#else
  return -1;
#endif
}

std::string peak_memory_report() {
  std::ostringstream s;
  s << "peak memory: RSS " << peak_rss_bytes() / (1 << 20) << " MiB";
  if (int64_t cuda = peak_cuda_bytes(); cuda >= 0)
    s << ", CUDA allocated " << cuda / (1 << 20) << " MiB";
  return s.str();
}

}  // namespace lavender::runtime

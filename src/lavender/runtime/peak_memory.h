// Peak memory of this process, for benchmarks and job summaries: resident set (VmHWM) and, in
// CUDA builds, the CUDA caching allocator's peak allocated bytes on device 0.
#pragma once

#include <cstdint>
#include <string>

namespace lavender::runtime {

int64_t peak_rss_bytes();          // 0 when /proc/self/status is unreadable
int64_t peak_cuda_bytes();         // -1 when not a CUDA build or no CUDA device
std::string peak_memory_report();  // "peak memory: RSS 1234 MiB, CUDA allocated 567 MiB"

}  // namespace lavender::runtime

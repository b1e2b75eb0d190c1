#include "lavender/runtime/omp_wait_policy.h"

#include <unistd.h>

#include <cstdlib>

namespace lavender::runtime {

void restart_with_passive_omp_threads(char** argv) {
  if (std::getenv("OMP_WAIT_POLICY") != nullptr) return;
  if (setenv("OMP_WAIT_POLICY", "PASSIVE", 1) != 0) return;
  execv("/proc/self/exe", argv);
  unsetenv("OMP_WAIT_POLICY");  // exec failed (no /proc): carry on as started
}

}  // namespace lavender::runtime

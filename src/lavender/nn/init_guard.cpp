#include "lavender/nn/init_guard.h"

namespace lavender::nn {
namespace {

thread_local bool skip_init = false;

}  // namespace

SkipInitGuard::SkipInitGuard() : previous_(skip_init) {
  skip_init = true;
}

SkipInitGuard::~SkipInitGuard() {
  skip_init = previous_;
}

bool init_skipped() {
  return skip_init;
}

}  // namespace lavender::nn

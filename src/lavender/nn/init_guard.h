// Building a model whose every weight is about to be loaded: while a SkipInitGuard lives on
// this thread, lavender's layers (nn::Linear, nn::Embedding) allocate their parameters without
// drawing initial values. Memory nobody writes costs no RSS (the allocator's fresh pages stay
// virtual until touched), and ~10^10 random draws for a 7B model are saved; the loader then
// puts each checkpoint tensor in place. Small parameters (norms, gates, convolutions) still
// initialise normally.
#pragma once

namespace lavender::nn {

class SkipInitGuard {
 public:
  SkipInitGuard();
  ~SkipInitGuard();
  SkipInitGuard(const SkipInitGuard&) = delete;
  SkipInitGuard& operator=(const SkipInitGuard&) = delete;

 private:
  bool previous_;
};

// Whether a SkipInitGuard is alive on this thread.
bool init_skipped();

}  // namespace lavender::nn

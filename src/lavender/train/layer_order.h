// Which sharded unit will run next (--sharding full's prefetch, FSDP's forward and backward
// prefetch): learnt from the order the units ran in before. Every micro-batch visits them in the
// same order (the forward, then the backward's recomputations in reverse), but a unit appears in
// both passes, so a unit alone does not say what follows it; the unit together with the event
// before it does (the previous unit finishing its forward or its backward, or the start of the
// micro-batch). What a context was followed by once, it is expected to be followed by again.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <tuple>

namespace lavender::train {

class LayerOrder {
 public:
  enum class Event { start, forward, backward };

  // `unit` is about to run. Returns the unit expected to run after it, or -1 when this context
  // has not been seen followed by another unit yet.
  int64_t starting(size_t unit);
  // `unit` finished its forward (Event::forward) or its backward (Event::backward).
  void finished(size_t unit, Event how);
  // A new micro-batch begins: what ran last no longer predicts what runs next.
  void restart();

 private:
  using Context = std::tuple<Event, int64_t, size_t>;  // event before, its unit, the unit
  std::map<Context, size_t> next_;
  Event last_event_ = Event::start;
  int64_t last_unit_ = -1;
  bool running_known_ = false;
  Context running_{};
};

}  // namespace lavender::train

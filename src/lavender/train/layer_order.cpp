#include "lavender/train/layer_order.h"

namespace lavender::train {

int64_t LayerOrder::starting(size_t unit) {
  if (running_known_) next_[running_] = unit;  // what followed the previous run
  running_ = Context{last_event_, last_unit_, unit};
  running_known_ = true;
  auto it = next_.find(running_);
  return it == next_.end() ? -1 : static_cast<int64_t>(it->second);
}

void LayerOrder::finished(size_t unit, Event how) {
  last_event_ = how;
  last_unit_ = static_cast<int64_t>(unit);
}

void LayerOrder::restart() {
  // The last run of a micro-batch is followed by nothing: it keeps its old prediction, if any.
  running_known_ = false;
  last_event_ = Event::start;
  last_unit_ = -1;
}

}  // namespace lavender::train

#include "lavender/train/layer_order.h"

#include <gtest/gtest.h>

namespace lavender::train {
namespace {

using Event = LayerOrder::Event;

// One micro-batch of three checkpointed layers: forward 0, 1, 2, then the backward's
// recomputations 2, 1, 0. Returns what each start predicted.
std::vector<int64_t> micro_batch(LayerOrder& order) {
  std::vector<int64_t> predicted;
  for (size_t u : {0, 1, 2}) {
    predicted.push_back(order.starting(u));
    order.finished(u, Event::forward);
  }
  for (size_t u : {2, 1, 0}) {
    predicted.push_back(order.starting(u));
    order.finished(u, Event::backward);
  }
  order.restart();
  return predicted;
}

TEST(LayerOrder, PredictsTheForwardsNextAndTheBackwardsPreviousLayerOnceSeen) {
  LayerOrder order;
  // Nothing is known during the first micro-batch.
  EXPECT_EQ(micro_batch(order), (std::vector<int64_t>{-1, -1, -1, -1, -1, -1}));
  // Then each start names the one after it: the same layer 2 is followed by 2 again (its
  // backward) after its forward, and by 1 after its backward; the last start of a micro-batch
  // has no successor.
  EXPECT_EQ(micro_batch(order), (std::vector<int64_t>{1, 2, 2, 1, 0, -1}));
  EXPECT_EQ(micro_batch(order), (std::vector<int64_t>{1, 2, 2, 1, 0, -1}));
}

TEST(LayerOrder, AChangedOrderIsLearntAgain) {
  LayerOrder order;
  micro_batch(order);
  // A micro-batch that runs only layer 0 forward (a different path) teaches that layer 0 at the
  // start is followed by nothing it knew; the next full micro-batch relearns 0 → 1.
  EXPECT_EQ(order.starting(0), 1);
  order.finished(0, Event::forward);
  EXPECT_EQ(order.starting(0), -1);  // 0 after 0's forward: never seen
  order.finished(0, Event::backward);
  order.restart();
  EXPECT_EQ(order.starting(0), 0);  // learnt: at the start, 0 was followed by 0
  order.finished(0, Event::forward);
  EXPECT_EQ(order.starting(1), 2);  // 1 after 0's forward: still known from the first one
}

}  // namespace
}  // namespace lavender::train

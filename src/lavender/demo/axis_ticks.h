// Tick marks for a chart's axis at round numbers: steps of 1, 2 or 5 × 10^k, the axis widened to
// the ticks just outside the data, so a reader sees 0, 100, 200 rather than 150.8, 300.5.
#pragma once

#include <string>
#include <vector>

namespace lavender::demo {

struct AxisTicks {
  double lo = 0, hi = 1;       // the axis' range: the first and the last tick
  double step = 1;             // between ticks
  std::vector<double> values;  // lo, lo + step, ..., hi
  int decimals = 0;            // what labels need to show the step exactly (0.2 → 1, 100 → 0)
};

// At most about `max_ticks` ticks covering [lo, hi] (swapped when hi < lo; [0, 1] when either is
// not finite). A degenerate range (lo == hi) is widened around its value to a round interval
// holding it.
AxisTicks nice_ticks(double lo, double hi, int max_ticks = 6);

// A tick's label with the axis' decimals and no "-0".
std::string tick_label(double value, int decimals);

}  // namespace lavender::demo

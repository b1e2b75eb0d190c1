#include "lavender/demo/axis_ticks.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace lavender::demo {
namespace {

// The smallest of 1, 2, 5 × 10^k that is at least `raw`.
double round_step_above(double raw) {
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (m * magnitude >= raw * (1 - 1e-9)) return m * magnitude;
  return 10 * magnitude;
}

}  // namespace

AxisTicks nice_ticks(double lo, double hi, int max_ticks) {
  if (!std::isfinite(lo) || !std::isfinite(hi)) lo = 0, hi = 1;  // nothing sensible to fit
  if (hi < lo) std::swap(lo, hi);
  if (hi == lo) {
    // A tenth of the value's size (1 for zero) either side: a round interval around it.
    const double pad = lo == 0 ? 1.0 : std::fabs(lo) * 0.1;
    lo -= pad, hi += pad;
  }
  const int intervals = std::max(1, max_ticks - 1);
  AxisTicks t;
  t.step = round_step_above((hi - lo) / intervals);
  // Widen the step until the ticks that enclose the data are few enough (the floor/ceil of the
  // ends can add an interval at either side).
  for (;;) {
    t.lo = std::floor(lo / t.step + 1e-9) * t.step;
    t.hi = std::ceil(hi / t.step - 1e-9) * t.step;
    if (std::lround((t.hi - t.lo) / t.step) <= intervals) break;
    t.step = round_step_above(t.step * 1.01);
  }
  const long n = std::lround((t.hi - t.lo) / t.step);
  for (long i = 0; i <= n; ++i) t.values.push_back(t.lo + static_cast<double>(i) * t.step);
  t.decimals = std::max(0, static_cast<int>(-std::floor(std::log10(t.step) + 1e-9)));
  return t;
}

std::string tick_label(double value, int decimals) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, value);
  std::string s = buf;
  if (s.find_first_not_of("-0.") == std::string::npos && s[0] == '-') s.erase(0, 1);  // "-0.0"
  return s;
}

}  // namespace lavender::demo

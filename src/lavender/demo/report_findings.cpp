#include "lavender/demo/report_findings.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace lavender::demo {
namespace {

std::string findings_fixed(double v, int decimals) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

// "A (0.1), B (0.2) and C (0.3)"
std::string named_values(const std::vector<const ModelResult*>& results, int decimals) {
  std::string out;
  for (size_t i = 0; i < results.size(); ++i) {
    if (i > 0) out += i + 1 == results.size() ? " and " : ", ";
    out += results[i]->name + " (" + mean_and_spread(results[i]->values, decimals) + ")";
  }
  return out;
}

}  // namespace

double mean_of(const std::vector<double>& v) {
  double sum = 0;
  for (double x : v) sum += x;
  return sum / static_cast<double>(v.size());
}

double spread_of(const std::vector<double>& v) {
  if (v.size() < 2) return 0;
  const double m = mean_of(v);
  double var = 0;
  for (double x : v) var += (x - m) * (x - m);
  return std::sqrt(var / static_cast<double>(v.size() - 1));
}

std::string mean_and_spread(const std::vector<double>& values, int decimals) {
  if (values.empty()) return "–";
  if (values.size() == 1) return findings_fixed(values[0], decimals);
  return findings_fixed(mean_of(values), decimals) + " ± " +
         findings_fixed(spread_of(values), decimals);
}

Order compare_results(const ModelResult& a, const ModelResult& b, int decimals) {
  if (a.values.empty() || b.values.empty()) return Order::kUnknown;
  const double diff = mean_of(a.values) - mean_of(b.values);
  const double half_unit = 0.5 * std::pow(10.0, -decimals);
  const double spread = spread_of(a.values) + spread_of(b.values);
  if (std::fabs(diff) <= std::max(spread, half_unit)) return Order::kWithinSpread;
  return diff < 0 ? Order::kBelow : Order::kAbove;
}

std::string comparison_finding(const std::string& lead, const ModelResult& reference,
                               const std::vector<ModelResult>& others, const Wording& wording,
                               int decimals) {
  std::vector<const ModelResult*> below, above, within;
  bool single_runs = reference.values.size() == 1;
  for (const ModelResult& r : others) {
    switch (compare_results(r, reference, decimals)) {
      case Order::kBelow:
        below.push_back(&r);
        break;
      case Order::kAbove:
        above.push_back(&r);
        break;
      case Order::kWithinSpread:
        within.push_back(&r);
        break;
      case Order::kUnknown:
        continue;
    }
    single_runs = single_runs && r.values.size() == 1;
  }
  if (below.empty() && above.empty() && within.empty()) return "";
  std::vector<std::string> parts;
  if (!below.empty()) parts.push_back(wording.below + " — " + named_values(below, decimals));
  if (!above.empty()) parts.push_back(wording.above + " — " + named_values(above, decimals));
  if (!within.empty())
    parts.push_back((single_runs ? "no difference at the shown precision — "
                                 : "no difference beyond the seeds' spread — ") +
                    named_values(within, decimals));
  std::string s = lead + ", against " + reference.name + " (" +
                  mean_and_spread(reference.values, decimals) + "): ";
  for (size_t i = 0; i < parts.size(); ++i) s += (i > 0 ? "; " : "") + parts[i];
  return s + ".";
}

}  // namespace lavender::demo

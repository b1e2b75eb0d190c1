// The report's sentences that state a finding, each computed from the numbers it is about, so
// that the report never says more (or other) than its run showed. A sentence written in advance
// ("the diffusion model's maps are sharper") was wrong as soon as a run disagreed with it.
//
// Two results differ only when their means are further apart than the sum of their sample
// standard deviations over seeds (0 for a single run) and than half a unit of the shown precision.
// With a single run on each side there is no spread to judge against: results then differ by any
// amount beyond the shown precision, and the table's note says that single runs are compared.
#pragma once

#include <string>
#include <vector>

namespace lavender::demo {

// The mean of the values (NaN for none) and their sample standard deviation (0 for fewer than
// two: no spread measured).
double mean_of(const std::vector<double>& values);
double spread_of(const std::vector<double>& values);

// One model's value of a metric: one value per seed (a single run: one value).
struct ModelResult {
  std::string name;  // as the sentence names it: "SFT", "Lavender-DM", ...
  std::vector<double> values;
};

// "0.612 ± 0.013" (sample standard deviation over the values; just the mean for one value;
// "–" for none).
std::string mean_and_spread(const std::vector<double>& values, int decimals = 3);

enum class Order { kBelow, kAbove, kWithinSpread, kUnknown };

// How `a` stands against `b`, shown with `decimals` decimals; kUnknown when either has no value.
Order compare_results(const ModelResult& a, const ModelResult& b, int decimals);

// What a lower and a higher value mean for the metric: {"lower", "higher"} for a plain number,
// {"sharper", "flatter"} for entropy.
struct Wording {
  std::string below, above;
};

// "<lead>, against <reference> (0.508 ± 0.018): lower — Lavender-DM (0.471 ± 0.013); no
// difference beyond the seeds' spread — Lavender-GT (0.493 ± 0.038)." Results without a value
// are left out; "" when the reference or every other result has none.
std::string comparison_finding(const std::string& lead, const ModelResult& reference,
                               const std::vector<ModelResult>& others, const Wording& wording,
                               int decimals = 3);

}  // namespace lavender::demo

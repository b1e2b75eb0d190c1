// The parity harness: runs our implementation on a fixture's stored inputs and compares each
// reference output with what we produce, at the tolerance fixtures/README.md documents.
#pragma once

#include <ATen/core/Tensor.h>

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "lavender/parity/fixture.h"

namespace lavender::parity {

// How a reference output is judged.
struct Tolerance {
  enum class Rule { max_abs, max_abs_or_rel, exact, mean_and_max } rule;
  double abs = 0;   // max |ours - ref| (max_abs, max_abs_or_rel, mean_and_max's max)
  double rel = 0;   // max_abs_or_rel: also pass where |diff| <= rel * |ref|
  double mean = 0;  // mean_and_max: mean |ours - ref|
  std::string describe() const;
};
// The documented tolerance for output `name` of a fixture of `kind`.
Tolerance tolerance_for(FixtureKind kind, const std::string& name);

struct Comparison {
  std::string name;
  bool passed = false;
  double max_abs_diff = 0;
  double mean_abs_diff = 0;
  Tolerance tolerance;
  std::string note;  // shape/dtype mismatch, NaN, ...
};
Comparison compare(const std::string& name, const at::Tensor& ours, const at::Tensor& reference,
                   const Tolerance& tolerance);

// What an implementation produced for one fixture: output name → tensor. Outputs it does not
// produce are reported as pending (model code not written yet).
using Outputs = std::map<std::string, at::Tensor>;
using Runner = std::function<Outputs(const Fixture&)>;

struct Report {
  std::string dir;
  FixtureKind kind;
  std::vector<Comparison> comparisons;
  std::vector<std::string> pending;
  std::vector<std::string> extra;  // produced but not in the fixture (a runner bug)

  bool all_passed() const;
  // 0: every reference output produced and within tolerance; 1: some output failed;
  // 3: nothing failed but some outputs have no implementation yet.
  int exit_code() const;
  std::string format() const;
};

constexpr int kExitPass = 0;
constexpr int kExitFail = 1;
constexpr int kExitBadFixture = 2;
constexpr int kExitNotImplemented = 3;

// The runners lavender has for each kind (empty function when none yet).
Runner runner_for(FixtureKind kind);
Report run_parity(const Fixture& fixture, const Runner& runner);
Report run_parity(const std::string& dir);

}  // namespace lavender::parity

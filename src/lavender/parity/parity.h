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

// What an implementation produced for one fixture: output name → tensor. A runner produces every
// output it can; the report judges them against what the fixture holds.
using Outputs = std::map<std::string, at::Tensor>;
using Runner = std::function<Outputs(const Fixture&)>;

struct Report {
  std::string dir;
  FixtureKind kind;
  std::vector<Comparison> comparisons;
  // References the fixture holds that lavender did not produce: failures, since a fixture
  // documents what the reference computed and every kind has a runner.
  std::vector<std::string> missing;
  // Produced, but the fixture holds no reference for them (a fixture written without the
  // attention hooks, say): reported as not checked, neither passed nor failed.
  std::vector<std::string> unchecked;

  bool all_passed() const;
  // 0: every reference output produced and within tolerance; 1: some output failed or is missing.
  int exit_code() const;
  std::string format() const;
};

constexpr int kExitPass = 0;
constexpr int kExitFail = 1;
constexpr int kExitBadFixture = 2;

// The runner lavender has for each kind.
Runner runner_for(FixtureKind kind);
Report run_parity(const Fixture& fixture, const Runner& runner);
Report run_parity(const std::string& dir);

}  // namespace lavender::parity

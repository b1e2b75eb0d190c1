#include "lavender/parity/parity.h"

#include <ATen/ATen.h>

#include <cstdio>
#include <sstream>

#include "lavender/util/error.h"

namespace lavender::parity {
namespace {

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

std::string shape_text(at::IntArrayRef sizes) {
  std::ostringstream s;
  s << sizes;
  return s.str();
}

}  // namespace

std::string Tolerance::describe() const {
  char buf[96];
  switch (rule) {
    case Rule::exact:
      return "exact";
    case Rule::max_abs:
      std::snprintf(buf, sizeof buf, "abs %.0e", abs);
      break;
    case Rule::max_abs_or_rel:
      std::snprintf(buf, sizeof buf, "abs %.0e | rel %.0e", abs, rel);
      break;
    case Rule::mean_and_max:
      std::snprintf(buf, sizeof buf, "mean %.0e, max %.0e", mean, abs);
      break;
  }
  return buf;
}

Tolerance tolerance_for(FixtureKind kind, const std::string& name) {
  using R = Tolerance::Rule;
  if (kind == FixtureKind::preprocess) {
    if (name.find("pixel_values") != std::string::npos) return {R::mean_and_max, 2e-2, 0, 1e-3};
    return {R::exact};  // aspect-ratio ids and masks
  }
  if (kind == FixtureKind::minicpmv) {
    // Preprocessing outputs go through PIL's bicubic resampling (README's preprocessing rule).
    if (starts_with(name, "pixel_values.") || starts_with(name, "slice_image."))
      return {R::mean_and_max, 2e-2, 0, 1e-3};
    if (name == "tgt_sizes" || starts_with(name, "image_bound.") ||
        name == "vision_patch_attention_mask")
      return {R::exact};
    if (starts_with(name, "resampler_attn")) return {R::max_abs, 1e-5};
  }
  if (starts_with(name, "generate") || name.find("_ids") != std::string::npos) return {R::exact};
  if (starts_with(name, "attn2.") || starts_with(name, "lm_attentions.") ||
      starts_with(name, "hook.") || starts_with(name, "perceiver_attn.") ||
      starts_with(name, "xattn."))
    return {R::max_abs, 1e-5};
  return {R::max_abs_or_rel, 1e-4, 1e-4};
}

Comparison compare(const std::string& name, const at::Tensor& ours, const at::Tensor& reference,
                   const Tolerance& tolerance) {
  Comparison c;
  c.name = name;
  c.tolerance = tolerance;
  if (!ours.defined()) {
    c.note = "no output produced";
    return c;
  }
  if (ours.sizes() != reference.sizes()) {
    c.note = "shape " + shape_text(ours.sizes()) + " != reference " + shape_text(reference.sizes());
    return c;
  }
  at::Tensor a = ours.detach().to(at::kCPU, at::kDouble);
  at::Tensor b = reference.detach().to(at::kCPU, at::kDouble);
  at::Tensor diff = (a - b).abs();
  if (diff.numel() == 0) {
    c.passed = true;
    return c;
  }
  if (!at::isfinite(a).all().item<bool>() && !at::equal(at::isnan(a), at::isnan(b))) {
    c.note = "non-finite values where the reference has none";
  }
  c.max_abs_diff = diff.max().item<double>();
  c.mean_abs_diff = diff.mean().item<double>();
  using R = Tolerance::Rule;
  switch (tolerance.rule) {
    case R::exact:
      c.passed = at::equal(a, b);
      break;
    case R::max_abs:
      c.passed = c.max_abs_diff <= tolerance.abs;
      break;
    case R::max_abs_or_rel:
      c.passed = (diff <= at::clamp_min(b.abs() * tolerance.rel, tolerance.abs)).all().item<bool>();
      break;
    case R::mean_and_max:
      c.passed = c.max_abs_diff <= tolerance.abs && c.mean_abs_diff <= tolerance.mean;
      break;
  }
  if (!c.note.empty()) c.passed = false;
  return c;
}

bool Report::all_passed() const {
  for (const auto& c : comparisons)
    if (!c.passed) return false;
  return missing.empty();
}

int Report::exit_code() const {
  return all_passed() ? kExitPass : kExitFail;
}

std::string Report::format() const {
  std::ostringstream s;
  s << "parity " << dir << " (kind " << kind_name(kind) << ")\n";
  char line[512];
  for (const auto& c : comparisons) {
    std::snprintf(line, sizeof line, "  %-4s %-72s max|d| %.3e  mean|d| %.3e  [%s]%s%s\n",
                  c.passed ? "PASS" : "FAIL", c.name.c_str(), c.max_abs_diff, c.mean_abs_diff,
                  c.tolerance.describe().c_str(), c.note.empty() ? "" : "  ", c.note.c_str());
    s << line;
  }
  for (const auto& name : missing)
    s << "  FAIL " << name << "  (the fixture holds a reference; lavender produced nothing)\n";
  for (const auto& name : unchecked)
    s << "  ---- " << name << "  (not checked: the fixture holds no reference)\n";
  size_t passed = 0;
  for (const auto& c : comparisons) passed += c.passed;
  s << passed << " passed, " << comparisons.size() - passed + missing.size() << " failed, "
    << unchecked.size() << " not checked\n";
  return s.str();
}

Report run_parity(const Fixture& fixture, const Runner& runner) {
  Report report;
  report.dir = fixture.dir;
  report.kind = fixture.kind;
  Outputs outputs = runner ? runner(fixture) : Outputs{};
  for (const auto& name : fixture.reference_names()) {
    auto it = outputs.find(name);
    if (it == outputs.end()) {
      report.missing.push_back(name);
      continue;
    }
    report.comparisons.push_back(
        compare(name, it->second, fixture.tensor(name), tolerance_for(fixture.kind, name)));
    outputs.erase(it);
  }
  for (const auto& kv : outputs) report.unchecked.push_back(kv.first);
  return report;
}

Report run_parity(const std::string& dir) {
  Fixture fixture = load_fixture(dir);
  return run_parity(fixture, runner_for(fixture.kind));
}

}  // namespace lavender::parity

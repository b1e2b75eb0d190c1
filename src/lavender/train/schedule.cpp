#include "lavender/train/schedule.h"

#include <algorithm>
#include <cmath>

#include "lavender/util/error.h"

namespace lavender::train {
namespace {

constexpr double kPi = 3.14159265358979323846;

double progress(int64_t step, int64_t total) {
  return total <= 0 ? 0.0
                    : std::clamp(static_cast<double>(step) / static_cast<double>(total), 0.0, 1.0);
}

}  // namespace

LrSchedule::Kind parse_lr_schedule(const std::string& name) {
  if (name == "cosine") return LrSchedule::Kind::cosine;
  if (name == "linear") return LrSchedule::Kind::linear;
  if (name == "constant") return LrSchedule::Kind::constant;
  throw Error("unknown learning-rate schedule \"" + name + "\" (cosine, linear, constant)");
}

const char* lr_schedule_name(LrSchedule::Kind kind) {
  switch (kind) {
    case LrSchedule::Kind::cosine:
      return "cosine";
    case LrSchedule::Kind::linear:
      return "linear";
    case LrSchedule::Kind::constant:
      return "constant";
  }
  return "?";
}

double learning_rate(const LrSchedule& s, int64_t step, int64_t total) {
  // Warm-up as transformers does it: step 0 gets 0, step w reaches the full rate.
  if (step < s.warmup_steps)
    return s.lr * static_cast<double>(step) /
           static_cast<double>(std::max<int64_t>(1, s.warmup_steps));
  if (s.kind == LrSchedule::Kind::constant) return s.lr;
  const double p = progress(step - s.warmup_steps, total - s.warmup_steps);
  const double shape =
      s.kind == LrSchedule::Kind::cosine ? 0.5 * (1.0 + std::cos(kPi * p)) : 1.0 - p;
  return s.lr * (s.min_ratio + (1.0 - s.min_ratio) * shape);
}

LambdaSchedule::Kind parse_lambda_schedule(const std::string& name) {
  if (name == "constant") return LambdaSchedule::Kind::constant;
  if (name == "exp-decay") return LambdaSchedule::Kind::exp_decay;
  if (name == "inverse") return LambdaSchedule::Kind::inverse;
  throw Error("unknown lambda schedule \"" + name + "\" (constant, exp-decay, inverse)");
}

const char* lambda_schedule_name(LambdaSchedule::Kind kind) {
  switch (kind) {
    case LambdaSchedule::Kind::constant:
      return "constant";
    case LambdaSchedule::Kind::exp_decay:
      return "exp-decay";
    case LambdaSchedule::Kind::inverse:
      return "inverse";
  }
  return "?";
}

double lambda_at(const LambdaSchedule& s, int64_t step, int64_t total) {
  const double decay = std::exp(-s.factor * progress(step, total));
  switch (s.kind) {
    case LambdaSchedule::Kind::constant:
      return s.lambda;
    case LambdaSchedule::Kind::exp_decay:
      return s.lambda * decay;
    case LambdaSchedule::Kind::inverse:
      return s.lambda * (1.0 - decay);
  }
  return s.lambda;
}

double text_weight_at(const TextWeightSchedule& s, int64_t step) {
  if (step < s.aligner_warmup_steps) return 0.0;
  if (s.ramp_steps <= 0) return 1.0;
  return std::min(1.0, static_cast<double>(step - s.aligner_warmup_steps + 1) /
                           static_cast<double>(s.ramp_steps));
}

bool aligner_only(const TextWeightSchedule& s, int64_t step) {
  return step < s.aligner_warmup_steps;
}

}  // namespace lavender::train

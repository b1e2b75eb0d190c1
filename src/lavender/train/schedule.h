// What changes with the step during training, as pure functions of the step (so a resumed run
// recomputes them exactly):
//   learning rate    linear warm-up, then cosine or linear decay to min_ratio·lr, or constant
//   lambda           the weight of L_att (METHOD.md): constant, exponential decay
//                    λ·exp(−factor·step/total), or its inverse λ·(1 − exp(−factor·step/total))
//                    rising towards λ
//   text weight      1, or 0 during an Aligner-only warm-up of K steps followed by a linear ramp
//                    of the text loss back to 1 over R steps
#pragma once

#include <cstdint>
#include <string>

namespace lavender::train {

struct LrSchedule {
  enum class Kind { cosine, linear, constant } kind = Kind::cosine;
  double lr = 2e-5;
  int64_t warmup_steps = 0;
  double min_ratio = 0.0;  // the decay ends at min_ratio · lr
};
LrSchedule::Kind parse_lr_schedule(const std::string& name);  // cosine | linear | constant
const char* lr_schedule_name(LrSchedule::Kind kind);
// Learning rate for optimizer step `step` (0-based) of `total`.
double learning_rate(const LrSchedule& s, int64_t step, int64_t total);

struct LambdaSchedule {
  enum class Kind { constant, exp_decay, inverse } kind = Kind::constant;
  double lambda = 10.0;
  double factor = 5.0;  // the exponent's rate for exp_decay and inverse
};
LambdaSchedule::Kind parse_lambda_schedule(const std::string& name);  // constant|exp-decay|inverse
const char* lambda_schedule_name(LambdaSchedule::Kind kind);
double lambda_at(const LambdaSchedule& s, int64_t step, int64_t total);

struct TextWeightSchedule {
  int64_t aligner_warmup_steps = 0;  // K: the text loss is off, only the Aligner learns
  int64_t ramp_steps = 0;            // R: then the text loss's weight rises linearly to 1
};
double text_weight_at(const TextWeightSchedule& s, int64_t step);
// True while only the Aligner trains (the student's own parameters are held still).
bool aligner_only(const TextWeightSchedule& s, int64_t step);

}  // namespace lavender::train

#include "lavender/demo/plan_parts.h"

#include <algorithm>

namespace lavender::demo {

std::string arg_number(int64_t v) { return std::to_string(v); }

std::string arg_number(double v) {
  std::string s = std::to_string(v);
  s.erase(s.find_last_not_of('0') + 1);
  if (!s.empty() && s.back() == '.') s.pop_back();
  return s;
}

std::vector<std::string> vlm_train_args(const DemoPreset& preset,
                                        const std::string& model, const std::string& data,
                                        const std::string& images, const std::string& out,
                                        int64_t steps, double lr,
                                        uint64_t seed) {
  return {"train",           "--model",        model,
          "--data",          data,             "--images",
          images,            "--out",          out,
          "--max-steps",     arg_number(steps), "--batch-size",
          arg_number(preset.batch), "--lr",   arg_number(lr),
          "--warmup-steps",  arg_number(std::min<int64_t>(50, steps / 10)), "--freeze",
          "",                "--seed",         arg_number(static_cast<int64_t>(seed)),
          "--save-every",    "200",            "--keep-checkpoints",
          "1",               "--figure-every", "0",
          "--resume"};
}

std::vector<std::string> lavender_arm_args(const DemoPreset& preset, const std::string& maps) {
  // The VLM's patch grid is 8×8: 16×16 maps keep the Aligner's cost down (32×32 made a
  // Lavender step 1.6× slower than SFT; 16×16, 1.2×).
  // Stop words ("what", "is", "the") have no place in the image: both arms align the rest.
  return {"--lambda",     arg_number(preset.lambda), "--match-scope", "all",  "--map-size",
          "16",           "--word-filter",          "content",       "--maps", maps};
}

std::vector<std::string> with(std::vector<std::string> args, const std::vector<std::string>& more) {
  args.insert(args.end(), more.begin(), more.end());
  return args;
}

Stage make_stage(std::string name, std::string title, std::vector<std::string> args,
                 std::vector<std::string> outputs, std::string folder,
                 std::vector<std::string> after) {
  Stage s;
  s.name = std::move(name);
  s.title = std::move(title);
  s.args = std::move(args);
  s.outputs = std::move(outputs);
  s.folder = std::move(folder);
  s.after = std::move(after);
  return s;
}

}  // namespace lavender::demo

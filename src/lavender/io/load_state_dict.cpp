#include "lavender/io/load_state_dict.h"

#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <regex>
#include <sstream>

#include "lavender/util/error.h"
#include "lavender/util/log.h"

namespace lavender::io {
namespace {

std::vector<std::regex> compile(const std::vector<std::string>& patterns) {
  std::vector<std::regex> out;
  for (const auto& p : patterns) {
    try {
      out.emplace_back(p);
    } catch (const std::regex_error& e) {
      throw Error("load_state_dict: invalid pattern \"" + p + "\": " + e.what());
    }
  }
  return out;
}

bool matches_any(const std::string& key, const std::vector<std::regex>& patterns) {
  for (const auto& re : patterns)
    if (std::regex_search(key, re)) return true;
  return false;
}

std::string list_keys(const std::vector<std::string>& keys, size_t max_shown = 20) {
  std::ostringstream s;
  for (size_t i = 0; i < keys.size() && i < max_shown; ++i) s << "\n  " << keys[i];
  if (keys.size() > max_shown) s << "\n  ... and " << keys.size() - max_shown << " more";
  return s.str();
}

std::string shape_of(at::IntArrayRef sizes) {
  std::ostringstream s;
  s << sizes;
  return s.str();
}

}  // namespace

std::string rewrite_key(const std::string& key, const std::vector<KeyRule>& rules) {
  for (const auto& rule : rules)
    if (key.compare(0, rule.from.size(), rule.from) == 0)
      return rule.to + key.substr(rule.from.size());
  return key;
}

LoadReport load_state_dict(torch::nn::Module& module, const TensorSource& source,
                           const LoadOptions& options) {
  auto ignore = compile(options.ignore_unexpected);
  auto allow_missing = compile(options.allow_missing);

  std::map<std::string, at::Tensor> targets;
  for (const auto& item : module.named_parameters(/*recurse=*/true))
    targets[item.key()] = item.value();
  for (const auto& item : module.named_buffers(/*recurse=*/true))
    targets[item.key()] = item.value();

  LoadReport report;
  const auto start = std::chrono::steady_clock::now();
  std::map<std::string, std::string> filled_from;  // module key → checkpoint key
  torch::NoGradGuard no_grad;
  for (const auto& key : source.names()) {
    std::string target_key = rewrite_key(key, options.key_rules);
    auto it = targets.find(target_key);
    if (it == targets.end()) {
      (matches_any(target_key, ignore) ? report.ignored : report.unexpected).push_back(key);
      continue;
    }
    auto [previous, inserted] = filled_from.emplace(target_key, key);
    if (!inserted)
      throw Error(source.describe() + ": tensors '" + previous->second + "' and '" + key +
                  "' both map to module key '" + target_key + "'");
    at::Tensor value = source.tensor(key);
    at::Tensor& target = it->second;
    if (value.sizes() != target.sizes())
      throw Error(source.describe() + ": tensor '" + key + "' has shape " +
                  shape_of(value.sizes()) + " but module key '" + target_key + "' expects " +
                  shape_of(target.sizes()));
    if (options.place) {
      at::Tensor placed = value.to(options.place->device, options.place->dtype);
      if (!placed.is_alias_of(value))
        source.release(key);  // converted: the file's copy is done with
      else if (!source.writable())
        placed = placed.clone();  // a parameter must take in-place updates
      else
        ++report.zero_copy;
      target.set_data(placed);
    } else {
      target.copy_(value);
    }
    report.loaded.push_back(target_key);
    report.bytes += static_cast<uint64_t>(value.numel()) * value.element_size();
  }
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  for (const auto& kv : targets)
    if (!filled_from.count(kv.first) && !matches_any(kv.first, allow_missing))
      report.missing.push_back(kv.first);

  if (options.strict && (!report.missing.empty() || !report.unexpected.empty())) {
    std::string msg = source.describe() + ": checkpoint does not match the model";
    if (!report.missing.empty())
      msg +=
          "\nmissing (" + std::to_string(report.missing.size()) + "):" + list_keys(report.missing);
    if (!report.unexpected.empty())
      msg += "\nunexpected (" + std::to_string(report.unexpected.size()) +
             "):" + list_keys(report.unexpected);
    throw Error(msg);
  }
  return report;
}

std::string LoadReport::summary() const {
  char buf[160];
  std::snprintf(buf, sizeof buf, "%zu tensors, %.2f GB in %.2f s (%lld zero-copy)", loaded.size(),
                static_cast<double>(bytes) / 1e9, seconds, static_cast<long long>(zero_copy));
  return buf;
}

std::vector<KeyRule> llava_key_rules() {
  return {
      {"language_model.model.", "model.language_model."},
      {"language_model.lm_head.", "lm_head."},
      {"vision_tower.vision_model.", "model.vision_tower."},
      {"model.vision_tower.vision_model.", "model.vision_tower."},
      {"vision_tower.", "model.vision_tower."},
      {"multi_modal_projector.", "model.multi_modal_projector."},
  };
}

LoadReport load_model_weights(torch::nn::Module& module, const std::string& folder,
                              LoadOptions options, at::ScalarType dtype, at::Device device) {
  options.strict = true;  // every parameter filled: none keeps uninitialised memory
  options.place = LoadOptions::Placement{dtype, device};
  const LoadReport report = load_state_dict(module, Checkpoint::open(folder), options);
  log::info("loaded ", folder, ": ", report.summary());
  module.to(device, dtype);
  module.eval();
  return report;
}

std::vector<KeyRule> mllama_key_rules() {
  return {
      {"language_model.model.", "model.language_model."},
      {"language_model.lm_head.", "lm_head."},
      {"vision_model.", "model.vision_model."},
      {"multi_modal_projector.", "model.multi_modal_projector."},
  };
}

}  // namespace lavender::io

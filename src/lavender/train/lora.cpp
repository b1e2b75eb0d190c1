#include "lavender/train/lora.h"

#include <torch/torch.h>

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>

#include "lavender/io/json_file.h"
#include "lavender/io/safetensors.h"
#include "lavender/nn/linear.h"
#include "lavender/util/atomic_file.h"
#include "lavender/util/error.h"

namespace lavender::train {
namespace {

namespace fs = std::filesystem;

// PEFT's state-dict prefix for a PeftModelForCausalLM wrapping the base model.
constexpr const char* kKeyPrefix = "base_model.model.";
constexpr const char* kConfigFile = "adapter_config.json";
constexpr const char* kWeightsFile = "adapter_model.safetensors";

bool ends_with_component(const std::string& name, const std::string& entry) {
  if (name == entry) return true;
  return name.size() > entry.size() &&
         name.compare(name.size() - entry.size(), entry.size(), entry) == 0 &&
         name[name.size() - entry.size() - 1] == '.';
}

// `name` sits inside a module called `component` (a path component other than the last).
bool inside(const std::string& name, const std::string& component) {
  return name.rfind(component + ".", 0) == 0 ||
         name.find("." + component + ".") != std::string::npos;
}

std::string regex_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (std::string(".^$|()[]{}*+?\\").find(c) != std::string::npos) out += '\\';
    out += c;
  }
  return out;
}

std::string alternation(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& s : items) out += (out.empty() ? "" : "|") + regex_escape(s);
  return out;
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& s : items) out += (out.empty() ? "" : ", ") + s;
  return out;
}

// Every nn::Linear under `root` by full module name, in module order.
std::vector<std::pair<std::string, nn::LinearImpl*>> linears(torch::nn::Module& root) {
  std::vector<std::pair<std::string, nn::LinearImpl*>> out;
  for (const auto& item : root.named_modules("", /*include_self=*/false))
    if (auto* linear = item.value()->as<nn::LinearImpl>()) out.emplace_back(item.key(), linear);
  return out;
}

// JSON numbers PEFT reads as ints are written as ints when integral.
nlohmann::json number(double v) {
  if (v == static_cast<double>(static_cast<int64_t>(v))) return static_cast<int64_t>(v);
  return v;
}

}  // namespace

bool lora_targets(const LoraConfig& cfg, const std::string& name) {
  if (!cfg.target_regex.empty()) return std::regex_match(name, std::regex(cfg.target_regex));
  for (const auto& ex : cfg.exclude)
    if (inside(name, ex)) return false;
  for (const auto& t : cfg.target_modules)
    if (ends_with_component(name, t)) return true;
  return false;
}

std::vector<std::string> inject_lora(torch::nn::Module& root, const LoraConfig& cfg) {
  std::vector<std::string> adapted;
  for (auto& [name, linear] : linears(root)) {
    if (!lora_targets(cfg, name)) continue;
    if (linear->has_lora()) throw Error("inject_lora: " + name + " already has a LoRA adapter");
    linear->add_lora(cfg.rank, cfg.alpha, cfg.dropout, cfg.use_rslora);
    adapted.push_back(name);
  }
  if (adapted.empty()) {
    const std::string what = cfg.target_regex.empty()
                                 ? "target_modules [" + join(cfg.target_modules) +
                                       "] (excluding inside [" + join(cfg.exclude) + "])"
                                 : "target regex '" + cfg.target_regex + "'";
    throw Error("inject_lora: no nn::Linear module matches " + what);
  }
  return adapted;
}

std::vector<std::pair<std::string, at::Tensor>> lora_parameters(torch::nn::Module& root) {
  std::vector<std::pair<std::string, at::Tensor>> out;
  for (auto& [name, linear] : linears(root)) {
    if (!linear->has_lora()) continue;
    out.emplace_back(name + ".lora_A.weight", linear->lora_A->weight);
    out.emplace_back(name + ".lora_B.weight", linear->lora_B->weight);
  }
  return out;
}

int merge_all_lora(torch::nn::Module& root) {
  int merged = 0;
  for (auto& [name, linear] : linears(root))
    if (linear->has_lora()) linear->merge_lora(), ++merged;
  return merged;
}

std::string peft_target_regex(const LoraConfig& cfg) {
  if (!cfg.target_regex.empty()) return cfg.target_regex;
  if (cfg.exclude.empty()) return "";
  // Python re.fullmatch and std::regex_match agree on this subset (lookahead, groups, |).
  return "(?!(.*\\.)?(" + alternation(cfg.exclude) + ")\\.)(.*\\.)?(" +
         alternation(cfg.target_modules) + ")";
}

void save_peft_adapter(const std::string& dir, torch::nn::Module& root, const LoraConfig& cfg,
                       const std::string& base_model_name) {
  auto params = lora_parameters(root);
  if (params.empty()) throw Error("save_peft_adapter: the model has no LoRA adapters to save");
  std::vector<std::pair<std::string, at::Tensor>> tensors;
  for (auto& [name, t] : params) tensors.emplace_back(kKeyPrefix + name, t.detach());

  // The fields LoraConfig has carried across PEFT releases (newer releases fill in the rest
  // with defaults; older ones reject unknown keys, so nothing newer is written).
  const std::string regex = peft_target_regex(cfg);
  nlohmann::json c = {
      {"alpha_pattern", nlohmann::json::object()},
      {"auto_mapping", nullptr},
      {"base_model_name_or_path", base_model_name},
      {"bias", "none"},
      {"fan_in_fan_out", false},
      {"inference_mode", true},
      {"init_lora_weights", true},
      {"layers_pattern", nullptr},
      {"layers_to_transform", nullptr},
      {"lora_alpha", number(cfg.alpha)},
      {"lora_dropout", cfg.dropout},
      {"modules_to_save", nullptr},
      {"peft_type", "LORA"},
      {"r", cfg.rank},
      {"rank_pattern", nlohmann::json::object()},
      {"revision", nullptr},
      {"target_modules",
       regex.empty() ? nlohmann::json(cfg.target_modules) : nlohmann::json(regex)},
      {"task_type", "CAUSAL_LM"},
      {"use_dora", false},
      {"use_rslora", cfg.use_rslora},
  };
  fs::create_directories(dir);
  io::save_safetensors(dir + "/" + kWeightsFile, tensors, {{"format", "pt"}});
  write_file_atomically(dir + "/" + kConfigFile, c.dump(2) + "\n");
}

LoraConfig load_peft_adapter(const std::string& dir, torch::nn::Module& root,
                             const std::vector<io::KeyRule>& key_rules) {
  const std::string config_path = dir + "/" + kConfigFile;
  const std::string weights_path = dir + "/" + kWeightsFile;
  const nlohmann::json c = io::read_json_file(config_path);
  auto fail = [&](const std::string& what) { return Error(config_path + ": " + what); };
  if (!c.is_object()) throw fail("not a JSON object");
  auto get = [&](const char* key) -> nlohmann::json {
    return c.contains(key) ? c.at(key) : nlohmann::json();
  };
  if (get("peft_type") != "LORA")
    throw fail("peft_type is " + get("peft_type").dump() + ", only LORA adapters are supported");
  auto unsupported_if = [&](bool bad, const char* key) {
    if (bad) throw fail(std::string("unsupported ") + key + " = " + get(key).dump());
  };
  unsupported_if(get("use_dora").is_boolean() && get("use_dora").get<bool>(), "use_dora");
  unsupported_if(!get("bias").is_null() && get("bias") != "none", "bias");
  unsupported_if(get("fan_in_fan_out").is_boolean() && get("fan_in_fan_out").get<bool>(),
                 "fan_in_fan_out");
  for (const char* key : {"rank_pattern", "alpha_pattern"})
    unsupported_if(!get(key).is_null() && !get(key).empty(), key);
  for (const char* key : {"modules_to_save", "layers_to_transform", "exclude_modules"})
    unsupported_if(!get(key).is_null() && !get(key).empty(), key);

  LoraConfig cfg;
  cfg.exclude.clear();  // PEFT's list form has no exclusions
  try {
    cfg.rank = get("r").get<int>();
    cfg.alpha = get("lora_alpha").get<double>();
    cfg.dropout = get("lora_dropout").is_null() ? 0.0 : get("lora_dropout").get<double>();
    cfg.use_rslora = get("use_rslora").is_boolean() && get("use_rslora").get<bool>();
  } catch (const nlohmann::json::exception& e) {
    throw fail(std::string("bad r / lora_alpha / lora_dropout: ") + e.what());
  }
  const nlohmann::json targets = get("target_modules");
  if (targets.is_string()) {
    cfg.target_regex = targets.get<std::string>();
    cfg.target_modules.clear();
    try {
      std::regex check(cfg.target_regex);
    } catch (const std::regex_error& e) {
      throw fail("target_modules regex '" + cfg.target_regex + "' is not valid: " + e.what());
    }
  } else if (targets.is_array() && !targets.empty()) {
    cfg.target_modules.clear();
    for (const auto& t : targets) {
      if (!t.is_string()) throw fail("target_modules holds a non-string " + t.dump());
      cfg.target_modules.push_back(t.get<std::string>());
    }
  } else {
    throw fail("target_modules must be a non-empty list or a regex string, got " + targets.dump());
  }

  // Open the weights before touching the model, so a missing file leaves it as it was.
  auto file = io::SafetensorsFile::open(weights_path);
  const std::vector<std::string> adapted = inject_lora(root, cfg);
  std::map<std::string, nn::LinearImpl*> by_name;
  for (auto& [name, linear] : linears(root)) by_name[name] = linear;

  std::set<std::string> filled;
  torch::NoGradGuard no_grad;
  for (const auto& info : file->tensors()) {
    const std::string& key = info.name;
    auto bad = [&](const std::string& what) {
      return Error(weights_path + ": " + key + " " + what);
    };
    const std::string prefix = kKeyPrefix;
    if (key.compare(0, prefix.size(), prefix) != 0) throw bad("does not start with " + prefix);
    std::string rest = key.substr(prefix.size());
    for (const auto& rule : key_rules)
      if (rest.compare(0, rule.from.size(), rule.from) == 0) {
        rest = rule.to + rest.substr(rule.from.size());
        break;
      }
    std::string which;
    for (const char* suffix : {".lora_A.weight", ".lora_B.weight"}) {
      const std::string s = suffix;
      if (rest.size() > s.size() && rest.compare(rest.size() - s.size(), s.size(), s) == 0) {
        which = s.substr(1, 6);
        rest.resize(rest.size() - s.size());
      }
    }
    if (which.empty()) throw bad("is not a lora_A / lora_B weight");
    auto it = by_name.find(rest);
    if (it == by_name.end() || !it->second->has_lora())
      throw bad("names a module the config does not adapt (no LoRA on '" + rest + "')");
    at::Tensor& dst = which == "lora_A" ? it->second->lora_A->weight : it->second->lora_B->weight;
    const at::Tensor src = file->tensor(key);
    if (src.sizes() != dst.sizes()) {
      std::ostringstream msg;
      msg << "has shape " << src.sizes() << " but the adapter expects " << dst.sizes();
      throw bad(msg.str());
    }
    dst.copy_(src.to(dst.scalar_type()));
    filled.insert(rest + "." + which);
  }
  for (const auto& name : adapted)
    for (const char* which : {"lora_A", "lora_B"})
      if (!filled.count(name + "." + which))
        throw Error(weights_path + ": no tensor " + kKeyPrefix + name + "." + which +
                    ".weight for an adapter the config asks for");
  return cfg;
}

}  // namespace lavender::train

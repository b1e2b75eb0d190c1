#include "lavender/vlm/hf_architecture.h"

#include "lavender/util/error.h"

namespace lavender::vlm {
namespace {

std::string string_field(const nlohmann::json& j, const char* key) {
  return j.is_object() && j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : "";
}

std::string first_architecture(const nlohmann::json& j) {
  if (j.is_object() && j.contains("architectures") && j["architectures"].is_array() &&
      !j["architectures"].empty() && j["architectures"][0].is_string())
    return j["architectures"][0].get<std::string>();
  return "";
}

}  // namespace

std::string architecture_of(const nlohmann::json& config) {
  std::string arch = first_architecture(config);
  if (arch.empty()) arch = string_field(config, "model_type");
  return arch.empty() ? "(none)" : arch;
}

void check_architecture(const nlohmann::json& config, const std::string& source,
                        const std::string& architecture, const std::string& model_type) {
  const std::string arch = first_architecture(config);
  if (arch == architecture || (arch.empty() && string_field(config, "model_type") == model_type))
    return;
  throw Error(source + ": unsupported architecture \"" + architecture_of(config) +
              "\" (lavender loads " + architecture + " here)");
}

}  // namespace lavender::vlm

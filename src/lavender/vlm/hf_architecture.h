// Which model class a Hugging Face config.json describes, checked before building a model so
// that pointing lavender at the wrong folder is one clear error.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace lavender::vlm {

// The config's architecture: "architectures"[0], else "model_type", else "(none)".
std::string architecture_of(const nlohmann::json& config);

// Throws lavender::Error naming `source` unless architectures[0] is `architecture` (or, with no
// architectures list, model_type is `model_type`).
void check_architecture(const nlohmann::json& config, const std::string& source,
                        const std::string& architecture, const std::string& model_type);

}  // namespace lavender::vlm

#include "lavender/io/checkpoint_summary.h"

#include <cstdio>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>

#include "lavender/io/json_file.h"
#include "lavender/util/error.h"

namespace lavender::io {
namespace {

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

std::string human_bytes(double bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (bytes >= 1024 && u < 4) {
    bytes /= 1024;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.2f %s", bytes, units[u]);
  return buf;
}

struct Selection {
  std::vector<std::string> names;
  std::map<std::string, std::pair<uint64_t, uint64_t>> by_dtype;  // dtype → (elements, bytes)
  uint64_t elements = 0, bytes = 0;
};

Selection select(const Checkpoint& ckpt, const SummaryOptions& options) {
  std::regex filter;
  if (!options.filter.empty()) {
    try {
      filter = std::regex(options.filter);
    } catch (const std::regex_error& e) {
      throw Error("--filter \"" + options.filter + "\": invalid regex: " + e.what());
    }
  }
  Selection s;
  for (const auto& name : ckpt.names()) {
    if (!options.filter.empty() && !std::regex_search(name, filter)) continue;
    const auto& info = ckpt.info(name);
    s.names.push_back(name);
    auto& totals = s.by_dtype[dtype_name(info.dtype)];
    totals.first += info.numel();
    totals.second += info.nbytes();
    s.elements += info.numel();
    s.bytes += info.nbytes();
  }
  return s;
}

}  // namespace

std::string format_checkpoint_summary(const Checkpoint& ckpt, const SummaryOptions& options) {
  Selection sel = select(ckpt, options);
  size_t width = 4;
  for (const auto& n : sel.names) width = std::max(width, n.size());
  std::ostringstream s;
  char line[1024];
  for (const auto& name : sel.names) {
    const auto& info = ckpt.info(name);
    std::snprintf(line, sizeof line, "%-*s  %-7s %s", static_cast<int>(width), name.c_str(),
                  dtype_name(info.dtype), shape_text(info.shape).c_str());
    s << line;
    if (options.show_files)
      s << "  " << std::filesystem::path(ckpt.file_of(name)).filename().string();
    s << "\n";
  }
  s << "\n" << sel.names.size() << " tensors";
  if (sel.names.size() != ckpt.names().size()) s << " (of " << ckpt.names().size() << ")";
  s << ", " << sel.elements << " elements, " << human_bytes(static_cast<double>(sel.bytes))
    << " in " << ckpt.files().size() << " file" << (ckpt.files().size() == 1 ? "" : "s") << "\n";
  for (const auto& [dtype, totals] : sel.by_dtype)
    s << "  " << dtype << ": " << totals.first << " elements, "
      << human_bytes(static_cast<double>(totals.second)) << "\n";
  if (!ckpt.metadata().empty()) {
    s << "metadata:\n";
    for (const auto& [k, v] : ckpt.metadata()) s << "  " << k << " = " << v << "\n";
  }
  return s.str();
}

nlohmann::json checkpoint_summary_json(const Checkpoint& ckpt, const SummaryOptions& options) {
  Selection sel = select(ckpt, options);
  nlohmann::json out;
  out["path"] = ckpt.describe();
  out["tensors"] = nlohmann::json::array();
  for (const auto& name : sel.names) {
    const auto& info = ckpt.info(name);
    out["tensors"].push_back(
        {{"name", name},
         {"dtype", dtype_name(info.dtype)},
         {"shape", info.shape},
         {"file", std::filesystem::path(ckpt.file_of(name)).filename().string()}});
  }
  out["total_tensors"] = sel.names.size();
  out["total_elements"] = sel.elements;
  out["total_bytes"] = sel.bytes;
  for (const auto& [dtype, totals] : sel.by_dtype)
    out["by_dtype"][dtype] = {{"elements", totals.first}, {"bytes", totals.second}};
  out["metadata"] = ckpt.metadata();
  return out;
}

std::string describe_model_config(const std::string& folder) {
  std::string path = folder + "/config.json";
  if (!std::filesystem::is_regular_file(path)) return "";
  nlohmann::json config;
  try {
    config = read_json_file(path);
  } catch (const Error& e) {
    return std::string("unreadable config.json: ") + e.what();
  }
  if (!config.is_object()) return "config.json is not a JSON object";
  std::string name;
  auto string_at = [&](const char* key) {
    auto it = config.find(key);
    return it != config.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  auto arch = config.find("architectures");
  if (arch != config.end() && arch->is_array() && !arch->empty() && (*arch)[0].is_string())
    name = (*arch)[0].get<std::string>();
  if (name.empty()) name = string_at("_class_name");
  std::string type = string_at("model_type");
  if (!type.empty()) name += (name.empty() ? "" : " ") + std::string("(") + type + ")";
  return name;
}

}  // namespace lavender::io

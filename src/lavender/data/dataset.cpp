#include "lavender/data/dataset.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "lavender/io/json_file.h"
#include "lavender/util/error.h"

namespace lavender::data {
namespace {

using nlohmann::json;

std::string trim(const std::string& s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return s.substr(b, e - b);
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string resolve_image(const std::string& image, const std::string& root) {
  if (image.empty() || root.empty() || std::filesystem::path(image).is_absolute()) return image;
  return (std::filesystem::path(root) / image).string();
}

// A JSON string field, or "" when absent or not a string.
std::string string_field(const json& object, const char* key) {
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : "";
}

// Reads one record in the LLaVA layout; a reason in `problem` when it must be skipped.
bool parse_conversation(const json& j, const std::string& origin, const std::string& image_root,
                        DatasetRecord& out, std::string& problem) {
  if (!j.is_object()) return problem = "entry is not a JSON object", false;
  auto conversations = j.find("conversations");
  if (conversations == j.end() || !conversations->is_array())
    return problem = "no \"conversations\" list", false;
  out.origin = origin;
  out.id = j.contains("id") && (j["id"].is_string() || j["id"].is_number())
               ? (j["id"].is_string() ? j["id"].get<std::string>() : j["id"].dump())
               : origin;
  if (j.contains("image") && !j["image"].is_null() && !j["image"].is_string())
    return problem = "\"image\" is not a string", false;
  out.image = resolve_image(string_field(j, "image"), image_root);
  for (const auto& turn : *conversations) {
    if (!turn.is_object()) return problem = "a conversation turn is not an object", false;
    std::string role = string_field(turn, "from");
    if (role.empty()) role = string_field(turn, "role");
    std::string content =
        turn.contains("value") ? string_field(turn, "value") : string_field(turn, "content");
    if (role == "human") role = "user";
    if (role == "gpt") role = "assistant";
    if (role != "user" && role != "assistant" && role != "system")
      return problem = "turn with unknown role \"" + role + "\"", false;
    out.turns.push_back({role, content});
  }
  if (out.turns.empty()) return problem = "empty conversation", false;
  return true;
}

void read_llava_jsonl(const std::string& text, const std::string& path, const std::string& root,
                      DatasetReadResult& r) {
  std::istringstream in(text);
  std::string line;
  for (size_t n = 1; std::getline(in, line); ++n) {
    if (trim(line).empty()) continue;
    std::string origin = path + ":" + std::to_string(n), problem;
    json j;
    try {
      j = io::parse_json(line, origin);
    } catch (const Error&) {
      problem = "invalid JSON";
    }
    DatasetRecord record;
    if (problem.empty() && parse_conversation(j, origin, root, record, problem))
      r.records.push_back(std::move(record));
    else
      r.problems.push_back(origin + ": " + problem);
  }
}

void read_llava_json(const json& j, const std::string& path, const std::string& root,
                     DatasetReadResult& r) {
  if (!j.is_array()) throw Error(path + ": expected a JSON list of conversation records");
  for (size_t i = 0; i < j.size(); ++i) {
    std::string origin = path + "#" + std::to_string(i), problem;
    DatasetRecord record;
    if (parse_conversation(j[i], origin, root, record, problem))
      r.records.push_back(std::move(record));
    else
      r.problems.push_back(origin + ": " + problem);
  }
}

void read_karpathy(const json& j, const std::string& path, const std::string& root,
                   DatasetReadResult& r) {
  const json& images = j["images"];
  if (!images.is_array()) throw Error(path + ": \"images\" is not a list");
  for (size_t i = 0; i < images.size(); ++i) {
    const json& image = images[i];
    std::string origin = path + "#" + std::to_string(i);
    std::string file = image.is_object() ? string_field(image, "filename") : "";
    if (file.empty()) {
      r.problems.push_back(origin + ": no \"filename\"");
      continue;
    }
    DatasetRecord record;
    record.origin = origin;
    record.id = file;
    std::string folder = string_field(image, "filepath");  // COCO: "val2014/"
    record.image = resolve_image(folder.empty() ? file : folder + "/" + file, root);
    record.split = string_field(image, "split");
    if (image.contains("sentences") && image["sentences"].is_array())
      for (const auto& sentence : image["sentences"])
        if (sentence.is_object() && !trim(string_field(sentence, "raw")).empty())
          record.captions.push_back(trim(string_field(sentence, "raw")));
    if (record.captions.empty()) {
      r.problems.push_back(origin + ": no non-empty \"sentences[].raw\" caption");
      continue;
    }
    r.records.push_back(std::move(record));
  }
}

void read_tsv(const std::string& text, const std::string& path, const std::string& root,
              DatasetReadResult& r) {
  std::istringstream in(text);
  std::string line;
  std::map<std::string, size_t> first_line_of;  // image → index of its record
  for (size_t n = 1; std::getline(in, line); ++n) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (trim(line).empty()) continue;
    std::string origin = path + ":" + std::to_string(n);
    size_t tab = line.find('\t');
    if (tab == std::string::npos) {
      r.problems.push_back(origin + ": no TAB between image and text");
      continue;
    }
    std::string image = trim(line.substr(0, tab)), caption = trim(line.substr(tab + 1));
    if (image.empty() || caption.empty()) {
      r.problems.push_back(origin + (image.empty() ? ": empty image path" : ": empty text"));
      continue;
    }
    // Several lines for one image (Flickr-style, five captions each) make one record with
    // several captions, keyed image#k like Karpathy data, instead of colliding keys.
    auto seen = first_line_of.find(image);
    if (seen != first_line_of.end()) {
      r.records[seen->second].captions.push_back(caption);
      continue;
    }
    first_line_of[image] = r.records.size();
    DatasetRecord record;
    record.id = image;
    record.origin = origin;
    record.image = resolve_image(image, root);
    record.captions.push_back(caption);
    r.records.push_back(std::move(record));
  }
}

DatasetFormat detect_format(const std::string& path, const std::string& head) {
  if (ends_with(path, ".jsonl")) return DatasetFormat::llava_jsonl;
  if (ends_with(path, ".tsv") || ends_with(path, ".txt")) return DatasetFormat::tsv;
  std::string t = trim(head);
  if (!t.empty() && t[0] == '[') return DatasetFormat::llava_json;
  if (!t.empty() && t[0] == '{')
    return t.find("\"images\"") != std::string::npos ? DatasetFormat::karpathy
                                                     : DatasetFormat::llava_jsonl;
  return DatasetFormat::tsv;
}

}  // namespace

DatasetFormat parse_dataset_format(const std::string& name) {
  for (auto f : {DatasetFormat::detect, DatasetFormat::llava_json, DatasetFormat::llava_jsonl,
                 DatasetFormat::karpathy, DatasetFormat::tsv})
    if (name == dataset_format_name(f)) return f;
  throw Error("unknown dataset format \"" + name +
              "\" (use detect, llava-json, llava-jsonl, karpathy or tsv)");
}

const char* dataset_format_name(DatasetFormat format) {
  switch (format) {
    case DatasetFormat::detect:
      return "detect";
    case DatasetFormat::llava_json:
      return "llava-json";
    case DatasetFormat::llava_jsonl:
      return "llava-jsonl";
    case DatasetFormat::karpathy:
      return "karpathy";
    case DatasetFormat::tsv:
      return "tsv";
  }
  return "?";
}

DatasetReadResult parse_dataset(const std::string& text, const std::string& path,
                                const std::string& image_root, DatasetFormat format) {
  DatasetReadResult result;
  if (format == DatasetFormat::detect) format = detect_format(path, text.substr(0, 4096));
  result.format = format;
  switch (format) {
    case DatasetFormat::llava_jsonl:
      read_llava_jsonl(text, path, image_root, result);
      break;
    case DatasetFormat::tsv:
      read_tsv(text, path, image_root, result);
      break;
    case DatasetFormat::llava_json:
      read_llava_json(io::parse_json(text, path), path, image_root, result);
      break;
    case DatasetFormat::karpathy: {
      json j = io::parse_json(text, path);
      if (!j.is_object() || !j.contains("images"))
        throw Error(path + ": not a Karpathy caption file (no \"images\" list)");
      read_karpathy(j, path, image_root, result);
      break;
    }
    case DatasetFormat::detect:
      break;
  }
  return result;
}

DatasetReadResult read_dataset(const std::string& path, const std::string& image_root,
                               DatasetFormat format) {
  return parse_dataset(io::read_text_file(path), path, image_root, format);
}

std::string without_image_tokens(std::string text) {
  for (const std::string token : {"<image>", "<|image|>"}) {
    for (size_t at; (at = text.find(token)) != std::string::npos;) text.erase(at, token.size());
  }
  return trim(text);
}

std::vector<ImageTextPair> image_text_pairs(const DatasetRecord& record, TextChoice choice) {
  std::vector<ImageTextPair> pairs;
  if (record.image.empty()) return pairs;
  if (!record.captions.empty()) {
    for (size_t k = 0; k < record.captions.size(); ++k)
      pairs.push_back(
          {record.captions.size() == 1 ? record.id : record.id + "#" + std::to_string(k),
           record.image, record.captions[k], record.origin});
    return pairs;
  }
  std::string text;
  for (const auto& turn : record.turns) {
    bool wanted = choice == TextChoice::all_turns ||
                  (choice == TextChoice::assistant && turn.role == "assistant") ||
                  (choice == TextChoice::user && turn.role == "user");
    std::string content = without_image_tokens(turn.content);
    if (wanted && !content.empty()) text += (text.empty() ? "" : " ") + content;
  }
  if (!text.empty()) pairs.push_back({record.id, record.image, text, record.origin});
  return pairs;
}

}  // namespace lavender::data

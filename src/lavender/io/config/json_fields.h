// Typed, checked reads of fields from a Hugging Face style config.json object.
//
// Every problem becomes a lavender::Error whose message reads
//   "<source>: field '<dotted.path>': <problem>"
// so the CLI can print it as it is. Nothing here lets a nlohmann exception escape: types are
// checked before every conversion, since config files are untrusted (and fuzzed).
//
// Conventions shared by all config parsers:
//  - a missing key and a key whose value is null both mean "use the default", as a Python
//    config class does for keyword arguments that default to None;
//  - integers are JSON integers or floats with an exact integral value (1000.0), not 1.5;
//  - sizes are capped at kMaxSize so that the product of any two fits in int64_t.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace lavender::io::config {

// Largest size (channels, hidden size, vocabulary, ...) a config may declare.
inline constexpr int64_t kMaxSize = 2147483647;  // INT32_MAX
// Smallest special-token id a config may declare: -1 is transformers' "none" in older configs.
inline constexpr int64_t kMinTokenId = -1;

// Throws lavender::Error "<source>: field '<path>': <problem>".
[[noreturn]] void throw_field_error(const std::string& source, const std::string& path,
                                    const std::string& problem);

// A short, safe rendering of a JSON scalar for error messages (strings quoted, long text cut).
std::string describe_value(const nlohmann::json& value);

// Joins "a, b, c" for "(supported: ...)" messages.
std::string join_names(const std::vector<std::string>& names);

// Conversions of one JSON value, used for list elements as well as object fields.
int64_t to_integer(const nlohmann::json& value, const std::string& source, const std::string& path,
                   int64_t min, int64_t max);
double to_number(const nlohmann::json& value, const std::string& source, const std::string& path);

// A view of one JSON object inside a config file, remembering where it sits (for messages).
class Fields {
 public:
  // `object` must be a JSON object (else Error: the top level of `source` is not an object).
  // The referenced json must outlive this view.
  Fields(const nlohmann::json& object, std::string source);

  const std::string& source() const { return source_; }
  // "prefix.key", or just "key" at the top level.
  std::string path(const std::string& key) const;
  [[noreturn]] void fail(const std::string& key, const std::string& problem) const;

  // The value at `key`, or nullptr when the key is absent or null.
  const nlohmann::json* find(const std::string& key) const;
  bool has(const std::string& key) const { return find(key) != nullptr; }

  // A nested object; absent or null gives an empty object (all defaults).
  Fields child(const std::string& key) const;

  int64_t integer(const std::string& key, int64_t def, int64_t min, int64_t max) const;
  // An integer in [1, kMaxSize].
  int64_t positive(const std::string& key, int64_t def) const {
    return integer(key, def, 1, kMaxSize);
  }
  std::optional<int64_t> optional_integer(const std::string& key, std::optional<int64_t> def,
                                          int64_t min, int64_t max) const;
  // Like optional_integer, but an explicit null gives nullopt rather than `def`: for fields where
  // None means something other than the default (norm_num_groups: no GroupNorm; token ids: no
  // such token).
  std::optional<int64_t> nullable_integer(const std::string& key, std::optional<int64_t> def,
                                          int64_t min, int64_t max) const;
  // True when the key is present with the value null.
  bool is_null(const std::string& key) const;

  // A finite JSON number (integer or float).
  double number(const std::string& key, double def) const;
  // A finite number with lo <= value <= hi.
  double number_in(const std::string& key, double def, double lo, double hi) const;
  std::optional<double> optional_number(const std::string& key) const;

  bool boolean(const std::string& key, bool def) const;
  std::string string(const std::string& key, const std::string& def) const;

  // A string that must be one of `allowed`.
  std::string one_of(const std::string& key, const std::string& def,
                     const std::vector<std::string>& allowed) const;
  std::optional<std::string> optional_one_of(const std::string& key,
                                             const std::vector<std::string>& allowed) const;

  // A string mapped to an enum through `table` (name -> value).
  template <class E>
  E enumeration(const std::string& key, E def,
                std::initializer_list<std::pair<const char*, E>> table) const {
    const nlohmann::json* v = find(key);
    if (v == nullptr) return def;
    std::vector<std::string> names;
    for (const auto& entry : table) names.emplace_back(entry.first);
    const std::string name = one_of(key, "", names);
    for (const auto& entry : table) {
      if (name == entry.first) return entry.second;
    }
    return def;  // unreachable: one_of() accepted only names from the table
  }

  // A JSON array of integers, each in [min, max]; absent gives `def`.
  std::vector<int64_t> integers(const std::string& key, const std::vector<int64_t>& def,
                                int64_t min, int64_t max) const;
  // Either one integer (repeated `count` times) or an array of exactly `count` integers.
  // Absent gives `def` repeated. diffusers accepts both forms for many per-block settings.
  std::vector<int64_t> integer_per_block(const std::string& key, int64_t def, size_t count,
                                         int64_t min, int64_t max) const;
  // A JSON array of finite numbers; absent gives nullopt.
  std::optional<std::vector<double>> optional_numbers(const std::string& key) const;
  // A JSON array of strings; absent gives `def`.
  std::vector<std::string> strings(const std::string& key,
                                   const std::vector<std::string>& def) const;

 private:
  Fields(const nlohmann::json* object, std::string source, std::string prefix);
  const nlohmann::json& require_array(const std::string& key, const nlohmann::json& value) const;

  const nlohmann::json* object_;
  std::string source_;
  std::string prefix_;
};

// hidden_size / num_heads, failing at `heads_key` when it does not divide evenly (attention
// splits the hidden vector into equal heads).
int64_t divide_heads(const Fields& f, const std::string& heads_key, int64_t hidden_size,
                     int64_t num_heads);

// Activation names that transformers' ACT2FN maps and lavender implements.
const std::vector<std::string>& transformers_activations();

}  // namespace lavender::io::config

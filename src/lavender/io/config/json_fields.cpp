#include "lavender/io/config/json_fields.h"

#include <cmath>
#include <limits>

#include "lavender/util/error.h"

namespace lavender::io::config {
namespace {

using nlohmann::json;

const json& empty_object() {
  static const json kEmpty = json::object();
  return kEmpty;
}

// "an integer" / "a string" ... for "expected X, got Y" messages.
std::string got(const json& value) {
  return std::string("got ") + value.type_name();
}

}  // namespace

void throw_field_error(const std::string& source, const std::string& path,
                       const std::string& problem) {
  throw Error(source + ": field '" + path + "': " + problem);
}

std::string describe_value(const json& value) {
  // Only scalars are rendered; arrays and objects could be arbitrarily deep or large.
  if (value.is_structured()) return value.type_name();
  // `replace` keeps dump() from throwing on invalid UTF-8 (the parser rejects it anyway).
  std::string text = value.dump(-1, ' ', false, json::error_handler_t::replace);
  constexpr size_t kMaxLength = 64;
  if (text.size() > kMaxLength) text = text.substr(0, kMaxLength) + "...";
  return text;
}

std::string join_names(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& name : names) {
    if (!out.empty()) out += ", ";
    out += name;
  }
  return out;
}

int64_t to_integer(const json& value, const std::string& source, const std::string& path,
                   int64_t min, int64_t max) {
  // A float with an exact integral value (1000.0) is what Python writes for an int computed in
  // float arithmetic; transformers accepts it, so do we.
  if (value.is_number_float()) {
    const double d = value.get_ref<const json::number_float_t&>();
    if (std::isfinite(d) && d == std::floor(d) && d >= static_cast<double>(min) &&
        d <= static_cast<double>(max))
      return static_cast<int64_t>(d);
  }
  if (!value.is_number_integer()) {
    throw_field_error(source, path, "expected an integer, " + got(value));
  }
  bool in_range = false;
  int64_t result = 0;
  if (value.is_number_unsigned()) {
    // get_ref avoids any conversion; values above INT64_MAX are simply out of range.
    const uint64_t u = value.get_ref<const json::number_unsigned_t&>();
    if (u <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      result = static_cast<int64_t>(u);
      in_range = result >= min && result <= max;
    }
  } else {
    result = value.get_ref<const json::number_integer_t&>();
    in_range = result >= min && result <= max;
  }
  if (!in_range) {
    throw_field_error(source, path,
                      "value " + describe_value(value) + " out of range [" + std::to_string(min) +
                          ", " + std::to_string(max) + "]");
  }
  return result;
}

double to_number(const json& value, const std::string& source, const std::string& path) {
  double result = 0.0;
  if (value.is_number_float()) {
    result = value.get_ref<const json::number_float_t&>();
  } else if (value.is_number_unsigned()) {
    result = static_cast<double>(value.get_ref<const json::number_unsigned_t&>());
  } else if (value.is_number_integer()) {
    result = static_cast<double>(value.get_ref<const json::number_integer_t&>());
  } else {
    throw_field_error(source, path, "expected a number, " + got(value));
  }
  // The parser turns overflowing literals such as 1e999 into infinity.
  if (!std::isfinite(result)) throw_field_error(source, path, "number is not finite");
  return result;
}

Fields::Fields(const json& object, std::string source)
    : object_(&object), source_(std::move(source)) {
  if (!object.is_object()) {
    throw Error(source_ + ": expected a JSON object at the top level, got " + object.type_name());
  }
}

Fields::Fields(const json* object, std::string source, std::string prefix)
    : object_(object), source_(std::move(source)), prefix_(std::move(prefix)) {}

std::string Fields::path(const std::string& key) const {
  return prefix_.empty() ? key : prefix_ + "." + key;
}

void Fields::fail(const std::string& key, const std::string& problem) const {
  throw_field_error(source_, path(key), problem);
}

const json* Fields::find(const std::string& key) const {
  const auto it = object_->find(key);
  if (it == object_->end() || it->is_null()) return nullptr;
  return &*it;
}

Fields Fields::child(const std::string& key) const {
  const json* v = find(key);
  if (v == nullptr) return Fields(&empty_object(), source_, path(key));
  if (!v->is_object()) fail(key, "expected an object, " + got(*v));
  return Fields(v, source_, path(key));
}

int64_t Fields::integer(const std::string& key, int64_t def, int64_t min, int64_t max) const {
  const json* v = find(key);
  return v == nullptr ? def : to_integer(*v, source_, path(key), min, max);
}

std::optional<int64_t> Fields::optional_integer(const std::string& key, std::optional<int64_t> def,
                                                int64_t min, int64_t max) const {
  const json* v = find(key);
  if (v == nullptr) return def;
  return to_integer(*v, source_, path(key), min, max);
}

std::optional<int64_t> Fields::nullable_integer(const std::string& key, std::optional<int64_t> def,
                                                int64_t min, int64_t max) const {
  if (is_null(key)) return std::nullopt;
  return optional_integer(key, def, min, max);
}

bool Fields::is_null(const std::string& key) const {
  const auto it = object_->find(key);
  return it != object_->end() && it->is_null();
}

double Fields::number(const std::string& key, double def) const {
  const json* v = find(key);
  return v == nullptr ? def : to_number(*v, source_, path(key));
}

double Fields::number_in(const std::string& key, double def, double lo, double hi) const {
  const double value = number(key, def);
  if (value < lo || value > hi) {
    fail(key, "value " + describe_value(json(value)) + " out of range [" +
                  describe_value(json(lo)) + ", " + describe_value(json(hi)) + "]");
  }
  return value;
}

std::optional<double> Fields::optional_number(const std::string& key) const {
  const json* v = find(key);
  if (v == nullptr) return std::nullopt;
  return to_number(*v, source_, path(key));
}

bool Fields::boolean(const std::string& key, bool def) const {
  const json* v = find(key);
  if (v == nullptr) return def;
  if (!v->is_boolean()) fail(key, "expected a boolean, " + got(*v));
  return v->get_ref<const json::boolean_t&>();
}

std::string Fields::string(const std::string& key, const std::string& def) const {
  const json* v = find(key);
  if (v == nullptr) return def;
  if (!v->is_string()) fail(key, "expected a string, " + got(*v));
  return v->get_ref<const json::string_t&>();
}

std::string Fields::one_of(const std::string& key, const std::string& def,
                           const std::vector<std::string>& allowed) const {
  const json* v = find(key);
  if (v == nullptr) return def;
  const std::string value = string(key, def);
  for (const std::string& name : allowed) {
    if (name == value) return value;
  }
  fail(key,
       "unsupported value " + describe_value(*v) + " (supported: " + join_names(allowed) + ")");
}

std::optional<std::string> Fields::optional_one_of(const std::string& key,
                                                   const std::vector<std::string>& allowed) const {
  if (!has(key)) return std::nullopt;
  return one_of(key, "", allowed);
}

const json& Fields::require_array(const std::string& key, const json& value) const {
  if (!value.is_array()) fail(key, "expected an array, " + got(value));
  return value;
}

std::vector<int64_t> Fields::integers(const std::string& key, const std::vector<int64_t>& def,
                                      int64_t min, int64_t max) const {
  const json* v = find(key);
  if (v == nullptr) return def;
  std::vector<int64_t> out;
  size_t i = 0;
  for (const json& element : require_array(key, *v)) {
    out.push_back(
        to_integer(element, source_, path(key) + "[" + std::to_string(i++) + "]", min, max));
  }
  return out;
}

std::vector<int64_t> Fields::integer_per_block(const std::string& key, int64_t def, size_t count,
                                               int64_t min, int64_t max) const {
  const json* v = find(key);
  if (v == nullptr) return std::vector<int64_t>(count, def);
  if (!v->is_array())
    return std::vector<int64_t>(count, to_integer(*v, source_, path(key), min, max));
  std::vector<int64_t> out = integers(key, {}, min, max);
  if (out.size() != count) {
    fail(key, "expected one value per block (" + std::to_string(count) + "), got " +
                  std::to_string(out.size()));
  }
  return out;
}

std::optional<std::vector<double>> Fields::optional_numbers(const std::string& key) const {
  const json* v = find(key);
  if (v == nullptr) return std::nullopt;
  std::vector<double> out;
  size_t i = 0;
  for (const json& element : require_array(key, *v)) {
    out.push_back(to_number(element, source_, path(key) + "[" + std::to_string(i++) + "]"));
  }
  return out;
}

std::vector<std::string> Fields::strings(const std::string& key,
                                         const std::vector<std::string>& def) const {
  const json* v = find(key);
  if (v == nullptr) return def;
  std::vector<std::string> out;
  size_t i = 0;
  for (const json& element : require_array(key, *v)) {
    if (!element.is_string()) {
      throw_field_error(source_, path(key) + "[" + std::to_string(i) + "]",
                        "expected a string, " + got(element));
    }
    out.push_back(element.get_ref<const json::string_t&>());
    ++i;
  }
  return out;
}

int64_t divide_heads(const Fields& f, const std::string& heads_key, int64_t hidden_size,
                     int64_t num_heads) {
  if (num_heads <= 0 || hidden_size % num_heads != 0) {
    f.fail(heads_key, "hidden size " + std::to_string(hidden_size) + " is not divisible by " +
                          std::to_string(num_heads) + " heads");
  }
  return hidden_size / num_heads;
}

const std::vector<std::string>& transformers_activations() {
  // The subset of transformers' ACT2FN used by CLIP, Llama, LLaVA and Mllama checkpoints.
  static const std::vector<std::string> kNames = {
      "gelu", "gelu_new", "gelu_pytorch_tanh", "quick_gelu", "relu", "silu", "swish"};
  return kNames;
}

}  // namespace lavender::io::config

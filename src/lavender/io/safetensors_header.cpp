#include "lavender/io/safetensors_header.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>

#include "lavender/util/error.h"

namespace lavender::io {
namespace {

struct DtypeEntry {
  StDtype dtype;
  const char* name;
  size_t size;
};

constexpr DtypeEntry kDtypes[] = {
    {StDtype::F64, "F64", 8},         {StDtype::F32, "F32", 4},
    {StDtype::F16, "F16", 2},         {StDtype::BF16, "BF16", 2},
    {StDtype::I64, "I64", 8},         {StDtype::I32, "I32", 4},
    {StDtype::I16, "I16", 2},         {StDtype::I8, "I8", 1},
    {StDtype::U8, "U8", 1},           {StDtype::BOOL, "BOOL", 1},
    {StDtype::U16, "U16", 2},         {StDtype::U32, "U32", 4},
    {StDtype::U64, "U64", 8},         {StDtype::F8_E4M3, "F8_E4M3", 1},
    {StDtype::F8_E5M2, "F8_E5M2", 1}, {StDtype::F8_E8M0, "F8_E8M0", 1},
};

const DtypeEntry& entry(StDtype dtype) {
  for (const auto& e : kDtypes)
    if (e.dtype == dtype) return e;
  throw Error("internal: unknown safetensors dtype");
}

std::string tensor_error(const std::string& source, const std::string& name,
                         const std::string& problem) {
  return source + ": tensor '" + name + "': " + problem;
}

// Reads a JSON array of non-negative integers that fit in int64 (shapes and offsets).
std::vector<uint64_t> read_uint_array(const nlohmann::json& value, const std::string& source,
                                      const std::string& name, const char* field) {
  if (!value.is_array())
    throw Error(tensor_error(source, name, std::string("'") + field + "' is not an array"));
  std::vector<uint64_t> out;
  out.reserve(value.size());
  for (const auto& v : value) {
    if (!v.is_number_unsigned() && !(v.is_number_integer() && v.get<int64_t>() >= 0))
      throw Error(tensor_error(
          source, name,
          std::string("'") + field + "' holds " + v.dump() + ", not a non-negative integer"));
    uint64_t u = v.get<uint64_t>();
    if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
      throw Error(tensor_error(source, name, std::string("'") + field + "' value too large"));
    out.push_back(u);
  }
  return out;
}

std::string shape_string(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

StTensorInfo parse_entry(const std::string& name, const nlohmann::json& value,
                         const std::string& source) {
  if (!value.is_object()) throw Error(tensor_error(source, name, "entry is not a JSON object"));
  StTensorInfo info;
  info.name = name;

  auto dtype_it = value.find("dtype");
  if (dtype_it == value.end() || !dtype_it->is_string())
    throw Error(tensor_error(source, name, "missing or non-string 'dtype'"));
  auto dtype = dtype_from_name(dtype_it->get<std::string>());
  if (!dtype)
    throw Error(
        tensor_error(source, name, "unknown dtype \"" + dtype_it->get<std::string>() + "\""));
  info.dtype = *dtype;

  auto shape_it = value.find("shape");
  if (shape_it == value.end()) throw Error(tensor_error(source, name, "missing 'shape'"));
  for (uint64_t d : read_uint_array(*shape_it, source, name, "shape"))
    info.shape.push_back(static_cast<int64_t>(d));

  auto offsets_it = value.find("data_offsets");
  if (offsets_it == value.end()) throw Error(tensor_error(source, name, "missing 'data_offsets'"));
  auto offsets = read_uint_array(*offsets_it, source, name, "data_offsets");
  if (offsets.size() != 2)
    throw Error(tensor_error(source, name, "'data_offsets' must hold exactly [begin, end]"));
  info.begin = offsets[0];
  info.end = offsets[1];
  if (info.begin > info.end)
    throw Error(tensor_error(
        source, name,
        "data_offsets begin " + std::to_string(info.begin) + " > end " + std::to_string(info.end)));

  // shape × dtype size must equal the byte range; overflow means it cannot.
  uint64_t bytes = dtype_size(info.dtype);
  for (int64_t d : info.shape) {
    if (d != 0 && bytes > std::numeric_limits<uint64_t>::max() / static_cast<uint64_t>(d))
      throw Error(tensor_error(source, name, "shape " + shape_string(info.shape) + " overflows"));
    bytes *= static_cast<uint64_t>(d);
  }
  if (bytes != info.nbytes())
    throw Error(tensor_error(source, name,
                             "byte range holds " + std::to_string(info.nbytes()) +
                                 " bytes but shape " + shape_string(info.shape) + " of " +
                                 dtype_name(info.dtype) + " needs " + std::to_string(bytes)));
  return info;
}

std::map<std::string, std::string> parse_metadata(const nlohmann::json& value,
                                                  const std::string& source) {
  if (!value.is_object()) throw Error(source + ": '__metadata__' is not a JSON object");
  std::map<std::string, std::string> out;
  for (auto it = value.begin(); it != value.end(); ++it) {
    if (!it.value().is_string())
      throw Error(source + ": '__metadata__' entry '" + it.key() + "' is not a string");
    out[it.key()] = it.value().get<std::string>();
  }
  return out;
}

// The data buffer must be tiled exactly by the tensors: no overlap, no gap, nothing left over.
void check_coverage(const std::vector<StTensorInfo>& tensors, uint64_t data_size,
                    const std::string& source) {
  std::vector<const StTensorInfo*> order;
  for (const auto& t : tensors) {
    if (t.end > data_size)
      throw Error(tensor_error(source, t.name,
                               "data_offsets [" + std::to_string(t.begin) + ", " +
                                   std::to_string(t.end) + "] run past the data buffer (" +
                                   std::to_string(data_size) + " bytes)"));
    order.push_back(&t);
  }
  std::sort(order.begin(), order.end(), [](const StTensorInfo* a, const StTensorInfo* b) {
    return a->begin != b->begin ? a->begin < b->begin : a->end < b->end;
  });
  uint64_t covered = 0;
  const StTensorInfo* previous = nullptr;
  for (const StTensorInfo* t : order) {
    if (t->begin < covered)
      throw Error(source + ": tensors '" + previous->name + "' and '" + t->name +
                  "' overlap in the data buffer");
    if (t->begin > covered)
      throw Error(source + ": bytes " + std::to_string(covered) + ".." + std::to_string(t->begin) +
                  " of the data buffer belong to no tensor (before '" + t->name + "')");
    covered = t->end;
    if (t->nbytes() > 0) previous = t;
  }
  if (covered != data_size)
    throw Error(source + ": " + std::to_string(data_size - covered) +
                " trailing bytes of the data buffer belong to no tensor");
}

}  // namespace

const char* dtype_name(StDtype dtype) {
  return entry(dtype).name;
}
size_t dtype_size(StDtype dtype) {
  return entry(dtype).size;
}

std::optional<StDtype> dtype_from_name(const std::string& name) {
  for (const auto& e : kDtypes)
    if (name == e.name) return e.dtype;
  return std::nullopt;
}

uint64_t StTensorInfo::numel() const {
  uint64_t n = 1;
  for (int64_t d : shape) n *= static_cast<uint64_t>(d);
  return n;
}

const StTensorInfo* StHeader::find(const std::string& name) const {
  auto it =
      std::lower_bound(tensors.begin(), tensors.end(), name,
                       [](const StTensorInfo& t, const std::string& n) { return t.name < n; });
  return it != tensors.end() && it->name == name ? &*it : nullptr;
}

StHeader parse_safetensors_header(const uint8_t* bytes, size_t size, const std::string& source) {
  if (size < 8)
    throw Error(source + ": file is " + std::to_string(size) +
                " bytes, too short for a safetensors header");
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | bytes[i];  // little-endian
  if (header_len > kMaxHeaderBytes)
    throw Error(source + ": header length " + std::to_string(header_len) +
                " exceeds the 100 MB limit (not a safetensors file, or corrupt)");
  if (header_len > size - 8)
    throw Error(source + ": header length " + std::to_string(header_len) +
                " runs past the end of the file (" + std::to_string(size) + " bytes; truncated?)");
  if (header_len == 0 || bytes[8] != '{')
    throw Error(source + ": header does not start with '{' (not a safetensors file)");

  // nlohmann keeps the last of repeated keys silently; the callback sees every top-level key.
  std::set<std::string> seen;
  std::string duplicate;
  auto on_event = [&](int depth, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
    if (depth == 1 && event == nlohmann::json::parse_event_t::key && duplicate.empty() &&
        !seen.insert(parsed.get<std::string>()).second)
      duplicate = parsed.get<std::string>();
    return true;
  };
  const char* text = reinterpret_cast<const char*>(bytes + 8);
  nlohmann::json root;
  try {
    root = nlohmann::json::parse(text, text + header_len, on_event);
  } catch (const nlohmann::json::exception& e) {
    throw Error(source + ": header is not valid JSON: " + e.what());
  }
  if (!duplicate.empty()) throw Error(source + ": tensor name '" + duplicate + "' appears twice");
  if (!root.is_object()) throw Error(source + ": header is not a JSON object");

  StHeader header;
  header.data_offset = 8 + header_len;
  header.data_size = size - header.data_offset;
  for (auto it = root.begin(); it != root.end(); ++it) {
    if (it.key() == "__metadata__")
      header.metadata = parse_metadata(it.value(), source);
    else
      header.tensors.push_back(parse_entry(it.key(), it.value(), source));
  }
  std::sort(header.tensors.begin(), header.tensors.end(),
            [](const StTensorInfo& a, const StTensorInfo& b) { return a.name < b.name; });
  check_coverage(header.tensors, header.data_size, source);
  return header;
}

std::string make_safetensors_header(const std::vector<StTensorInfo>& tensors,
                                    const std::map<std::string, std::string>& metadata) {
  nlohmann::json root = nlohmann::json::object();
  if (!metadata.empty()) root["__metadata__"] = metadata;
  for (const auto& t : tensors) {
    if (t.name == "__metadata__") throw Error("safetensors: '__metadata__' is not a tensor name");
    if (root.contains(t.name)) throw Error("safetensors: tensor name '" + t.name + "' repeats");
    root[t.name] = {
        {"dtype", dtype_name(t.dtype)}, {"shape", t.shape}, {"data_offsets", {t.begin, t.end}}};
  }
  std::string text = root.dump();
  while ((8 + text.size()) % 8 != 0) text.push_back(' ');
  return text;
}

}  // namespace lavender::io

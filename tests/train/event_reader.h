// A small TensorBoard event-file reader for tests, written independently of the writer: a
// bitwise CRC32C, TFRecord framing checks and a generic protobuf field splitter.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <vector>

namespace lavender::test::events {

inline uint32_t slow_crc32c(const std::string& bytes) {
  uint32_t crc = 0xFFFFFFFFu;
  for (unsigned char b : bytes) {
    crc ^= b;
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0x82F63B78u & (0u - (crc & 1u)));
  }
  return crc ^ 0xFFFFFFFFu;
}

inline uint32_t slow_mask(uint32_t crc) {
  return ((crc >> 15) | (crc << 17)) + 0xA282EAD8u;
}

inline uint64_t read_le(const std::string& s, size_t at, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i)
    v |= uint64_t{static_cast<unsigned char>(s.at(at + i))} << (8 * i);
  return v;
}

inline uint64_t read_varint(const std::string& s, size_t& at) {
  uint64_t v = 0;
  for (int shift = 0;; shift += 7) {
    const auto b = static_cast<unsigned char>(s.at(at++));
    v |= uint64_t{b & 0x7Fu} << shift;
    if (!(b & 0x80)) return v;
  }
}

// Field number → raw values (varints and fixed values as integers, bytes as strings).
struct Fields {
  std::multimap<uint32_t, uint64_t> ints;
  std::multimap<uint32_t, std::string> bytes;
  std::map<uint32_t, int> wire;
};

inline Fields parse(const std::string& msg) {
  Fields f;
  size_t at = 0;
  while (at < msg.size()) {
    const uint64_t key = read_varint(msg, at);
    const auto field = static_cast<uint32_t>(key >> 3);
    const int type = static_cast<int>(key & 7);
    f.wire[field] = type;
    if (type == 0) {
      f.ints.emplace(field, read_varint(msg, at));
    } else if (type == 1 || type == 5) {
      const int n = type == 1 ? 8 : 4;
      f.ints.emplace(field, read_le(msg, at, n));
      at += n;
    } else if (type == 2) {
      const uint64_t n = read_varint(msg, at);
      f.bytes.emplace(field, msg.substr(at, n));
      at += n;
    } else {
      ADD_FAILURE() << "unexpected wire type " << type;
      break;
    }
  }
  EXPECT_EQ(at, msg.size());
  return f;
}

inline double as_double(uint64_t bits) {
  double d;
  std::memcpy(&d, &bits, 8);
  return d;
}
inline float as_float(uint64_t bits) {
  const auto b = static_cast<uint32_t>(bits);
  float v;
  std::memcpy(&v, &b, 4);
  return v;
}

inline std::vector<std::string> read_records(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  const std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::string> records;
  size_t at = 0;
  while (at < data.size()) {
    const uint64_t len = read_le(data, at, 8);
    EXPECT_EQ(read_le(data, at + 8, 4), slow_mask(slow_crc32c(data.substr(at, 8))));
    std::string ev = data.substr(at + 12, len);
    EXPECT_EQ(read_le(data, at + 12 + len, 4), slow_mask(slow_crc32c(ev)));
    records.push_back(std::move(ev));
    at += 12 + len + 4;
  }
  EXPECT_EQ(at, data.size());
  return records;
}

inline std::vector<std::string> event_files(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(dir)) out.push_back(e.path().string());
  return out;
}

}  // namespace lavender::test::events

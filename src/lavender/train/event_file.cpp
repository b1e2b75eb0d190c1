#include "lavender/train/event_file.h"

#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <filesystem>

#include "lavender/util/error.h"

namespace lavender::train {
namespace {

// Byte-at-a-time table for the reflected Castagnoli polynomial.
std::array<uint32_t, 256> make_crc32c_table() {
  std::array<uint32_t, 256> table{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
    table[i] = c;
  }
  return table;
}

// --- protobuf wire format, just what Event/Summary need -------------------------------------

enum WireType : uint32_t { kVarint = 0, kFixed64 = 1, kLengthDelimited = 2, kFixed32 = 5 };

void put_varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7F) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

void put_key(std::string& out, uint32_t field, WireType type) {
  put_varint(out, (uint64_t{field} << 3) | type);
}

void put_le(std::string& out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}

// int32/int64/enum fields: negative values are sign-extended to ten bytes, as protobuf does.
void put_int(std::string& out, uint32_t field, int64_t v) {
  put_key(out, field, kVarint);
  put_varint(out, static_cast<uint64_t>(v));
}

void put_bytes(std::string& out, uint32_t field, const std::string& bytes) {
  put_key(out, field, kLengthDelimited);
  put_varint(out, bytes.size());
  out += bytes;
}

void put_float(std::string& out, uint32_t field, float v) {
  uint32_t bits;
  std::memcpy(&bits, &v, sizeof bits);
  put_key(out, field, kFixed32);
  put_le(out, bits, 4);
}

void put_double(std::string& out, uint32_t field, double v) {
  uint64_t bits;
  std::memcpy(&bits, &v, sizeof bits);
  put_key(out, field, kFixed64);
  put_le(out, bits, 8);
}

// Field numbers of tensorflow/core/util/event.proto and framework/summary.proto.
namespace event {
constexpr uint32_t kWallTime = 1, kStep = 2, kFileVersion = 3, kSummary = 5, kSessionLog = 7;
}
namespace summary {
constexpr uint32_t kValue = 1;
constexpr uint32_t kTag = 1, kSimpleValue = 2, kImage = 4;                  // Summary.Value
constexpr uint32_t kHeight = 1, kWidth = 2, kColorspace = 3, kEncoded = 4;  // Summary.Image
constexpr int kGrey = 1, kRgb = 3;
}  // namespace summary
namespace session_log {
constexpr uint32_t kStatus = 1;
constexpr int kStart = 1;
}  // namespace session_log

std::string summary_with(const std::string& value) {
  std::string s;
  put_bytes(s, summary::kValue, value);
  std::string payload;
  put_bytes(payload, event::kSummary, s);
  return payload;
}

std::string host_name() {
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) != 0 || name[0] == '\0') return "localhost";
  return name;
}

}  // namespace

uint32_t crc32c(const void* data, size_t size, uint32_t crc) {
  static const std::array<uint32_t, 256> table = make_crc32c_table();
  const auto* p = static_cast<const uint8_t*>(data);
  crc = ~crc;
  for (size_t i = 0; i < size; ++i) crc = table[(crc ^ p[i]) & 0xFF] ^ (crc >> 8);
  return ~crc;
}

uint32_t masked_crc32c(const void* data, size_t size) {
  const uint32_t crc = crc32c(data, size);
  return ((crc >> 15) | (crc << 17)) + 0xA282EAD8u;
}

EventFileWriter::EventFileWriter(const std::string& log_dir) {
  std::error_code ec;
  std::filesystem::create_directories(log_dir, ec);
  if (ec) throw Error(log_dir + ": cannot create the log directory: " + ec.message());
  // TensorBoard's own name; a second writer in the same second (a quick restart) gets a
  // numbered suffix instead of truncating the first one's file ("x" = fail if it exists).
  const std::string base = log_dir + "/events.out.tfevents." +
                           std::to_string(static_cast<long long>(std::time(nullptr))) + "." +
                           host_name();
  for (int attempt = 0; !file_ && attempt < 100; ++attempt) {
    path_ = attempt == 0 ? base : base + "." + std::to_string(attempt);
    file_ = std::fopen(path_.c_str(), "wbx");
    if (!file_ && errno != EEXIST)
      throw Error(path_ + ": cannot create the event file: " + std::strerror(errno));
  }
  if (!file_) throw Error(base + ": cannot create the event file: 100 names taken");
  std::string payload;
  put_bytes(payload, event::kFileVersion, "brain.Event:2");
  write_event(0, payload);
}

EventFileWriter::~EventFileWriter() {
  if (file_) std::fclose(file_);
}

void EventFileWriter::write_event(int64_t step, const std::string& payload) {
  const double wall_time =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  std::string ev;
  put_double(ev, event::kWallTime, wall_time);
  put_int(ev, event::kStep, step);
  ev += payload;

  std::string record;
  put_le(record, ev.size(), 8);
  put_le(record, masked_crc32c(record.data(), 8), 4);
  record += ev;
  put_le(record, masked_crc32c(ev.data(), ev.size()), 4);
  // One fwrite then fflush: the record reaches the OS whole or (if killed inside) torn at the
  // end, never interleaved with a later one.
  if (std::fwrite(record.data(), 1, record.size(), file_) != record.size() ||
      std::fflush(file_) != 0)
    throw Error(path_ + ": write failed: " + std::strerror(errno));
}

void EventFileWriter::add_scalar(const std::string& tag, float value, int64_t step) {
  std::string v;
  put_bytes(v, summary::kTag, tag);
  // Written even when 0: simple_value sits in a oneof, and an absent one is no scalar at all.
  put_float(v, summary::kSimpleValue, value);
  write_event(step, summary_with(v));
}

void EventFileWriter::add_image(const std::string& tag, const io::Image& image, int64_t step) {
  if (image.width <= 0 || image.height <= 0 || (image.channels != 3 && image.channels != 1))
    throw Error(path_ + ": image \"" + tag + "\" is empty or not RGB/grey");
  std::string img;
  put_int(img, summary::kHeight, image.height);
  put_int(img, summary::kWidth, image.width);
  put_int(img, summary::kColorspace, image.channels == 3 ? summary::kRgb : summary::kGrey);
  put_bytes(img, summary::kEncoded, io::encode_png(image));
  std::string v;
  put_bytes(v, summary::kTag, tag);
  put_bytes(v, summary::kImage, img);
  write_event(step, summary_with(v));
}

void EventFileWriter::add_session_start(int64_t step) {
  std::string log;
  put_int(log, session_log::kStatus, session_log::kStart);
  std::string payload;
  put_bytes(payload, event::kSessionLog, log);
  write_event(step, payload);
}

void EventFileWriter::flush() {
  if (std::fflush(file_) != 0 || ::fsync(::fileno(file_)) != 0)
    throw Error(path_ + ": flush failed: " + std::strerror(errno));
}

}  // namespace lavender::train

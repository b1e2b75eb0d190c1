// TensorBoard event files written by hand, without a protobuf library: the trainer's scalars
// (losses, λ, learning rate, ...) and figures go to `events.out.tfevents.<unix seconds>.<host>`
// in a log directory, which `tensorboard --logdir` and its event_processing readers load.
//
// The file is a TFRecord stream: per record a uint64 LE length, the masked CRC32C of those eight
// bytes, the serialized tensorflow.Event, and the masked CRC32C of the event bytes. The Event
// carries wall_time (1), step (2) and one of file_version (3, the first record), summary (5) or
// session_log (7); Summary.Value has tag (1) and simple_value (2) or image (4).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>

#include "lavender/io/image.h"

namespace lavender::train {

// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78) of `size` bytes, continuing from `crc`
// (0 to start): crc32c("123456789") == 0xE3069283.
uint32_t crc32c(const void* data, size_t size, uint32_t crc = 0);
// The CRC as TFRecord stores it: rotated right by 15 bits plus a constant, because a CRC of data
// that itself embeds CRCs is weak.
uint32_t masked_crc32c(const void* data, size_t size);

class EventFileWriter {
 public:
  // Creates `log_dir` (and parents) and a new event file in it; the file starts with the
  // "brain.Event:2" version record. Throws lavender::Error naming the path on failure.
  explicit EventFileWriter(const std::string& log_dir);
  ~EventFileWriter();
  EventFileWriter(const EventFileWriter&) = delete;
  EventFileWriter& operator=(const EventFileWriter&) = delete;

  // Each record is handed to the OS as it is added, so a run killed mid-training keeps every
  // value logged before the kill (at most a torn last record, which readers skip).
  void add_scalar(const std::string& tag, float value, int64_t step);
  // An RGB (or grey) image, stored as PNG.
  void add_image(const std::string& tag, const io::Image& image, int64_t step);
  // Marks a (re)start at `step`: TensorBoard's loader then drops the events of an earlier run in
  // this directory with step >= `step`, so a resumed run's curves do not double back.
  void add_session_start(int64_t step);
  // Flushes and fsyncs (a checkpoint calls this so the log is on disk with the weights).
  void flush();

  const std::string& path() const { return path_; }

 private:
  void write_event(int64_t step, const std::string& payload);

  std::string path_;
  std::FILE* file_ = nullptr;
};

}  // namespace lavender::train

// The trainer's view of a dataset: one sample per (image, conversation) or (image, caption),
// each keyed as the teacher keyed its maps (data::image_text_pairs), and the order samples are
// drawn in.
//
// The order is a pure function of (seed, epoch): the samples of epoch e are a permutation seeded
// by seed + e. A step draws the next `global batch` entries of the endless stream epoch 0, 1, ...,
// so the data position of a run is its step count and a resumed run draws exactly what the
// uninterrupted one would have. With several processes rank r takes every world-th entry.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "lavender/data/dataset.h"
#include "lavender/text/chat_template.h"

namespace lavender::train {

// The prompt the authors used to turn captions into instructions.
inline constexpr const char* kCaptionPrompt =
    "Describe the image in a single sentence as a caption.";

struct TrainingSample {
  std::string key;  // the teacher's key for the text of this sample
  std::string image;
  std::vector<text::ChatMessage> messages;  // the image sits before the first user message
  std::string origin;                       // file:line, for messages
};

struct TrainingSet {
  std::vector<TrainingSample> samples;
  std::vector<std::string> problems;  // "origin: reason" per record that gives no sample
};

// Conversation records become one sample (turns with the image placeholders removed; a record
// whose conversation has no assistant reply, or no image, is a problem); caption records one
// sample per caption as a user prompt `caption_prompt` and the caption as the reply.
TrainingSet training_samples(const data::DatasetReadResult& dataset,
                             const std::string& caption_prompt = kCaptionPrompt);

// Sample indices of epoch `epoch` in the order they are drawn.
std::vector<size_t> epoch_order(size_t samples, uint64_t seed, int64_t epoch, bool shuffle = true);

// The sample at position `position` of the endless stream (epoch = position / samples).
size_t sample_at(size_t samples, uint64_t seed, int64_t position, bool shuffle = true);

}  // namespace lavender::train

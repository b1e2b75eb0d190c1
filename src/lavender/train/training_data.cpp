#include "lavender/train/training_data.h"

#include <numeric>
#include <random>

namespace lavender::train {
namespace {

// Conversation turns as chat messages; the one image goes before the first user message.
bool conversation_messages(const data::DatasetRecord& record,
                           std::vector<text::ChatMessage>& messages, std::string& problem) {
  bool image_placed = false, has_reply = false;
  for (const auto& turn : record.turns) {
    text::ChatMessage m{turn.role, data::without_image_tokens(turn.content), 0};
    if (m.role == "user" && !image_placed) m.images = 1, image_placed = true;
    if (m.role == "assistant" && !m.text.empty()) has_reply = true;
    messages.push_back(std::move(m));
  }
  if (!image_placed)
    problem = "the conversation has no user turn to show the image with";
  else if (!has_reply)
    problem = "the conversation has no assistant reply to learn";
  return problem.empty();
}

}  // namespace

TrainingSet training_samples(const data::DatasetReadResult& dataset,
                             const std::string& caption_prompt) {
  TrainingSet out;
  for (const auto& record : dataset.records) {
    if (record.image.empty()) {
      out.problems.push_back(record.origin + ": no image");
      continue;
    }
    if (!record.captions.empty()) {
      for (const auto& pair : data::image_text_pairs(record, data::TextChoice::caption))
        out.samples.push_back({pair.key,
                               pair.image,
                               {{"user", caption_prompt, 1}, {"assistant", pair.text, 0}},
                               pair.origin});
      continue;
    }
    TrainingSample sample{record.id, record.image, {}, record.origin};
    std::string problem;
    if (conversation_messages(record, sample.messages, problem))
      out.samples.push_back(std::move(sample));
    else
      out.problems.push_back(record.origin + ": " + problem);
  }
  return out;
}

std::vector<size_t> epoch_order(size_t samples, uint64_t seed, int64_t epoch, bool shuffle) {
  std::vector<size_t> order(samples);
  std::iota(order.begin(), order.end(), size_t{0});
  if (!shuffle) return order;
  // Fisher–Yates with our own draws: std::shuffle's algorithm differs between standard libraries.
  std::mt19937_64 rng(seed + static_cast<uint64_t>(epoch) * 0x9E3779B97F4A7C15ull);
  for (size_t i = samples; i > 1; --i) std::swap(order[i - 1], order[rng() % i]);
  return order;
}

size_t sample_at(size_t samples, uint64_t seed, int64_t position, bool shuffle) {
  const int64_t n = static_cast<int64_t>(samples);
  return epoch_order(samples, seed, position / n, shuffle)[static_cast<size_t>(position % n)];
}

}  // namespace lavender::train

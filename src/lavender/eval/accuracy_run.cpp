#include "lavender/eval/accuracy_run.h"

#include <torch/torch.h>

#include <limits>
#include <map>
#include <set>

#include "lavender/eval/answer_normalize.h"
#include "lavender/eval/predictions.h"
#include "lavender/io/image.h"
#include "lavender/util/error.h"
#include "lavender/vlm/chat_model.h"

namespace lavender::eval {
namespace {

Prediction answer(vlm::ChatModel& model, const BenchmarkItem& item, const io::Image& image,
                  const AccuracyOptions& options) {
  Prediction p;
  p.id = item.id;
  p.answer = item.answer;
  p.type = item.type;
  if (options.answer_loss) {
    const vlm::ChatModel::ReplyScore s = model.reply_score(image, item.question, item.answer);
    p.answer_nll = -s.log_likelihood;
    p.answer_tokens = s.tokens;
  }
  if (options.likelihood && !item.choices.empty()) {
    size_t best = 0;
    double best_ll = -std::numeric_limits<double>::infinity();
    for (size_t i = 0; i < item.choices.size(); ++i) {
      const double ll = model.reply_log_likelihood(image, item.question, item.choices[i]);
      if (ll > best_ll) best_ll = ll, best = i;
    }
    p.prediction = p.choice = item.choices[best];
    p.correct = answers_match(p.choice, item.answer);
    return p;
  }
  vlm::GenerationOptions g;
  g.max_new_tokens = options.max_new_tokens;
  p.prediction = model.generate(image, item.question, g).text;
  if (item.choices.empty()) {
    p.correct = answers_match(p.prediction, item.answer);
  } else {
    const int i = match_choice(p.prediction, item.choices);
    if (i >= 0) p.choice = item.choices[static_cast<size_t>(i)];
    p.correct = i >= 0 && answers_match(p.choice, item.answer);
  }
  return p;
}

}  // namespace

AccuracyRun run_accuracy(vlm::ChatModel& model, const std::vector<BenchmarkItem>& items,
                         const std::string& predictions_path, const AccuracyOptions& options,
                         const std::function<void()>& on_item) {
  torch::NoGradGuard no_grad;
  AccuracyRun run;
  PredictionsWriter writer(predictions_path);
  for (const auto& bad : writer.existing().problems) run.problems.push_back(bad);
  std::set<std::string> has_loss;
  for (const auto& row : writer.existing().rows)
    if (row.answer_tokens > 0) has_loss.insert(row.id);
  for (const auto& item : items) {
    // A row written without the answer loss is answered again when the loss is asked for.
    if (writer.contains(item.id) && (!options.answer_loss || has_loss.count(item.id))) {
      ++run.resumed;
    } else {
      try {
        const io::Image image = io::read_image(item.image);
        writer.append(answer(model, item, image, options));
        ++run.answered;
      } catch (const Error& e) {
        run.problems.push_back(item.origin + ": " + e.what());
      }
    }
    if (on_item) on_item();
  }
  // The table covers this benchmark's items only (the last row for an id wins).
  std::map<std::string, Prediction> by_id;
  for (const auto& row : read_predictions(predictions_path).rows) by_id[row.id] = row;
  for (const auto& item : items) {
    auto it = by_id.find(item.id);
    if (it == by_id.end()) continue;
    run.table.add(item.type.empty() ? untyped_label() : item.type, it->second.correct);
    if (it->second.answer_tokens > 0) {
      run.answer_loss.nll += it->second.answer_nll;
      run.answer_loss.tokens += it->second.answer_tokens;
      ++run.answer_loss.items;
    }
  }
  return run;
}

}  // namespace lavender::eval

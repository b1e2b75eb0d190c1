// What every from-scratch VLM folder must do before the shapes world may train it: answer through
// its chat model, and take three Lavender steps through the given reading of its image tokens,
// saving a folder that loads again.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "lavender/train/trainer.h"
#include "lavender/vlm/chat_model.h"
#include "train/tiny_training_run.h"

namespace lavender::test {

// `run.model` is the scratch folder; the trained model lands in `out`/model.
inline void expect_answers_and_trains(const TinyTrainingRun& run, const std::string& out,
                                      const std::string& latent_maps) {
  auto chat = vlm::ChatModel::load(run.model);
  vlm::GenerationOptions g;
  g.max_new_tokens = 3;
  const vlm::ChatReply reply = chat->generate(two_colour_image(), "Colours?", g);
  EXPECT_LE(reply.reply_ids.size(), 3u);

  train::TrainOptions t = six_step_run_options(run, out);
  t.max_steps = 3;
  t.latent_maps = latent_maps;
  t.lambda.lambda = 1.0;
  const train::TrainSummary s = train::Trainer(t).run();
  ASSERT_EQ(s.history.size(), 3u);
  EXPECT_GT(s.history.back().words, 0);
  EXPECT_TRUE(std::isfinite(s.history.back().attention));
  EXPECT_GT(s.history.back().attention, 0);
}

}  // namespace lavender::test

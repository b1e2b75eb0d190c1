// Lavender on OpenFlamingo at fixture scale: the gated cross-attention layers' attention to the
// Perceiver's latents is aligned with the teacher's maps, in both readings of the latents, and
// the trained model is saved as a folder that loads again.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <filesystem>

#include "lavender/io/map_store.h"
#include "lavender/train/student.h"
#include "lavender/train/trainer.h"
#include "lavender/util/error.h"
#include "lavender/vlm/open_flamingo.h"
#include "lavender/vlm/parameter_count.h"
#include "train/tiny_training_run.h"

namespace lavender::train {
namespace {

std::map<std::string, at::Tensor> flamingo_parameters(const std::string& folder) {
  return test::cloned_parameters(*vlm::load_open_flamingo(folder));
}

TEST(OpenFlamingoTraining, PreparedExamplesLabelTheReplyAndMatchItsWords) {
  test::TempDir dir;
  auto run = test::write_tiny_training_run(dir.path(), 2, "openflamingo", false);
  auto student = Student::load(run.model, at::kFloat, at::kCPU);
  const io::MapStoreReader store = io::MapStoreReader::open(run.maps);
  TrainingSample sample{
      "s0",
      run.images + "/two.png",
      {{"user", "Where are the colours?", 1}, {"assistant", "red left, blue right", 0}},
      "test:1"};
  ExampleOptions options;
  options.map_size = 16;
  PreparedExample ex = student->prepare(sample, &store, options);
  ASSERT_FALSE(ex.ids.empty());
  EXPECT_EQ(ex.ids.front(), 101);  // <image> first
  EXPECT_EQ(ex.ids.back(), 100);   // the reply ends its chunk
  EXPECT_EQ(ex.labels.back(), 100);
  const std::string reply = "red left, blue right";
  int64_t labelled = 0;
  for (int64_t l : ex.labels) labelled += l != text::kIgnoreLabel;
  EXPECT_EQ(labelled, static_cast<int64_t>(reply.size()) + 1);  // one byte a token, then EOC
  EXPECT_EQ(ex.matches.size(), 4u);
  ASSERT_EQ(ex.image_inputs.size(), 1u);
  EXPECT_EQ(ex.image_inputs[0].sizes(), (std::vector<int64_t>{3, 28, 28}));
  EXPECT_EQ(student->default_align_layers(), (std::vector<int64_t>{0, 1}));
  EXPECT_EQ(student->heads(), 2);
  EXPECT_EQ(student->vision_encoder_prefix(), "vision_encoder.");

  // One forward: the text loss and [B, L, H, W, S, S] maps with gradients to the gated layers
  // (and, composed, to the Perceiver).
  for (auto maps : {align::LatentMaps::composed, align::LatentMaps::square}) {
    student->set_latent_maps(maps);
    student->module().zero_grad();
    StudentOutput out = student->forward({&ex}, {0, 1}, 16, at::kCPU);
    ASSERT_TRUE(out.word_maps.defined());
    EXPECT_EQ(out.word_maps.sizes(), (std::vector<int64_t>{1, 2, 2, 4, 16, 16}));
    EXPECT_TRUE(std::isfinite(out.text_loss.item<double>()));
    (out.text_loss + out.word_maps.pow(2).sum()).backward();
    double perceiver = 0, gated = 0;
    for (const auto& p : student->module().named_parameters()) {
      if (!p.value().grad().defined()) continue;
      const double g = p.value().grad().abs().sum().item<double>();
      if (p.key().rfind("perceiver.", 0) == 0) perceiver += g;
      if (p.key().find("gated_cross_attn_layers.0.attn.to_q") != std::string::npos) gated += g;
    }
    EXPECT_GT(gated, 0) << align::latent_maps_name(maps);
    EXPECT_GT(perceiver, 0) << align::latent_maps_name(maps);
  }
}

TEST(OpenFlamingoTraining, LavenderStepsAlignWordsAndWriteAModelThatLoads) {
  test::TempDir dir;
  auto run = test::write_tiny_training_run(dir.path(), 6, "openflamingo");
  for (const char* maps : {"composed", "square"}) {
    TrainOptions o = test::six_step_run_options(run, dir.file(std::string("out-") + maps));
    o.latent_maps = maps;
    TrainSummary s = Trainer(o).run();
    ASSERT_EQ(s.history.size(), 6u) << maps;
    for (const auto& r : s.history) {
      EXPECT_FALSE(r.skipped) << maps;
      EXPECT_GT(r.words, 0) << maps;
      EXPECT_GT(r.attention, 0) << maps;
      EXPECT_TRUE(std::isfinite(r.total)) << maps;
    }
    std::cout << maps << " attention loss: step 1 " << s.history[0].attention << ", step 6 "
              << s.history[5].attention << "\n";
    EXPECT_LT(s.history[5].attention, s.history[0].attention) << maps;
    // The saved folder stands alone, loads with trained weights, and trains on.
    auto before = flamingo_parameters(run.model);
    auto after = flamingo_parameters(s.model_dir);
    ASSERT_EQ(before.size(), after.size());
    for (const char* name :
         {"gated_cross_attn_layers.0.attn.to_q.weight",
          "lang_encoder.transformer.blocks.0.attn.Wqkv.weight", "perceiver.latents"})
      EXPECT_FALSE(torch::equal(before.at(name), after.at(name))) << maps << " " << name;
    EXPECT_TRUE(std::filesystem::exists(s.model_dir + "/tokenizer.json"));
    EXPECT_NO_THROW(Student::load(s.model_dir, at::kFloat, at::kCPU));
    // lavender plan counts the saved folder (its parts' configs inline) as it holds them.
    int64_t saved = 0;
    for (const auto& [name, t] : after) saved += t.numel();
    EXPECT_EQ(vlm::count_parameters(s.model_dir).total(), saved) << maps;
  }
}

// LoRA on MPT's fused projections and the gated layers' attention (the default targets,
// Llama's q_proj/k_proj/v_proj/o_proj, name nothing in OpenFlamingo).
TEST(OpenFlamingoTraining, LoraAdaptsMptAndTheGatedLayers) {
  test::TempDir dir;
  auto run = test::write_tiny_training_run(dir.path(), 4, "openflamingo", false);
  TrainOptions o = test::six_step_run_options(run, dir.file("out"));
  o.max_steps = 2;
  o.lora = true;
  o.lora_dropout = 0;
  o.lora_targets = {"Wqkv", "out_proj", "to_q", "to_kv", "to_out"};
  TrainSummary s = Trainer(o).run();
  ASSERT_EQ(s.history.size(), 2u);
  for (const auto& r : s.history) EXPECT_TRUE(std::isfinite(r.total));
  EXPECT_TRUE(std::filesystem::exists(dir.file("out/adapter/adapter_model.safetensors")));
}

TEST(OpenFlamingoTraining, RefusesWhatItDoesNotImplement) {
  test::TempDir dir;
  auto run = test::write_tiny_training_run(dir.path(), 2, "openflamingo", false);
  auto student = Student::load(run.model, at::kFloat, at::kCPU);
  EXPECT_THROW(student->check_align_layer(2), Error);
  EXPECT_NO_THROW(student->check_align_layer(1));
  EXPECT_THROW(student->enable_parallel_attention({0}), Error);
}

// Recomputing the gated layers and the MPT blocks in backward (the latents and the attention
// probabilities passing through the recomputation) gives the same steps as keeping them.
TEST(OpenFlamingoTraining, GradientCheckpointingStepsAlike) {
  test::TempDir dir;
  auto run = test::write_tiny_training_run(dir.path(), 4, "openflamingo", true);
  TrainOptions o = test::six_step_run_options(run, dir.file("kept"));
  o.max_steps = 3;
  const TrainSummary kept = Trainer(o).run();
  o.out = dir.file("recomputed");
  o.gradient_checkpointing = true;
  const TrainSummary recomputed = Trainer(o).run();
  ASSERT_EQ(kept.history.size(), 3u);
  ASSERT_EQ(recomputed.history.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_GT(kept.history[i].attention, 0) << i;
    EXPECT_NEAR(kept.history[i].total, recomputed.history[i].total, 1e-5) << i;
    EXPECT_NEAR(kept.history[i].attention, recomputed.history[i].attention, 1e-5) << i;
    EXPECT_NEAR(kept.history[i].grad_norm, recomputed.history[i].grad_norm,
                1e-5 * std::max(1.0, kept.history[i].grad_norm))
        << i;
  }
}

}  // namespace
}  // namespace lavender::train

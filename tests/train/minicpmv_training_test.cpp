// Lavender on MiniCPM-Llama3-V 2.5 at fixture scale: the prompt is the release's (checked id by id
// against the fixture), the decoder's attention to the source picture's and the slices' resampled
// tokens is composed onto the image and aligned with the teacher's maps, and the trained model is
// saved as a folder that loads again.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "lavender/align/alignment_loss.h"
#include "lavender/io/map_store.h"
#include "lavender/io/safetensors.h"
#include "lavender/train/student.h"
#include "lavender/train/trainer.h"
#include "lavender/util/error.h"
#include "lavender/vlm/chat_model.h"
#include "lavender/vlm/minicpmv.h"
#include "train/tiny_training_run.h"

namespace lavender::train {
namespace {

std::map<std::string, at::Tensor> minicpmv_parameters(const std::string& folder) {
  return test::cloned_parameters(*vlm::load_minicpmv(folder));
}

std::vector<int64_t> fixture_row(const std::string& name, int64_t row, int64_t length) {
  at::Tensor t = io::SafetensorsFile::open(test::fixture_dir("minicpmv") + "/io.safetensors")
                     ->tensor(name)[row]
                     .narrow(0, 0, length)
                     .contiguous();
  return std::vector<int64_t>(t.data_ptr<int64_t>(), t.data_ptr<int64_t>() + length);
}

// The fixture's first prompt (input.png: a source picture and 3×2 slices) is what the student
// writes before the reply; the reply is labelled, its words matched, its image inputs the
// processor's.
TEST(MiniCpmVTraining, PreparedExamplesAreTheReleasesPromptAndLabelTheReply) {
  test::TempDir dir;
  auto run = test::write_tiny_training_run(dir.path(), 2, "minicpmv", false);
  auto student = Student::load(run.model, at::kFloat, at::kCPU);
  const io::MapStoreReader store = io::MapStoreReader::open(run.maps);
  TrainingSample sample{
      "s0",
      test::fixture_dir("minicpmv") + "/input.png",
      {{"user", "Describe the image.", 1}, {"assistant", "red left, blue right", 0}},
      "test:1"};
  ExampleOptions options;
  options.map_size = 16;
  PreparedExample ex = student->prepare(sample, &store, options);
  const std::vector<int64_t> prompt = fixture_row("input_ids", 0, 102);
  ASSERT_GT(ex.ids.size(), prompt.size());
  EXPECT_EQ(std::vector<int64_t>(ex.ids.begin(), ex.ids.begin() + 102), prompt);
  const std::string reply = "red left, blue right";
  for (size_t t = 0; t < ex.ids.size(); ++t)
    EXPECT_EQ(ex.labels[t] != text::kIgnoreLabel, t >= 102) << t;
  EXPECT_EQ(ex.ids.size(), 102 + reply.size() + 1);  // one byte a token, then <|eot_id|>
  EXPECT_EQ(ex.ids.back(), 265);
  EXPECT_EQ(ex.matches.size(), 4u);
  ASSERT_EQ(ex.image_inputs.size(), 3u + 7u);  // sizes, grid, placeholder; 7 pictures
  EXPECT_EQ(ex.image_inputs[0].sizes(), (std::vector<int64_t>{7, 2}));
  EXPECT_EQ(ex.image_inputs[1][0].item<int64_t>(), 3);  // columns
  EXPECT_EQ(ex.image_inputs[1][1].item<int64_t>(), 2);  // rows
  EXPECT_EQ(ex.view.width, 20);                         // the source picture, 20×12
  EXPECT_EQ(student->default_align_layers(), (std::vector<int64_t>{0, 1}));
  EXPECT_EQ(student->heads(), 4);
  EXPECT_EQ(student->vision_encoder_prefix(), "vpm.");

  // One forward, both readings: the text loss and [B, L, H, W, S, S] maps with gradients to the
  // decoder, the resampler (composed: through its attention too) and the tower; every
  // aggregation and Aligner accepts the maps.
  for (auto maps : {align::LatentMaps::composed, align::LatentMaps::square}) {
    student->set_latent_maps(maps);
    student->module().zero_grad();
    StudentOutput out = student->forward({&ex, &ex}, {0, 1}, 16, at::kCPU);
    ASSERT_TRUE(out.word_maps.defined());
    EXPECT_EQ(out.word_maps.sizes(), (std::vector<int64_t>{2, 2, 4, 4, 16, 16}));
    EXPECT_TRUE(out.valid.all().item<bool>());
    EXPECT_TRUE(std::isfinite(out.text_loss.item<double>()));
    (out.text_loss + out.word_maps.pow(2).sum()).backward();
    for (const char* name :
         {"llm.model.layers.0.self_attn.q_proj.weight", "resampler.attn.in_proj_weight",
          "vpm.encoder.layers.0.mlp.fc1.weight"}) {
      const at::Tensor g = student->module().named_parameters()[name].grad();
      ASSERT_TRUE(g.defined()) << name;
      EXPECT_GT(g.abs().sum().item<double>(), 0) << align::latent_maps_name(maps) << " " << name;
    }
  }
  torch::NoGradGuard no_grad;
  StudentOutput out = student->forward({&ex}, {0, 1}, 16, at::kCPU);
  for (const char* pooling :
       {"max-max", "max-mean", "mean-max", "mean-mean", "heads-max", "heads-mean", "flow-product",
        "flow-sum", "flow-product-weighted", "flow-sum-weighted"})
    for (const char* variant : {"light", "sim", "deep", "mlp"}) {
      align::AlignmentOptions o;
      o.pooling = align::parse_head_layer_pooling(pooling);
      o.aligner.variant = variant;
      o.map_size = 16;
      align::AttentionAlignment alignment(o, student->heads());
      auto r = alignment->forward(out.word_maps, out.teacher, out.valid);
      EXPECT_EQ(r.words, 4) << pooling << " " << variant;
      EXPECT_TRUE(std::isfinite(r.loss.item<double>())) << pooling << " " << variant;
    }
}

// Samples whose images are cut differently (a source picture and 3×2 slices; a source picture
// alone) share a batch: each sample's maps read its own pictures' columns and resampler
// attention. With each picture alone through the tower (batch_vision_input false; the release's
// batched tower makes features depend on the batch) they are the maps of the sample alone.
TEST(MiniCpmVTraining, SamplesCutDifferentlyMapInABatchAsAlone) {
  test::TempDir dir;
  auto run = test::write_tiny_training_run(dir.path(), 2, "minicpmv", false);
  nlohmann::json config = nlohmann::json::parse(std::ifstream(run.model + "/config.json"));
  config["batch_vision_input"] = false;
  std::filesystem::remove(run.model + "/config.json");
  std::ofstream(run.model + "/config.json") << config.dump();
  auto student = Student::load(run.model, at::kFloat, at::kCPU);
  const io::MapStoreReader store = io::MapStoreReader::open(run.maps);
  ExampleOptions options;
  options.map_size = 16;
  std::vector<PreparedExample> ex;
  for (const char* png : {"input.png", "input_r1_0.png"})
    ex.push_back(student->prepare({"s" + std::to_string(ex.size()),
                                   test::fixture_dir("minicpmv") + "/" + png,
                                   {{"user", "Hi?", 1}, {"assistant", "red left, blue right", 0}},
                                   "test"},
                                  &store, options));
  EXPECT_EQ(ex[0].image_inputs.size(), 3u + 7u);
  EXPECT_EQ(ex[1].image_inputs.size(), 3u + 1u);
  torch::NoGradGuard no_grad;
  for (auto maps : {align::LatentMaps::composed, align::LatentMaps::square}) {
    student->set_latent_maps(maps);
    at::Tensor both = student->forward({&ex[0], &ex[1]}, {0, 1}, 16, at::kCPU).word_maps;
    for (int64_t i = 0; i < 2; ++i) {
      at::Tensor alone =
          student->forward({&ex[static_cast<size_t>(i)]}, {0, 1}, 16, at::kCPU).word_maps[0];
      EXPECT_GT(alone.abs().sum().item<double>(), 0);
      EXPECT_LT((both[i] - alone).abs().max().item<double>(), 1e-5)
          << align::latent_maps_name(maps) << " sample " << i;
    }
  }
}

TEST(MiniCpmVTraining, LavenderStepsAlignWordsAndWriteAModelThatLoads) {
  test::TempDir dir;
  auto run = test::write_tiny_training_run(dir.path(), 6, "minicpmv");
  TrainOptions o = test::six_step_run_options(run, dir.file("out"));
  TrainSummary s = Trainer(o).run();
  ASSERT_EQ(s.history.size(), 6u);
  for (const auto& r : s.history) {
    EXPECT_FALSE(r.skipped);
    EXPECT_GT(r.words, 0);
    EXPECT_GT(r.attention, 0);
    EXPECT_TRUE(std::isfinite(r.total));
  }
  std::cout << "attention loss: step 1 " << s.history[0].attention << ", step 6 "
            << s.history[5].attention << "\n";
  EXPECT_LT(s.history[5].attention, s.history[0].attention);
  // The saved folder stands alone and loads with trained weights, as a student and to chat.
  auto before = minicpmv_parameters(run.model);
  auto after = minicpmv_parameters(s.model_dir);
  ASSERT_EQ(before.size(), after.size());
  for (const char* name : {"llm.model.layers.0.self_attn.q_proj.weight", "resampler.query"})
    EXPECT_FALSE(torch::equal(before.at(name), after.at(name))) << name;
  for (const char* f : {"tokenizer.json", "preprocessor_config.json"})
    EXPECT_TRUE(std::filesystem::exists(s.model_dir + "/" + f)) << f;
  EXPECT_NO_THROW(Student::load(s.model_dir, at::kFloat, at::kCPU));
  EXPECT_NO_THROW(vlm::ChatModel::load(s.model_dir));
}

// The default LoRA targets name the Llama decoder's projections and nothing in the SigLIP tower
// (which has q/k/v_proj too) or the resampler.
TEST(MiniCpmVTraining, LoraAdaptsTheDecodersProjections) {
  test::TempDir dir;
  auto run = test::write_tiny_training_run(dir.path(), 4, "minicpmv", false);
  TrainOptions o = test::six_step_run_options(run, dir.file("out"));
  o.max_steps = 2;
  o.lora = true;
  o.lora_dropout = 0;
  TrainSummary s = Trainer(o).run();
  ASSERT_EQ(s.history.size(), 2u);
  for (const auto& r : s.history) EXPECT_TRUE(std::isfinite(r.total));
  auto adapter = io::load_safetensors(dir.file("out/adapter/adapter_model.safetensors"));
  EXPECT_EQ(adapter.size(), 2u * 4u * 2u);  // 2 layers × q, k, v, o × A, B
  for (const auto& [name, _] : adapter)
    EXPECT_NE(name.find(".llm.model.layers."), std::string::npos) << name;
}

// Parallel attention on the aligned decoder layers and gradient checkpointing (the same steps).
TEST(MiniCpmVTraining, ParallelAttentionAndGradientCheckpointing) {
  test::TempDir dir;
  auto run = test::write_tiny_training_run(dir.path(), 4, "minicpmv", false);
  TrainOptions o = test::six_step_run_options(run, dir.file("plain"));
  o.max_steps = 2;
  TrainSummary plain = Trainer(o).run();
  o.gradient_checkpointing = true;
  o.out = dir.file("recomputed");
  TrainSummary recomputed = Trainer(o).run();
  for (size_t i = 0; i < plain.history.size(); ++i)
    EXPECT_NEAR(plain.history[i].total, recomputed.history[i].total, 1e-5) << i;
  o.gradient_checkpointing = false;
  o.parallel_attention = true;
  o.out = dir.file("parallel");
  TrainSummary parallel = Trainer(o).run();
  for (const auto& r : parallel.history) EXPECT_GT(r.attention, 0);
  EXPECT_EQ(io::load_safetensors(dir.file("parallel/parallel_attention.safetensors")).size(), 2u);
}

}  // namespace
}  // namespace lavender::train

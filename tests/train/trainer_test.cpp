#include "lavender/train/trainer.h"

#include "lavender/eval/alignment_figure.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "lavender/io/authors_layout.h"
#include "lavender/io/checkpoint.h"
#include "lavender/io/image.h"
#include "lavender/io/safetensors.h"
#include "lavender/train/lora.h"
#include "lavender/util/error.h"
#include "lavender/vlm/llava.h"
#include "lavender/vlm/mllama.h"
#include "test_jsonl.h"
#include "train/tiny_training_run.h"

namespace lavender::train {
namespace {

std::map<std::string, at::Tensor> parameters(const torch::nn::Module& m) {
  std::map<std::string, at::Tensor> out;
  for (const auto& p : m.named_parameters()) out[p.key()] = p.value();
  return out;
}

// The parameters of the model folder `dir` of a tiny run's architecture ("llava" or "mllama").
std::map<std::string, at::Tensor> parameters(const std::string& fixture, const std::string& dir) {
  if (fixture == "mllama") return parameters(*vlm::load_mllama(dir));
  return parameters(*vlm::load_llava(dir));
}

TrainOptions tiny_options(const test::TinyTrainingRun& run, const std::string& out) {
  TrainOptions o = test::tiny_run_options(run, out);
  o.max_steps = 6;
  o.batch_size = 2;
  o.grad_accum = 2;
  o.lr.lr = 1e-3;
  o.lr.warmup_steps = 2;
  o.save_every = 2;
  o.seed = 7;
  o.figure_every = 3;
  return o;
}

TEST(Trainer, LavenderStepsAlignWordsAndWriteAModelThatLoads) {
  test::TempDir dir;
  auto run = test::write_tiny_training_run(dir.path());
  Trainer trainer(tiny_options(run, dir.file("out")));
  trainer.set_figure_drawer(eval::progress_figure);
  TrainSummary s = trainer.run();
  EXPECT_EQ(s.steps, 6);
  ASSERT_EQ(s.history.size(), 6u);
  EXPECT_GT(s.bad_samples, 0);           // the record with the missing image
  EXPECT_GT(s.samples_without_maps, 0);  // the record the teacher did not draw
  for (const auto& r : s.history) {
    EXPECT_FALSE(r.skipped);
    EXPECT_GT(r.words, 0);
    EXPECT_GT(r.attention, 0);
    EXPECT_NEAR(r.total, r.text + r.lambda * r.attention, 1e-4 * r.total);
  }
  EXPECT_DOUBLE_EQ(s.history[0].lr, 0.0);  // warm-up starts at 0
  EXPECT_GT(s.history[2].lr, s.history[5].lr);
  // The attention loss falls as the Aligner and the model learn.
  EXPECT_LT(s.history[5].attention, s.history[1].attention);
  auto metrics = test::read_jsonl(dir.file("out/metrics.jsonl"));
  ASSERT_EQ(metrics.size(), 6u);
  EXPECT_EQ(metrics[5]["step"], 6);
  EXPECT_DOUBLE_EQ(metrics[5]["attention"].get<double>(), s.history[5].attention);
  // What throughput figures are made of: the step's wall time and the positions it computed,
  // image tokens included (more than the tokens the text loss predicts).
  EXPECT_GT(metrics[5]["seconds"].get<double>(), 0.0);
  EXPECT_GT(metrics[5]["positions"].get<double>(), static_cast<double>(s.history[5].tokens));
  // Progress figures every 3 steps (two samples), and TensorBoard's event file.
  int figures = 0;
  for (const auto& f : std::filesystem::directory_iterator(dir.file("out/figures"))) {
    EXPECT_EQ(f.path().extension(), ".png");
    EXPECT_GT(io::read_image(f.path().string()).width, 0);
    ++figures;
  }
  EXPECT_EQ(figures, 4);
  int event_files = 0;
  for (const auto& f : std::filesystem::directory_iterator(dir.file("out/tensorboard")))
    event_files += f.path().filename().string().rfind("events.out.tfevents.", 0) == 0;
  EXPECT_EQ(event_files, 1);
  // The saved model is a Hugging Face folder that loads, with trained weights.
  auto before = parameters(*vlm::load_llava(run.model));
  auto after = parameters(*vlm::load_llava(s.model_dir));
  const std::string name = "model.language_model.layers.0.self_attn.q_proj.weight";
  EXPECT_FALSE(torch::equal(before.at(name), after.at(name)));
  EXPECT_TRUE(std::filesystem::exists(s.model_dir + "/tokenizer.json"));
  EXPECT_TRUE(std::filesystem::exists(dir.file("out/aligner.safetensors")));
}

TEST(Trainer, PlainSftWithLambdaZeroNeedsNoMaps) {
  test::TempDir dir;
  auto run = test::write_tiny_training_run(dir.path());
  TrainOptions o = tiny_options(run, dir.file("out"));
  o.lambda.lambda = 0;
  o.maps.clear();
  o.max_steps = 2;
  TrainSummary s = Trainer(o).run();
  ASSERT_EQ(s.history.size(), 2u);
  EXPECT_EQ(s.history[1].attention, 0.0);
  EXPECT_EQ(s.history[1].words, 0);
  EXPECT_DOUBLE_EQ(s.history[1].total, s.history[1].text);
}

// --max-samples N trains on the first N usable samples exactly as on a file holding only them
// (the seeded shuffle then draws the same order), and not as on the whole file.
TEST(Trainer, MaxSamplesTrainsOnTheFirstSamplesOnly) {
  test::TempDir dir;
  auto run = test::write_tiny_training_run(dir.path());
  auto steps_of = [&](const std::string& data, int64_t max_samples, const std::string& out) {
    TrainOptions o = tiny_options(run, dir.file(out));
    o.data = data;
    o.max_samples = max_samples;
    o.max_steps = 3;
    o.grad_accum = 1;
    o.figure_every = 0;
    return Trainer(o).run().history;
  };
  {
    std::ifstream in(run.data);
    std::ofstream first(dir.file("first3.jsonl"));
    std::string line;
    for (int i = 0; i < 3 && std::getline(in, line); ++i) first << line << "\n";
  }
  const auto limited = steps_of(run.data, 3, "limited");
  const auto file = steps_of(dir.file("first3.jsonl"), 0, "file");
  const auto whole = steps_of(run.data, 0, "whole");
  ASSERT_EQ(limited.size(), 3u);
  ASSERT_EQ(file.size(), 3u);
  bool differs_from_whole = false;
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_DOUBLE_EQ(limited[i].total, file[i].total) << "step " << i + 1;
    differs_from_whole = differs_from_whole || limited[i].total != whole[i].total;
  }
  EXPECT_TRUE(differs_from_whole);
}

// Trained in bf16, the model is saved as its source checkpoint is stored (the fixture's config
// says float32), so the config copied beside it stays true.
TEST(Trainer, TheSavedModelKeepsTheCheckpointsDtype) {
  test::TempDir dir;
  auto run = test::write_tiny_training_run(dir.path());
  TrainOptions o = tiny_options(run, dir.file("out"));
  o.dtype = "bf16";
  o.max_steps = 1;
  TrainSummary s = Trainer(o).run();
  const auto saved = io::Checkpoint::open(s.model_dir);
  for (const auto& name : saved.names())
    EXPECT_EQ(saved.info(name).dtype, io::StDtype::F32) << name;
}

TEST(Trainer, AnInterruptedRunResumesExactly) {
  test::TempDir dir;
  auto run = test::write_tiny_training_run(dir.path());
  TrainOptions o = tiny_options(run, dir.file("whole"));
  o.aligner_norm = "batch";  // running statistics must survive the checkpoint too
  TrainSummary whole = Trainer(o).run();

  o.out = dir.file("split");
  Trainer first(o);
  first.set_stop_check([](const StepRecord& r) { return r.step == 3; });
  TrainSummary a = first.run();
  EXPECT_TRUE(a.interrupted);
  EXPECT_EQ(a.steps, 3);
  // The killed run had logged a step past its checkpoint: the resumed log must not repeat it.
  std::ofstream(dir.file("split/metrics.jsonl"), std::ios::app) << R"({"step":4,"total":1})"
                                                                << "\n";
  o.resume = true;
  TrainSummary b = Trainer(o).run();
  auto rows = test::read_jsonl(dir.file("split/metrics.jsonl"));
  ASSERT_EQ(rows.size(), 6u);
  for (size_t i = 0; i < rows.size(); ++i) EXPECT_EQ(rows[i]["step"], static_cast<int>(i) + 1);
  EXPECT_EQ(b.start_step, 3);
  ASSERT_EQ(a.history.size() + b.history.size(), whole.history.size());
  for (size_t i = 0; i < whole.history.size(); ++i) {
    const StepRecord& r = i < a.history.size() ? a.history[i] : b.history[i - a.history.size()];
    EXPECT_EQ(r.step, whole.history[i].step);
    EXPECT_DOUBLE_EQ(r.total, whole.history[i].total) << "step " << r.step;
    EXPECT_DOUBLE_EQ(r.attention, whole.history[i].attention) << "step " << r.step;
    EXPECT_DOUBLE_EQ(r.grad_norm, whole.history[i].grad_norm) << "step " << r.step;
  }
}

// Also under bf16 autocast: the recomputation in the backward re-enters the forward's autocast
// (and mllama's tile mask stays finite under autocast: its losses were NaN before).
TEST(Trainer, GradientCheckpointingGivesTheSameSteps) {
  test::TempDir dir;
  for (const char* fixture : {"llava", "mllama"}) {
    auto r = test::write_tiny_training_run(dir.file(fixture), 4, fixture);
    for (bool autocast : {false, true}) {
      const std::string name = std::string(fixture) + (autocast ? "-autocast" : "");
      TrainOptions o = tiny_options(r, dir.file(name + "-plain"));
      o.max_steps = 3;
      o.autocast = autocast;
      TrainSummary plain = Trainer(o).run();
      o.gradient_checkpointing = true;
      o.out = dir.file(name + "-recomputed");
      TrainSummary recomputed = Trainer(o).run();
      for (size_t i = 0; i < plain.history.size(); ++i) {
        EXPECT_NEAR(plain.history[i].total, recomputed.history[i].total, 1e-5) << name << i;
        EXPECT_NEAR(plain.history[i].grad_norm, recomputed.history[i].grad_norm,
                    1e-4 * plain.history[i].grad_norm)
            << name << i;
      }
    }
  }
}

TEST(Trainer, ParallelAttentionLearnsBesideThePretrainedOne) {
  test::TempDir dir;
  for (const char* fixture : {"llava", "mllama"}) {
    auto run = test::write_tiny_training_run(dir.file(fixture), 4, fixture);
    TrainOptions o = tiny_options(run, dir.file(std::string(fixture) + "-out"));
    o.max_steps = 3;
    o.parallel_attention = true;
    TrainSummary s = Trainer(o).run();
    for (const auto& r : s.history) EXPECT_GT(r.attention, 0) << fixture;
    // The projections are saved apart from the model, which still loads as the architecture.
    auto parallel = io::load_safetensors(
        dir.file(std::string(fixture) + "-out/parallel_attention.safetensors"));
    EXPECT_EQ(parallel.size(), 2u) << fixture;  // one layer (1/5 of the aligned ones), q and k
    for (const auto& [name, _] : parallel)
      EXPECT_NE(name.find("parallel_attn."), std::string::npos) << name;
  }
  EXPECT_NO_THROW(vlm::load_llava(dir.file("llava-out/model")));
}

TEST(Trainer, TheVisionEncoderIsFrozenByDefaultForEveryStudent) {
  test::TempDir dir;
  const std::map<std::string, std::string> encoder{{"llava", "model.vision_tower."},
                                                   {"mllama", "model.vision_model."}};
  for (const auto& [fixture, prefix] : encoder) {
    auto run = test::write_tiny_training_run(dir.file(fixture), 4, fixture);
    TrainOptions o = tiny_options(run, dir.file(fixture + "-out"));
    o.freeze = TrainOptions{}.freeze;  // the default: @vision
    o.max_steps = 2;
    TrainSummary s = Trainer(o).run();
    auto before = parameters(fixture, run.model);
    auto after = parameters(fixture, s.model_dir);
    int frozen = 0, trained = 0;
    for (const auto& [name, value] : after) {
      if (name.rfind(prefix, 0) == 0) {
        EXPECT_TRUE(torch::equal(before.at(name), value)) << fixture << " " << name;
        ++frozen;
      } else if (name.find("q_proj.weight") != std::string::npos) {
        EXPECT_FALSE(torch::equal(before.at(name), value)) << fixture << " " << name;
        ++trained;
      }
    }
    EXPECT_GT(frozen, 0) << fixture;
    EXPECT_GT(trained, 0) << fixture;
  }
}

TEST(Trainer, MllamaAlignsItsCrossAttentionLayers) {
  test::TempDir dir;
  auto run = test::write_tiny_training_run(dir.path(), 4, "mllama");
  TrainOptions o = tiny_options(run, dir.file("out"));
  o.max_steps = 3;
  TrainSummary s = Trainer(o).run();
  ASSERT_EQ(s.history.size(), 3u);
  for (const auto& r : s.history) {
    EXPECT_GT(r.words, 0);
    EXPECT_GT(r.attention, 0);
    EXPECT_TRUE(std::isfinite(r.total));
  }
  EXPECT_NO_THROW(vlm::load_mllama(s.model_dir));
  o.align_layers = {0};  // a self-attention layer of the fixture
  o.out = dir.file("again");
  EXPECT_THROW(Trainer(o).run(), Error);
}

TEST(Trainer, NonFiniteStepsAreSkippedThenStopTheRunNamingTheLastGoodCheckpoint) {
  test::TempDir dir;
  auto run = test::write_tiny_training_run(dir.path());
  TrainOptions o = tiny_options(run, dir.file("out"));
  o.lr.lr = 1e30;  // the first step throws the weights to ~1e30: everything after overflows
  o.lr.warmup_steps = 0;
  o.max_grad_norm = 0;
  o.save_every = 1;
  o.max_bad_steps = 2;
  o.max_steps = 10;
  try {
    Trainer(o).run();
    FAIL() << "the run should stop";
  } catch (const Error& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("2 steps in a row had a non-finite loss"), std::string::npos) << m;
    EXPECT_NE(m.find("step-000001"), std::string::npos) << m;  // from before the trouble
  }
}

TEST(Trainer, AlignerWarmupHoldsTheStudentStill) {
  test::TempDir dir;
  auto run = test::write_tiny_training_run(dir.path());
  TrainOptions o = tiny_options(run, dir.file("out"));
  o.max_steps = 2;
  o.text_weight.aligner_warmup_steps = 2;
  TrainSummary s = Trainer(o).run();
  for (const auto& r : s.history) {
    EXPECT_EQ(r.text_weight, 0.0);
    EXPECT_NEAR(r.total, r.lambda * r.attention, 1e-6);
  }
  auto before = parameters(*vlm::load_llava(run.model));
  auto after = parameters(*vlm::load_llava(s.model_dir));
  for (const auto& [name, value] : after) EXPECT_TRUE(torch::equal(before.at(name), value)) << name;
  // The Aligner learned.
  EXPECT_NE(s.history[0].attention, s.history[1].attention);
}

TEST(Trainer, Bf16AutocastTrainsCloseToFp32) {
  test::TempDir dir;
  auto run = test::write_tiny_training_run(dir.path());
  TrainOptions o = tiny_options(run, dir.file("fp32"));
  o.max_steps = 2;
  TrainSummary fp32 = Trainer(o).run();
  o.autocast = true;
  o.out = dir.file("bf16");
  TrainSummary bf16 = Trainer(o).run();
  for (size_t i = 0; i < fp32.history.size(); ++i) {
    EXPECT_NE(fp32.history[i].total, bf16.history[i].total);  // autocast did something
    EXPECT_NEAR(fp32.history[i].text, bf16.history[i].text, 0.05 * fp32.history[i].text);
    EXPECT_NEAR(fp32.history[i].attention, bf16.history[i].attention,
                0.1 * fp32.history[i].attention);
  }
}

TEST(Trainer, TheAuthorsJpegLayoutServesAsTeacherKeyedByImageFile) {
  test::TempDir dir;
  auto run = test::write_tiny_training_run(dir.path());
  {
    // The authors published one folder per image file: write one for two.png from a store.
    io::MapStoreWriter store(dir.file("by-image"), {{"map_size", 16}, {"recipe", "test"}});
    io::MapEntry e;
    e.key = "two.png";
    e.image = "two.png";
    e.words = {"blue", "left", "red", "right"};
    e.token_spans.assign(4, {0, 1});
    store.add(e, torch::rand({4, 16, 16}));
  }
  io::export_authors_layout(io::MapStoreReader::open(dir.file("by-image")), dir.file("published"));
  TrainOptions o = tiny_options(run, dir.file("out"));
  o.maps = dir.file("published");
  o.max_steps = 2;
  TrainSummary s = Trainer(o).run();
  EXPECT_EQ(s.samples_without_maps, 0);
  for (const auto& r : s.history) EXPECT_GT(r.words, 0);
  EXPECT_TRUE(io::MapStoreReader::open(dir.file("out/teacher-maps")).contains("two.png"));
}

TEST(Trainer, LoraTrainsAdaptersOnlyAndSavesAPeftFolder) {
  test::TempDir dir;
  auto run = test::write_tiny_training_run(dir.path());
  TrainOptions o = tiny_options(run, dir.file("out"));
  o.max_steps = 3;
  o.lora = true;
  o.lora_rank = 4;
  o.merge_lora = true;
  TrainSummary s = Trainer(o).run();
  EXPECT_GT(s.history.back().attention, 0);
  // The adapter folder loads back onto the base model and changes it.
  auto base = vlm::load_llava(run.model);
  auto adapted = vlm::load_llava(run.model);
  load_peft_adapter(dir.file("out/adapter"), *adapted);
  auto config = nlohmann::json::parse(std::ifstream(dir.file("out/adapter/adapter_config.json")));
  EXPECT_EQ(config["r"], 4);
  // Merged weights: only the adapted projections moved; the MLPs and norms are the base's.
  auto before = parameters(*base);
  auto merged = parameters(*vlm::load_llava(dir.file("out/model")));
  for (const auto& [name, value] : merged) {
    const bool adapted_module = name.find("language_model") != std::string::npos &&
                                name.find("_proj.weight") != std::string::npos &&
                                name.find("mlp") == std::string::npos;
    if (adapted_module)
      EXPECT_FALSE(torch::equal(before.at(name), value)) << name;
    else
      EXPECT_TRUE(torch::equal(before.at(name), value)) << name;
  }
}

TEST(Trainer, ClearErrors) {
  test::TempDir dir;
  auto run = test::write_tiny_training_run(dir.path());
  TrainOptions o = tiny_options(run, dir.file("out"));
  o.freeze = {".*"};
  EXPECT_THROW(Trainer(o).run(), Error);
  o = tiny_options(run, dir.file("out"));
  o.align_layers = {99};
  EXPECT_THROW(Trainer(o).run(), Error);
  o = tiny_options(run, dir.file("out"));
  o.freeze = {"("};
  EXPECT_THROW(Trainer(o).run(), Error);
  o = tiny_options(run, dir.file("out"));
  o.freeze = {"@vison"};  // a role that does not exist
  try {
    Trainer(o).run();
    ADD_FAILURE() << "an unknown --freeze role was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("unknown role \"@vison\""), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace lavender::train

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "lavender/io/json_file.h"
#include "lavender/io/load_state_dict.h"
#include "lavender/io/safetensors.h"
#include "lavender/io/save_checkpoint.h"
#include "lavender/nn/linear.h"
#include "lavender/parity/parity.h"
#include "lavender/train/lora.h"
#include "lavender/util/error.h"
#include "lavender/vlm/llava.h"
#include "lavender/vlm/mllama.h"
#include "test_paths.h"
#include "vlm/tiny_models.h"

namespace lavender::train {
namespace {

vlm::LlavaInputs fixture_inputs() {
  auto f = parity::load_fixture(test::fixture_dir("llava"));
  vlm::LlavaInputs in;
  in.input_ids = f.tensor("input_ids");
  in.pixel_values = f.tensor("pixel_values");
  return in;
}

std::vector<std::string> expected_language_targets(int layers) {
  std::vector<std::string> out;
  for (int l = 0; l < layers; ++l)
    for (const char* p : {"q_proj", "k_proj", "v_proj", "o_proj"})
      out.push_back("model.language_model.layers." + std::to_string(l) + ".self_attn." + p);
  return out;
}

// Gives every adapter a non-zero B so that adapters change the output.
void randomize_b(torch::nn::Module& root, int64_t seed) {
  torch::manual_seed(seed);
  torch::NoGradGuard no_grad;
  for (auto& [name, t] : lora_parameters(root))
    if (name.find("lora_B") != std::string::npos) t.normal_(0, 0.05);
}

TEST(Lora, InjectAdaptsTheLanguageModelAttentionOnly) {
  torch::manual_seed(0);
  vlm::LlavaForConditionalGeneration model(test::tiny_llava_config());
  model->eval();
  torch::manual_seed(5);
  vlm::LlavaInputs in;
  in.input_ids = torch::cat({torch::randint(1, 40, {1, 3}), torch::full({1, 16}, 49),
                             torch::randint(1, 40, {1, 4})}, 1);
  in.pixel_values = torch::randn({1, 3, 16, 16});
  torch::NoGradGuard no_grad;
  const at::Tensor before = model->forward(in).logits;

  const auto adapted = inject_lora(*model, LoraConfig{});
  EXPECT_EQ(adapted, expected_language_targets(3));
  EXPECT_EQ(lora_parameters(*model).size(), 24u);
  // The CLIP tower has q/k/v_proj too; the default excludes it.
  EXPECT_FALSE(model->model->vision_tower->named_parameters().contains(
      "encoder.layers.0.self_attn.q_proj.lora_A.weight"));
  EXPECT_TRUE(torch::equal(model->forward(in).logits, before));  // B = 0 at init

  randomize_b(*model, 1);
  const at::Tensor adapted_logits = model->forward(in).logits;
  EXPECT_FALSE(torch::allclose(adapted_logits, before, 1e-4, 1e-4));
  EXPECT_EQ(merge_all_lora(*model), 12);
  EXPECT_TRUE(lora_parameters(*model).empty());
  EXPECT_TRUE(torch::allclose(model->forward(in).logits, adapted_logits, 1e-4, 1e-5));

  // Without exclusions the vision tower's q/k/v_proj (CLIP's fourth is out_proj) match as well.
  LoraConfig all;
  all.exclude.clear();
  EXPECT_EQ(inject_lora(*model, all).size(), 12u + 2 * 3);
}

TEST(Lora, MllamaDefaultAdaptsSelfAndCrossAttentionOfTheLanguageModel) {
  auto model = vlm::load_mllama(test::fixture_dir("mllama"));
  const auto adapted = inject_lora(*model, LoraConfig{});
  // The fixture's text model: layers 1 and 3 are cross-attention layers; its vision model has
  // q/k/v/o_proj too, left alone.
  std::vector<std::string> expected;
  for (int l = 0; l < 4; ++l)
    for (const char* p : {"q_proj", "k_proj", "v_proj", "o_proj"})
      expected.push_back("model.language_model.layers." + std::to_string(l) +
                         (l % 2 ? ".cross_attn." : ".self_attn.") + p);
  EXPECT_EQ(adapted, expected);
}

TEST(Lora, NothingMatchingIsAnErrorNamingThePattern) {
  vlm::LlavaForConditionalGeneration model(test::tiny_llava_config());
  LoraConfig cfg;
  cfg.target_modules = {"query_key_value"};
  try {
    inject_lora(*model, cfg);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("query_key_value"), std::string::npos) << e.what();
  }
  // Suffix matching is by whole path components: "proj" is not "q_proj".
  cfg.target_modules = {"proj"};
  EXPECT_THROW(inject_lora(*model, cfg), Error);
}

TEST(Lora, PeftRegexSelectsTheSameModulesInBothTransformersLayouts) {
  const LoraConfig cfg;
  LoraConfig as_regex;
  as_regex.target_regex = peft_target_regex(cfg);
  vlm::LlavaForConditionalGeneration model(test::tiny_llava_config());
  int hits = 0;
  for (const auto& m : model->named_modules("", false)) {
    EXPECT_EQ(lora_targets(cfg, m.key()), lora_targets(as_regex, m.key())) << m.key();
    hits += lora_targets(as_regex, m.key());
  }
  EXPECT_EQ(hits, 12);
  // transformers 4.x LLaVA names.
  EXPECT_TRUE(lora_targets(as_regex, "language_model.model.layers.0.self_attn.q_proj"));
  EXPECT_FALSE(lora_targets(as_regex, "vision_tower.vision_model.encoder.layers.0.self_attn.q_proj"));
  EXPECT_FALSE(lora_targets(as_regex, "language_model.model.layers.0.self_attn.q_proj_extra"));
  LoraConfig plain = cfg;
  plain.exclude.clear();
  EXPECT_EQ(peft_target_regex(plain), "");
}

TEST(Lora, PeftAdapterHasPeftsLayoutAndRoundTrips) {
  const std::string fixture = test::fixture_dir("llava");
  const vlm::LlavaInputs in = fixture_inputs();
  auto model = vlm::load_llava(fixture);
  model->eval();
  LoraConfig cfg;
  cfg.rank = 4;
  cfg.alpha = 8;
  const auto adapted = inject_lora(*model, cfg);
  randomize_b(*model, 2);
  torch::NoGradGuard no_grad;
  const at::Tensor expected = model->forward(in).logits;

  test::TempDir dir;
  const std::string out = dir.file("adapter");
  save_peft_adapter(out, *model, cfg, "llava-hf/llava-1.5-7b-hf");

  const nlohmann::json c = io::read_json_file(out + "/adapter_config.json");
  EXPECT_EQ(c["peft_type"], "LORA");
  EXPECT_EQ(c["task_type"], "CAUSAL_LM");
  EXPECT_EQ(c["r"], 4);
  EXPECT_EQ(c["lora_alpha"], 8);
  EXPECT_TRUE(c["lora_alpha"].is_number_integer());
  EXPECT_DOUBLE_EQ(c["lora_dropout"].get<double>(), 0.05);
  EXPECT_EQ(c["bias"], "none");
  EXPECT_EQ(c["fan_in_fan_out"], false);
  EXPECT_EQ(c["inference_mode"], true);
  EXPECT_EQ(c["use_rslora"], false);
  EXPECT_EQ(c["base_model_name_or_path"], "llava-hf/llava-1.5-7b-hf");
  EXPECT_EQ(c["target_modules"], peft_target_regex(cfg));

  const int64_t hidden =
      io::read_json_file(fixture + "/config.json")["text_config"]["hidden_size"].get<int64_t>();
  const auto weights = io::load_safetensors(out + "/adapter_model.safetensors");
  ASSERT_EQ(weights.size(), 2 * adapted.size());
  for (const auto& name : adapted) {
    const std::string key = "base_model.model." + name + ".lora_A.weight";
    ASSERT_TRUE(weights.count(key)) << key;
    EXPECT_EQ(weights.at(key).sizes(), (std::vector<int64_t>{4, hidden}));
    EXPECT_TRUE(weights.count("base_model.model." + name + ".lora_B.weight")) << name;
  }
  EXPECT_EQ(io::SafetensorsFile::open(out + "/adapter_model.safetensors")->metadata().at("format"),
            "pt");

  auto fresh = vlm::load_llava(fixture);
  fresh->eval();
  const LoraConfig read = load_peft_adapter(out, *fresh);
  EXPECT_EQ(read.rank, 4);
  EXPECT_DOUBLE_EQ(read.alpha, 8);
  EXPECT_EQ(lora_parameters(*fresh).size(), weights.size());
  EXPECT_TRUE(torch::equal(fresh->forward(in).logits, expected));

  // The same adapter as Python PEFT saves it on transformers 4.x's LLaVA (`language_model.model.`)
  // loads through the LLaVA key rules.
  std::vector<std::pair<std::string, at::Tensor>> legacy;
  const std::string now = "base_model.model.model.language_model.";
  for (const auto& [key, t] : weights)
    legacy.emplace_back("base_model.model.language_model.model." + key.substr(now.size()), t);
  io::save_safetensors(out + "/adapter_model.safetensors", legacy);
  auto old_layout = vlm::load_llava(fixture);
  old_layout->eval();
  EXPECT_THROW(load_peft_adapter(out, *vlm::load_llava(fixture)), Error);
  load_peft_adapter(out, *old_layout, io::llava_key_rules());
  EXPECT_TRUE(torch::equal(old_layout->forward(in).logits, expected));

  // Merged and saved as a full checkpoint, the model loads back with the same outputs.
  merge_all_lora(*fresh);
  test::TempDir full;
  io::save_hf_checkpoint(full.path(), io::module_tensors(*fresh),
                         io::read_json_file(fixture + "/config.json"));
  EXPECT_TRUE(torch::allclose(vlm::load_llava(full.path())->forward(in).logits, expected, 1e-4,
                              1e-5));
}

TEST(Lora, LoadingNamesTheFileAtFault) {
  const std::string fixture = test::fixture_dir("llava");
  auto model = vlm::load_llava(fixture);
  inject_lora(*model, LoraConfig{});
  test::TempDir dir;
  save_peft_adapter(dir.path(), *model, LoraConfig{}, "base");
  auto expect_error = [&](const std::string& needle) {
    auto target = vlm::load_llava(fixture);
    try {
      load_peft_adapter(dir.path(), *target);
      ADD_FAILURE() << "expected an error mentioning " << needle;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  const std::string config_path = dir.file("adapter_config.json");
  const std::string weights_path = dir.file("adapter_model.safetensors");
  nlohmann::json c = io::read_json_file(config_path);

  // Rank in the config differs from the saved tensors.
  nlohmann::json bad = c;
  bad["r"] = 2;
  std::ofstream(config_path) << bad.dump();
  expect_error("adapter_model.safetensors");
  bad = c;
  bad["use_dora"] = true;
  std::ofstream(config_path) << bad.dump();
  expect_error("use_dora");
  // A list config without exclusions adapts the vision tower too: no tensors for those.
  bad = c;
  bad["target_modules"] = {"q_proj", "k_proj", "v_proj", "o_proj"};
  std::ofstream(config_path) << bad.dump();
  expect_error("vision_tower");
  // Only the language model's q_proj adapted: the file's k_proj tensors have no module.
  bad["target_modules"] = ".*language_model.*q_proj";
  std::ofstream(config_path) << bad.dump();
  expect_error("does not adapt");
  std::ofstream(config_path) << c.dump();
  std::filesystem::remove(weights_path);
  expect_error("adapter_model.safetensors");
}

}  // namespace
}  // namespace lavender::train

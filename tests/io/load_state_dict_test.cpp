#include <gtest/gtest.h>
#include <torch/torch.h>

#include "lavender/io/load_state_dict.h"
#include "lavender/util/error.h"
#include "test_paths.h"

namespace lavender::io {
namespace {

// A miniature module tree named like a checkpoint: `encoder.layers.0.proj.{weight,bias}`, ...
struct BlockImpl : torch::nn::Module {
  BlockImpl() {
    proj = register_module("proj", torch::nn::Linear(4, 3));
    register_buffer("scale", torch::ones({3}));
  }
  torch::nn::Linear proj{nullptr};
};
TORCH_MODULE(Block);

struct TinyImpl : torch::nn::Module {
  TinyImpl() {
    layers = register_module("layers", torch::nn::ModuleList(Block(), Block()));
    head = register_module("head", torch::nn::Linear(3, 2));
  }
  torch::nn::ModuleList layers{nullptr};
  torch::nn::Linear head{nullptr};
};
TORCH_MODULE(Tiny);

std::map<std::string, at::Tensor> full_state(double fill) {
  std::map<std::string, at::Tensor> m;
  for (int i = 0; i < 2; ++i) {
    std::string p = "layers." + std::to_string(i) + ".";
    m[p + "proj.weight"] = torch::full({3, 4}, fill + i);
    m[p + "proj.bias"] = torch::full({3}, fill);
    m[p + "scale"] = torch::full({3}, 2.0);
  }
  m["head.weight"] = torch::full({2, 3}, fill);
  m["head.bias"] = torch::zeros({2});
  return m;
}

TEST(LoadStateDict, StrictLoadFillsEveryParameterAndBuffer) {
  Tiny model;
  auto report = load_state_dict(*model, TensorMapSource(full_state(0.5)));
  EXPECT_EQ(report.loaded.size(), 8u);
  EXPECT_TRUE(report.missing.empty());
  EXPECT_EQ(model->head->weight[1][2].item<float>(), 0.5f);
  EXPECT_EQ(model->layers[1]->as<Block>()->proj->weight[0][0].item<float>(), 1.5f);
  EXPECT_EQ(model->layers[0]->as<Block>()->named_buffers()["scale"][0].item<float>(), 2.0f);
  EXPECT_TRUE(model->head->weight.requires_grad());  // loading keeps parameters trainable
}

TEST(LoadStateDict, ConvertsDtype) {
  Tiny model;
  auto state = full_state(0.25);
  for (auto& kv : state) kv.second = kv.second.to(torch::kBFloat16);
  load_state_dict(*model, TensorMapSource(state));
  EXPECT_EQ(model->head->weight.scalar_type(), torch::kFloat);
  EXPECT_EQ(model->head->weight[0][0].item<float>(), 0.25f);
}

// The placement mode a model built under nn::SkipInitGuard loads with: tensors of the target
// dtype are adopted as they are (the parameter becomes a view of the checkpoint's memory),
// others are converted; either way the parameters stay parameters.
TEST(LoadStateDict, PlacementAdoptsMatchingTensorsAndConvertsTheRest) {
  Tiny model;
  auto state = full_state(0.5);
  state["head.weight"] = state["head.weight"].to(torch::kBFloat16);
  const TensorMapSource source(state);
  LoadOptions options;
  options.place = LoadOptions::Placement{torch::kFloat, torch::kCPU};
  const LoadReport report = load_state_dict(*model, source, options);
  EXPECT_EQ(report.zero_copy, 7);  // all but the bf16 head weight
  EXPECT_EQ(report.bytes, uint64_t{(2 * (12 + 3 + 3) + 2) * 4 + 6 * 2});
  const at::Tensor w = model->layers[0]->as<Block>()->proj->weight;
  EXPECT_EQ(w.data_ptr(), source.tensor("layers.0.proj.weight").data_ptr());
  EXPECT_EQ(model->head->weight.scalar_type(), torch::kFloat);
  EXPECT_EQ(model->head->weight[1][2].item<float>(), 0.5f);
  EXPECT_TRUE(model->head->weight.requires_grad());
  EXPECT_TRUE(w.requires_grad());
  // Into bf16: every tensor converted, none adopted.
  Tiny narrow;
  options.place = LoadOptions::Placement{torch::kBFloat16, torch::kCPU};
  EXPECT_EQ(load_state_dict(*narrow, TensorMapSource(full_state(0.5)), options).zero_copy, 0);
  for (const auto& p : narrow->parameters()) EXPECT_EQ(p.scalar_type(), torch::kBFloat16);
}

TEST(LoadStateDict, StrictListsMissingAndUnexpectedKeys) {
  Tiny model;
  auto state = full_state(1.0);
  state.erase("head.bias");
  state["head.extra"] = torch::zeros({1});
  try {
    load_state_dict(*model, TensorMapSource(state, "ckpt.safetensors"));
    FAIL();
  } catch (const Error& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find("ckpt.safetensors"), std::string::npos) << msg;
    EXPECT_NE(msg.find("missing (1):\n  head.bias"), std::string::npos) << msg;
    EXPECT_NE(msg.find("unexpected (1):\n  head.extra"), std::string::npos) << msg;
  }
  LoadOptions lenient;
  lenient.strict = false;
  auto report = load_state_dict(*model, TensorMapSource(state), lenient);
  EXPECT_EQ(report.missing, std::vector<std::string>{"head.bias"});
  EXPECT_EQ(report.unexpected, std::vector<std::string>{"head.extra"});
}

TEST(LoadStateDict, IgnoreAndAllowMissingPatterns) {
  Tiny model;
  auto state = full_state(1.0);
  state.erase("layers.0.scale");
  state.erase("layers.1.scale");
  state["embeddings.position_ids"] = torch::arange(4);
  LoadOptions options;
  options.ignore_unexpected = {R"(\.position_ids$)"};
  options.allow_missing = {R"(\.scale$)"};
  auto report = load_state_dict(*model, TensorMapSource(state), options);
  EXPECT_EQ(report.ignored, std::vector<std::string>{"embeddings.position_ids"});
  EXPECT_TRUE(report.missing.empty());
}

TEST(LoadStateDict, ShapeMismatchNamesKeyAndShapes) {
  Tiny model;
  auto state = full_state(1.0);
  state["head.weight"] = torch::zeros({3, 2});
  try {
    load_state_dict(*model, TensorMapSource(state));
    FAIL();
  } catch (const Error& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find("'head.weight' has shape [3, 2]"), std::string::npos) << msg;
    EXPECT_NE(msg.find("expects [2, 3]"), std::string::npos) << msg;
  }
}

TEST(LoadStateDict, KeyRulesMapOtherLayoutsAndCatchCollisions) {
  Tiny model;
  std::map<std::string, at::Tensor> state;
  for (auto& [k, v] : full_state(3.0)) state["model.encoder." + k] = v;
  LoadOptions options;
  options.key_rules = {{"model.encoder.", ""}};
  load_state_dict(*model, TensorMapSource(state), options);
  EXPECT_EQ(model->head->weight[0][0].item<float>(), 3.0f);

  state["head.weight"] = torch::zeros({2, 3});  // a second key landing on head.weight
  try {
    load_state_dict(*model, TensorMapSource(state), options);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("both map to module key 'head.weight'"), std::string::npos)
        << e.what();
  }
}

// Every key of a fixture checkpoint, rewritten, lands in the transformers 5 module tree.
void expect_fixture_keys_canonical(const std::string& fixture, const std::vector<KeyRule>& rules,
                                   const std::string& vision_prefix) {
  for (const auto& key : Checkpoint::open(test::fixture_dir(fixture)).names()) {
    std::string k = rewrite_key(key, rules);
    bool canonical = false;
    for (const std::string& prefix : {std::string("model.language_model."), vision_prefix,
                                      std::string("model.multi_modal_projector."),
                                      std::string("lm_head.")})
      canonical = canonical || k.rfind(prefix, 0) == 0;
    EXPECT_TRUE(canonical) << fixture << ": " << key << " -> " << k;
  }
}

TEST(LoadStateDict, LlavaRulesCoverPublishedLayouts) {
  auto rules = llava_key_rules();
  // transformers 4.x llava-1.5-hf layout, with the vision_model segment
  EXPECT_EQ(rewrite_key("language_model.model.layers.0.self_attn.q_proj.weight", rules),
            "model.language_model.layers.0.self_attn.q_proj.weight");
  EXPECT_EQ(rewrite_key("language_model.lm_head.weight", rules), "lm_head.weight");
  EXPECT_EQ(rewrite_key("vision_tower.vision_model.encoder.layers.0.mlp.fc1.weight", rules),
            "model.vision_tower.encoder.layers.0.mlp.fc1.weight");
  EXPECT_EQ(rewrite_key("multi_modal_projector.linear_1.bias", rules),
            "model.multi_modal_projector.linear_1.bias");
  // transformers 5.x layout is already canonical, with or without the segment
  EXPECT_EQ(rewrite_key("model.language_model.norm.weight", rules),
            "model.language_model.norm.weight");
  EXPECT_EQ(rewrite_key("model.vision_tower.vision_model.pre_layrnorm.bias", rules),
            "model.vision_tower.pre_layrnorm.bias");

  // The real fixture checkpoint lands entirely inside the canonical tree.
  expect_fixture_keys_canonical("llava", rules, "model.vision_tower.");
  for (const auto& key : Checkpoint::open(test::fixture_dir("llava")).names())
    EXPECT_EQ(rewrite_key(key, rules).find("vision_model."), std::string::npos) << key;
}

TEST(LoadStateDict, MllamaRulesCoverTheFixture) {
  expect_fixture_keys_canonical("mllama", mllama_key_rules(), "model.vision_model.");
}

}  // namespace
}  // namespace lavender::io

#include "lavender/vlm/open_flamingo.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>

#include "lavender/io/json_file.h"
#include "lavender/io/safetensors.h"
#include "lavender/io/torch_pickle.h"
#include "lavender/util/error.h"
#include "test_errors.h"
#include "test_paths.h"

namespace lavender::vlm {
namespace {

namespace fs = std::filesystem;

using test::error_of;

// The fixture's parts linked into a temporary folder whose root config.json is the fixture's
// with `edit` applied; `lang_config` replaces the language model's config.json when not null.
class EditedFolder {
 public:
  EditedFolder(const std::function<void(nlohmann::json&)>& edit,
               const nlohmann::json& lang_config = nullptr) {
    const std::string src = test::fixture_dir("openflamingo");
    fs::create_directory_symlink(src + "/vision", dir_.file("vision"));
    fs::create_symlink(src + "/checkpoint.pt", dir_.file("checkpoint.pt"));
    if (lang_config.is_null()) {
      fs::create_directory_symlink(src + "/lang", dir_.file("lang"));
    } else {
      fs::create_directory(dir_.file("lang"));
      fs::create_symlink(src + "/lang/pytorch_model.bin", dir_.file("lang/pytorch_model.bin"));
      test::write_file(dir_.file("lang/config.json"), lang_config.dump());
    }
    nlohmann::json config = io::read_json_file(src + "/config.json");
    edit(config);
    test::write_file(dir_.file("config.json"), config.dump());
  }
  const std::string& dir() const { return dir_.path(); }

 private:
  test::TempDir dir_;
};

TEST(OpenFlamingo, LoadsTheFixturesThreeParts) {
  auto model = load_open_flamingo(test::fixture_dir("openflamingo"));
  EXPECT_EQ(model->gated_layers(), (std::vector<int64_t>{0, 1}));
  EXPECT_EQ(model->lang_encoder->transformer->wte->weight.size(0), 103);
  EXPECT_EQ(model->perceiver->config().num_latents, 8);
  // The checkpoint's gates, not the zero initialisation (attn_gate = 0.5 + 0.1·N).
  auto gate = (*model->gated_cross_attn_layers)["1"]->as<GatedCrossAttentionBlock>()->attn_gate;
  EXPECT_NEAR(gate.item<double>(), 0.6, 1e-6);
}

TEST(OpenFlamingo, AlibiSlopesFollowMpt) {
  auto s = alibi_slopes(4, 8);
  EXPECT_TRUE(torch::allclose(s, torch::tensor({0.25f, 1 / 16.0f, 1 / 64.0f, 1 / 256.0f})));
}

TEST(OpenFlamingo, MptLayoutSlopesRoundTheHeadCountUp) {
  // 6 heads: the slopes of 8 (2^-1 .. 2^-8), odd-numbered first, then the even ones, cut to 6.
  auto s = alibi_slopes(6, 8, /*power_of_two=*/true);
  auto expected = torch::tensor({1 / 4.0f, 1 / 16.0f, 1 / 64.0f, 1 / 256.0f, 1 / 2.0f, 1 / 8.0f});
  EXPECT_TRUE(torch::allclose(s, expected)) << s;
  EXPECT_TRUE(torch::allclose(alibi_slopes(4, 8, true), alibi_slopes(4, 8)));
  EXPECT_EQ(mpt_module_key("transformer.blocks.3.ffn.up_proj.weight"),
            "transformer.blocks.3.mlp.mlp_up.weight");
  EXPECT_EQ(mpt_module_key("transformer.norm_f.weight"), "transformer.ln_f.weight");
}

// The fixture's language model rewritten in the "mpt" layout (MPT-7B's config and names, a
// safetensors file with the tied lm_head saved too) gives the same model.
TEST(OpenFlamingo, MptLayoutLanguageModelLoadsTheSameModel) {
  const std::string src = test::fixture_dir("openflamingo");
  test::TempDir dir;
  fs::create_directory_symlink(src + "/vision", dir.file("vision"));
  fs::create_symlink(src + "/checkpoint.pt", dir.file("checkpoint.pt"));
  fs::copy_file(src + "/config.json", dir.file("config.json"));
  fs::create_directory(dir.file("lang"));
  const nlohmann::json old = io::read_json_file(src + "/lang/config.json");
  nlohmann::json config = {{"model_type", "mpt"},
                           {"d_model", old["d_model"]},
                           {"n_heads", old["n_heads"]},
                           {"n_layers", old["n_layers"]},
                           {"expansion_ratio", old["mlp_ratio"]},
                           {"max_seq_len", old["max_seq_len"]},
                           {"vocab_size", old["vocab_size"]},
                           {"no_bias", true},
                           {"norm_type", "low_precision_layernorm"},
                           {"learned_pos_emb", true},
                           {"attn_config",
                            {{"alibi", true},
                             {"alibi_bias_max", old["alibi_bias_max"]},
                             {"attn_impl", "torch"},
                             {"attn_type", "multihead_attention"},
                             {"qk_ln", true},
                             {"clip_qkv", nullptr}}}};
  test::write_file(dir.file("lang/config.json"), config.dump());
  std::vector<std::pair<std::string, at::Tensor>> tensors;
  for (const auto& [key, t] : io::load_torch_pickle(src + "/lang/pytorch_model.bin")) {
    std::string name = key;
    for (const auto& [ours, theirs] :
         std::vector<std::pair<std::string, std::string>>{{".ln_1.", ".norm_1."},
                                                          {".ln_2.", ".norm_2."},
                                                          {".mlp.mlp_up.", ".ffn.up_proj."},
                                                          {".mlp.mlp_down.", ".ffn.down_proj."},
                                                          {".ln_f.", ".norm_f."}}) {
      const size_t pos = name.find(ours);
      if (pos != std::string::npos) name.replace(pos, ours.size(), theirs);
    }
    tensors.emplace_back(name, t);
    if (name == "transformer.wte.weight") tensors.emplace_back("lm_head.weight", t);
  }
  io::save_safetensors(dir.file("lang/model.safetensors"), tensors);

  torch::NoGradGuard no_grad;
  auto file = io::SafetensorsFile::open(src + "/io.safetensors");
  OpenFlamingoInputs in;
  in.vision_x = file->tensor("vision_x");
  in.input_ids = file->tensor("input_ids");
  in.attention_mask = file->tensor("attention_mask");
  at::Tensor reference = load_open_flamingo(src)->forward(in).logits;
  at::Tensor logits = load_open_flamingo(dir.path())->forward(in).logits;
  EXPECT_TRUE(torch::equal(logits, reference));
}

TEST(OpenFlamingo, MediaTimeCountsImagesSoFar) {
  auto ids = torch::tensor({{5, 9, 1, 9, 9, 2}}, torch::kLong);
  EXPECT_TRUE(torch::equal(media_time(ids, 9), torch::tensor({{0, 1, 1, 2, 3, 3}}, torch::kLong)));
}

TEST(OpenFlamingo, GenerationWithAndWithoutCacheAgree) {
  torch::NoGradGuard no_grad;
  auto model = load_open_flamingo(test::fixture_dir("openflamingo"));
  auto file = io::SafetensorsFile::open(test::fixture_dir("openflamingo") + "/io.safetensors");
  at::Tensor vision = file->tensor("vision_x").narrow(0, 0, 1);
  at::Tensor ids = file->tensor("input_ids").narrow(0, 0, 1).narrow(1, 0, 9);
  GenerationOptions o;
  o.max_new_tokens = 5;
  at::Tensor cached = generate_open_flamingo(*model, vision, ids, at::Tensor(), o);
  o.use_cache = false;
  at::Tensor uncached = generate_open_flamingo(*model, vision, ids, at::Tensor(), o);
  EXPECT_TRUE(torch::equal(cached, uncached)) << cached << uncached;
}

TEST(OpenFlamingo, SizesThatDisagreeWithTheCheckpointAreNamed) {
  {
    EditedFolder f([](nlohmann::json& c) { c["perceiver"]["num_latents"] = 4; });
    std::string m = error_of([&] { load_open_flamingo(f.dir()); });
    EXPECT_NE(m.find("perceiver.num_latents = 4"), std::string::npos) << m;
    EXPECT_NE(m.find("checkpoint.pt"), std::string::npos) << m;
  }
  {
    EditedFolder f([](nlohmann::json& c) { c["perceiver"]["depth"] = 6; });
    std::string m = error_of([&] { load_open_flamingo(f.dir()); });
    EXPECT_NE(m.find("perceiver.depth = 6"), std::string::npos) << m;
  }
  {
    EditedFolder f([](nlohmann::json& c) { c["gated_xattn"]["dim_head"] = 64; });
    std::string m = error_of([&] { load_open_flamingo(f.dir()); });
    EXPECT_NE(m.find("gated_xattn.heads × dim_head"), std::string::npos) << m;
  }
  {
    EditedFolder f([](nlohmann::json& c) { c["gated_xattn_layers"] = {1}; });
    std::string m = error_of([&] { load_open_flamingo(f.dir()); });
    EXPECT_NE(m.find("gated cross-attention layers"), std::string::npos) << m;
  }
  {
    // Every second block: only block 1, but the checkpoint has gated layers before 0 and 1.
    EditedFolder f([](nlohmann::json& c) {
      c.erase("gated_xattn_layers");
      c["cross_attn_every_n_layers"] = 2;
    });
    std::string m = error_of([&] { load_open_flamingo(f.dir()); });
    EXPECT_NE(m.find("blocks [0, 1]"), std::string::npos) << m;
  }
  {
    EditedFolder f([](nlohmann::json& c) { c["vocab_size"] = 50280; });
    std::string m = error_of([&] { load_open_flamingo(f.dir()); });
    EXPECT_NE(m.find("vocab_size = 50280"), std::string::npos) << m;
  }
}

TEST(OpenFlamingo, LanguageModelsOtherThanMptAreRefusedByName) {
  EditedFolder llama([](nlohmann::json&) {},
                     nlohmann::json{{"model_type", "llama"}, {"hidden_size", 48}});
  std::string m = error_of([&] { load_open_flamingo(llama.dir()); });
  EXPECT_NE(m.find("\"llama\""), std::string::npos) << m;
  EXPECT_NE(m.find("lang/config.json"), std::string::npos) << m;

  nlohmann::json no_alibi =
      io::read_json_file(test::fixture_dir("openflamingo") + "/lang/config.json");
  no_alibi["alibi"] = false;
  EditedFolder learned([](nlohmann::json&) {}, no_alibi);
  m = error_of([&] { load_open_flamingo(learned.dir()); });
  EXPECT_NE(m.find("alibi"), std::string::npos) << m;
}

TEST(OpenFlamingo, RootConfigNeedsTheSpecialTokens) {
  EditedFolder f([](nlohmann::json& c) { c.erase("media_token_id"); });
  std::string m = error_of([&] { load_open_flamingo(f.dir()); });
  EXPECT_NE(m.find("media_token_id"), std::string::npos) << m;
}

}  // namespace
}  // namespace lavender::vlm

#include "lavender/vlm/open_flamingo_release.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "cli/run_cli.h"
#include "lavender/io/checkpoint.h"
#include "lavender/io/json_file.h"
#include "lavender/io/safetensors.h"
#include "lavender/io/torch_pickle.h"
#include "lavender/util/error.h"
#include "lavender/vlm/open_flamingo.h"
#include "test_errors.h"
#include "test_paths.h"
#include "vlm/tiny_vlm_folder.h"

namespace lavender::vlm {
namespace {

namespace fs = std::filesystem;

using test::error_of;

// The fixture's three parts as a user downloads them into `dir`: vision/ and checkpoint.pt
// linked, lang/ with the language model's files linked and its 100-token tokenizer.json.
void download_flamingo_parts(const std::string& dir) {
  const std::string src = test::fixture_dir("openflamingo");
  fs::create_directories(dir + "/lang");
  fs::create_directory_symlink(src + "/vision", dir + "/vision");
  fs::create_symlink(src + "/checkpoint.pt", dir + "/checkpoint.pt");
  for (const char* f : {"config.json", "pytorch_model.bin"})
    fs::create_symlink(src + "/lang/" + f, dir + "/lang/" + f);
  test::write_file(dir + "/lang/tokenizer.json", test::tiny_flamingo_base_tokenizer().dump());
}

// The fixture's heads (2 × 16) are not the release's 8 × 64: the checkpoint shows only 32.
OpenFlamingoReleaseOptions fixture_release(const std::string& parts, const std::string& out) {
  OpenFlamingoReleaseOptions o;
  o.checkpoint = parts + "/checkpoint.pt";
  o.lang = parts + "/lang";
  o.vision = parts + "/vision";
  o.out = out;
  o.sizes.perceiver.heads = 2;
  o.sizes.gated_xattn.dim_head = 16;
  return o;
}

TEST(OpenFlamingoRelease, WritesTheFixturesConfigFromItsParts) {
  test::TempDir dir;
  download_flamingo_parts(dir.path());
  const auto r = write_open_flamingo_config(fixture_release(dir.path(), dir.path()));
  EXPECT_FALSE(r.unchanged);
  EXPECT_EQ(r.base_tokens, 100);
  EXPECT_TRUE(r.pad_added);

  const nlohmann::json expected =
      io::read_json_file(test::fixture_dir("openflamingo") + "/config.json");
  const nlohmann::json written = io::read_json_file(dir.file("config.json"));
  for (const auto& [key, value] : expected.items())
    EXPECT_EQ(written.value(key, nlohmann::json()), value) << key;

  // The folder loads as the fixture does, with the tokenizer at its root.
  auto model = load_open_flamingo(dir.path());
  EXPECT_EQ(model->gated_layers(), (std::vector<int64_t>{0, 1}));
  EXPECT_EQ(open_flamingo_tokenizer_folder(dir.path()), dir.path());
  const nlohmann::json tokenizer = io::read_json_file(dir.file("tokenizer.json"));
  EXPECT_EQ(tokenizer["added_tokens"].size(), 3u);
  EXPECT_EQ(tokenizer["added_tokens"][1]["content"], "<image>");
  EXPECT_EQ(tokenizer["added_tokens"][1]["id"], 101);

  // Again: nothing to do.
  EXPECT_TRUE(write_open_flamingo_config(fixture_release(dir.path(), dir.path())).unchanged);
}

// Parts outside OUT are named by absolute paths, which the loader takes as they are.
TEST(OpenFlamingoRelease, PartsElsewhereAreNamedByAbsolutePaths) {
  test::TempDir parts, out;
  download_flamingo_parts(parts.path());
  write_open_flamingo_config(fixture_release(parts.path(), out.file("model")));
  const nlohmann::json c = io::read_json_file(out.file("model/config.json"));
  EXPECT_EQ(c["checkpoint"], parts.path() + "/checkpoint.pt");
  EXPECT_EQ(c["lang"], parts.path() + "/lang");
  EXPECT_TRUE(fs::path(c["vision"].get<std::string>()).is_absolute());
  auto model = load_open_flamingo(out.file("model"));
  EXPECT_EQ(model->lang_encoder->transformer->wte->weight.size(0), 103);
}

// openai/clip-vit-large-patch14 as downloaded is a whole CLIPModel: its config nests the tower's
// as vision_config and its weights hold the text tower too, which the loader leaves out.
TEST(OpenFlamingoRelease, AWholeClipModelServesAsTheVisionFolder) {
  test::TempDir dir;
  download_flamingo_parts(dir.path());
  const std::string src = test::fixture_dir("openflamingo");
  fs::remove(dir.file("vision"));
  fs::create_directory(dir.file("vision"));
  const nlohmann::json clip = {{"architectures", {"CLIPModel"}},
                               {"model_type", "clip"},
                               {"projection_dim", 16},
                               {"text_config", {{"hidden_size", 8}}},
                               {"vision_config", io::read_json_file(src + "/vision/config.json")}};
  test::write_file(dir.file("vision/config.json"), clip.dump());
  std::vector<std::pair<std::string, at::Tensor>> tensors;
  io::Checkpoint tower = io::Checkpoint::open(src + "/vision");
  for (const auto& name : tower.names()) tensors.emplace_back(name, tower.tensor(name).clone());
  tensors.emplace_back("text_model.embeddings.token_embedding.weight", torch::ones({4, 8}));
  tensors.emplace_back("visual_projection.weight", torch::ones({16, 32}));
  tensors.emplace_back("logit_scale", torch::ones({}));
  io::save_safetensors(dir.file("vision/model.safetensors"), tensors);

  write_open_flamingo_config(fixture_release(dir.path(), dir.path()));
  torch::NoGradGuard no_grad;
  auto file = io::SafetensorsFile::open(src + "/io.safetensors");
  OpenFlamingoInputs in;
  in.vision_x = file->tensor("vision_x");
  in.input_ids = file->tensor("input_ids");
  EXPECT_TRUE(torch::equal(load_open_flamingo(dir.path())->forward(in).logits,
                           load_open_flamingo(src)->forward(in).logits));
}

TEST(OpenFlamingoRelease, ADifferentConfigIsReplacedOnlyWithForce) {
  test::TempDir dir;
  download_flamingo_parts(dir.path());
  nlohmann::json edited = io::read_json_file(test::fixture_dir("openflamingo") + "/config.json");
  edited["media_token_id"] = 5;
  test::write_file(dir.file("config.json"), edited.dump());
  auto o = fixture_release(dir.path(), dir.path());
  const std::string m = error_of([&] { write_open_flamingo_config(o); });
  EXPECT_NE(m.find(dir.file("config.json")), std::string::npos) << m;
  EXPECT_NE(m.find("--force"), std::string::npos) << m;
  EXPECT_FALSE(fs::exists(dir.file("tokenizer.json")));  // nothing written
  o.force = true;
  write_open_flamingo_config(o);
  EXPECT_EQ(io::read_json_file(dir.file("config.json"))["media_token_id"], 101);
}

TEST(OpenFlamingoRelease, ErrorsNameTheFileAndTheTensor) {
  test::TempDir dir;
  download_flamingo_parts(dir.path());
  {
    auto o = fixture_release(dir.path(), dir.file("out"));
    o.checkpoint = dir.file("absent.pt");
    const std::string m = error_of([&] { write_open_flamingo_config(o); });
    EXPECT_NE(m.find("--checkpoint " + dir.file("absent.pt") + ": no such file"), std::string::npos)
        << m;
  }
  {
    // A checkpoint without the Perceiver.
    c10::Dict<std::string, at::Tensor> dict;
    for (const auto& [name, t] :
         io::load_torch_pickle(test::fixture_dir("openflamingo") + "/checkpoint.pt"))
      if (name.rfind("perceiver.", 0) != 0) dict.insert(name, t);
    const std::vector<char> bytes = torch::pickle_save(dict);
    test::write_file(dir.file("no-perceiver.pt"), std::string(bytes.begin(), bytes.end()));
    auto o = fixture_release(dir.path(), dir.file("out"));
    o.checkpoint = dir.file("no-perceiver.pt");
    const std::string m = error_of([&] { write_open_flamingo_config(o); });
    EXPECT_NE(m.find("no-perceiver.pt: no Perceiver tensors"), std::string::npos) << m;
  }
  {
    // The release's default 8 × 64 does not fit the fixture's inner width of 32.
    auto o = fixture_release(dir.path(), dir.file("out"));
    o.sizes.perceiver = {};
    const std::string m = error_of([&] { write_open_flamingo_config(o); });
    EXPECT_NE(m.find("perceiver.layers.0.0.to_q.weight is [32, 32]"), std::string::npos) << m;
    EXPECT_NE(m.find("8 heads × 64"), std::string::npos) << m;
  }
  {
    // Heads that do not split the width, named with the gated layer's tensor.
    auto o = fixture_release(dir.path(), dir.file("out"));
    o.sizes.gated_xattn = {3, std::nullopt};
    const std::string m = error_of([&] { write_open_flamingo_config(o); });
    EXPECT_NE(m.find("blocks.0.gated_cross_attn_layer.attn.to_q.weight"), std::string::npos) << m;
    EXPECT_NE(m.find("3 heads"), std::string::npos) << m;
  }
  {
    // A cross-attention interval the checkpoint's blocks contradict fails the loader's check.
    auto o = fixture_release(dir.path(), dir.file("out"));
    o.sizes.cross_attn_every_n_layers = 2;
    const std::string m = error_of([&] { write_open_flamingo_config(o); });
    EXPECT_NE(m.find("blocks [0, 1]"), std::string::npos) << m;
  }
  {
    // The chat tests' tokenizer (259 tokens) is not the one the 103-row embedding was made for.
    test::write_file(dir.file("lang/tokenizer.json"), test::tiny_flamingo_tokenizer().dump());
    const std::string m =
        error_of([&] { write_open_flamingo_config(fixture_release(dir.path(), dir.file("out"))); });
    EXPECT_NE(m.find("lang_encoder.transformer.wte.weight has 103 rows"), std::string::npos) << m;
    EXPECT_NE(m.find("259"), std::string::npos) << m;
  }
  EXPECT_FALSE(fs::exists(dir.file("out/config.json")));
}

TEST(OpenFlamingoRelease, TheCommandWritesTheConfig) {
  test::TempDir dir;
  download_flamingo_parts(dir.path());
  const std::string parts = " --checkpoint " + dir.file("checkpoint.pt") + " --lang " +
                            dir.file("lang") + " --vision " + dir.file("vision") + " --out " +
                            dir.path();
  auto r = test::run_cli("openflamingo-config" + parts +
                         " --perceiver-heads 2 --xattn-heads 2 --xattn-dim-head 16");
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("<image> 101"), std::string::npos) << r.output;
  EXPECT_EQ(io::read_json_file(dir.file("config.json"))["eoc_token_id"], 100);
  r = test::run_cli("openflamingo-config" + parts);
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_NE(r.output.find("--perceiver-heads"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace lavender::vlm

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "lavender/io/config/minicpmv.h"
#include "lavender/io/image.h"
#include "lavender/io/json_file.h"
#include "lavender/io/safetensors.h"
#include "lavender/util/error.h"
#include "lavender/vlm/minicpmv.h"
#include "lavender/vlm/minicpmv_image_processor.h"
#include "test_paths.h"

namespace lavender::vlm {
namespace {

std::string fixture() {
  return test::fixture_dir("minicpmv");
}

struct IoTensors {
  std::shared_ptr<io::SafetensorsFile> io =
      io::SafetensorsFile::open(fixture() + "/io.safetensors");
  at::Tensor operator[](const std::string& name) const { return io->tensor(name); }
  std::vector<at::Tensor> pixel_values() const {
    std::vector<at::Tensor> out;
    for (int i = 0; io->contains("pixel_values." + std::to_string(i)); ++i)
      out.push_back(io->tensor("pixel_values." + std::to_string(i)));
    return out;
  }
};

double max_abs_diff(const at::Tensor& a, const at::Tensor& b) {
  EXPECT_EQ(a.sizes(), b.sizes());
  return (a.to(torch::kDouble) - b.to(torch::kDouble)).abs().max().item<double>();
}

std::string minicpmv_config_error(const std::function<void(nlohmann::json&)>& edit) {
  nlohmann::json j = io::read_json_file(fixture() + "/config.json");
  edit(j);
  try {
    io::config::parse_minicpmv_config(j, "config.json");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(MiniCpmVConfig, ReadsTheHubLayout) {
  auto c = io::config::load_minicpmv_config(fixture() + "/config.json");
  EXPECT_EQ(c.llm.hidden_size, 256);
  EXPECT_EQ(c.llm.num_key_value_heads, 2);
  EXPECT_EQ(c.llm.rope.theta, 500000.0);
  EXPECT_EQ(c.vision_config.hidden_size, 32);
  EXPECT_EQ(c.vision_config.hidden_act, "gelu_pytorch_tanh");
  EXPECT_EQ(c.vision_config.layer_norm_eps, 1e-6);
  EXPECT_EQ(c.query_num, 6);  // the file wins over the class default (96)
  EXPECT_FALSE(c.drop_vision_last_layer);
  EXPECT_TRUE(c.batch_vision_input);
  EXPECT_EQ(c.slice_config.scale_resolution, 16);
  EXPECT_EQ(c.slice_config.max_slice_nums, 9);
  EXPECT_EQ(io::config::minicpmv_resampler_heads(c), 2);
}

TEST(MiniCpmVConfig, DefaultsAreTheReleasesAndUnsupportedValuesNameTheirField) {
  auto c = io::config::parse_minicpmv_config(
      nlohmann::json{{"model_type", "minicpmv"}, {"hidden_size", 4096}}, "c");
  EXPECT_EQ(c.query_num, 96);
  EXPECT_EQ(c.vision_config.hidden_size, 1152);
  EXPECT_EQ(c.vision_config.num_hidden_layers, 27);
  EXPECT_EQ(c.vision_config.image_size, 980);
  EXPECT_EQ(c.patch_size, 14);
  EXPECT_NE(minicpmv_config_error([](auto& j) { j["version"] = "2.6"; }).find("field 'version'"),
            std::string::npos);
  EXPECT_NE(
      minicpmv_config_error([](auto& j) { j["hidden_size"] = 200; }).find("field 'hidden_size'"),
      std::string::npos);
  EXPECT_NE(minicpmv_config_error([](auto& j) { j["patch_size"] = 14; }).find("field 'patch_size'"),
            std::string::npos);
  EXPECT_NE(minicpmv_config_error([](auto& j) {
              j["vision_config"]["model_type"] = "siglip";
            }).find("field 'vision_config.model_type'"),
            std::string::npos);
  EXPECT_NE(minicpmv_config_error([](auto& j) { j["query_num"] = 0; }).find("field 'query_num'"),
            std::string::npos);
}

// openbmb/MiniCPM-Llama3-V-2_5 config.json as published.
constexpr const char* kHubConfig = R"json({
  "_name_or_path": "openbmb/MiniCPM-Llama3-V-2_5", "version": "2.5", "architectures": ["MiniCPMV"],
  "attention_bias": false, "attention_dropout": 0.0, "batch_vision_input": true,
  "bos_token_id": 128000, "drop_vision_last_layer": false, "eos_token_id": 128001,
  "hidden_act": "silu", "hidden_size": 4096, "image_size": 448, "initializer_range": 0.02,
  "intermediate_size": 14336, "max_position_embeddings": 8192, "mm_use_im_start_end": true,
  "model_type": "minicpmv", "num_attention_heads": 32, "num_hidden_layers": 32,
  "num_key_value_heads": 8, "patch_size": 14, "pretraining_tp": 1, "query_num": 96,
  "rms_norm_eps": 1e-05, "rope_scaling": null, "rope_theta": 500000.0,
  "slice_config": {"max_slice_nums": 9, "patch_size": 14, "model_type": "minicpmv"},
  "slice_mode": true, "tie_word_embeddings": false, "torch_dtype": "float16",
  "transformers_version": "4.40.0", "use_cache": false,
  "vision_config": {"hidden_size": 1152, "image_size": 980, "intermediate_size": 4304,
                    "model_type": "idefics2", "num_attention_heads": 16,
                    "num_hidden_layers": 27, "patch_size": 14},
  "vocab_size": 128256
})json";

TEST(MiniCpmVConfig, ReadsThePublishedConfig) {
  auto c = io::config::parse_minicpmv_config(nlohmann::json::parse(kHubConfig), "hub");
  EXPECT_EQ(c.llm.vocab_size, 128256);
  EXPECT_EQ(c.llm.num_key_value_heads, 8);
  EXPECT_EQ(c.llm.head_dim, 128);
  EXPECT_EQ(c.vision_config.hidden_size, 1152);
  EXPECT_EQ(c.vision_config.head_dim, 72);
  EXPECT_EQ(c.vision_config.hidden_act, "gelu_pytorch_tanh");
  EXPECT_EQ(c.vision_config.layer_norm_eps, 1e-6);
  EXPECT_EQ(c.vision_config.image_size / c.vision_config.patch_size, 70);
  EXPECT_EQ(c.query_num, 96);
  EXPECT_FALSE(c.drop_vision_last_layer);
  EXPECT_EQ(c.slice_config.scale_resolution, 448);
  EXPECT_EQ(io::config::minicpmv_resampler_heads(c), 32);
}

TEST(MiniCpmV, RejectsAnotherArchitectureFolder) {
  EXPECT_THROW(load_minicpmv(test::fixture_dir("llava")), Error);
}

// The release's batch: position ids bucket k / Lmax; alone, k / (h·w).
TEST(MiniCpmVVision, PositionIdsBucketTheFlattenedRow) {
  IoTensors f;
  at::Tensor batch = torch::ones({8, 1, 16}, torch::kBool);
  EXPECT_TRUE(at::equal(bucketed_position_ids(batch, 8), f["vision_position_ids"]));
  for (int i = 0; i < 8; ++i) {
    at::Tensor ref = f["unbatched.vision_position_ids." + std::to_string(i)];
    at::Tensor alone = torch::ones({1, 1, ref.size(0)}, torch::kBool);
    EXPECT_TRUE(at::equal(bucketed_position_ids(alone, 8)[0], ref)) << i;
  }
  // A 2-D grid (Idefics2 proper) buckets rows and columns separately.
  at::Tensor grid = bucketed_position_ids(torch::ones({1, 2, 2}, torch::kBool), 8);
  EXPECT_TRUE(at::equal(grid[0], torch::tensor({0, 4, 32, 36}, torch::kLong)));
}

TEST(MiniCpmVVision, TowerAndResamplerMatchTheReleaseBatchedAndAlone) {
  torch::NoGradGuard no_grad;
  IoTensors f;
  auto model = load_minicpmv(fixture());
  const auto pixels = f.pixel_values();
  auto batched = model->encode_images(pixels, f["tgt_sizes"], MiniCpmVVisionBatching::kRelease,
                                      /*capture_resampler=*/true);
  auto alone = model->encode_images(pixels, f["tgt_sizes"], MiniCpmVVisionBatching::kPerImage);
  auto masked = model->encode_images(pixels, f["tgt_sizes"], MiniCpmVVisionBatching::kMasked);
  for (size_t i = 0; i < pixels.size(); ++i) {
    const std::string n = std::to_string(i);
    EXPECT_LT(max_abs_diff(batched.hidden[i], f["vision_hidden." + n]), 1e-4) << i;
    EXPECT_LT(max_abs_diff(alone.hidden[i], f["unbatched.vision_hidden." + n]), 1e-4) << i;
    EXPECT_LT(max_abs_diff(masked.hidden[i], f["unbatched.vision_hidden." + n]), 1e-4) << i;
  }
  // The release's quirk is real: the shorter images differ between the two paths.
  EXPECT_GT(max_abs_diff(batched.hidden[0], alone.hidden[0]), 1e-3);
  EXPECT_LT(max_abs_diff(batched.features, f["resampler_out"]), 1e-4);
  EXPECT_LT(max_abs_diff(alone.features, f["unbatched.resampler_out"]), 1e-4);
  EXPECT_LT(max_abs_diff(masked.features, f["unbatched.resampler_out"]), 1e-4);
  EXPECT_LT(max_abs_diff(batched.resampler_attn_heads, f["resampler_attn_heads"]), 1e-5);
  EXPECT_LT(max_abs_diff(batched.resampler_attn_heads.mean(1), f["resampler_attn"]), 1e-5);
}

TEST(MiniCpmV, ForwardMatchesLogitsLossAndEmbeddings) {
  torch::NoGradGuard no_grad;
  IoTensors f;
  auto model = load_minicpmv(fixture());
  MiniCpmVInputs in;
  in.input_ids = f["input_ids"];
  in.attention_mask = f["attention_mask"];
  in.position_ids = f["position_ids"];
  in.labels = f["labels"];
  in.pixel_values = f.pixel_values();
  in.tgt_sizes = f["tgt_sizes"];
  for (int b = 0; b < 2; ++b) {
    at::Tensor bounds = image_bounds_from_ids(in.input_ids[b], 266, 267);
    EXPECT_TRUE(at::equal(bounds, f["image_bound." + std::to_string(b)])) << b;
    in.image_bounds.push_back(bounds);
  }
  MiniCpmVCapture capture;
  capture.layers = {0, -1};
  capture.full_matrix = true;
  auto out = model->forward(in, &capture);
  EXPECT_LT(max_abs_diff(out.inputs_embeds, f["inputs_embeds"]), 1e-4);
  EXPECT_LT(max_abs_diff(out.logits, f["logits"]), 1e-4);
  EXPECT_LT(max_abs_diff(out.loss, f["loss"]), 1e-4);
  EXPECT_LT(max_abs_diff(capture.probs.at(0), f["lm_attentions.0"]), 1e-5);
  EXPECT_LT(max_abs_diff(capture.probs.at(1), f["lm_attentions.1"]), 1e-5);

  // The block the Lavender objective reads: text rows × each row's own image columns.
  MiniCpmVCapture block;
  block.layers = {1};
  model->forward(in, &block);
  at::Tensor full = f["lm_attentions.1"];
  EXPECT_EQ(block.query_begin, 16);  // after row 1's only image (bound [10, 16))
  ASSERT_EQ(block.image_positions.sizes(), at::IntArrayRef({2, 42}));
  EXPECT_EQ(block.image_columns[1].sum().item<int64_t>(), 6);
  EXPECT_EQ(block.image_positions[0][41].item<int64_t>(), 65);
  at::Tensor p = block.probs.at(1);
  ASSERT_EQ(p.sizes(), at::IntArrayRef({2, 4, 102 - 16, 42}));
  for (int64_t r = 0; r < 2; ++r) {
    const int64_t n = block.image_columns[r].sum().item<int64_t>();
    at::Tensor cols = block.image_positions[r].narrow(0, 0, n);
    at::Tensor expected = full[r].slice(1, 16).index_select(2, cols);
    EXPECT_LT(max_abs_diff(p[r].narrow(2, 0, n), expected), 1e-5) << r;
    EXPECT_EQ(p[r].narrow(2, n, 42 - n).abs().sum().item<double>(), 0.0) << r;
  }
  // Row 0's rows inside its slices are image tokens; row 1's padding is not a text row.
  EXPECT_FALSE(block.text_rows[0][19 - 16].item<bool>());
  EXPECT_TRUE(block.text_rows[0][16 - 16].item<bool>());
  EXPECT_FALSE(block.text_rows[1][40 - 16].item<bool>());

  // Mismatched prompts and images are errors, not silent misplacement.
  MiniCpmVInputs fewer = in;
  fewer.pixel_values.pop_back();
  fewer.tgt_sizes = in.tgt_sizes.narrow(0, 0, 7);
  EXPECT_THROW(model->forward(fewer), Error);
}

MiniCpmVInputs fixture_inputs(const IoTensors& f) {
  MiniCpmVInputs in;
  in.input_ids = f["input_ids"];
  in.attention_mask = f["attention_mask"];
  in.pixel_values = f.pixel_values();
  in.tgt_sizes = f["tgt_sizes"];
  for (int b = 0; b < 2; ++b) in.image_bounds.push_back(f["image_bound." + std::to_string(b)]);
  return in;
}

// Loading straight into bf16 gives the fp32 logits within bf16's precision.
TEST(MiniCpmV, LoadsStraightIntoBf16) {
  torch::NoGradGuard no_grad;
  IoTensors f;
  auto model = load_minicpmv(fixture(), torch::kBFloat16);
  for (const auto& p : model->named_parameters())
    ASSERT_EQ(p.value().scalar_type(), torch::kBFloat16) << p.key();
  at::Tensor logits = model->forward(fixture_inputs(f)).logits.to(torch::kFloat);
  at::Tensor ref = f["logits"];
  EXPECT_LT((logits - ref).abs().max().item<float>(), 0.05f * ref.abs().max().item<float>());
}

// drop_vision_last_layer: the tower is built one layer short and the file's last layer is
// skipped, as the release's from_pretrained does.
TEST(MiniCpmV, DropVisionLastLayerSkipsThatLayersWeights) {
  test::TempDir tmp;
  nlohmann::json config = io::read_json_file(fixture() + "/config.json");
  config["drop_vision_last_layer"] = true;
  std::ofstream(tmp.file("config.json")) << config.dump();
  std::filesystem::copy_file(fixture() + "/model.safetensors", tmp.file("model.safetensors"));
  auto model = load_minicpmv(tmp.path());
  EXPECT_EQ(model->vpm->encoder->num_layers(), 1u);
  torch::NoGradGuard no_grad;
  IoTensors f;
  auto out = model->forward(fixture_inputs(f));
  EXPECT_EQ(out.logits.sizes(), f["logits"].sizes());
  EXPECT_GT((out.logits - f["logits"]).abs().max().item<float>(), 1e-3f);
}

TEST(MiniCpmV, GreedyDecodingWithAndWithoutCacheMatchesTheReference) {
  torch::NoGradGuard no_grad;
  IoTensors f;
  auto model = load_minicpmv(fixture());
  const int64_t len0 = f["attention_mask"][0].sum().item<int64_t>();
  at::Tensor ids = f["input_ids"].narrow(0, 0, 1).narrow(1, 0, len0);
  at::Tensor prompt = f["inputs_embeds"].narrow(0, 0, 1).narrow(1, 0, len0);
  GenerationOptions options;
  options.max_new_tokens = 6;
  for (bool cache : {false, true}) {
    options.use_cache = cache;
    at::Tensor out = generate_minicpmv(*model, prompt, ids, options);
    EXPECT_TRUE(at::equal(out[0].slice(0, len0), f["greedy_ids"])) << "cache " << cache;
  }
}

using Size = std::pair<int64_t, int64_t>;

TEST(MiniCpmVImageProcessor, SizeArithmeticFollowsTheRelease) {
  EXPECT_EQ(minicpmv_ensure_divide(18, 4), 16);  // round(4.5) = 4: ties to even, as Python
  EXPECT_EQ(minicpmv_ensure_divide(14, 4), 16);  // round(3.5) = 4
  EXPECT_EQ(minicpmv_ensure_divide(1, 4), 4);
  EXPECT_EQ(minicpmv_best_resize(46, 26, 16, 4, false), Size(20, 12));
  EXPECT_EQ(minicpmv_best_resize(14, 10, 16, 4, true), Size(16, 12));
  // Small enough and no upscaling: only rounded to the patch size.
  EXPECT_EQ(minicpmv_best_resize(10, 7, 16, 4, false), Size(8, 8));
}

TEST(MiniCpmVImageProcessor, SlicesPixelValuesAndPlaceholdersMatchTheFixture) {
  IoTensors f;
  const nlohmann::json meta = io::read_json_file(fixture() + "/meta.json");
  MiniCpmVImageProcessor processor(
      load_minicpmv_image_processor_config(fixture() + "/preprocessor_config.json"));
  int n = 0;
  std::vector<at::Tensor> sizes;
  for (const auto& row : meta["rows"]) {
    const auto& image = row["images"][0];
    auto result =
        processor.preprocess(io::read_image(fixture() + "/" + image["file"].get<std::string>()));
    const std::string prompt = row["prompt"];
    EXPECT_NE(prompt.find(result.placeholder + "\n" + row["question"].get<std::string>()),
              std::string::npos)
        << result.placeholder;
    for (size_t i = 0; i < result.images.size(); ++i, ++n) {
      const std::string k = std::to_string(n);
      for (const auto& [ours, name] :
           {std::make_pair(result.images[i], "slice_image." + k),
            std::make_pair(result.pixel_values[i], "pixel_values." + k)}) {
        at::Tensor d = (ours - f[name]).abs();
        EXPECT_LT(d.mean().item<double>(), 1e-3) << name;
        EXPECT_LT(d.max().item<double>(), 2e-2) << name;
      }
    }
    sizes.push_back(result.tgt_sizes);
  }
  EXPECT_EQ(n, 8);
  EXPECT_TRUE(at::equal(torch::cat(sizes), f["tgt_sizes"]));
}

}  // namespace
}  // namespace lavender::vlm

// Parameter counts from config.json against the truth: every tensor of the fixtures'
// checkpoints (written by transformers), part by part, and the published totals of the real
// models from their Hub configs (tests/data/hub-configs).
#include "lavender/vlm/parameter_count.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "lavender/io/checkpoint.h"
#include "lavender/io/torch_pickle.h"
#include "lavender/util/error.h"
#include "test_paths.h"

namespace lavender::vlm {
namespace {

std::string hub_config(const std::string& name) {
  return std::string(LAVENDER_SOURCE_DIR) + "/tests/data/hub-configs/" + name;
}

// Tensors of `ckpt` whose names start with any of `prefixes`, counted.
int64_t numel_under(const io::Checkpoint& ckpt, const std::vector<std::string>& prefixes) {
  int64_t n = 0;
  for (const auto& name : ckpt.names())
    for (const auto& p : prefixes)
      if (name.rfind(p, 0) == 0) {
        n += static_cast<int64_t>(ckpt.info(name).numel());
        break;
      }
  return n;
}

// Tensors of `ckpt` whose names contain `part` and `layers`, counted.
int64_t numel_in_layers(const io::Checkpoint& ckpt, const std::string& part,
                        const std::string& layers = ".layers.") {
  int64_t n = 0;
  for (const auto& name : ckpt.names())
    if (name.find(part) != std::string::npos && name.find(layers) != std::string::npos)
      n += static_cast<int64_t>(ckpt.info(name).numel());
  return n;
}

TEST(ParameterCount, LlavaFixtureTensorByTensor) {
  const std::string dir = test::fixture_dir("llava");
  const ParameterCount c = count_parameters(dir);
  const auto ckpt = io::Checkpoint::open(dir);
  EXPECT_EQ(c.architecture, "LlavaForConditionalGeneration");
  EXPECT_EQ(c.vision, numel_under(ckpt, {"vision_tower.", "model.vision_tower."}));
  EXPECT_EQ(c.language_layers, numel_in_layers(ckpt, "language_model."));
  EXPECT_EQ(c.vision_layers, numel_in_layers(ckpt, "vision_tower."));
  EXPECT_EQ(c.projector,
            numel_under(ckpt, {"multi_modal_projector.", "model.multi_modal_projector."}));
  EXPECT_EQ(c.total(), numel_under(ckpt, {""}));
}

TEST(ParameterCount, MllamaFixtureTensorByTensor) {
  const std::string dir = test::fixture_dir("mllama");
  const ParameterCount c = count_parameters(dir);
  const auto ckpt = io::Checkpoint::open(dir);
  EXPECT_EQ(c.architecture, "MllamaForConditionalGeneration");
  EXPECT_EQ(c.vision, numel_under(ckpt, {"vision_model.", "model.vision_model."}));
  EXPECT_EQ(c.language_layers, numel_in_layers(ckpt, "language_model."));
  EXPECT_EQ(c.vision_layers, numel_in_layers(ckpt, "vision_model."));
  EXPECT_EQ(c.projector,
            numel_under(ckpt, {"multi_modal_projector.", "model.multi_modal_projector."}));
  EXPECT_EQ(c.total(), numel_under(ckpt, {""}));
}

TEST(ParameterCount, MiniCpmVFixtureTensorByTensor) {
  const std::string dir = test::fixture_dir("minicpmv");
  const ParameterCount c = count_parameters(dir);
  const auto ckpt = io::Checkpoint::open(dir);
  EXPECT_EQ(c.architecture, "MiniCPMV");
  EXPECT_EQ(c.vision, numel_under(ckpt, {"vpm."}));
  EXPECT_EQ(c.projector, numel_under(ckpt, {"resampler."}));
  EXPECT_EQ(c.language, numel_under(ckpt, {"llm."}));
  EXPECT_EQ(c.language_layers, numel_in_layers(ckpt, "llm."));
  EXPECT_EQ(c.vision_layers, numel_in_layers(ckpt, "vpm."));
  EXPECT_EQ(c.total(), numel_under(ckpt, {""}));
}

TEST(ParameterCount, OpenFlamingoFixtureTensorByTensor) {
  // The release's three parts: the vision folder, the LM's pickle (its wte replaced by the
  // checkpoint's resized one) and checkpoint.pt (Perceiver, gated layers, that wte).
  const std::string dir = test::fixture_dir("openflamingo");
  const ParameterCount c = count_parameters(dir);
  EXPECT_EQ(c.architecture, "OpenFlamingo");
  EXPECT_EQ(c.vision, numel_under(io::Checkpoint::open(dir + "/vision"), {""}));
  int64_t lang = 0, perceiver = 0, checkpoint_lm = 0;
  for (const auto& [name, t] : io::load_torch_pickle(dir + "/lang/pytorch_model.bin"))
    if (name != "transformer.wte.weight") lang += t.numel();
  for (const auto& [name, t] : io::load_torch_pickle(dir + "/checkpoint.pt"))
    (name.rfind("perceiver.", 0) == 0 ? perceiver : checkpoint_lm) += t.numel();
  EXPECT_EQ(c.projector, perceiver);
  EXPECT_EQ(c.language, lang + checkpoint_lm);
}

TEST(ParameterCount, PublishedTotalsOfTheRealModels) {
  // llava-1.5-7b-hf: Llama 2 7B with 32064 rows, CLIP ViT-L/14-336, the two-layer projector.
  const ParameterCount llava7 = count_parameters(hub_config("llava-1.5-7b-hf"));
  EXPECT_EQ(llava7.total(), 7063427072);
  EXPECT_EQ(llava7.vision, 303507456);
  EXPECT_EQ(llava7.projector, 20979712);
  EXPECT_EQ(count_parameters(hub_config("llava-1.5-13b-hf")).total(), 13351494656);
  // Llama-3.2-11B-Vision is published as 10.67 B, the 90B as 88.6 B.
  EXPECT_EQ(count_parameters(hub_config("Llama-3.2-11B-Vision-Instruct")).total(), 10670220835);
  const double b90 =
      static_cast<double>(count_parameters(hub_config("Llama-3.2-90B-Vision-Instruct")).total());
  EXPECT_NEAR(b90 / 1e9, 88.6, 0.05);
  // MiniCPM-Llama3-V-2.5 is published as 8.54 B (Llama 3 8B, SigLIP so400m, the resampler).
  const ParameterCount mini = count_parameters(hub_config("MiniCPM-Llama3-V-2_5"));
  EXPECT_NEAR(static_cast<double>(mini.total()) / 1e9, 8.54, 0.005);
  // OpenFlamingo-3B-vitl-mpt1b ("3B"): CLIP ViT-L/14 at 224 px as CLIPVisionModel holds it, i.e.
  // llava's 336-px tower less (577 - 257) position rows of 1024; MPT-1B with 24 gated
  // cross-attention layers and the resized embedding; the Perceiver.
  const ParameterCount flamingo = count_parameters(hub_config("OpenFlamingo-3B-vitl-mpt1b"));
  EXPECT_EQ(flamingo.vision, 303179776);
  EXPECT_EQ(flamingo.total(), 2558330928);
}

TEST(ParameterCount, LoraCountsEachAdaptedLinear) {
  const ParameterCount c = count_parameters(hub_config("llava-1.5-7b-hf"));
  // 32 layers x r x (in + out) for q, k, v, o: all 4096 -> 4096.
  EXPECT_EQ(lora_parameters(c, 8, {"q_proj", "k_proj", "v_proj", "o_proj"}), 32 * 4 * 8 * 8192);
  EXPECT_EQ(lora_parameters(c, 16, {"q_proj"}), 32 * 16 * 8192);
  EXPECT_EQ(lora_parameters(c, 8, {"gate_proj"}), 0);
}

TEST(ParameterCount, OtherArchitecturesAreNamed) {
  try {
    count_parameters(nlohmann::json{{"architectures", {"BertModel"}}}, "x/config.json");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("x/config.json: architecture BertModel"),
              std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace lavender::vlm

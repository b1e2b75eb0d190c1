#include "lavender/parity/fixture.h"

#include <algorithm>
#include <filesystem>

#include "lavender/io/json_file.h"
#include "lavender/util/error.h"

namespace fs = std::filesystem;

namespace lavender::parity {

const char* kind_name(FixtureKind kind) {
  switch (kind) {
    case FixtureKind::clip_text:
      return "clip_text";
    case FixtureKind::llava:
      return "llava";
    case FixtureKind::mllama:
      return "mllama";
    case FixtureKind::sd:
      return "sd";
    case FixtureKind::preprocess:
      return "preprocess";
    case FixtureKind::openflamingo:
      return "openflamingo";
    case FixtureKind::minicpmv:
      return "minicpmv";
  }
  return "?";
}

FixtureKind detect_kind(const std::string& dir, const nlohmann::json& meta) {
  std::string cls = meta.is_object() && meta.contains("class") && meta["class"].is_string()
                        ? meta["class"].get<std::string>()
                        : "";
  if (cls == "CLIPTextModel") return FixtureKind::clip_text;
  if (cls == "LlavaForConditionalGeneration") return FixtureKind::llava;
  if (cls == "MllamaForConditionalGeneration") return FixtureKind::mllama;
  // Fixtures made from upstream code (OpenFlamingo, MiniCPM-V) name no transformers class: their
  // config.json's model_type does.
  if (fs::is_regular_file(dir + "/config.json")) {
    const nlohmann::json config = io::read_json_file(dir + "/config.json");
    const nlohmann::json type =
        config.is_object() ? config.value("model_type", nlohmann::json()) : nlohmann::json();
    if (type == "openflamingo") return FixtureKind::openflamingo;
    if (type == "minicpmv") return FixtureKind::minicpmv;
  }
  // diffusers fixtures hold the pipeline's component folders instead of one class.
  if (fs::is_directory(dir + "/unet") && fs::is_directory(dir + "/text_encoder"))
    return FixtureKind::sd;
  if (fs::is_regular_file(dir + "/input.png") && meta.is_object() &&
      (meta.contains("clip336") || meta.contains("mllama224")))
    return FixtureKind::preprocess;
  throw Error(
      dir + ": unrecognised fixture (meta.json class \"" + cls +
      "\"; expected CLIPTextModel, LlavaForConditionalGeneration, "
      "MllamaForConditionalGeneration, a diffusers pipeline folder, a preprocess fixture, or a "
      "config.json of model_type openflamingo or minicpmv)");
}

Fixture load_fixture(const std::string& dir) {
  if (!fs::is_directory(dir)) throw Error(dir + ": not a folder");
  if (!fs::is_regular_file(dir + "/meta.json")) throw Error(dir + ": no meta.json (not a fixture)");
  if (!fs::is_regular_file(dir + "/io.safetensors"))
    throw Error(dir + ": no io.safetensors (not a fixture)");
  Fixture f;
  f.dir = dir;
  f.meta = io::read_json_file(dir + "/meta.json");
  f.kind = detect_kind(dir, f.meta);
  f.io = io::SafetensorsFile::open(dir + "/io.safetensors");
  return f;
}

std::vector<std::string> Fixture::input_names() const {
  switch (kind) {
    case FixtureKind::clip_text:
      return {"input_ids"};
    case FixtureKind::llava:
      return {"pixel_values", "input_ids", "attention_mask", "labels"};
    case FixtureKind::mllama:
      return {"pixel_values",
              "aspect_ratio_ids",
              "aspect_ratio_mask",
              "cross_attention_mask",
              "input_ids",
              "attention_mask",
              "labels"};
    case FixtureKind::sd:
      return {"image", "noise", "timesteps", "text_input_ids"};
    case FixtureKind::preprocess:
      return {};
    case FixtureKind::openflamingo:
      return {"vision_x", "input_ids", "attention_mask", "labels"};
    case FixtureKind::minicpmv:
      // The prompt and its bookkeeping; pixel values, tgt_sizes and image bounds are the
      // processor's outputs, checked as references.
      return {"input_ids", "attention_mask", "position_ids",
              "labels",    "image_row",      "image_index_in_row"};
  }
  return {};
}

std::vector<std::string> Fixture::reference_names() const {
  auto inputs = input_names();
  std::vector<std::string> out;
  for (const auto& t : io->tensors())
    if (std::find(inputs.begin(), inputs.end(), t.name) == inputs.end()) out.push_back(t.name);
  return out;
}

}  // namespace lavender::parity

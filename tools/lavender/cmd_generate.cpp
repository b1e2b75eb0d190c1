#include <cstdio>

#include "commands.h"
#include "lavender/eval/word_map_figure.h"
#include "lavender/io/image.h"
#include "lavender/runtime/device.h"
#include "lavender/runtime/dtype.h"
#include "lavender/util/args.h"
#include "lavender/util/error.h"
#include "lavender/vlm/chat_model.h"

namespace lavender::cli {
namespace {

vlm::GenerationOptions generation_options(const ArgParser& p) {
  vlm::GenerationOptions o;
  o.max_new_tokens = p.get_int("max-new-tokens");
  o.temperature = p.get_double("temperature");
  o.do_sample = o.temperature > 0;
  if (!o.do_sample) o.temperature = 1.0;
  o.top_p = p.get_double("top-p");
  o.top_k = p.get_int("top-k");
  o.seed = static_cast<uint64_t>(p.get_int("seed"));
  return o;
}

// The reply's attention for the asked words, over the image as the model saw it.
void write_attention_figure(vlm::ChatModel& model, const io::Image& image,
                            const vlm::ChatReply& reply, const ArgParser& p) {
  std::vector<int64_t> ids = reply.prompt_ids;
  ids.insert(ids.end(), reply.reply_ids.begin(), reply.reply_ids.end());
  auto layers = p.get_int_list("layers");
  auto words = p.get_list("show-attention");
  auto attention = model.attention(image, ids, layers, p.get_int("map-size"));
  auto maps = vlm::word_attention(attention, words);
  std::vector<eval::WordMap> panels;
  for (size_t i = 0; i < words.size(); ++i) {
    at::Tensor m = maps[i].contiguous();
    panels.push_back({words[i],
                      {m.data_ptr<float>(), m.data_ptr<float>() + m.numel()},
                      static_cast<int>(m.size(0))});
  }
  eval::FigureOptions figure;
  figure.title = reply.text;
  io::write_png(p.get("out"), eval::word_map_figure(attention.view, panels, figure));
  std::printf("attention of %zu word(s) over %zu layer(s) written to %s\n", words.size(),
              attention.layers.size(), p.get("out").c_str());
}

}  // namespace

int run_generate(const Args& args) {
  ArgParser parser("generate",
                   "Answers a prompt about an image with a LLaVA-1.5 or Llama 3.2 Vision model "
                   "(KV-cached decoding); optionally draws where the words of the prompt and "
                   "answer looked in the image.");
  parser
      .option("model",
              "Hugging Face model folder (config.json, weights, tokenizer, "
              "preprocessor_config.json)")
      .option("image", "image file (PNG or JPEG)")
      .option("prompt", "the user's question or instruction")
      .option("max-new-tokens", "most tokens to generate", "128")
      .option("temperature", "0: greedy; > 0: sample at this temperature", "0")
      .option("top-p", "nucleus sampling mass (1: off)", "1")
      .option("top-k", "sample among the k most likely tokens (0: off)", "0")
      .option("seed", "sampling seed", "0")
      .option("show-attention", "comma-separated words of the prompt or answer to draw")
      .option("out", "PNG for --show-attention")
      .option("layers",
              "decoder layers to average (default: LLaVA all, mllama its "
              "cross-attention layers); negative counts from the end")
      .option("map-size", "side of the attention maps", "32")
      .option("device", "cpu | cuda | cuda:N (bare cuda under torchrun: cuda:LOCAL_RANK)", "cpu")
      .option("dtype", "fp32 | bf16 | fp16 (CUDA): the weights are loaded straight into it",
              "fp32");
  if (!parser.parse(args)) {
    std::printf("%s", parser.help().c_str());
    return 0;
  }
  for (const char* required : {"model", "image", "prompt"})
    if (!parser.has(required)) throw Error(std::string("generate: --") + required + " is required");
  if (parser.has("show-attention") != parser.has("out"))
    throw Error("generate: --show-attention and --out go together");
  io::Image image = io::read_image(parser.get("image"));
  auto model = vlm::ChatModel::load(parser.get("model"), runtime::parse_dtype(parser.get("dtype")),
                                    runtime::parse_device(parser.get("device")));
  auto reply = model->generate(image, parser.get("prompt"), generation_options(parser));
  std::printf("%s\n", reply.text.c_str());
  if (parser.has("show-attention")) write_attention_figure(*model, image, reply, parser);
  return 0;
}

}  // namespace lavender::cli

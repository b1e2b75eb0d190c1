// A complete small training setup on disk: a tiny fixture (LLaVA or mllama) as a Hugging Face
// folder, two-colour images, a conversation dataset whose replies name the colours, and a teacher
// map store whose maps light up the half of the image each colour word names.
#pragma once

#include <torch/torch.h>

#include <fstream>
#include <map>
#include <string>

#include "lavender/io/map_store.h"
#include "lavender/train/train_options.h"
#include "test_paths.h"
#include "vlm/tiny_vlm_folder.h"

namespace lavender::test {

struct TinyTrainingRun {
  std::string model, data, images, maps;
};

// `extras`: also a sample without teacher maps and a record whose image is missing. `varied`:
// sample i names only the first 1 + i % 4 of its words, so samples differ in reply tokens and
// matched words (what the losses average over).
inline TinyTrainingRun write_tiny_training_run(const std::string& dir, int samples = 6,
                                               const std::string& fixture = "llava",
                                               bool extras = true, bool varied = false) {
  TinyTrainingRun r;
  r.model = write_tiny_vlm_folder(dir + "/model", fixture);
  r.images = dir + "/images";
  r.data = dir + "/data.jsonl";
  r.maps = dir + "/maps";
  std::filesystem::create_directories(r.images);
  io::write_png(r.images + "/two.png", two_colour_image());
  std::ofstream data(r.data);
  io::MapStoreWriter store(r.maps, {{"map_size", 16}, {"recipe", "test"}});
  at::Tensor left = torch::zeros({16, 16}), right = torch::zeros({16, 16});
  left.narrow(1, 0, 8).fill_(1);
  right.narrow(1, 8, 8).fill_(1);
  for (int i = 0; i < samples; ++i) {
    const std::string id = "s" + std::to_string(i);
    const bool swap = i % 2 == 1;
    io::MapEntry e;
    e.key = id;
    e.image = "two.png";
    e.words = swap ? std::vector<std::string>{"blue", "right", "red", "left"}
                   : std::vector<std::string>{"red", "left", "blue", "right"};
    at::Tensor maps =
        swap ? torch::stack({right, right, left, left}) : torch::stack({left, left, right, right});
    e.text = swap ? "blue right, red left" : "red left, blue right";
    if (varied) {
      const int n = 1 + i % 4;
      e.words.resize(static_cast<size_t>(n));
      maps = maps.narrow(0, 0, n);
      e.text.clear();
      for (const auto& w : e.words) e.text += (e.text.empty() ? "" : " ") + w;
    }
    e.token_spans.assign(e.words.size(), {0, 1});
    data << nlohmann::json{{"id", id},
                           {"image", "two.png"},
                           {"conversations",
                            {{{"from", "human"}, {"value", "<image>\nWhere are the colours?"}},
                             {{"from", "gpt"}, {"value", e.text}}}}}
                .dump()
         << "\n";
    store.add(e, maps);
  }
  store.flush();
  if (!extras) return r;
  // A sample the teacher has no maps for: it trains with the text loss alone.
  data
      << R"({"id": "unmapped", "image": "two.png", "conversations": [{"from": "human", "value": "<image>\nAnd?"}, {"from": "gpt", "value": "red and blue"}]})"
      << "\n";
  // A record without an image file: counted and skipped, never fatal.
  data
      << R"({"id": "broken", "image": "missing.png", "conversations": [{"from": "human", "value": "<image>\nhi"}, {"from": "gpt", "value": "red"}]})"
      << "\n";
  store.flush();
  return r;
}

// The options of a training run on it, into `out`: its files, 16-pixel maps, one thread, no
// figures, nothing frozen (the tiny vision tower trains too, so every path gets gradients).
inline train::TrainOptions tiny_run_options(const TinyTrainingRun& r, const std::string& out) {
  train::TrainOptions o;
  o.model = r.model;
  o.data = r.data;
  o.images = r.images;
  o.maps = r.maps;
  o.out = out;
  o.map_size = 16;
  o.threads = 1;
  o.figure_every = 0;
  o.freeze = {};
  return o;
}

// Six steps of batch 2 at a learning rate that moves a tiny model visibly, saving at the end:
// the short runs the newer students' training tests share.
inline train::TrainOptions six_step_run_options(const TinyTrainingRun& r, const std::string& out) {
  train::TrainOptions o = tiny_run_options(r, out);
  o.max_steps = 6;
  o.batch_size = 2;
  o.lr.lr = 3e-3;
  o.lr.warmup_steps = 1;
  o.save_every = 6;
  o.seed = 7;
  return o;
}

// Every named parameter of a module, cloned (to compare a model before and after training).
inline std::map<std::string, at::Tensor> cloned_parameters(const torch::nn::Module& m) {
  std::map<std::string, at::Tensor> out;
  for (const auto& p : m.named_parameters()) out[p.key()] = p.value().clone();
  return out;
}

}  // namespace lavender::test

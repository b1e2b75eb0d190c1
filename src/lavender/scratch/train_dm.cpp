#include "lavender/scratch/train_dm.h"

#include <torch/torch.h>

#include <unistd.h>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <map>
#include <numeric>
#include <random>

#include "lavender/data/dataset.h"
#include "lavender/dm/clip_text.h"
#include "lavender/dm/extract.h"
#include "lavender/dm/noise_schedule.h"
#include "lavender/dm/unet.h"
#include "lavender/io/config/clip.h"
#include "lavender/io/config/diffusers.h"
#include "lavender/io/image.h"
#include "lavender/io/safetensors.h"
#include "lavender/io/save_checkpoint.h"
#include "lavender/text/bpe_trainer.h"
#include "lavender/text/clip_tokenizer.h"
#include "lavender/train/adamw.h"
#include "lavender/train/metrics_log.h"
#include "lavender/train/schedule.h"
#include "lavender/util/atomic_file.h"
#include "lavender/util/error.h"
#include "lavender/util/log.h"
#include "lavender/util/progress.h"
#include "lavender/util/remove_tree.h"

namespace lavender::scratch {

using dm::ClipTextModel;
using dm::ClipTextModelImpl;
using dm::NoiseSchedule;
using dm::prepare_image;
using dm::UNet2DConditionModel;
namespace {

namespace fs = std::filesystem;

struct Corpus {
  at::Tensor pixels;  // [N, 3, S, S] fp32 in [-1, 1]
  std::vector<std::string> texts;
  std::vector<std::string> problems;
};

// Adds the (image, text) pairs of one dataset; an image with several texts is read once.
void add_pairs(const std::string& path, const std::string& images, data::TextChoice choice,
               int64_t image_size, std::map<std::string, at::Tensor>& cache,
               std::vector<at::Tensor>& pixels, Corpus& c) {
  const std::string root = images.empty() ? fs::absolute(path).parent_path().string() : images;
  auto read = data::read_dataset(path, root);
  c.problems.insert(c.problems.end(), read.problems.begin(), read.problems.end());
  for (const auto& record : read.records)
    for (const auto& pair : data::image_text_pairs(record, choice)) {
      if (pair.text.empty()) continue;
      auto it = cache.find(pair.image);
      if (it == cache.end()) {
        try {
          it =
              cache
                  .emplace(pair.image, prepare_image(io::read_image(pair.image), image_size).pixels)
                  .first;
        } catch (const Error& e) {
          c.problems.push_back(pair.origin + ": " + e.what());
          continue;
        }
      }
      pixels.push_back(it->second);
      c.texts.push_back(pair.text);
    }
}

Corpus load_corpus(const TrainDmOptions& o) {
  Corpus c;
  std::map<std::string, at::Tensor> cache;
  std::vector<at::Tensor> pixels;
  add_pairs(o.data, o.images, data::TextChoice::assistant, o.spec.image_size, cache, pixels, c);
  for (const auto& path : o.text_data)
    add_pairs(path, o.images, data::TextChoice::all_turns, o.spec.image_size, cache, pixels, c);
  if (pixels.empty())
    throw Error(o.data + ": no usable image-caption pairs" +
                (c.problems.empty() ? std::string() : " (first problem: " + c.problems[0] + ")"));
  c.pixels = torch::stack(pixels);
  return c;
}

// [N, T] ids, each text as the text encoder sees it (start, tokens, end, padding).
at::Tensor encode_all(const text::ClipTokenizer& tok, const std::vector<std::string>& texts,
                      int64_t positions, int64_t& truncated) {
  at::Tensor ids = torch::empty({static_cast<int64_t>(texts.size()), positions}, torch::kLong);
  for (size_t i = 0; i < texts.size(); ++i) {
    auto enc = tok.encode_for_model(texts[i], static_cast<int>(positions));
    truncated += enc.truncated ? 1 : 0;
    std::copy(enc.ids.begin(), enc.ids.end(), ids[static_cast<int64_t>(i)].data_ptr<int64_t>());
  }
  return ids;
}

int64_t fitted_positions(const text::ClipTokenizer& tok, const std::vector<std::string>& texts) {
  size_t longest = 0;
  for (const auto& t : texts) longest = std::max(longest, tok.encode(t).size());
  return std::max<int64_t>(8, (static_cast<int64_t>(longest) + 2 + 7) / 8 * 8);
}

// transformers' CLIPTextModel init (_init_weights): position embeddings N(0, 0.02); attention
// inputs N(0, d^-0.5·(2L)^-0.5), outputs N(0, d^-0.5); MLP fc1 N(0, (2d)^-0.5), fc2 as the
// inputs; biases 0, layer norms 1/0 (their defaults). LibTorch's kaiming-uniform default would
// start the residual stream far larger.
// One departure: token embeddings N(0, 1), not N(0, 0.02). At 0.02 the blocks' outputs swamp the
// tokens in the residual stream, and after a few hundred steps every position's output was nearly
// the same vector (cosine 0.94-0.99 between the words of a caption): the UNet's keys were alike,
// its cross-attention exactly uniform (1/T at every pixel) and the per-word maps noise. At 1 the
// words stay apart (cosine -0.2-0.4, the same word 0.94) and the attention follows the words
// (600 steps on 1000 images: map IoU vs truth 0.20 against 0.09 with 2 text layers).
void init_text_encoder(ClipTextModelImpl& m) {
  torch::NoGradGuard no_grad;
  const auto& c = m.config();
  const double d = static_cast<double>(c.hidden_size), f = c.initializer_factor;
  const double in_std = std::pow(d, -0.5) * std::pow(2.0 * c.num_hidden_layers, -0.5) * f;
  for (auto& item : m.named_parameters()) {
    const std::string& name = item.key();
    at::Tensor& p = item.value();
    auto ends = [&](const std::string& s) {
      return name.size() >= s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0;
    };
    if (ends("token_embedding.weight")) {
      p.normal_(0, 1.0);
    } else if (ends("embedding.weight")) {
      p.normal_(0, c.initializer_range * f);
    } else if (ends("_proj.weight")) {
      p.normal_(0, ends("out_proj.weight") ? std::pow(d, -0.5) * f : in_std);
    } else if (ends("fc1.weight")) {
      p.normal_(0, std::pow(2.0 * d, -0.5) * f);
    } else if (ends("fc2.weight")) {
      p.normal_(0, in_std);
    } else if (ends(".bias") && name.find("norm") == std::string::npos) {
      p.zero_();
    }
  }
}

int64_t count_parameters(const torch::nn::Module& m) {
  int64_t n = 0;
  for (const auto& p : m.parameters()) n += p.numel();
  return n;
}

void write_json(const std::string& path, const nlohmann::json& j) {
  fs::create_directories(fs::path(path).parent_path());
  write_file_atomically(path, j.dump(2) + "\n");
}

std::string temp_sibling(const std::string& out) {
  fs::path p = fs::absolute(out);
  if (p.filename().empty()) p = p.parent_path();
  return (p.parent_path() / ("." + p.filename().string() + ".tmp-" + std::to_string(::getpid())))
      .string();
}

// Trains and writes the whole model folder into `tmp` (model_index.json last).
void train_into(const TrainDmOptions& o, const Corpus& corpus, const std::string& tmp,
                TrainDmResult& result) {
  torch::manual_seed(o.seed);
  const auto n = corpus.pixels.size(0);
  result.pairs = n;

  // Tokenizer: every caption word (and every word of the vocabulary texts) becomes one token.
  std::vector<std::string> all_texts = corpus.texts;
  all_texts.insert(all_texts.end(), o.vocabulary_texts.begin(), o.vocabulary_texts.end());
  text::write_clip_tokenizer(tmp + "/tokenizer",
                             text::train_clip_bpe(text::clip_word_counts(all_texts)));
  auto tok = text::load_clip_tokenizer(tmp + "/tokenizer");
  result.vocab_size = static_cast<int64_t>(tok->vocab_size());
  SmallDmSpec spec = o.spec;
  if (spec.text_positions <= 0) spec.text_positions = fitted_positions(*tok, all_texts);
  int64_t truncated = 0;
  at::Tensor ids = encode_all(*tok, corpus.texts, spec.text_positions, truncated);
  if (truncated > 0)
    log::warn("train-dm: ", truncated, " captions cut to ", spec.text_positions, " tokens");
  int64_t ignored = 0;
  const at::Tensor empty_ids = encode_all(*tok, {""}, spec.text_positions, ignored)[0];

  const auto unet_json = small_unet_config(spec);
  const auto text_json =
      small_text_config(spec, result.vocab_size, tok->bos_id(), tok->eos_id(), tok->pad_id());
  const auto sched_json = small_scheduler_config();
  UNet2DConditionModel unet(io::config::parse_unet_2d_condition_config(unet_json, "train-dm unet"));
  ClipTextModel text_encoder(io::config::parse_clip_text_config(text_json, "train-dm text"));
  init_text_encoder(*text_encoder);
  NoiseSchedule schedule(io::config::parse_ddpm_scheduler_config(sched_json, "train-dm scheduler"));
  result.unet_parameters = count_parameters(*unet);
  result.text_parameters = count_parameters(*text_encoder);
  log::info("train-dm: ", n, " pairs, vocabulary ", result.vocab_size, " tokens, ",
            spec.text_positions, " positions; UNet ", result.unet_parameters,
            " parameters, text encoder ", result.text_parameters);

  // AdamW as the trainer steps it (train/adamw.h): no weight decay on norms and biases.
  std::vector<at::Tensor> decay, no_decay;
  for (auto* m : std::vector<torch::nn::Module*>{unet.get(), text_encoder.get()})
    for (const auto& item : m->named_parameters())
      (train::takes_weight_decay(item.key(), item.value()) ? decay : no_decay)
          .push_back(item.value());
  std::vector<at::Tensor> all_params = decay;
  all_params.insert(all_params.end(), no_decay.begin(), no_decay.end());
  train::AdamWSettings adam;
  adam.lr = o.lr;
  train::GroupedAdamW adamw({{decay, o.weight_decay, 1.0}, {no_decay, 0.0, 1.0}}, adam);
  torch::optim::AdamW& optimizer = adamw.optimizer();
  train::LrSchedule lr_schedule;
  lr_schedule.lr = o.lr;
  lr_schedule.warmup_steps = o.warmup_steps;
  lr_schedule.min_ratio = 0.1;

  train::MetricsLog metrics(tmp);
  std::mt19937_64 rng(o.seed);
  std::vector<int64_t> order(static_cast<size_t>(n));
  size_t cursor = order.size();  // reshuffle on first use
  std::uniform_real_distribution<double> coin(0.0, 1.0);
  const int64_t T = schedule.num_train_timesteps();
  unet->train();
  text_encoder->train();

  Progress progress("train-dm", o.steps, stderr, o.show_progress ? -1 : 0);
  const auto start = std::chrono::steady_clock::now();
  double interval_loss = 0;
  int64_t interval_steps = 0;
  bool first_logged = false;
  for (int64_t step = 0; step < o.steps; ++step) {
    // Batches walk a fresh permutation each epoch (with replacement only across epochs).
    std::vector<int64_t> batch;
    while (static_cast<int64_t>(batch.size()) < o.batch) {
      if (cursor == order.size()) {
        std::iota(order.begin(), order.end(), 0);
        std::shuffle(order.begin(), order.end(), rng);
        cursor = 0;
      }
      batch.push_back(order[cursor++]);
    }
    at::Tensor index = torch::tensor(batch, torch::kLong);
    at::Tensor x0 = corpus.pixels.index_select(0, index);
    at::Tensor batch_ids = ids.index_select(0, index);
    for (int64_t b = 0; b < o.batch; ++b)
      if (coin(rng) < o.caption_dropout) batch_ids[b].copy_(empty_ids);
    at::Tensor t = torch::randint(0, T, {o.batch}, torch::kLong);
    at::Tensor noise = torch::randn_like(x0);
    at::Tensor xt = schedule.add_noise(x0, noise, t);

    const double lr = train::learning_rate(lr_schedule, step, o.steps);
    adamw.set_learning_rate(lr);
    optimizer.zero_grad();
    at::Tensor context = text_encoder->forward(batch_ids).last_hidden_state;
    at::Tensor loss = torch::mse_loss(unet->forward(xt, t, context), noise);
    loss.backward();
    torch::nn::utils::clip_grad_norm_(all_params, o.max_grad_norm);
    optimizer.step();

    const double value = loss.item<double>();
    if (!std::isfinite(value))
      throw Error("train-dm: the loss became " + std::to_string(value) + " at step " +
                  std::to_string(step + 1) + " (try a lower --lr)");
    interval_loss += value;
    ++interval_steps;
    progress.advance();
    if ((step + 1) % o.log_every == 0 || step + 1 == o.steps) {
      const double mean = interval_loss / static_cast<double>(interval_steps);
      const double secs =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      metrics.log(step + 1, {{"loss", mean}, {"lr", lr}, {"steps_per_s", (step + 1) / secs}});
      if (!first_logged) result.first_loss = mean;
      first_logged = true;
      result.last_loss = mean;
      interval_loss = 0;
      interval_steps = 0;
    }
  }
  progress.finish();
  result.steps = o.steps;
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  result.steps_per_second = static_cast<double>(o.steps) / result.seconds;
  metrics.flush();
  unet->eval();
  text_encoder->eval();

  write_json(tmp + "/unet/config.json", unet_json);
  io::save_safetensors(tmp + "/unet/diffusion_pytorch_model.safetensors", io::module_tensors(*unet),
                       {{"format", "pt"}});
  io::save_hf_checkpoint(tmp + "/text_encoder", io::module_tensors(*text_encoder), text_json);
  write_json(tmp + "/scheduler/scheduler_config.json", sched_json);
  write_json(tmp + "/train_dm.json", {{"data", o.data},
                                      {"text_data", o.text_data},
                                      {"pairs", n},
                                      {"steps", o.steps},
                                      {"batch", o.batch},
                                      {"lr", o.lr},
                                      {"seed", o.seed},
                                      {"caption_dropout", o.caption_dropout},
                                      {"image_size", spec.image_size},
                                      {"unet_parameters", result.unet_parameters},
                                      {"text_parameters", result.text_parameters},
                                      {"vocab_size", result.vocab_size},
                                      {"first_loss", result.first_loss},
                                      {"last_loss", result.last_loss},
                                      {"steps_per_second", result.steps_per_second},
                                      {"seconds", result.seconds},
                                      {"threads", at::get_num_threads()}});
  write_json(tmp + "/model_index.json", small_model_index());  // last: marks the folder done
}

}  // namespace

bool is_trained_dm(const std::string& dir) {
  return fs::is_regular_file(fs::path(dir) / "model_index.json");
}

TrainDmResult train_dm(const TrainDmOptions& o) {
  TrainDmResult result;
  if (is_trained_dm(o.out)) {
    result.already_trained = true;
    return result;
  }
  if (fs::exists(o.out))
    throw Error(o.out +
                ": exists but is not a finished train-dm folder (no model_index.json); "
                "remove it or choose another --out");
  if (o.steps <= 0 || o.batch <= 0) throw Error("train-dm: --steps and --batch must be positive");
  if (o.spec.image_size < 8 || o.spec.channels.empty())
    throw Error("train-dm: --image-size must be at least 8");
  const auto levels = static_cast<int64_t>(o.spec.channels.size());
  if (o.spec.first_attention_level < 0 || o.spec.first_attention_level >= levels)
    throw Error("train-dm: --first-attention-level must be in [0, " + std::to_string(levels - 1) +
                "] (the UNet has " + std::to_string(levels) +
                " levels): the maps come from "
                "the attention blocks");
  const int64_t divisor = int64_t{1} << (levels - 1);
  if (o.spec.image_size % divisor != 0)
    throw Error("train-dm: --image-size " + std::to_string(o.spec.image_size) +
                " must be a multiple of " + std::to_string(divisor) + " (one halving per level)");

  Corpus corpus = load_corpus(o);
  for (const auto& p : corpus.problems) log::warn("train-dm: skipped ", p);
  const std::string tmp = temp_sibling(o.out);
  remove_tree(tmp);
  fs::create_directories(tmp);
  try {
    train_into(o, corpus, tmp, result);
  } catch (...) {
    remove_tree(tmp);  // a failed run leaves nothing behind
    throw;
  }
  fs::rename(tmp, o.out);
  return result;
}

}  // namespace lavender::scratch

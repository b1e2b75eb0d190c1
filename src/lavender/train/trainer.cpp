#include "lavender/train/trainer.h"

#include <torch/torch.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <future>
#include <optional>
#include <regex>
#include <set>
#include <thread>

#include "lavender/align/alignment_loss.h"
#include "lavender/io/map_store.h"
#include "lavender/io/safetensors.h"
#include "lavender/runtime/dtype.h"
#include "lavender/train/final_model.h"
#include "lavender/train/student.h"
#include "lavender/train/train_checkpoint.h"
#include "lavender/train/training_data.h"
#include "lavender/util/atomic_file.h"
#include "lavender/util/error.h"
#include "lavender/util/log.h"

namespace lavender::train {
namespace fs = std::filesystem;
namespace {

std::atomic<int> g_signal{0};
extern "C" void on_signal(int sig) { g_signal = sig; }

// SIGINT/SIGTERM ask the run to checkpoint and stop; the previous handlers come back after.
class SignalScope {
 public:
  SignalScope() {
    g_signal = 0;
    old_int_ = std::signal(SIGINT, on_signal);
    old_term_ = std::signal(SIGTERM, on_signal);
  }
  ~SignalScope() {
    std::signal(SIGINT, old_int_);
    std::signal(SIGTERM, old_term_);
  }

 private:
  void (*old_int_)(int);
  void (*old_term_)(int);
};

// Norms, biases and other 1-D parameters take no weight decay (as transformers' Trainer).
bool decays(const std::string& name, const at::Tensor& p) {
  return p.dim() >= 2 && name.find("norm") == std::string::npos;
}

struct Prepared {
  std::vector<PreparedExample> examples;
  int64_t bad = 0;
};

}  // namespace

struct Trainer::State {
  std::unique_ptr<Student> student;
  align::AttentionAlignment alignment{nullptr};
  std::unique_ptr<torch::optim::AdamW> optimizer;
  std::vector<at::Tensor> trainable;  // student and Aligner parameters that train
  std::vector<std::pair<std::string, at::Tensor>> student_trainable;
  std::unique_ptr<io::MapStoreReader> store;
  TrainingSet data;
  ExampleOptions example_options;
  std::vector<int64_t> layers;
  at::Device device{torch::kCPU};
  double aligner_lr_ratio = 1.0;
  at::Tensor rng_state;
  // The cached order of the current epoch.
  int64_t cached_epoch = -1;
  std::vector<size_t> order;
};

Trainer::Trainer(TrainOptions options) : options_(std::move(options)) {}
Trainer::~Trainer() = default;

TrainSummary Trainer::run() {
  const TrainOptions& o = options_;
  validate(o);
  torch::set_num_threads(o.threads > 0 ? static_cast<int>(o.threads)
                                       : static_cast<int>(std::thread::hardware_concurrency()));
  torch::manual_seed(o.seed);
  State s;
  s.device = at::Device(o.device);
  const at::ScalarType dtype = runtime::parse_dtype(o.dtype);
  runtime::check_dtype_on_device(dtype, s.device);

  // --- the student and what trains
  s.student = Student::load(o.model);
  torch::nn::Module& model = s.student->module();
  // --- the objective
  const bool aligning = o.lambda.lambda > 0;
  if (aligning) {
    s.layers = o.align_layers;
    for (auto& l : s.layers) {
      if (l < 0) l += s.student->num_layers();
      s.student->check_align_layer(l);
    }
    if (s.layers.empty())
      s.layers = o.parallel_attention
                     ? evenly_spaced(s.student->default_align_layers(), o.parallel_fraction)
                     : s.student->default_align_layers();
    if (o.parallel_attention) s.student->enable_parallel_attention(s.layers);
    align::AlignmentOptions a;
    a.pooling = align::parse_head_layer_pooling(o.aggregation);
    a.aligner.variant = o.aligner;
    a.aligner.hidden = o.aligner_hidden;
    a.aligner.norm = o.aligner_norm;
    a.aligner.activation = o.aligner_activation;
    a.map_size = o.map_size;
    s.alignment = align::AttentionAlignment(a, s.student->heads());
    s.alignment->to(s.device);
    s.alignment->train();
  }
  model.to(s.device, dtype);
  model.train();
  s.student->set_gradient_checkpointing(o.gradient_checkpointing);
  std::vector<std::regex> frozen;
  for (const auto& pattern : o.freeze) {
    try {
      frozen.emplace_back(pattern);
    } catch (const std::regex_error&) {
      throw Error("--freeze: \"" + pattern + "\" is not a valid regular expression");
    }
  }
  std::vector<at::Tensor> decay, no_decay;
  for (auto& item : model.named_parameters()) {
    bool train = true;
    for (const auto& re : frozen) train = train && !std::regex_search(item.key(), re);
    item.value().set_requires_grad(train);
    if (!train) continue;
    s.student_trainable.emplace_back("student." + item.key(), item.value());
    (decays(item.key(), item.value()) ? decay : no_decay).push_back(item.value());
  }
  if (decay.empty() && no_decay.empty())
    throw Error("--freeze leaves no parameter of " + o.model + " to train");

  s.example_options.scope = parse_match_scope(o.match_scope);
  s.example_options.filter = align::WordFilter(align::parse_word_filter(o.word_filter), o.pos_lexicon);
  s.example_options.map_size = o.map_size;
  s.example_options.max_tokens = o.max_tokens;

  // --- the optimizer: decayed, undecayed, Aligner
  auto group = [&](std::vector<at::Tensor> params, double lr, double wd) {
    auto opts = std::make_unique<torch::optim::AdamWOptions>(lr);
    opts->betas({o.adam_beta1, o.adam_beta2}).eps(o.adam_eps).weight_decay(wd);
    return torch::optim::OptimizerParamGroup(std::move(params), std::move(opts));
  };
  std::vector<torch::optim::OptimizerParamGroup> groups;
  groups.push_back(group(decay, o.lr.lr, o.weight_decay));
  groups.push_back(group(no_decay, o.lr.lr, 0.0));
  s.trainable = decay;
  s.trainable.insert(s.trainable.end(), no_decay.begin(), no_decay.end());
  if (aligning) {
    const double aligner_lr = o.aligner_lr > 0 ? o.aligner_lr : o.lr.lr;
    s.aligner_lr_ratio = aligner_lr / o.lr.lr;
    std::vector<at::Tensor> params = s.alignment->parameters();
    groups.push_back(group(params, aligner_lr, 0.0));
    s.trainable.insert(s.trainable.end(), params.begin(), params.end());
  }
  s.optimizer = std::make_unique<torch::optim::AdamW>(groups, torch::optim::AdamWOptions(o.lr.lr));

  // --- data
  data::DatasetReadResult dataset =
      data::read_dataset(o.data, o.images, data::parse_dataset_format(o.data_format));
  s.data = training_samples(dataset, o.caption_prompt);
  for (const auto& p : dataset.problems) log::warn("skipped: ", p);
  for (const auto& p : s.data.problems) log::warn("skipped: ", p);
  if (s.data.samples.empty()) throw Error(o.data + ": no usable training sample");
  if (!o.maps.empty())
    s.store = std::make_unique<io::MapStoreReader>(io::MapStoreReader::open(o.maps));

  // --- what a checkpoint holds
  CheckpointContents contents;
  contents.tensors = s.student_trainable;
  if (aligning) {
    for (auto& p : s.alignment->named_parameters()) contents.tensors.emplace_back("aligner." + p.key(), p.value());
    for (auto& b : s.alignment->named_buffers()) contents.tensors.emplace_back("aligner." + b.key(), b.value());
  }
  s.rng_state = at::detail::getDefaultCPUGenerator().get_state();
  contents.tensors.emplace_back("rng.cpu", s.rng_state);

  TrainSummary summary;
  fs::create_directories(o.out);
  const std::string metrics_path = o.out + "/metrics.jsonl";
  if (o.resume) {
    const std::string latest = latest_checkpoint(o.out);
    if (latest.empty()) {
      log::info("--resume: no checkpoint in ", o.out, "/checkpoints yet; starting from step 0");
    } else {
      nlohmann::json state = load_training_checkpoint(latest, contents, *s.optimizer);
      {
        at::Generator gen = at::detail::getDefaultCPUGenerator();
        gen.set_state(s.rng_state);
      }
      summary.start_step = state.at("step").get<int64_t>();
      summary.skipped_steps = state.value("skipped_steps", int64_t{0});
      summary.bad_samples = state.value("bad_samples", int64_t{0});
      summary.samples_without_maps = state.value("samples_without_maps", int64_t{0});
      summary.samples_without_words = state.value("samples_without_words", int64_t{0});
      log::info("resumed from ", latest, " at step ", summary.start_step);
    }
  }
  write_file_atomically(o.out + "/train_options.json", options_json(o).dump(2) + "\n");

  // --- the step loop
  const int64_t micro = o.batch_size;
  const int64_t per_step = micro * o.grad_accum;
  const size_t n_samples = s.data.samples.size();
  auto sample_of = [&](int64_t position) -> const TrainingSample& {
    const int64_t n = static_cast<int64_t>(n_samples), epoch = position / n;
    if (epoch != s.cached_epoch) {
      s.order = epoch_order(n_samples, o.seed, epoch, o.shuffle);
      s.cached_epoch = epoch;
    }
    return s.data.samples[s.order[static_cast<size_t>(position % n)]];
  };
  std::set<std::string> warned;  // only the preparing thread touches it
  // Micro-batch m of step `step` (0-based): its entries of the endless stream.
  auto prepare_micro = [&](int64_t step, int64_t m) {
    Prepared out;
    for (int64_t k = 0; k < micro; ++k) {
      const TrainingSample& sample = sample_of(step * per_step + m * micro + k);
      try {
        out.examples.push_back(s.student->prepare(sample, s.store.get(), s.example_options));
      } catch (const Error& e) {
        // Said once per sample; every epoch still counts it.
        if (warned.insert(sample.origin).second) log::warn("skipped sample: ", e.what());
        ++out.bad;
      }
    }
    return out;
  };

  SignalScope signals;
  std::ofstream metrics(metrics_path, std::ios::app);
  int64_t bad_in_a_row = 0;
  int64_t step = summary.start_step;
  std::string last_checkpoint = summary.start_step > 0 ? latest_checkpoint(o.out) : "";
  auto save = [&](int64_t at_step) {
    nlohmann::json state = {{"step", at_step},
                            {"skipped_steps", summary.skipped_steps},
                            {"bad_samples", summary.bad_samples},
                            {"samples_without_maps", summary.samples_without_maps},
                            {"samples_without_words", summary.samples_without_words},
                            {"options", options_json(o)}};
    s.rng_state.copy_(at::detail::getDefaultCPUGenerator().get_state());
    contents.state = state;
    last_checkpoint = save_training_checkpoint(o.out, at_step, contents, *s.optimizer,
                                               o.keep_checkpoints);
  };

  std::future<Prepared> next = std::async(std::launch::async, prepare_micro, step, 0);
  for (; step < o.max_steps; ++step) {
    const auto t0 = std::chrono::steady_clock::now();
    StepRecord r;
    r.step = step + 1;
    r.lr = learning_rate(o.lr, step, o.max_steps);
    r.lambda = aligning ? lambda_at(o.lambda, step, o.max_steps) : 0.0;
    r.text_weight = text_weight_at(o.text_weight, step);
    const bool only_aligner = aligning && aligner_only(o.text_weight, step);
    auto& param_groups = s.optimizer->param_groups();
    for (size_t g = 0; g < param_groups.size(); ++g)
      static_cast<torch::optim::AdamWOptions&>(param_groups[g].options())
          .lr(g == 2 ? r.lr * s.aligner_lr_ratio : r.lr);
    s.optimizer->zero_grad();

    int64_t micro_done = 0;
    for (int64_t m = 0; m < o.grad_accum; ++m) {
      Prepared batch = next.get();
      // Prepare the following micro-batch while this one computes.
      const int64_t ns = m + 1 < o.grad_accum ? step : step + 1;
      const int64_t nm = m + 1 < o.grad_accum ? m + 1 : 0;
      if (ns < o.max_steps) next = std::async(std::launch::async, prepare_micro, ns, nm);
      summary.bad_samples += batch.bad;
      if (batch.examples.empty()) continue;
      std::vector<const PreparedExample*> ptrs;
      for (const auto& ex : batch.examples) {
        ptrs.push_back(&ex);
        if (s.store && !ex.has_maps) ++summary.samples_without_maps;
        else if (s.store && ex.matches.empty()) ++summary.samples_without_words;
      }
      StudentOutput out;
      {
        std::optional<torch::NoGradGuard> frozen_student;
        if (only_aligner) frozen_student.emplace();
        out = s.student->forward(ptrs, aligning ? s.layers : std::vector<int64_t>{}, o.map_size,
                                 s.device);
      }
      at::Tensor loss = out.text_loss * r.text_weight;
      double attention = 0;
      if (aligning && out.word_maps.defined()) {
        align::AlignmentResult a = s.alignment->forward(out.word_maps, out.teacher, out.valid);
        r.words += a.words;
        if (a.words > 0) {
          loss = loss + a.loss * r.lambda;
          attention = a.loss.item<double>();
        }
      }
      r.text += out.text_loss.item<double>();
      r.attention += attention;
      r.total += loss.item<double>();
      r.samples += static_cast<int64_t>(ptrs.size());
      r.tokens += out.label_tokens;
      if (loss.requires_grad()) (loss / static_cast<double>(o.grad_accum)).backward();
      ++micro_done;
    }
    if (micro_done > 0) {
      r.text /= static_cast<double>(micro_done);
      r.attention /= static_cast<double>(micro_done);
      r.total /= static_cast<double>(micro_done);
    }
    std::vector<at::Tensor> with_grad;
    for (const auto& p : s.trainable)
      if (p.grad().defined()) with_grad.push_back(p);
    r.grad_norm = with_grad.empty() ? 0.0
                                    : torch::nn::utils::clip_grad_norm_(
                                          with_grad, o.max_grad_norm > 0 ? o.max_grad_norm : 1e300);
    if (!std::isfinite(r.total) || !std::isfinite(r.grad_norm) || micro_done == 0) {
      r.skipped = true;
      ++summary.skipped_steps;
      if (micro_done > 0 && ++bad_in_a_row >= o.max_bad_steps)
        throw Error("training stopped at step " + std::to_string(step + 1) + ": " +
                    std::to_string(bad_in_a_row) +
                    " steps in a row had a non-finite loss or gradient (lower --lr, check the "
                    "data); the last good checkpoint is " +
                    (last_checkpoint.empty() ? std::string("none") : last_checkpoint));
    } else {
      bad_in_a_row = 0;
      s.optimizer->step();
    }
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    r.tokens_per_s = r.seconds > 0 ? static_cast<double>(r.tokens) / r.seconds : 0;
    summary.history.push_back(r);
    if ((step + 1) % o.log_every == 0 || step + 1 == o.max_steps) {
      metrics << nlohmann::json{{"step", r.step},         {"total", r.total},
                                {"text", r.text},         {"attention", r.attention},
                                {"lambda", r.lambda},     {"text_weight", r.text_weight},
                                {"lr", r.lr},             {"grad_norm", r.grad_norm},
                                {"tokens_per_s", r.tokens_per_s}, {"words", r.words},
                                {"samples", r.samples},   {"skipped", r.skipped}}
                     .dump()
              << "\n";
      metrics.flush();
    }
    if (on_step_) on_step_(r);
    const bool stop = g_signal != 0 || (stop_ && stop_(r));
    if ((step + 1) % o.save_every == 0 || stop) save(step + 1);
    if (stop) {
      summary.interrupted = true;
      ++step;
      log::info("stopped at step ", step, "; checkpoint ", last_checkpoint,
                " (continue with --resume)");
      break;
    }
  }
  if (next.valid()) next.wait();
  summary.steps = step;
  summary.checkpoint = last_checkpoint;
  if (summary.interrupted) return summary;
  if (last_checkpoint.empty() || summary.steps % o.save_every != 0) save(summary.steps);
  summary.checkpoint = last_checkpoint;
  summary.model_dir = save_final_model(*s.student, s.alignment, o.out);
  return summary;
}

}  // namespace lavender::train

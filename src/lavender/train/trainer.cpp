#include "lavender/train/trainer.h"

#include <torch/torch.h>

#include <atomic>
#include <cctype>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <optional>
#include <regex>
#include <set>
#include <thread>
#include <unordered_map>

#include "lavender/align/alignment_loss.h"
#include "lavender/io/authors_layout.h"
#include "lavender/io/image.h"
#include "lavender/io/map_store.h"
#include "lavender/runtime/autocast.h"
#include "lavender/runtime/device.h"
#include "lavender/runtime/dtype.h"
#include "lavender/runtime/peak_memory.h"
#include "lavender/runtime/system_info.h"
#include "lavender/train/adamw.h"
#include "lavender/train/distributed.h"
#include "lavender/train/event_file.h"
#include "lavender/train/final_model.h"
#include "lavender/train/metrics_log.h"
#include "lavender/train/parameter_update.h"
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
extern "C" void on_signal(int sig) {
  g_signal = sig;
}

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

// The random generator a run draws from on `device` (dropout on a GPU draws from the GPU's).
at::Generator generator_on(const at::Device& device) {
  return device.is_cpu() ? at::detail::getDefaultCPUGenerator()
                         : at::globalContext().defaultGenerator(device);
}

struct MicroBatch {
  std::vector<PreparedExample> examples;
  int64_t bad = 0;
  // What the batch's losses average over, known before its forward: the tokens the text loss
  // predicts and the words the attention loss compares.
  int64_t tokens = 0, words = 0;
  int64_t positions = 0;  // the examples' sequence lengths, summed (what the forward computes)
};

// The step's totals of the same counts over every micro-batch of every rank. Each micro-batch's
// mean losses are weighted by its share of them, so that any split of the same samples into
// processes and micro-batches gives the same losses and the same update (the accumulation bug
// transformers fixed with num_items_in_batch).
struct GlobalCounts {
  double tokens = 0, words = 0;
};

// The progress maps of the first `samples` samples of a micro-batch, from the alignment's maps,
// which come in batch order (sample by sample, its valid words in order).
std::vector<ProgressSample> progress_samples(const std::vector<const PreparedExample*>& batch,
                                             const at::Tensor& valid,
                                             const align::AlignmentResult& a, int64_t samples,
                                             int64_t words) {
  std::vector<ProgressSample> out;
  at::Tensor v = valid.to(torch::kCPU);
  at::Tensor student = a.student.detach().to(torch::kCPU, torch::kFloat).contiguous();
  at::Tensor teacher = a.teacher.detach().to(torch::kCPU, torch::kFloat).contiguous();
  auto flat = [](const at::Tensor& m) {
    return std::vector<float>(m.data_ptr<float>(), m.data_ptr<float>() + m.numel());
  };
  int64_t row = 0;
  for (size_t b = 0; b < batch.size(); ++b) {
    ProgressSample sample{batch[b]->key, batch[b]->view, {}, {}, {}};
    for (int64_t w = 0; w < v.size(1); ++w) {
      if (!v[static_cast<int64_t>(b)][w].item<bool>()) continue;
      if (static_cast<int64_t>(sample.words.size()) < words) {
        sample.words.push_back(batch[b]->matches[static_cast<size_t>(w)].word);
        sample.teacher.push_back(flat(teacher[row]));
        sample.student.push_back(flat(student[row]));
      }
      ++row;
    }
    if (sample.words.empty() || static_cast<int64_t>(out.size()) >= samples) continue;
    out.push_back(std::move(sample));
  }
  return out;
}

}  // namespace

// One invocation of the trainer: the pieces it builds, and the step.
class TrainingRun {
 public:
  explicit TrainingRun(const TrainOptions& o) : o_(o) {}

  void build() {
    // One thread pool per rank, sized as the launcher says (torchrun's OMP_NUM_THREADS).
    runtime::configure_threads(o_.threads > 0 ? static_cast<int>(o_.threads)
                                              : runtime::default_threads());
    torch::manual_seed(o_.seed);
    const DistEnv env = dist_env_from_environment();
    device_ = runtime::parse_device(o_.device);
    // One GPU per process: the local rank picks it unless --device named one (parse_device
    // reads LOCAL_RANK; the launcher's env may only say RANK).
    if (device_.is_cuda() && !device_.has_index() && env.world_size > 1)
      device_ = at::Device(at::kCUDA, static_cast<c10::DeviceIndex>(env.local_rank));
    dtype_ = runtime::parse_dtype(o_.dtype);
    runtime::check_dtype_on_device(dtype_, device_);
    DistributedOptions dist_options;
    dist_options.device = device_;
    dist_ = std::make_unique<Distributed>(env, dist_options);
    // From here a failure on this rank is reported to the others with its message.
    dist_->run_reporting([&] { build_model_and_data(); });
  }

  void build_model_and_data() {
    student_ = Student::load(o_.model, dtype_, device_);
    if (aligning()) build_objective();
    if (o_.lora) {
      lora_.rank = static_cast<int>(o_.lora_rank);
      lora_.alpha = o_.lora_alpha;
      lora_.dropout = o_.lora_dropout;
      lora_.target_modules = o_.lora_targets;
      const auto adapted = inject_lora(student_->module(), lora_);
      log::info("LoRA r=", lora_.rank, " on ", adapted.size(), " modules");
    }
    student_->module().to(device_, dtype_);
    student_->module().train();
    const bool full = parse_sharding(o_.sharding) == Sharding::full;
    if (full && !o_.gradient_checkpointing)
      log::info("--sharding full recomputes each layer in the backward (gradient checkpointing): ",
                "the layer's parameters are gathered again there");
    student_->set_gradient_checkpointing(o_.gradient_checkpointing || full);
    build_optimizer(choose_trainable());
    student_->set_layer_hooks(update_->layer_sharding());
    load_data();
    list_checkpoint_tensors();
  }

  Distributed& dist() { return *dist_; }

  // Restores the latest checkpoint into the summary's counters; false when there is none.
  bool resume(TrainSummary& summary) {
    const std::string latest = latest_checkpoint(o_.out);
    if (latest.empty()) return false;
    nlohmann::json state =
        load_training_checkpoint(latest, contents_, update_->optimizer(), shard());
    update_->restored(state.value("loss_scale", nlohmann::json::object()));
    generator_on(at::kCPU).set_state(rng_state_);
    if (device_rng_state_.defined()) generator_on(device_).set_state(device_rng_state_);
    summary.start_step = state.at("step").get<int64_t>();
    summary.skipped_steps = state.value("skipped_steps", int64_t{0});
    summary.bad_samples = state.value("bad_samples", int64_t{0});
    summary.samples_without_maps = state.value("samples_without_maps", int64_t{0});
    summary.samples_without_words = state.value("samples_without_words", int64_t{0});
    log::info("resumed from ", latest, " at step ", summary.start_step);
    return true;
  }

  std::string save(int64_t step, const TrainSummary& summary) {
    contents_.state = {{"step", step},
                       {"skipped_steps", summary.skipped_steps},
                       {"bad_samples", summary.bad_samples},
                       {"samples_without_maps", summary.samples_without_maps},
                       {"samples_without_words", summary.samples_without_words},
                       {"loss_scale", update_->loss_scale_state()},
                       {"options", options_json(o_)}};
    rng_state_.copy_(generator_on(at::kCPU).get_state());
    if (device_rng_state_.defined()) device_rng_state_.copy_(generator_on(device_).get_state());
    return save_training_checkpoint(o_.out, step, contents_, update_->optimizer(),
                                    o_.keep_checkpoints, shard());
  }

  // With grad-op sharding every rank writes its own part of a checkpoint; otherwise rank 0 alone
  // writes the whole.
  bool writes_checkpoints() const { return dist_->is_main() || update_->sharded(); }

  std::string save_model() {
    FinalModelOptions options;
    options.lora = o_.lora ? &lora_ : nullptr;
    options.merge_lora = o_.merge_lora;
    // Full sharding: every rank takes part in gathering the layers; the main rank keeps them
    // whole for the save (the whole model, as every rank of an unsharded run holds it).
    LayerSharding* layers = update_->layer_sharding();
    if (layers) layers->gather_all(/*keep=*/dist_->is_main());
    std::string dir =
        dist_->is_main() ? save_final_model(*student_, alignment_, o_.out, options) : "";
    if (layers) layers->release_all();
    return dir;
  }

  // Full sharding: how often a layer found its parameters gathered ahead of its start, i.e. its
  // gather overlapped the previous layer's computation.
  void log_prefetching() {
    if (LayerSharding* layers = update_->layer_sharding())
      log::info("rank ", dist_->rank(), " full sharding: ", layers->prefetched_starts(), " of ",
                layers->starts(), " layer starts found their parameters prefetched");
  }

  // Every micro-batch of step `step` on this rank, with their counts.
  std::vector<MicroBatch> prepare_step(int64_t step) {
    std::vector<MicroBatch> out;
    for (int64_t m = 0; m < o_.grad_accum; ++m) out.push_back(prepare(step, m));
    return out;
  }

  GlobalCounts global_counts(const std::vector<MicroBatch>& batches) {
    GlobalCounts c;
    for (const auto& b : batches) c.tokens += static_cast<double>(b.tokens), c.words += b.words;
    c.tokens = dist_->all_reduce_sum(c.tokens);
    c.words = dist_->all_reduce_sum(c.words);
    return c;
  }

  // Micro-batch m of step `step` (0-based) on this rank. A step draws the next
  // batch_size × grad_accum × world entries of the sample stream; micro-batch m of rank r takes
  // the r-th batch_size of the m-th world × batch_size, so the ranks' micro-batches together are
  // the one-process micro-batch of world × batch_size.
  MicroBatch prepare(int64_t step, int64_t m) {
    MicroBatch out;
    const int64_t world = dist_->world_size();
    const int64_t per_step = o_.batch_size * o_.grad_accum * world;
    const int64_t first = step * per_step + (m * world + dist_->rank()) * o_.batch_size;
    for (int64_t k = 0; k < o_.batch_size; ++k) {
      const TrainingSample& sample = sample_at_position(first + k);
      try {
        out.examples.push_back(student_->prepare(sample, store_.get(), example_options_));
        out.tokens += predicted_tokens(out.examples.back());
        out.positions += static_cast<int64_t>(out.examples.back().ids.size());
        if (aligning()) out.words += static_cast<int64_t>(out.examples.back().matches.size());
      } catch (const Error& e) {
        // Said once per sample; every epoch still counts it.
        if (warned_.insert(sample.origin).second) log::warn("skipped sample: ", e.what());
        ++out.bad;
      }
    }
    return out;
  }

  // Forward and backward of one micro-batch, its losses weighted by its share of the step's
  // counts, accumulating into `r`; false when it was empty. `figures` (when not null) receives
  // progress pictures of the batch's first samples.
  bool accumulate(const MicroBatch& batch, const GlobalCounts& counts, bool only_aligner,
                  StepRecord& r, TrainSummary& summary,
                  std::vector<ProgressSample>* figures = nullptr) {
    summary.bad_samples += batch.bad;
    if (batch.examples.empty()) {
      if (update_->layer_sharding() && counts.tokens > 0) take_part_without_data(only_aligner);
      return false;
    }
    std::vector<const PreparedExample*> ptrs;
    for (const auto& ex : batch.examples) {
      ptrs.push_back(&ex);
      if (store_ && !ex.has_maps)
        ++summary.samples_without_maps;
      else if (store_ && ex.matches.empty())
        ++summary.samples_without_words;
    }
    StudentOutput out;
    {
      // During the Aligner-only warm-up the student is held still: no graph through it.
      std::optional<torch::NoGradGuard> frozen_student;
      if (only_aligner) frozen_student.emplace();
      runtime::AutocastScope autocast(o_.autocast, device_);
      out = student_->forward(ptrs, aligning() ? layers_ : std::vector<int64_t>{}, o_.map_size,
                              device_);
    }
    if (out.label_tokens != batch.tokens)
      throw Error("internal: the text loss averaged over another token count than was planned");
    const double text_share = static_cast<double>(batch.tokens) / std::max(counts.tokens, 1.0);
    at::Tensor loss = out.text_loss * (r.text_weight * text_share);
    add_loss(text_sum_, out.text_loss, text_share);
    if (aligning() && out.word_maps.defined()) {
      align::AlignmentResult a = alignment_->forward(out.word_maps, out.teacher, out.valid);
      if (a.words != batch.words)
        throw Error("internal: the attention loss compared another word count than was planned");
      if (a.words > 0) {
        const double word_share = static_cast<double>(a.words) / counts.words;
        loss = loss + a.loss * (r.lambda * word_share);
        add_loss(attention_sum_, a.loss, word_share);
        if (figures)
          *figures = progress_samples(ptrs, out.valid, a, o_.figure_samples, o_.figure_words);
      }
    }
    r.samples += static_cast<int64_t>(ptrs.size());
    r.positions += batch.positions;
    // Gradients are averaged over ranks, and each rank's losses are its share of the global
    // means: the world size turns the average back into the sum of the shares.
    if (loss.requires_grad()) (loss * update_->loss_factor()).backward();
    return true;
  }

  // Full sharding gathers and reduces the layers inside the forward and backward, collectives
  // every rank must join: a rank whose micro-batch came out empty (bad samples) runs a stand-in
  // sample through both with zero weight, which adds nothing to the gradients.
  void take_part_without_data(bool only_aligner) {
    const PreparedExample& ex = stand_in();
    StudentOutput out;
    {
      std::optional<torch::NoGradGuard> frozen_student;
      if (only_aligner) frozen_student.emplace();
      runtime::AutocastScope autocast(o_.autocast, device_);
      out = student_->forward({&ex}, aligning() ? layers_ : std::vector<int64_t>{}, o_.map_size,
                              device_);
    }
    at::Tensor loss = out.text_loss * 0.0;
    if (aligning() && out.word_maps.defined()) {
      align::AlignmentResult a = alignment_->forward(out.word_maps, out.teacher, out.valid);
      if (a.words > 0) loss = loss + a.loss * 0.0;
    }
    if (loss.requires_grad()) loss.backward();
  }

  // The first sample of the data that prepares without trouble.
  const PreparedExample& stand_in() {
    for (size_t i = 0; !stand_in_ && i < data_.samples.size(); ++i) {
      try {
        stand_in_ = student_->prepare(data_.samples[i], store_.get(), example_options_);
      } catch (const Error&) {
      }
    }
    if (!stand_in_) throw Error(o_.data + ": no sample can be prepared");
    return *stand_in_;
  }

  // After every micro-batch, on every rank (sharded, a collective even when this rank's batch
  // was empty): the backward's gradients move to the masters that sum them.
  void fold_gradients() { update_->fold_gradients(); }

  void start_step(int64_t step, StepRecord& r) {
    r.step = step + 1;
    r.lr = learning_rate(o_.lr, step, o_.max_steps);
    r.lambda = aligning() ? lambda_at(o_.lambda, step, o_.max_steps) : 0.0;
    r.text_weight = text_weight_at(o_.text_weight, step);
    update_->start(r.lr);
    r.loss_scale = update_->loss_scale();
    text_sum_ = attention_sum_ = at::Tensor();
  }

  // The step's losses are summed on the device and read back once, when the step is logged (a
  // read-back waits for the device to finish everything queued).
  static void add_loss(at::Tensor& sum, const at::Tensor& loss, double share) {
    at::Tensor part = loss.detach().to(at::kDouble) * share;
    sum = sum.defined() ? sum + part : part;
  }
  static double read_loss(const at::Tensor& sum) {
    return sum.defined() ? sum.item<double>() : 0.0;
  }

  // Adds up the ranks' shares of the step's losses (every rank logs the same).
  void reduce_over_ranks(StepRecord& r, const GlobalCounts& counts) {
    r.text = dist_->all_reduce_sum(read_loss(text_sum_));
    r.attention = dist_->all_reduce_sum(read_loss(attention_sum_));
    r.samples = static_cast<int64_t>(dist_->all_reduce_sum(static_cast<double>(r.samples)));
    r.positions = static_cast<int64_t>(dist_->all_reduce_sum(static_cast<double>(r.positions)));
    r.total = r.text_weight * r.text + r.lambda * r.attention;
    r.tokens = static_cast<int64_t>(counts.tokens);
    r.words = static_cast<int64_t>(counts.words);
  }

  StepOutcome finish_step(StepRecord& r) {
    const StepResult result = update_->finish(r.total);
    r.grad_norm = result.grad_norm;
    return result.outcome;
  }

  CheckpointShard shard() {
    CheckpointShard s;
    if (update_->sharded()) {
      s.rank = dist_->rank();
      s.world = dist_->world_size();
      s.barrier = [this] { dist_->barrier(); };
    }
    return s;
  }

  bool aligning() const { return o_.lambda.lambda > 0; }
  bool aligner_only_at(int64_t step) const {
    return aligning() && aligner_only(o_.text_weight, step);
  }

 private:
  void build_objective() {
    layers_ = o_.align_layers;
    for (auto& l : layers_) {
      if (l < 0) l += student_->num_layers();
      student_->check_align_layer(l);
    }
    if (layers_.empty())
      layers_ = o_.parallel_attention
                    ? evenly_spaced(student_->default_align_layers(), o_.parallel_fraction)
                    : student_->default_align_layers();
    if (o_.parallel_attention) student_->enable_parallel_attention(layers_);
    align::AlignmentOptions a;
    a.pooling = align::parse_head_layer_pooling(o_.aggregation);
    a.aligner.variant = o_.aligner;
    a.aligner.hidden = o_.aligner_hidden;
    a.aligner.norm = o_.aligner_norm;
    a.aligner.activation = o_.aligner_activation;
    a.map_size = o_.map_size;
    alignment_ = align::AttentionAlignment(a, student_->heads());
    alignment_->to(device_);
    alignment_->train();
    student_->set_latent_maps(align::parse_latent_maps(o_.latent_maps));
    student_->set_sliced_views(align::parse_sliced_views(o_.sliced_views));
    example_options_.scope = parse_match_scope(o_.match_scope);
    example_options_.filter =
        align::WordFilter(align::parse_word_filter(o_.word_filter), o_.pos_lexicon);
  }

  // A --freeze entry as a test on parameter names: @vision is the student's vision encoder,
  // anything else a regex.
  std::function<bool(const std::string&)> freeze_test(const std::string& pattern) const {
    if (pattern == "@vision")
      return [prefix = student_->vision_encoder_prefix()](const std::string& name) {
        return name.rfind(prefix, 0) == 0;
      };
    if (!pattern.empty() && pattern[0] == '@')
      throw Error("--freeze: unknown role \"" + pattern + "\" (known: @vision)");
    try {
      return [re = std::regex(pattern)](const std::string& name) {
        return std::regex_search(name, re);
      };
    } catch (const std::regex_error&) {
      throw Error("--freeze: \"" + pattern + "\" is not a valid regular expression");
    }
  }

  // With LoRA only the adapters (and learned parallel projections) train; otherwise parameters
  // matching a --freeze pattern are held still and the rest train. They are split into those
  // that take weight decay and those that do not.
  std::pair<std::vector<at::Tensor>, std::vector<at::Tensor>> choose_trainable() {
    std::vector<std::function<bool(const std::string&)>> frozen;
    for (const auto& pattern : o_.freeze) frozen.push_back(freeze_test(pattern));
    std::vector<at::Tensor> decay, no_decay;
    for (auto& item : student_->module().named_parameters()) {
      const std::string& name = item.key();
      bool train = true;
      if (o_.lora)
        train = name.find(".lora_") != std::string::npos ||
                name.find("parallel_attn.") != std::string::npos;
      else
        for (const auto& is_frozen : frozen) train = train && !is_frozen(name);
      item.value().set_requires_grad(train);
      if (!train) continue;
      student_trainable_.emplace_back("student." + item.key(), item.value());
      (takes_weight_decay(item.key(), item.value()) ? decay : no_decay).push_back(item.value());
    }
    if (decay.empty() && no_decay.empty())
      throw Error("--freeze leaves no parameter of " + o_.model + " to train");
    return {decay, no_decay};
  }

  void build_optimizer(std::pair<std::vector<at::Tensor>, std::vector<at::Tensor>> params) {
    update_ = std::make_unique<ParameterUpdate>(
        o_, *dist_, params.first, params.second,
        aligning() ? alignment_->parameters() : std::vector<at::Tensor>{}, sharded_layers());
  }

  // What --sharding full shards layer by layer: every decoder layer, and the vision layers that
  // are frozen (a vision layer that trains runs without recomputation, so it stays whole).
  std::vector<ShardedLayer> sharded_layers() {
    if (parse_sharding(o_.sharding) != Sharding::full) return {};
    std::unordered_map<const torch::nn::Module*, std::string> names;
    for (const auto& item : student_->module().named_modules())
      names[item.value().get()] = item.key();
    std::vector<ShardedLayer> out;
    for (const auto* m : student_->decoder_layers()) out.push_back({names.at(m), m});
    for (const auto* m : student_->vision_layers()) {
      bool frozen = true;
      for (const auto& p : m->parameters()) frozen = frozen && !p.requires_grad();
      if (frozen) out.push_back({names.at(m), m});
    }
    return out;
  }

  void load_data() {
    data::DatasetReadResult dataset =
        data::read_dataset(o_.data, o_.images, data::parse_dataset_format(o_.data_format));
    data_ = training_samples(dataset, o_.caption_prompt);
    for (const auto& p : dataset.problems) log::warn("skipped: ", p);
    for (const auto& p : data_.problems) log::warn("skipped: ", p);
    if (data_.samples.empty()) throw Error(o_.data + ": no usable training sample");
    if (o_.max_samples > 0 && static_cast<size_t>(o_.max_samples) < data_.samples.size()) {
      data_.samples.resize(static_cast<size_t>(o_.max_samples));
      log::info("training on the first ", o_.max_samples, " samples of ", o_.data);
    } else if (o_.max_samples > 0 && static_cast<size_t>(o_.max_samples) > data_.samples.size()) {
      log::warn("--max-samples ", o_.max_samples, ": ", o_.data, " has only ",
                data_.samples.size(), " usable samples; training on all of them");
    }
    if (!o_.maps.empty())
      store_ = std::make_unique<io::MapStoreReader>(io::MapStoreReader::open(teacher_store()));
    example_options_.map_size = o_.map_size;
    example_options_.max_tokens = o_.max_tokens;
  }

  // --maps as given, or for the authors' JPEG layout the store it is imported into once
  // (<out>/teacher-maps; a re-run reuses what was imported).
  std::string teacher_store() {
    if (!io::is_authors_layout(o_.maps)) return o_.maps;
    const std::string dir = o_.out + "/teacher-maps";
    io::MapStoreWriter writer(
        dir,
        {{"map_size", o_.map_size}, {"recipe", {{"name", "authors-layout"}}}, {"source", o_.maps}});
    io::AuthorsImportReport report = io::import_authors_layout(o_.maps, writer, o_.map_size);
    writer.flush();
    for (const auto& p : report.problems) log::warn("teacher maps: ", p);
    log::info("teacher maps: imported ", report.images, " images of the authors' layout in ",
              o_.maps, " into ", dir, " (", report.skipped, " already there)");
    return dir;
  }

  // What a checkpoint holds: the masters of the trainable parameters (this rank's share under
  // sharding), the Aligner's buffers, the RNG state.
  void list_checkpoint_tensors() {
    contents_.tensors.clear();
    auto add_master = [&](const std::string& name, const at::Tensor& p) {
      if (update_->owns(p)) contents_.tensors.emplace_back(name, update_->master_of(p));
    };
    for (const auto& [name, p] : student_trainable_) add_master(name, p);
    for (const auto& [name, m] : update_->flat_masters()) contents_.tensors.emplace_back(name, m);
    if (aligning()) {
      for (auto& p : alignment_->named_parameters()) add_master("aligner." + p.key(), p.value());
      for (auto& b : alignment_->named_buffers())
        contents_.tensors.emplace_back("aligner." + b.key(), b.value());
    }
    rng_state_ = generator_on(at::kCPU).get_state();
    contents_.tensors.emplace_back("rng.cpu", rng_state_);
    if (!device_.is_cpu()) {  // e.g. "rng.cuda"
      device_rng_state_ = generator_on(device_).get_state();
      contents_.tensors.emplace_back(
          std::string("rng.") + c10::DeviceTypeName(device_.type(), true), device_rng_state_);
    }
  }

  const TrainingSample& sample_at_position(int64_t position) {
    const int64_t n = static_cast<int64_t>(data_.samples.size()), epoch = position / n;
    if (epoch != cached_epoch_) {
      order_ = epoch_order(data_.samples.size(), o_.seed, epoch, o_.shuffle);
      cached_epoch_ = epoch;
    }
    return data_.samples[order_[static_cast<size_t>(position % n)]];
  }

  const TrainOptions& o_;
  std::unique_ptr<Distributed> dist_;
  at::Device device_{torch::kCPU};
  at::ScalarType dtype_ = at::kFloat;
  std::unique_ptr<Student> student_;
  align::AttentionAlignment alignment_{nullptr};
  std::vector<int64_t> layers_;
  LoraConfig lora_;
  std::unique_ptr<ParameterUpdate> update_;
  std::vector<std::pair<std::string, at::Tensor>> student_trainable_;  // the model's, by name
  std::unique_ptr<io::MapStoreReader> store_;
  TrainingSet data_;
  ExampleOptions example_options_;
  CheckpointContents contents_;
  std::optional<PreparedExample> stand_in_;  // take_part_without_data's sample
  at::Tensor rng_state_, device_rng_state_;
  at::Tensor text_sum_, attention_sum_;  // this rank's shares of the step's losses so far  // the
                                         // CPU's and the device's generator states
  int64_t cached_epoch_ = -1;            // the epoch whose order is cached
  std::vector<size_t> order_;
  std::set<std::string> warned_;  // touched only by the thread that prepares batches
};

namespace {

Metrics values_of(const StepRecord& r) {
  return {{"total", r.total},
          {"text", r.text},
          {"attention", r.attention},
          {"lambda", r.lambda},
          {"text_weight", r.text_weight},
          {"lr", r.lr},
          {"grad_norm", r.grad_norm},
          {"loss_scale", r.loss_scale},
          {"tokens_per_s", r.tokens_per_s},
          {"seconds", r.seconds},
          {"positions", static_cast<double>(r.positions)},
          {"words", static_cast<double>(r.words)},
          {"samples", static_cast<double>(r.samples)},
          {"skipped", r.skipped ? 1.0 : 0.0}};
}

// <out>/figures/step-000100-<key>.png, and the same image in TensorBoard.
void write_figures(const std::string& out, int64_t step, const std::vector<ProgressSample>& figures,
                   const FigureDrawer& draw, EventFileWriter& events) {
  if (figures.empty()) return;
  fs::create_directories(out + "/figures");
  char prefix[32];
  std::snprintf(prefix, sizeof prefix, "step-%06lld-", static_cast<long long>(step));
  for (const auto& f : figures) {
    std::string name = f.key;
    for (char& c : name)
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') c = '_';
    const io::Image image = draw(f, step);
    io::write_png(out + "/figures/" + prefix + name + ".png", image);
    events.add_image("alignment/" + name, image, step);
  }
}

}  // namespace

Trainer::Trainer(TrainOptions options) : options_(std::move(options)) {}
Trainer::~Trainer() = default;

TrainSummary Trainer::run() {
  const TrainOptions& o = options_;
  validate(o);
  ParameterUpdate::check_options(o);
  TrainingRun run(o);
  run.build();
  Distributed& dist = run.dist();
  return dist.run_reporting([&] { return train(run, dist); });
}

TrainSummary Trainer::train(TrainingRun& run, Distributed& dist) {
  const TrainOptions& o = options_;
  const bool main = dist.is_main();  // only the main rank writes
  TrainSummary summary;
  if (main) fs::create_directories(o.out);
  dist.barrier();
  if (o.resume && !run.resume(summary))
    log::info("--resume: no checkpoint in ", o.out, "/checkpoints yet; starting from step 0");
  if (main) write_file_atomically(o.out + "/train_options.json", options_json(o).dump(2) + "\n");
  summary.checkpoint = summary.start_step > 0 ? latest_checkpoint(o.out) : "";

  SignalScope signals;
  std::unique_ptr<EventFileWriter> events;
  std::unique_ptr<MetricsLog> metrics;
  if (main) {
    events = std::make_unique<EventFileWriter>(o.out + "/tensorboard");
    metrics = std::make_unique<MetricsLog>(
        o.out, summary.start_step > 0 ? std::optional<int64_t>(summary.start_step) : std::nullopt,
        events.get());
  }
  int64_t bad_in_a_row = 0, step = summary.start_step;
  // A step's micro-batches are decoded on a background thread while the step before computes:
  // their counts are needed before the first backward.
  std::future<std::vector<MicroBatch>> next;
  auto prepare = [&run](int64_t s) { return run.prepare_step(s); };
  if (step < o.max_steps) next = std::async(std::launch::async, prepare, step);
  for (; step < o.max_steps; ++step) {
    const auto t0 = std::chrono::steady_clock::now();
    std::vector<MicroBatch> batches = next.get();
    if (step + 1 < o.max_steps) next = std::async(std::launch::async, prepare, step + 1);
    StepRecord r;
    run.start_step(step, r);
    const GlobalCounts counts = run.global_counts(batches);
    const bool draw = main && draw_ && o.figure_every > 0 && (step + 1) % o.figure_every == 0;
    std::vector<ProgressSample> figures;
    int64_t micro_done = 0;
    for (size_t m = 0; m < batches.size(); ++m) {
      micro_done += run.accumulate(batches[m], counts, run.aligner_only_at(step), r, summary,
                                   draw && m == 0 ? &figures : nullptr);
      run.fold_gradients();
    }
    run.reduce_over_ranks(r, counts);
    const bool any_done = dist.all_reduce_sum(static_cast<double>(micro_done)) > 0;
    const StepOutcome outcome = any_done ? run.finish_step(r) : StepOutcome::bad;
    if (outcome == StepOutcome::overflow) {
      r.skipped = true;
      ++summary.skipped_steps;
      if (main)
        log::info("step ", step + 1, ": gradients overflowed at loss scale ", r.loss_scale,
                  "; skipped, the scale backs off");
    } else if (outcome == StepOutcome::bad) {
      r.skipped = true;
      ++summary.skipped_steps;
      if (any_done && ++bad_in_a_row >= o.max_bad_steps)
        throw Error("training stopped at step " + std::to_string(step + 1) + ": " +
                    std::to_string(bad_in_a_row) +
                    " steps in a row had a non-finite loss or gradient (lower --lr, check the "
                    "data); the last good checkpoint is " +
                    (summary.checkpoint.empty() ? std::string("none") : summary.checkpoint));
    } else {
      bad_in_a_row = 0;
    }
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    r.tokens_per_s = r.seconds > 0 ? static_cast<double>(r.tokens) / r.seconds : 0;
    summary.history.push_back(r);
    if (main) {
      write_figures(o.out, step + 1, figures, draw_, *events);
      if ((step + 1) % o.log_every == 0 || step + 1 == o.max_steps)
        metrics->log(r.step, values_of(r));
    }
    if (on_step_ && main) on_step_(r);
    // A signal or the stop check on any rank stops every rank at the same step.
    const bool stop = !dist.all_agree(g_signal == 0 && !(stop_ && stop_(r)));
    // No periodic checkpoint inside a run of non-finite steps: the latest one stays the one from
    // before the trouble.
    if (((step + 1) % o.save_every == 0 && bad_in_a_row == 0) || stop) {
      if (run.writes_checkpoints()) summary.checkpoint = run.save(step + 1, summary);
      if (main) metrics->flush();
      dist.barrier();  // a checkpoint is complete before any rank moves on
    }
    if (stop) {
      summary.interrupted = true;
      ++step;
      if (main)
        log::info("stopped at step ", step, "; checkpoint ", summary.checkpoint,
                  " (continue with --resume)");
      break;
    }
  }
  if (next.valid()) next.wait();
  summary.steps = step;
  if (summary.interrupted) return summary;
  if (run.writes_checkpoints() && (summary.checkpoint.empty() || summary.steps % o.save_every != 0))
    summary.checkpoint = run.save(summary.steps, summary);
  log::info("rank ", dist.rank(), " ", runtime::peak_memory_report(), " (training)");
  run.log_prefetching();
  summary.model_dir = run.save_model();
  dist.barrier();
  return summary;
}

}  // namespace lavender::train

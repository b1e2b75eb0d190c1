#include "lavender/train/train_options.h"

#include <sstream>

#include "lavender/util/error.h"

namespace lavender::train {
namespace {

int64_t to_int(const std::string& name, const std::string& v) {
  size_t used = 0;
  int64_t n = 0;
  try {
    n = std::stoll(v, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != v.size())
    throw Error("--" + name + ": expected an integer, got \"" + v + "\"");
  return n;
}

int64_t to_count(const std::string& name, const std::string& v, int64_t min) {
  const int64_t n = to_int(name, v);
  if (n < min) throw Error("--" + name + ": must be at least " + std::to_string(min));
  return n;
}

double to_double(const std::string& name, const std::string& v) {
  size_t used = 0;
  double d = 0;
  try {
    d = std::stod(v, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != v.size())
    throw Error("--" + name + ": expected a number, got \"" + v + "\"");
  return d;
}

bool to_bool(const std::string& name, const std::string& v) {
  if (v == "true" || v == "1" || v.empty()) return true;
  if (v == "false" || v == "0") return false;
  throw Error("--" + name + ": expected true or false, got \"" + v + "\"");
}

std::vector<std::string> to_list(const std::string& v) {
  std::vector<std::string> out;
  std::stringstream in(v);
  for (std::string item; std::getline(in, item, ',');)
    if (!item.empty()) out.push_back(item);
  return out;
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& s : items) out += (out.empty() ? "" : ",") + s;
  return out;
}

std::string number(double d) {
  std::ostringstream s;
  s << d;
  return s.str();
}

// Shorthands for the table: a string, integer, number or switch member.
OptionSpec text(std::string name, std::string help, std::string TrainOptions::*m) {
  return {name, std::move(help), false, [m](const TrainOptions& o) { return o.*m; },
          [m](TrainOptions& o, const std::string& v) { o.*m = v; }};
}
OptionSpec integer(std::string name, std::string help, int64_t TrainOptions::*m, int64_t min) {
  return {name, std::move(help), false, [m](const TrainOptions& o) { return std::to_string(o.*m); },
          [name, m, min](TrainOptions& o, const std::string& v) { o.*m = to_count(name, v, min); }};
}
OptionSpec real(std::string name, std::string help, double TrainOptions::*m) {
  return {name, std::move(help), false, [m](const TrainOptions& o) { return number(o.*m); },
          [name, m](TrainOptions& o, const std::string& v) { o.*m = to_double(name, v); }};
}
OptionSpec flag(std::string name, std::string help, bool TrainOptions::*m) {
  return {name, std::move(help), true,
          [m](const TrainOptions& o) { return o.*m ? "true" : "false"; },
          [name, m](TrainOptions& o, const std::string& v) { o.*m = to_bool(name, v); }};
}

std::vector<OptionSpec> make_specs() {
  using O = TrainOptions;
  std::vector<OptionSpec> s = {
      text("model", "Hugging Face model folder to fine-tune (LLaVA-1.5)", &O::model),
      text("data", "training data: LLaVA conversations (.json/.jsonl), Karpathy captions, or TSV",
           &O::data),
      text("images", "folder that relative image paths in --data are joined onto", &O::images),
      text("maps", "the teacher's attention-map store (lavender sd-attn); empty: plain SFT",
           &O::maps),
      text("out", "run folder: checkpoints, metrics, the fine-tuned model", &O::out),
      text("data-format", "detect | llava-json | llava-jsonl | karpathy | tsv", &O::data_format),
      text("caption-prompt", "user prompt that turns a caption into a reply to learn",
           &O::caption_prompt),
      integer("max-tokens", "longer conversations are cut to this many tokens", &O::max_tokens, 8),
      integer("max-samples",
              "train on the first N usable samples of --data only, in file order (0: all); "
              "for learning curves over the training-set size",
              &O::max_samples, 0),
      flag("no-shuffle", "draw samples in file order instead of a seeded shuffle per epoch",
           nullptr),
      integer("max-steps", "optimizer steps to train", &O::max_steps, 1),
      integer("batch-size", "samples per micro-batch and process", &O::batch_size, 1),
      integer("grad-accum", "micro-batches accumulated into one optimizer step", &O::grad_accum, 1),
      {"seed", "fixes data order, initialisation and dropout", false,
       [](const O& o) { return std::to_string(o.seed); },
       [](O& o, const std::string& v) { o.seed = static_cast<uint64_t>(to_count("seed", v, 0)); }},
      flag("resume", "continue from the latest checkpoint in --out", &O::resume),
      text("device", "cpu | cuda | cuda:N", &O::device),
      text("dtype", "compute and storage dtype of the model's weights: fp32 | bf16 | fp16",
           &O::dtype),
      text("master-weights",
           "dtype of the trainable parameters' master copy and AdamW state: fp32, or the same "
           "as --dtype (less memory, small updates rounded away)",
           &O::master_weights),
      text("loss-scale",
           "auto (dynamic for fp16, none otherwise) | dynamic (from 65536) | dynamic:START | "
           "none | a fixed factor",
           &O::loss_scale),
      flag("autocast", "bf16 autocast of the model's forward pass (fp32 weights and optimizer)",
           &O::autocast),
      text("sharding",
           "none (replicated) | grad-op (each rank keeps 1/N of the master weights, gradients "
           "and AdamW state) | full (the parameters too, each layer gathered just before it runs)",
           &O::sharding),
      flag("gradient-checkpointing",
           "recompute decoder activations in backward (less memory, ~1/3 more compute)",
           &O::gradient_checkpointing),
      integer("threads", "CPU threads (0: every core)", &O::threads, 0),
      {"lambda", "weight of the attention loss L_att (0: plain SFT)", false,
       [](const O& o) { return number(o.lambda.lambda); },
       [](O& o, const std::string& v) { o.lambda.lambda = to_double("lambda", v); }},
      {"lambda-schedule", "constant | exp-decay | inverse", false,
       [](const O& o) { return std::string(lambda_schedule_name(o.lambda.kind)); },
       [](O& o, const std::string& v) { o.lambda.kind = parse_lambda_schedule(v); }},
      {"lambda-factor", "rate of the exp-decay / inverse schedules", false,
       [](const O& o) { return number(o.lambda.factor); },
       [](O& o, const std::string& v) { o.lambda.factor = to_double("lambda-factor", v); }},
      {"aligner-warmup", "steps that train the Aligner alone before the text loss joins", false,
       [](const O& o) { return std::to_string(o.text_weight.aligner_warmup_steps); },
       [](O& o, const std::string& v) {
         o.text_weight.aligner_warmup_steps = to_count("aligner-warmup", v, 0);
       }},
      {"text-ramp", "steps over which the text loss then ramps linearly to full weight", false,
       [](const O& o) { return std::to_string(o.text_weight.ramp_steps); },
       [](O& o, const std::string& v) { o.text_weight.ramp_steps = to_count("text-ramp", v, 0); }},
      text("aggregation",
           "heads/layers pooling: heads-mean | heads-max | mean-mean | max-max | mean-max | "
           "max-mean | flow-product | flow-sum | flow-product-weighted | flow-sum-weighted",
           &O::aggregation),
      text("aligner", "Aligner variant: light | sim | deep | mlp", &O::aligner),
      integer("aligner-hidden", "Aligner hidden width", &O::aligner_hidden, 1),
      text("aligner-norm", "instance | batch | group | none", &O::aligner_norm),
      text("aligner-activation", "relu6 | leaky_relu", &O::aligner_activation),
      {"align-layers",
       "decoder layers whose attention is aligned (empty: LLaVA's middle half, L/4..3L/4-1, "
       "every layer below 8; mllama's cross-attention layers)",
       false,
       [](const O& o) {
         std::string out;
         for (int64_t l : o.align_layers) out += (out.empty() ? "" : ",") + std::to_string(l);
         return out;
       },
       [](O& o, const std::string& v) {
         o.align_layers.clear();
         for (const auto& item : to_list(v)) o.align_layers.push_back(to_int("align-layers", item));
       }},
      flag("parallel-attention",
           "align learned parallel attention (new W_Qd, W_Kd) instead of the pretrained one",
           &O::parallel_attention),
      real("parallel-fraction",
           "with --parallel-attention and no --align-layers: this fraction of the layers, evenly "
           "spaced",
           &O::parallel_fraction),
      integer("map-size", "side of the aligned maps", &O::map_size, 4),
      text("match-scope", "which tokens' attention is aligned: reply | all", &O::match_scope),
      text("latent-maps",
           "OpenFlamingo, MiniCPM-V: attention to resampled tokens as maps through the "
           "resampler's attention to patches (composed) or as a raster of tokens (square)",
           &O::latent_maps),
      text("sliced-views",
           "MiniCPM-V: the views that make a word's map: both (the source picture and the "
           "slices, as attention per unit of image area) | source | slices",
           &O::sliced_views),
      text("word-filter", "all | content | nouns | adjectives | nouns-adjectives-verbs",
           &O::word_filter),
      text("pos-lexicon", "word<TAB>TAG file for the part-of-speech word filters", &O::pos_lexicon),
      {"lr", "peak learning rate", false, [](const O& o) { return number(o.lr.lr); },
       [](O& o, const std::string& v) { o.lr.lr = to_double("lr", v); }},
      {"lr-schedule", "cosine | linear | constant", false,
       [](const O& o) { return std::string(lr_schedule_name(o.lr.kind)); },
       [](O& o, const std::string& v) { o.lr.kind = parse_lr_schedule(v); }},
      {"warmup-steps", "linear learning-rate warm-up steps", false,
       [](const O& o) { return std::to_string(o.lr.warmup_steps); },
       [](O& o, const std::string& v) { o.lr.warmup_steps = to_count("warmup-steps", v, 0); }},
      {"min-lr-ratio", "the decay ends at this fraction of --lr", false,
       [](const O& o) { return number(o.lr.min_ratio); },
       [](O& o, const std::string& v) { o.lr.min_ratio = to_double("min-lr-ratio", v); }},
      real("aligner-lr", "the Aligner's peak learning rate (0: --lr)", &O::aligner_lr),
      real("weight-decay", "AdamW decoupled weight decay (not on norms and biases)",
           &O::weight_decay),
      real("adam-beta1", "AdamW beta1", &O::adam_beta1),
      real("adam-beta2", "AdamW beta2", &O::adam_beta2),
      real("adam-eps", "AdamW epsilon", &O::adam_eps),
      real("max-grad-norm", "gradient-norm clipping (0: none)", &O::max_grad_norm),
      {"freeze",
       "comma-separated regexes of parameter names to keep frozen; @vision is the student's "
       "vision encoder (LLaVA's vision_tower, mllama's vision_model); '' trains everything",
       false, [](const O& o) { return join(o.freeze); },
       [](O& o, const std::string& v) { o.freeze = to_list(v); }},
      flag("lora", "train LoRA adapters on the language model instead of all its weights",
           &O::lora),
      integer("lora-rank", "LoRA rank r", &O::lora_rank, 1),
      real("lora-alpha", "LoRA alpha (the update is scaled by alpha / r)", &O::lora_alpha),
      real("lora-dropout", "dropout on the LoRA branch's input", &O::lora_dropout),
      {"lora-targets", "module names (or name suffixes) that get adapters", false,
       [](const O& o) { return join(o.lora_targets); },
       [](O& o, const std::string& v) { o.lora_targets = to_list(v); }},
      flag("merge-lora",
           "also write the model with the adapters merged (OUT/model) beside OUT/adapter",
           &O::merge_lora),
      integer("save-every", "steps between checkpoints", &O::save_every, 1),
      integer("keep-checkpoints", "checkpoints kept (older ones are removed)", &O::keep_checkpoints,
              1),
      integer("log-every", "steps between metric lines", &O::log_every, 1),
      integer("figure-every",
              "steps between progress figures (image | teacher | student per word; 0: none)",
              &O::figure_every, 0),
      integer("figure-samples", "samples drawn per progress figure step", &O::figure_samples, 1),
      integer("figure-words", "words per progress figure", &O::figure_words, 1),
      integer("max-bad-steps", "non-finite steps in a row before the run stops", &O::max_bad_steps,
              1),
  };
  // --no-shuffle is the negation of a member; spelled out here.
  for (auto& spec : s)
    if (spec.name == "no-shuffle") {
      spec.get = [](const O& o) { return o.shuffle ? "false" : "true"; };
      spec.set = [](O& o, const std::string& v) { o.shuffle = !to_bool("no-shuffle", v); };
    }
  return s;
}

}  // namespace

const std::vector<OptionSpec>& train_option_specs() {
  static const std::vector<OptionSpec> specs = make_specs();
  return specs;
}

void apply_config(TrainOptions& options, const nlohmann::json& config, const std::string& path) {
  if (!config.is_object()) throw Error(path + ": a training config must be a JSON object");
  for (const auto& [key, value] : config.items()) {
    const OptionSpec* spec = nullptr;
    for (const auto& s : train_option_specs())
      if (s.name == key) spec = &s;
    if (!spec) throw Error(path + ": unknown option \"" + key + "\" (see lavender train --help)");
    std::string text;
    if (value.is_string())
      text = value.get<std::string>();
    else if (value.is_boolean())
      text = value.get<bool>() ? "true" : "false";
    else if (value.is_number_integer())
      text = std::to_string(value.get<int64_t>());
    else if (value.is_number())
      text = number(value.get<double>());
    else if (value.is_array()) {
      for (const auto& item : value)
        text +=
            (text.empty() ? "" : ",") + (item.is_string() ? item.get<std::string>() : item.dump());
    } else
      throw Error(path + ": option \"" + key + "\" has a value of an unsupported type");
    try {
      spec->set(options, text);
    } catch (const Error& e) {
      throw Error(path + ": " + e.what());
    }
  }
}

nlohmann::json options_json(const TrainOptions& options) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& s : train_option_specs()) out[s.name] = s.get(options);
  return out;
}

void validate(const TrainOptions& o) {
  for (const auto& [name, value] : {std::pair<const char*, const std::string*>{"model", &o.model},
                                    {"data", &o.data},
                                    {"out", &o.out}})
    if (value->empty()) throw Error(std::string("lavender train: --") + name + " is required");
  if (o.lambda.lambda < 0) throw Error("--lambda: must not be negative");
  if (o.lambda.lambda > 0 && o.maps.empty())
    throw Error("lavender train: --lambda " + number(o.lambda.lambda) +
                " needs the teacher's maps (--maps STORE); use --lambda 0 for plain SFT");
  if (o.lr.lr <= 0) throw Error("--lr: must be positive");
  // The command line's table enforces these; options built in code pass here too.
  for (const auto& [name, value] : {std::pair<const char*, int64_t>{"batch-size", o.batch_size},
                                    {"grad-accum", o.grad_accum},
                                    {"max-steps", o.max_steps},
                                    {"save-every", o.save_every}})
    if (value < 1)
      throw Error(std::string("--") + name + ": must be at least 1 (got " + std::to_string(value) +
                  ")");
}

}  // namespace lavender::train

#include "lavender/synth/world.h"

#include <torch/torch.h>

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "lavender/io/image.h"
#include "lavender/io/json_file.h"
#include "lavender/io/map_store.h"
#include "lavender/synth/questions.h"
#include "lavender/synth/splits.h"
#include "lavender/util/atomic_file.h"
#include "lavender/util/error.h"
#include "lavender/util/progress.h"
#include "lavender/util/remove_tree.h"

namespace fs = std::filesystem;

namespace lavender::synth {

namespace {

using ojson = nlohmann::ordered_json;

nlohmann::json settings_json(const WorldOptions& o) {
  return {{"format", "lavender-shapes-world/1"}, {"seed", o.seed},
          {"size", o.size},                      {"train", o.train},
          {"test", o.test},                      {"qa_per_image", o.qa_per_image},
          {"map_size", o.map_size}};
}

// Images are many and small: syncing each (two fsyncs) would dominate the build. Each is still
// written to a temporary name and renamed, so no reader sees half a file, and the whole
// filesystem is synced once before world.json (the completion marker) is written.
void write_unsynced(const fs::path& path, const std::string& bytes) {
  const fs::path temp = path.string() + ".tmp";
  {
    std::ofstream out(temp, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out.flush()) throw Error(temp.string() + ": cannot write");
  }
  std::error_code ec;
  fs::rename(temp, path, ec);
  if (ec) throw Error(path.string() + ": cannot rename into place: " + ec.message());
}

std::string image_name(int index) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%06d", index);
  return buf;
}

ojson conversation(const std::string& id, const std::string& image, const std::string& prompt,
                   const std::string& reply) {
  ojson r;
  r["id"] = id;
  r["image"] = image;
  r["conversations"] = ojson::array({ojson{{"from", "human"}, {"value", "<image>\n" + prompt}},
                                     ojson{{"from", "gpt"}, {"value", reply}}});
  return r;
}

ojson objects_json(const Scene& scene, const Rendered& rendered) {
  ojson list = ojson::array();
  for (size_t i = 0; i < scene.objects.size(); ++i) {
    const Object& o = scene.objects[i];
    auto round2 = [](double v) { return std::round(v * 100.0) / 100.0; };
    list.push_back({{"shape", kShapeNames[o.shape]},
                    {"colour", kColourTable[o.colour].name},
                    {"size", size_name(o.size)},
                    {"cx", round2(o.cx)},
                    {"cy", round2(o.cy)},
                    {"r", round2(o.r)},
                    {"bbox", visible_bbox(rendered.coverage[i], scene.size)},
                    {"rgb", ojson::array({o.rgb[0], o.rgb[1], o.rgb[2]})},
                    {"visible_area", round2(visible_area(rendered.coverage[i]))}});
  }
  return list;
}

// Queues one record's truth maps: each word with referents gets the union of their masks.
void add_truth(io::MapStoreWriter& store, const std::string& key, const std::string& image,
               const std::string& text, const std::vector<Word>& words, const Rendered& rendered,
               int size, int map_size) {
  io::MapEntry e;
  e.key = key;
  e.image = image;
  e.text = text;
  std::vector<float> maps;
  for (size_t w = 0; w < words.size(); ++w) {
    if (words[w].objects.empty()) continue;
    std::vector<float> mask(static_cast<size_t>(size) * size, 0.0f);
    for (int o : words[w].objects)
      for (size_t p = 0; p < mask.size(); ++p) mask[p] += rendered.coverage[o][p];
    for (float& v : mask) v = std::min(v, 1.0f);  // coverages of one pixel sum to <= 1 anyway
    auto small = area_downsample(mask, size, map_size);
    maps.insert(maps.end(), small.begin(), small.end());
    e.words.push_back(words[w].text);
    // Spans count words, not tokens: the truth has no tokenizer; the trainer matches by spelling.
    e.token_spans.emplace_back(static_cast<int>(w), static_cast<int>(w) + 1);
  }
  if (e.words.empty()) return;  // nothing in the text refers to an object (e.g. a "no" answer)
  const auto n = static_cast<int64_t>(e.words.size());
  at::Tensor t = torch::from_blob(maps.data(), {n, map_size, map_size}, torch::kFloat).clone();
  store.add(std::move(e), t);
}

struct SplitOutput {
  int images = 0;
  int records = 0;
  ojson types = ojson::object();     // type → answer → records
  ojson per_type = ojson::object();  // type → records
};

SplitOutput build_split(const WorldOptions& opt, const SplitSpec& split, size_t split_index,
                        int images) {
  const fs::path root(opt.out);
  const std::string name = split.name;
  fs::create_directories(root / "scenes");
  const fs::path truth_dir = root / "truth" / name;
  // Left by an interrupted earlier build (world.json is missing): start afresh, so no stale
  // image or truth entry of other settings survives.
  remove_tree(truth_dir.string());
  remove_tree((root / "images" / name).string());
  fs::create_directories(root / "images" / name);
  io::MapStoreWriter truth(truth_dir.string(),
                           {{"map_size", opt.map_size}, {"recipe", {{"name", "truth"}}}});
  std::string records, scenes, captions;
  Balancer balancer;
  SplitOutput out;
  Progress progress("synth " + name, images, stderr, opt.progress ? -1 : 0,
                    opt.progress ? 10.0 : 1e30);
  for (int i = 0; i < images; ++i) {
    Rng rng = Rng::stream(opt.seed, split_index, static_cast<uint64_t>(i));
    DrawnScene d = draw_scene(split.kind, i, opt.size, rng);
    const std::string stem = image_name(i);
    const std::string image = "images/" + name + "/" + stem + ".png";
    write_unsynced(root / image, io::encode_png(d.rendered.image));
    scenes += ojson{{"id", name + "-" + stem}, {"image", image},
                    {"objects", objects_json(d.scene, d.rendered)}}
                  .dump() +
              "\n";
    auto qas = balancer.pick(candidate_questions(d.scene), opt.qa_per_image, i,
                             split.kind == SplitKind::ood_combo, rng);
    for (size_t q = 0; q < qas.size(); ++q) {
      const Qa& qa = qas[q];
      const std::string id = name + "-" + stem + "-q" + std::to_string(q);
      ojson r = conversation(id, image, qa.question.text, qa.answer);
      r["type"] = qa.type;
      r["answer"] = qa.answer;
      r["choices"] = qa.choices;
      records += r.dump() + "\n";
      std::vector<Word> words = qa.question.words;
      words.push_back({qa.answer, qa.answer_objects});
      add_truth(truth, id, image, qa.question.text + " " + qa.answer, words, d.rendered, opt.size,
                opt.map_size);
      ++out.records;
    }
    if (split.kind == SplitKind::train) {
      const TaggedText c = caption(d.scene);
      const std::string id = name + "-" + stem + "-c";
      captions += conversation(id, image, "Describe the image.", c.text).dump() + "\n";
      add_truth(truth, id, image, c.text, c.words, d.rendered, opt.size, opt.map_size);
    }
    ++out.images;
    progress.advance();
  }
  progress.finish();
  truth.flush();
  write_file_atomically((root / (name + ".jsonl")).string(), records);
  write_file_atomically((root / "scenes" / (name + ".jsonl")).string(), scenes);
  if (split.kind == SplitKind::train)
    write_file_atomically((root / "captions.jsonl").string(), captions);
  for (const auto& [type, answers] : balancer.counts()) {
    ojson a = ojson::object();
    int total = 0;
    for (const auto& [answer, n] : answers) {
      a[answer] = n;
      total += n;
    }
    out.types[type] = a;
    out.per_type[type] = total;
  }
  return out;
}

ojson vocabulary_json() {
  ojson colours = ojson::array();
  for (const auto& c : kColourTable)
    colours.push_back({{"name", c.name}, {"rgb", ojson::array({c.rgb[0], c.rgb[1], c.rgb[2]})}});
  ojson sizes = ojson::object();
  for (Size s : {Size::small, Size::large, Size::tiny, Size::huge})
    sizes[size_name(s)] = size_fraction(s);
  return {{"colours", colours},
          {"shapes", kShapeNames},
          {"sizes", sizes},
          {"train_sizes", ojson::array({"small", "large"})},
          {"ood_sizes", ojson::array({"tiny", "huge"})},
          {"question_types", question_types()}};
}

const char* kDesign[] = {
    "Held-out colour-shape pairs form a Latin square (colour i with shape (i+2) mod 6): every "
    "colour and every shape is held out once; train never shows them and never asks about them.",
    "Colour is asked by shape or by position, shape by colour or by position; the position forms "
    "('the leftmost object') carry no colour-shape prior into test-ood-combo, whose questions all "
    "concern the held-out object, so the answer must be read from the attended region.",
    "Only questions with a unique referent are asked; answers are balanced per type by choosing, "
    "among an image's candidates, one whose answer was given least often so far.",
    "Presence 'no' cases name a pair sharing the colour or the shape of an object in the scene.",
    "Backgrounds are grey low-contrast textures (noise, stripes, checker): colour is never the "
    "background's. Objects keep at least 70% of their own area visible.",
    "Truth maps: each word whose noun phrase refers to objects (and colour/shape answers) maps to "
    "the union of those objects' visible coverage, area-downsampled; records without such words "
    "have no entry.",
};

}  // namespace

WorldResult build_world(const WorldOptions& opt) {
  if (opt.out.empty()) throw Error("synth: no output folder given");
  if (opt.train < 0 || opt.test < 0 || opt.qa_per_image < 1 || opt.map_size < 1)
    throw Error("synth: image counts must be >= 0, questions per image and map size >= 1");
  const fs::path root(opt.out);
  const fs::path world_file = root / "world.json";
  const nlohmann::json settings = settings_json(opt);
  WorldResult result;
  if (fs::exists(world_file)) {
    nlohmann::json existing = io::read_json_file(world_file.string());
    if (existing.value("settings", nlohmann::json()) == settings) {
      result.already_built = true;
      result.world = existing;
      return result;
    }
    throw Error(world_file.string() + ": the world there was built with other settings (" +
                existing.value("settings", nlohmann::json()).dump() + ", asked " + settings.dump() +
                "); choose another --out or remove it");
  }
  fs::create_directories(root);
  ojson world;
  world["settings"] = ojson::parse(settings.dump());
  world["vocabulary"] = vocabulary_json();
  ojson held = ojson::array();
  for (int c = 0; c < kColours; ++c) held.push_back(ojson::array({kColourTable[c].name, kShapeNames[held_out_shape(c)]}));
  world["held_out"] = held;
  ojson splits = ojson::object();
  const auto& all = all_splits();
  for (size_t s = 0; s < all.size(); ++s) {
    const int images = all[s].kind == SplitKind::train ? opt.train : opt.test;
    SplitOutput o = build_split(opt, all[s], s, images);
    splits[all[s].name] = {{"images", o.images},
                           {"records", o.records},
                           {"types", o.per_type},
                           {"answers", o.types}};
  }
  world["splits"] = splits;
  world["captions"] = opt.train;  // one per train image
  world["design"] = kDesign;
  ::sync();  // the images, unsynced so far, reach the disk before the world counts as built
  write_file_atomically(world_file.string(), world.dump(2) + "\n");
  result.world = nlohmann::json::parse(world.dump());
  return result;
}

}  // namespace lavender::synth

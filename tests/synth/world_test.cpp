// A built world: deterministic bytes, held-out pairs where they belong, answers that follow from
// the scenes, balanced answers, truth maps that match the masks, and readable datasets.
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>

#include "lavender/data/dataset.h"
#include "lavender/io/json_file.h"
#include "lavender/io/map_store.h"
#include "lavender/synth/scene.h"
#include "lavender/util/error.h"
#include "synth/small_world.h"
#include "test_jsonl.h"

namespace fs = std::filesystem;

namespace lavender {
namespace {

using nlohmann::json;
using test::read_jsonl;
using test::small_world;

const char* kSplits[] = {"train", "test-id", "test-ood-combo", "test-ood-crowded",
                         "test-ood-size"};

std::map<std::string, std::string> all_files(const std::string& root) {
  std::map<std::string, std::string> files;
  for (const auto& e : fs::recursive_directory_iterator(root))
    if (e.is_regular_file())
      files[fs::relative(e.path(), root).string()] = io::read_text_file(e.path().string());
  return files;
}

std::set<std::pair<std::string, std::string>> held_out_pairs(const json& world) {
  std::set<std::pair<std::string, std::string>> held;
  for (const auto& p : world["held_out"])
    held.insert({p[0].get<std::string>(), p[1].get<std::string>()});
  return held;
}

std::vector<std::string> words_of(const std::string& text) {
  std::vector<std::string> out;
  std::string w;
  for (char c : text) {
    if (std::isalnum(static_cast<unsigned char>(c)) || c == '\'') {
      w += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    } else if (!w.empty()) {
      out.push_back(w);
      w.clear();
    }
  }
  if (!w.empty()) out.push_back(w);
  return out;
}

TEST(SynthWorld, SameSeedSameBytesOtherSeedOtherWorld) {
  test::TempDir dir;
  synth::build_world(test::small_world_options(dir.file("again")));
  const auto a = all_files(small_world()), b = all_files(dir.file("again"));
  ASSERT_EQ(a.size(), b.size());
  for (const auto& [name, content] : a) {
    ASSERT_TRUE(b.count(name)) << name;
    EXPECT_TRUE(content == b.at(name)) << name << " differs between two builds with one seed";
  }
  auto other = test::small_world_options(dir.file("other"), 8);
  other.train = 20;
  other.test = 5;
  auto small = test::small_world_options(dir.file("small"));
  small.train = 20;
  small.test = 5;
  synth::build_world(other);
  synth::build_world(small);
  EXPECT_NE(io::read_text_file(dir.file("other/train.jsonl")),
            io::read_text_file(dir.file("small/train.jsonl")));
}

TEST(SynthWorld, RebuildIsANoOpAndOtherSettingsAnError) {
  auto before = fs::last_write_time(small_world() + "/train.jsonl");
  auto r = synth::build_world(test::small_world_options(small_world()));
  EXPECT_TRUE(r.already_built);
  EXPECT_EQ(fs::last_write_time(small_world() + "/train.jsonl"), before);
  auto other = test::small_world_options(small_world(), 99);
  try {
    synth::build_world(other);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("other settings"), std::string::npos) << e.what();
  }
}

TEST(SynthWorld, HeldOutPairsOnlyInTheComboSplit) {
  const json world = io::read_json_file(small_world() + "/world.json");
  const auto held = held_out_pairs(world);
  ASSERT_EQ(held.size(), 6u);
  std::set<std::string> colours, shapes;
  for (const auto& [c, s] : held) {
    colours.insert(c);
    shapes.insert(s);
  }
  EXPECT_EQ(colours.size(), 6u);  // a Latin square: each colour and each shape once
  EXPECT_EQ(shapes.size(), 6u);
  std::set<std::pair<std::string, std::string>> train_pairs, combo_pairs;
  for (const char* split : kSplits) {
    for (const auto& scene : read_jsonl(small_world() + "/scenes/" + std::string(split) + ".jsonl")) {
      int n_held = 0;
      for (const auto& o : scene["objects"]) {
        std::pair<std::string, std::string> pair{o["colour"].get<std::string>(),
                                                o["shape"].get<std::string>()};
        n_held += held.count(pair);
        if (std::string(split) == "train") train_pairs.insert(pair);
        if (held.count(pair) && std::string(split) == "test-ood-combo") combo_pairs.insert(pair);
      }
      EXPECT_EQ(n_held, std::string(split) == "test-ood-combo" ? 1 : 0) << split;
    }
  }
  EXPECT_EQ(train_pairs.size(), 30u);  // every other pair is seen in training
  EXPECT_EQ(combo_pairs, held);
  // Train questions never name a held-out pair.
  for (const auto& r : read_jsonl(small_world() + "/train.jsonl")) {
    const auto w = words_of(r["conversations"][0]["value"].get<std::string>());
    for (size_t i = 0; i + 1 < w.size(); ++i)
      EXPECT_FALSE(held.count({w[i], w[i + 1]})) << r["id"];
  }
}

// The answer to a question, worked out afresh from the scene's objects.
std::string derive(const std::string& question, const json& objects) {
  const auto w = words_of(question);
  auto find = [&](const std::string& colour, const std::string& shape) {
    std::vector<const json*> hit;
    for (const auto& o : objects)
      if ((colour.empty() || o["colour"] == colour) && (shape.empty() || o["shape"] == shape))
        hit.push_back(&o);
    return hit;
  };
  auto by_position = [&](const std::string& which) -> const json* {
    const json* best = nullptr;
    for (const auto& o : objects)
      if (!best || (which == "leftmost" ? o["cx"] < (*best)["cx"] : o["cx"] > (*best)["cx"]))
        best = &o;
    return best;
  };
  auto relation = [](const json& a, const json& b) {
    const double dx = b["cx"].get<double>() - a["cx"].get<double>();
    const double dy = b["cy"].get<double>() - a["cy"].get<double>();
    if (std::fabs(dx) > std::fabs(dy)) return std::string(dx > 0 ? "left" : "right");
    return std::string(dy > 0 ? "above" : "below");
  };
  auto shape_of_plural = [](const std::string& p) {
    return p == "crosses" ? std::string("cross") : p.substr(0, p.size() - 1);
  };
  if (w[0] == "what") {  // what colour|shape is the X
    const bool colour = w[1] == "colour";
    const json* o = nullptr;
    if (w.size() == 5 && w[4] == "object") o = &objects[0];
    else if (w.size() == 6 && (w[4] == "leftmost" || w[4] == "rightmost")) o = by_position(w[4]);
    else if (w.size() == 5) {
      auto hit = find("", w[4]);
      EXPECT_EQ(hit.size(), 1u) << question;
      o = hit.at(0);
    } else {
      auto hit = find(w[4], "");
      EXPECT_EQ(hit.size(), 1u) << question;
      o = hit.at(0);
    }
    return (*o)[colour ? "colour" : "shape"];
  }
  if (w[0] == "is" && w[1] == "there") return find(w[3], w[4]).empty() ? "no" : "yes";
  if (w[0] == "how") {
    if (w[2] == "objects") return std::to_string(objects.size());
    if (w[3] == "objects") return std::to_string(find(w[2], "").size());
    return std::to_string(find("", shape_of_plural(w[2])).size());
  }
  if (w[0] == "where") {  // where is the c s relative to the c s
    auto a = find(w[3], w[4]), b = find(w[8], w[9]);
    EXPECT_EQ(a.size(), 1u);
    EXPECT_EQ(b.size(), 1u);
    return relation(*a.at(0), *b.at(0));
  }
  if (w[0] == "is") {  // is the c s (left of|right of|above|below) the c s
    auto a = find(w[2], w[3]);
    const std::string rel = w[4];
    const size_t k = (rel == "left" || rel == "right") ? 7 : 6;
    auto b = find(w[k], w[k + 1]);
    EXPECT_EQ(a.size(), 1u);
    EXPECT_EQ(b.size(), 1u);
    return relation(*a.at(0), *b.at(0)) == rel ? "yes" : "no";
  }
  ADD_FAILURE() << "unknown question form: " << question;
  return "";
}

TEST(SynthWorld, AnswersFollowFromTheScenes) {
  const json world = io::read_json_file(small_world() + "/world.json");
  for (const char* split : kSplits) {
    std::map<std::string, json> scenes;
    for (const auto& s : read_jsonl(small_world() + "/scenes/" + std::string(split) + ".jsonl"))
      scenes[s["image"]] = s["objects"];
    const auto records = read_jsonl(small_world() + "/" + std::string(split) + ".jsonl");
    EXPECT_EQ(static_cast<int>(records.size()), world["splits"][split]["records"].get<int>());
    EXPECT_GE(records.size(), scenes.size() * 2) << split;
    for (const auto& r : records) {
      std::string q = r["conversations"][0]["value"];
      ASSERT_EQ(q.rfind("<image>\n", 0), 0u);
      q = q.substr(8);
      const std::string answer = r["answer"];
      EXPECT_EQ(r["conversations"][1]["value"], answer);
      EXPECT_EQ(derive(q, scenes.at(r["image"])), answer) << split << ": " << q;
      const auto& choices = r["choices"];
      EXPECT_NE(std::find(choices.begin(), choices.end(), answer), choices.end()) << q;
    }
  }
}

TEST(SynthWorld, AnswersAreBalancedPerType) {
  std::map<std::string, std::map<std::string, int>> counts;
  for (const auto& r : read_jsonl(small_world() + "/train.jsonl")) ++counts[r["type"]][r["answer"]];
  ASSERT_EQ(counts.size(), 5u);
  for (const char* type : {"colour", "shape", "presence"}) {
    const auto& c = counts[type];
    EXPECT_EQ(c.size(), std::string(type) == "presence" ? 2u : 6u) << type;
    int lo = 1 << 30, hi = 0;
    for (const auto& [a, n] : c) {
      lo = std::min(lo, n);
      hi = std::max(hi, n);
    }
    // Picked least-given first: off by a few at most (an image may lack the rarest answer).
    EXPECT_LE(hi - lo, 2 + lo / 10) << type;
    EXPECT_GT(lo, 0) << type;
  }
}

TEST(SynthWorld, TruthMapsMatchTheMasks) {
  for (const char* split : {"train", "test-ood-crowded"}) {
    const std::string dir = small_world() + "/truth/" + split;
    auto store = io::MapStoreReader::open(dir);
    EXPECT_EQ(store.info()["map_size"], 32);
    EXPECT_EQ(store.info()["recipe"]["name"], "truth");
    std::map<std::string, json> scenes;
    for (const auto& s : read_jsonl(small_world() + "/scenes/" + std::string(split) + ".jsonl"))
      scenes[s["image"]] = s["objects"];
    std::map<std::string, json> records;
    for (const auto& r : read_jsonl(small_world() + "/" + std::string(split) + ".jsonl"))
      records[r["id"]] = r;
    ASSERT_GT(store.entries().size(), records.size() / 2);
    int checked = 0;
    for (const auto& e : store.entries()) {
      const auto text_words = words_of(e.text);
      at::Tensor maps = store.maps(e.key).to(at::kFloat);
      ASSERT_EQ(maps.size(0), static_cast<int64_t>(e.words.size()));
      EXPECT_GE(maps.min().item<float>(), 0.0f);
      EXPECT_LE(maps.max().item<float>(), 1.0f);
      for (size_t k = 0; k < e.words.size(); ++k) {
        const int w = e.token_spans[k].first;
        ASSERT_LT(w, static_cast<int>(text_words.size()));
        EXPECT_EQ(text_words[w], e.words[k]) << e.key;  // stored as it appears in the text
        EXPECT_GT(maps[k].sum().item<float>(), 0.5f) << e.key << " " << e.words[k];
      }
      if (!records.count(e.key) || records[e.key]["type"] != "colour") continue;
      // "What colour is the star? red": the answer's map is the star's visible mask.
      const auto& objects = scenes.at(e.image);
      const std::string answer = records[e.key]["answer"];
      ASSERT_EQ(e.words.back(), answer);
      const auto& r = records[e.key];
      const auto qw = words_of(r["conversations"][0]["value"].get<std::string>().substr(8));
      const json* target = nullptr;
      for (const auto& o : objects) {
        bool pick = false;
        if (qw[4] == "leftmost" || qw[4] == "rightmost") {
          pick = true;
          for (const auto& other : objects)
            if (qw[4] == "leftmost" ? other["cx"] < o["cx"] : other["cx"] > o["cx"]) pick = false;
        } else {
          pick = objects.size() == 1 || o["shape"] == qw[4];
        }
        if (pick) target = &o;
      }
      ASSERT_NE(target, nullptr) << e.key;
      at::Tensor m = maps[static_cast<int64_t>(e.words.size()) - 1];
      // Area downsampling by 2 keeps the mass: the map's sum is the visible area / 4.
      EXPECT_NEAR(m.sum().item<double>() * 4, (*target)["visible_area"].get<double>(), 0.5) << e.key;
      const auto bbox = (*target)["bbox"];
      at::Tensor ys = at::arange(32, at::kFloat).view({32, 1}), xs = at::arange(32, at::kFloat).view({1, 32});
      const double cy = ((m * ys).sum() / m.sum()).item<double>() * 2 + 1;
      const double cx = ((m * xs).sum() / m.sum()).item<double>() * 2 + 1;
      EXPECT_GE(cx, bbox[0].get<double>() - 1);
      EXPECT_LE(cx, bbox[2].get<double>() + 2);
      EXPECT_GE(cy, bbox[1].get<double>() - 1);
      EXPECT_LE(cy, bbox[3].get<double>() + 2);
      ++checked;
    }
    EXPECT_GT(checked, 10) << split;
  }
}

TEST(SynthWorld, EverySplitReadsAsADataset) {
  const json world = io::read_json_file(small_world() + "/world.json");
  for (const char* split : kSplits) {
    auto r = data::read_dataset(small_world() + "/" + std::string(split) + ".jsonl", small_world());
    EXPECT_TRUE(r.problems.empty()) << split << ": " << r.problems.front();
    EXPECT_EQ(static_cast<int>(r.records.size()), world["splits"][split]["records"].get<int>());
    for (const auto& rec : r.records) ASSERT_TRUE(fs::exists(rec.image)) << rec.image;
    EXPECT_EQ(fs::path(r.records.front().image).extension(), ".png");
  }
  auto c = data::read_dataset(small_world() + "/captions.jsonl", small_world());
  EXPECT_TRUE(c.problems.empty());
  EXPECT_EQ(static_cast<int>(c.records.size()), test::kSmallTrain);
  EXPECT_EQ(world["captions"], test::kSmallTrain);
  EXPECT_EQ(world["splits"]["test-id"]["images"], test::kSmallTest);
}

}  // namespace
}  // namespace lavender

#include "lavender/synth/questions.h"

#include <algorithm>
#include <cctype>
#include <cmath>

namespace lavender::synth {

namespace {

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Builds a sentence word by word, tagging each word with its referents.
class Builder {
 public:
  Builder& word(const std::string& w, std::vector<int> objects = {}) {
    if (!out_.text.empty() && !glue_) out_.text += ' ';
    glue_ = false;
    out_.text += w;
    out_.words.push_back({lower(w), std::move(objects)});
    return *this;
  }
  Builder& words(const std::vector<Word>& ws) {
    for (const auto& w : ws) word(w.text, w.objects);
    return *this;
  }
  Builder& punct(const std::string& p) {
    out_.text += p;
    return *this;
  }
  TaggedText done() { return out_; }

 private:
  TaggedText out_;
  bool glue_ = false;
};

std::string colour_of(const Object& o) { return kColourTable[o.colour].name; }
std::string shape_of(const Object& o) { return kShapeNames[o.shape]; }

std::vector<int> matching(const Scene& s, int colour, int shape) {
  std::vector<int> out;
  for (size_t i = 0; i < s.objects.size(); ++i)
    if ((colour < 0 || s.objects[i].colour == colour) && (shape < 0 || s.objects[i].shape == shape))
      out.push_back(static_cast<int>(i));
  return out;
}

// The relation of a to b when it is clear: dominant axis at least 1.5 times the other and the
// centres at least 15% of the image apart along it. "" otherwise.
std::string relation(const Scene& s, int a, int b) {
  const Object &oa = s.objects[a], &ob = s.objects[b];
  const double dx = ob.cx - oa.cx, dy = ob.cy - oa.cy, margin = 0.15 * s.size;
  if (std::fabs(dx) >= margin && std::fabs(dx) >= 1.5 * std::fabs(dy)) return dx > 0 ? "left" : "right";
  if (std::fabs(dy) >= margin && std::fabs(dy) >= 1.5 * std::fabs(dx)) return dy > 0 ? "above" : "below";
  return "";
}

std::vector<Word> relation_words(const std::string& rel) {
  if (rel == "left") return {{"left", {}}, {"of", {}}};
  if (rel == "right") return {{"right", {}}, {"of", {}}};
  return {{rel, {}}};
}

std::string opposite(const std::string& rel) {
  if (rel == "left") return "right";
  if (rel == "right") return "left";
  if (rel == "above") return "below";
  return "above";
}

// "the red star" when that names one object.
std::vector<Word> full_name(const Scene& s, int i) {
  const Object& o = s.objects[i];
  if (matching(s, o.colour, o.shape).size() != 1) return {};
  return {{"the", {}}, {colour_of(o), {i}}, {shape_of(o), {i}}};
}

// The object clearly further left (right) than every other, by 12% of the image: -1 if none.
int extreme(const Scene& s, bool leftmost) {
  const int n = static_cast<int>(s.objects.size());
  if (n < 2) return -1;
  int best = 0;
  for (int i = 1; i < n; ++i)
    if (leftmost ? s.objects[i].cx < s.objects[best].cx : s.objects[i].cx > s.objects[best].cx) best = i;
  for (int i = 0; i < n; ++i)
    if (i != best && std::fabs(s.objects[i].cx - s.objects[best].cx) < 0.12 * s.size) return -1;
  return best;
}

std::vector<std::string> colour_choices() {
  std::vector<std::string> v;
  for (const auto& c : kColourTable) v.push_back(c.name);
  return v;
}
std::vector<std::string> shape_choices() { return {kShapeNames.begin(), kShapeNames.end()}; }
const std::vector<std::string> kYesNo = {"yes", "no"};
const std::vector<std::string> kCounts = {"1", "2", "3", "4", "5", "6"};
const std::vector<std::string> kRelations = {"left", "right", "above", "below"};

bool held(const Scene& s, int i) { return is_held_out(s.objects[i].colour, s.objects[i].shape); }
bool any_held(const Scene& s, const std::vector<int>& objs) {
  return std::any_of(objs.begin(), objs.end(), [&](int i) { return held(s, i); });
}

void attribute_questions(const Scene& s, std::vector<Qa>& out) {
  const int n = static_cast<int>(s.objects.size());
  const int left = extreme(s, true), right = extreme(s, false);
  for (int i = 0; i < n; ++i) {
    const Object& o = s.objects[i];
    std::vector<std::vector<Word>> by_position;
    if (n == 1) by_position.push_back({{"the", {}}, {"object", {i}}});
    if (i == left) by_position.push_back({{"the", {}}, {"leftmost", {i}}, {"object", {i}}});
    if (i == right) by_position.push_back({{"the", {}}, {"rightmost", {i}}, {"object", {i}}});

    auto add = [&](const std::string& type, const std::string& ask, const std::vector<Word>& ref) {
      Qa q;
      q.type = type;
      q.question = Builder().word("What").word(ask).word("is").words(ref).punct("?").done();
      q.answer = type == "colour" ? colour_of(o) : shape_of(o);
      q.answer_objects = {i};
      q.choices = type == "colour" ? colour_choices() : shape_choices();
      q.novel = held(s, i);
      out.push_back(std::move(q));
    };
    // colour: by unique shape, or by position
    if (matching(s, -1, o.shape).size() == 1) add("colour", "colour", {{"the", {}}, {shape_of(o), {i}}});
    for (const auto& ref : by_position) add("colour", "colour", ref);
    // shape: by unique colour, or by position
    if (matching(s, o.colour, -1).size() == 1)
      add("shape", "shape", {{"the", {}}, {colour_of(o), {i}}, {"object", {i}}});
    for (const auto& ref : by_position) add("shape", "shape", ref);
  }
}

void presence_questions(const Scene& s, std::vector<Qa>& out) {
  for (int c = 0; c < kColours; ++c)
    for (int sh = 0; sh < kShapes; ++sh) {
      const std::vector<int> objs = matching(s, c, sh);
      const bool present = !objs.empty();
      // "no" only for pairs sharing a colour or a shape with the scene: a distractor is there.
      if (!present && matching(s, c, -1).empty() && matching(s, -1, sh).empty()) continue;
      Qa q;
      q.type = "presence";
      q.question = Builder()
                       .word("Is")
                       .word("there")
                       .word("a")
                       .word(kColourTable[c].name, objs)
                       .word(kShapeNames[sh], objs)
                       .punct("?")
                       .done();
      q.answer = present ? "yes" : "no";
      q.choices = kYesNo;
      q.novel = is_held_out(c, sh);
      out.push_back(std::move(q));
    }
}

void count_questions(const Scene& s, std::vector<Qa>& out) {
  const int n = static_cast<int>(s.objects.size());
  std::vector<int> all(n);
  for (int i = 0; i < n; ++i) all[i] = i;
  auto add = [&](TaggedText t, const std::vector<int>& objs, bool novel) {
    Qa q;
    q.type = "count";
    q.question = std::move(t);
    q.answer = std::to_string(objs.size());
    q.choices = kCounts;
    q.novel = novel;
    out.push_back(std::move(q));
  };
  add(Builder().word("How").word("many").word("objects", all).word("are").word("there").punct("?").done(),
      all, false);
  for (int c = 0; c < kColours; ++c) {
    const auto objs = matching(s, c, -1);
    if (objs.empty()) continue;
    add(Builder()
            .word("How")
            .word("many")
            .word(kColourTable[c].name, objs)
            .word("objects", objs)
            .word("are")
            .word("there")
            .punct("?")
            .done(),
        objs, any_held(s, objs));
  }
  for (int sh = 0; sh < kShapes; ++sh) {
    const auto objs = matching(s, -1, sh);
    if (objs.empty()) continue;
    add(Builder().word("How").word("many").word(kShapePlurals[sh], objs).word("are").word("there").punct("?").done(),
        objs, any_held(s, objs));
  }
}

void position_questions(const Scene& s, std::vector<Qa>& out) {
  const int n = static_cast<int>(s.objects.size());
  for (int a = 0; a < n; ++a)
    for (int b = 0; b < n; ++b) {
      if (a == b) continue;
      const std::string rel = relation(s, a, b);
      if (rel.empty()) continue;
      const auto na = full_name(s, a), nb = full_name(s, b);
      if (na.empty() || nb.empty()) continue;
      const bool novel = held(s, a) || held(s, b);
      Qa where;
      where.type = "position";
      where.question = Builder().word("Where").word("is").words(na).word("relative").word("to").words(nb).punct("?").done();
      where.answer = rel;
      where.choices = kRelations;
      where.novel = novel;
      out.push_back(std::move(where));
      for (const std::string& asked : {rel, opposite(rel)}) {
        Qa yn;
        yn.type = "position";
        yn.question = Builder().word("Is").words(na).words(relation_words(asked)).words(nb).punct("?").done();
        yn.answer = asked == rel ? "yes" : "no";
        yn.choices = kYesNo;
        yn.novel = novel;
        out.push_back(std::move(yn));
      }
    }
}

std::vector<Word> object_phrase(const Scene& s, int i) {
  const Object& o = s.objects[i];
  return {{"a", {}}, {size_name(o.size), {i}}, {colour_of(o), {i}}, {shape_of(o), {i}}};
}

}  // namespace

const std::vector<std::string>& question_types() {
  static const std::vector<std::string> types = {"colour", "shape", "presence", "count", "position"};
  return types;
}

TaggedText caption(const Scene& s) {
  const int n = static_cast<int>(s.objects.size());
  std::vector<int> order(n);
  for (int i = 0; i < n; ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](int a, int b) { return s.objects[a].cx < s.objects[b].cx; });
  Builder b;
  if (n == 1) return b.words(object_phrase(s, 0)).done();
  if (n == 2) {
    const std::string rel = relation(s, order[0], order[1]);
    b.words(object_phrase(s, order[0]));
    if (rel.empty()) b.word("and");
    else b.words(relation_words(rel));
    return b.words(object_phrase(s, order[1])).done();
  }
  for (int k = 0; k < n; ++k) {
    if (k == n - 1) b.word("and");
    b.words(object_phrase(s, order[k]));
    if (k < n - 2) b.punct(",");
  }
  return b.done();
}

std::vector<Qa> candidate_questions(const Scene& scene) {
  std::vector<Qa> out;
  attribute_questions(scene, out);
  presence_questions(scene, out);
  count_questions(scene, out);
  position_questions(scene, out);
  return out;
}

std::vector<Qa> Balancer::pick(std::vector<Qa> candidates, int count, int image_index,
                               bool novel_only, Rng& rng) {
  const auto& types = question_types();
  const int nt = static_cast<int>(types.size());
  std::vector<Qa> chosen;
  for (int k = 0; k < nt && static_cast<int>(chosen.size()) < count; ++k) {
    // Types rotate with the image so each is asked about equally often.
    const std::string& type = types[(image_index + k) % nt];
    std::vector<const Qa*> pool;
    int least = 1 << 30;
    auto& seen = counts_[type];
    for (const auto& q : candidates) {
      if (q.type != type || q.novel != novel_only) continue;
      const int c = seen.count(q.answer) ? seen[q.answer] : 0;
      if (c < least) {
        least = c;
        pool.clear();
      }
      if (c == least) pool.push_back(&q);
    }
    if (pool.empty()) continue;
    const Qa* q = pool[rng.below(pool.size())];
    ++seen[q->answer];
    chosen.push_back(*q);
  }
  return chosen;
}

}  // namespace lavender::synth

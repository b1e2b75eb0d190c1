// Captions and question–answer pairs about a scene, each word of the text tagged with the objects
// its noun phrase refers to (the ground truth for per-word maps).
//
// Designed so that the answer has to be read from the attended region:
//  - colour is asked by shape ("What colour is the star?") and by position ("... the leftmost
//    object?"), shape by colour and by position, so an answer never follows from the question's
//    words alone, and the position forms carry no colour–shape prior at all into test-ood-combo;
//  - presence questions in train only name pairs seen in training (a held-out pair would always
//    be "no" and teach that prior); "no" cases prefer pairs sharing the colour or the shape of an
//    object in the scene, so answering needs binding colour to shape;
//  - only questions whose referent is unique are asked; answers are balanced per type by always
//    picking, among an image's candidates, one whose answer has been given least often so far.
// Answers are one lower-case word; counts are digits (as VQA answer normalisation writes them).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "lavender/synth/scene.h"
#include "lavender/synth/rng.h"

namespace lavender::synth {

struct Word {
  std::string text;          // lower-cased, as text::segment_words would split it
  std::vector<int> objects;  // indices into the scene's objects; empty: no referent
};

struct TaggedText {
  std::string text;         // the sentence as written
  std::vector<Word> words;  // every word of it, in order
};

struct Qa {
  std::string type;  // colour | shape | presence | count | position
  TaggedText question;
  std::string answer;
  std::vector<int> answer_objects;  // the answer word's referents (colour / shape answers)
  std::vector<std::string> choices;
  bool novel = false;  // involves a held-out colour–shape pair
};

// "a large red circle left of a small blue square"; three or more objects are listed.
TaggedText caption(const Scene& scene);

// Every question that can be asked of the scene, of every type.
std::vector<Qa> candidate_questions(const Scene& scene);

// Picks questions of distinct types for one image, keeping answers balanced per type across the
// images that share one Balancer.
class Balancer {
 public:
  // `novel_only`: only questions about held-out pairs (test-ood-combo); otherwise none of them
  // (in train a held-out pair could only ever be answered "no").
  std::vector<Qa> pick(std::vector<Qa> candidates, int count, int image_index, bool novel_only,
                       Rng& rng);
  const std::map<std::string, std::map<std::string, int>>& counts() const { return counts_; }

 private:
  std::map<std::string, std::map<std::string, int>> counts_;  // type → answer → times given
};

const std::vector<std::string>& question_types();

}  // namespace lavender::synth

// The trainer's progress picture for one sample: a row per word with the image the model saw,
// the teacher's (diffusion) attention map over it and the student's (VLM) map over it, labelled
// with the word and the mean squared error between the two maps, so a glance shows whether
// the student's attention is moving towards the teacher's.
#pragma once

#include <string>
#include <vector>

#include "lavender/io/image.h"
#include "lavender/train/progress_sample.h"

namespace lavender::eval {

struct AlignmentFigureOptions {
  int panel = 128;    // side of each square panel in pixels
  std::string title;  // drawn above the columns (cut to fit), e.g. "step 1200  sample 3"
  float opacity = 0.6f;
};

// `image`: the square view the maps cover (resized to the panel; width 0 draws grey).
// teacher[i] and student[i]: the maps of words[i], each S×S row-major in [0, 1] (S inferred; the
// two maps of a word must have the same S). Throws lavender::Error on mismatched inputs.
io::Image alignment_figure(const io::Image& image, const std::vector<std::string>& words,
                           const std::vector<std::vector<float>>& teacher,
                           const std::vector<std::vector<float>>& student,
                           const AlignmentFigureOptions& options = {});

// The trainer's progress figure (train::Trainer::set_figure_drawer): the sample's alignment
// figure titled with the step and the sample's key.
io::Image progress_figure(const train::ProgressSample& sample, int64_t step);

// Mean of (teacher - student)² over the map: the number printed beside each word.
double map_mse(const std::vector<float>& teacher, const std::vector<float>& student);

}  // namespace lavender::eval

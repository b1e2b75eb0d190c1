// What the trainer shows of its progress every --figure-every steps: for a few samples, the
// image as the model saw it and, per word, the teacher's and the student's maps. The trainer
// hands these to a drawer (Trainer::set_figure_drawer; eval::progress_figure draws the
// standard picture), so that training does not depend on how figures are drawn.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "lavender/io/image.h"

namespace lavender::train {

struct ProgressSample {
  std::string key;
  io::Image view;
  std::vector<std::string> words;
  // Per word, the S×S maps in [0, 1], row-major.
  std::vector<std::vector<float>> teacher, student;
};

using FigureDrawer = std::function<io::Image(const ProgressSample&, int64_t step)>;

}  // namespace lavender::train

#include "lavender/eval/alignment_figure.h"

#include <cmath>
#include <cstdio>

#include "lavender/eval/map_grid_figure.h"
#include "lavender/util/error.h"

namespace lavender::eval {

double map_mse(const std::vector<float>& teacher, const std::vector<float>& student) {
  if (teacher.size() != student.size() || teacher.empty())
    throw Error("map_mse: maps of different sizes (" + std::to_string(teacher.size()) + " vs " +
                std::to_string(student.size()) + ")");
  double sum = 0;
  for (size_t i = 0; i < teacher.size(); ++i) {
    const double d = static_cast<double>(teacher[i]) - student[i];
    sum += d * d;
  }
  return sum / static_cast<double>(teacher.size());
}

io::Image alignment_figure(const io::Image& image, const std::vector<std::string>& words,
                           const std::vector<std::vector<float>>& teacher,
                           const std::vector<std::vector<float>>& student,
                           const AlignmentFigureOptions& o) {
  if (o.panel < 16) throw Error("alignment_figure: panel must be >= 16 pixels");
  if (teacher.size() != words.size() || student.size() != words.size())
    throw Error("alignment_figure: " + std::to_string(words.size()) + " words but " +
                std::to_string(teacher.size()) + " teacher and " + std::to_string(student.size()) +
                " student maps");
  for (size_t i = 0; i < words.size(); ++i) {
    const int side = square_side(teacher[i].size());
    if (side == 0 || teacher[i].size() != student[i].size())
      throw Error("alignment_figure: the maps of \"" + words[i] +
                  "\" are not two S×S maps of one size (" + std::to_string(teacher[i].size()) +
                  " and " + std::to_string(student[i].size()) + " values)");
  }

  std::vector<MapGridRow> rows;
  for (size_t i = 0; i < words.size(); ++i) {
    char mse[48];
    std::snprintf(mse, sizeof mse, "mse %.3g", map_mse(teacher[i], student[i]));
    rows.push_back({image, words[i], mse, {teacher[i], student[i]}});
  }
  MapGridOptions grid;
  grid.panel = o.panel;
  grid.title = o.title;
  grid.opacity = o.opacity;
  return map_grid_figure({"image", "teacher", "student"}, rows, grid);
}

io::Image progress_figure(const train::ProgressSample& sample, int64_t step) {
  AlignmentFigureOptions o;
  o.title = "step " + std::to_string(step) + "  " + sample.key;
  return alignment_figure(sample.view, sample.words, sample.teacher, sample.student, o);
}

}  // namespace lavender::eval

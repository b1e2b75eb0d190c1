// Which implementation answers each fixture kind. Model issues plug their runners in here.
#include "lavender/parity/parity.h"

namespace lavender::parity {

Runner runner_for(FixtureKind kind) {
  switch (kind) {
    case FixtureKind::clip_text:
    case FixtureKind::llava:
    case FixtureKind::mllama:
    case FixtureKind::sd:
    case FixtureKind::preprocess:
      break;
  }
  return {};
}

}  // namespace lavender::parity

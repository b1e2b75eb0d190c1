// The parity runner for image-preprocessing fixtures (hf-tiny/preprocess).
#pragma once

#include "lavender/parity/parity.h"

namespace lavender::parity {

// For every processor config in meta.json (an object whose image_processor_type names the CLIP
// or the mllama processor), runs that processor on input.png and names the results
// "<key>.pixel_values", and for mllama "<key>.aspect_ratio_ids" / "<key>.aspect_ratio_mask".
// Throws lavender::Error when meta.json's "<key>.num_tiles" disagrees with ours.
Outputs run_preprocess(const Fixture& f);

}  // namespace lavender::parity

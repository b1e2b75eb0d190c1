// MiniCPM-Llama3-V 2.5's prompts, shared by training and chat: a chat in the minicpm-v format
// holds one "<image>" token per image, and the model's sequence has the image's placeholder
// there instead — <image> + query_num × <unk> + </image> for the source picture, then, when the
// image was sliced, <slice> + rows of (<image><unk>…</image>) × columns joined by "\n" +
// </slice> — tokenized as the release tokenizes its whole prompt (special tokens atomic).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "lavender/io/config/minicpmv.h"
#include "lavender/text/tokenizer.h"
#include "lavender/vlm/minicpmv_image_processor.h"

namespace lavender::vlm {

// The processor a MiniCPM-V folder describes: its preprocessor_config.json when it has one (the
// later MiniCPMVImageProcessor), else the config's slice_config and query_num (what the
// release's own chat() reads).
MiniCpmVImageProcessor minicpmv_image_processor(const std::string& folder,
                                                const io::config::MiniCpmVConfig& config);

// The ids of one image's placeholder. Throws naming the tokenizer's failing when they do not
// hold one run of query_num <unk> between <image> and </image> per picture (a tokenizer without
// those special tokens).
std::vector<int64_t> minicpmv_placeholder_ids(const text::Tokenizer& tokenizer,
                                              const MiniCpmVImageInputs& image,
                                              const MiniCpmVImageProcessorConfig& config);

// `ids` with each `image_token` replaced by `placeholder`; positions[t] receives where token t
// of `ids` sits in the result (its placeholder's last token for an image token).
std::vector<int64_t> expand_minicpmv_image(const std::vector<int64_t>& ids, int64_t image_token,
                                           const std::vector<int64_t>& placeholder,
                                           std::vector<int64_t>* positions = nullptr);

}  // namespace lavender::vlm

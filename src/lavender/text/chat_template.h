// Conversation → prompt text in the format a VLM was trained on, split into segments that say
// which text the training loss may learn (the assistant's replies and the token ending each
// reply), so a collator can mask everything else with -100 as the authors' collator does.
//
//   llava-1.5       [system " "]"USER: " "<image>\n"×images text " ASSISTANT:" " " reply "</s>" ...
//                   generation prompt: "... ASSISTANT:"
//   llama-3-vision  "<|begin_of_text|>" then per message
//                   "<|start_header_id|>" role "<|end_header_id|>\n\n" "<|image|>"×images text
//                   "<|eot_id|>"; generation prompt: the assistant header.
//   minicpm-v       Llama 3's chat template (MiniCPM-Llama3-V 2.5's tokenizer_config), each
//                   message's content trimmed, a user turn's content '\n'-joined from one
//                   "<image>" per image and the text (the release's chat()); the model expands
//                   each "<image>" into the image's placeholder (<image><unk>…</image><slice>…).
//   openflamingo    "<image>"×images then "Question:" text " Short answer:" (a user turn with
//                   text) or "Output:" (one without: captioning), the reply "<|endofchunk|>";
//                   generation prompt: nothing more after a user turn.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "lavender/text/tokenizer.h"

namespace lavender::text {

enum class ChatFormat { llava15, llama3_vision, open_flamingo, minicpmv };

// "llava-1.5" | "llama-3-vision" | "openflamingo" | "minicpm-v"; or a model_type ("llava",
// "mllama", "minicpmv").
// Throws for others.
ChatFormat parse_chat_format(const std::string& name);
const char* chat_format_name(ChatFormat format);

struct ChatMessage {
  std::string role;  // "system", "user" or "assistant"
  std::string text;
  int images = 0;  // image placeholders before the text
};

struct ChatSegment {
  std::string text;
  bool trainable = false;  // part of an assistant reply (loss is taken on its tokens)
};

// Throws lavender::Error for an unknown role, a system message that is not first, or (llava-1.5)
// images in assistant messages.
std::vector<ChatSegment> render_chat(ChatFormat format, const std::vector<ChatMessage>& messages,
                                     bool add_generation_prompt);
// The segments joined.
std::string chat_text(const std::vector<ChatSegment>& segments);

constexpr int64_t kIgnoreLabel = -100;

struct TokenizedChat {
  std::vector<int64_t> ids;
  std::vector<int64_t> labels;  // the id where the loss learns it, kIgnoreLabel elsewhere
};

// Tokenizes the whole conversation at once (so tokens merge across segment boundaries as they
// would at inference) and labels the tokens of trainable segments. A segment's token range ends
// where the tokenization of the text up to its end does. `add_special`: the tokenizer's own
// sequence tokens (BOS for Llama 2's SentencePiece; the Llama 3 format writes its BOS itself).
TokenizedChat tokenize_chat(const Tokenizer& tokenizer, const std::vector<ChatSegment>& segments,
                            bool add_special);

// The placeholder the format writes for one image ("<image>" or "<|image|>").
const char* image_placeholder(ChatFormat format);

}  // namespace lavender::text

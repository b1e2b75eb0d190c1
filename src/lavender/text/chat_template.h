// Conversation → prompt text in the format a VLM was trained on, split into segments that say
// which text the training loss may learn (the assistant's replies and the token ending each
// reply), so a collator can mask everything else with -100 as the authors' collator does.
//
//   llava-1.5       [system " "]"USER: " "<image>\n"×images text " ASSISTANT: " reply "</s>" ...
//                   generation prompt: "... ASSISTANT:"
//   llama-3-vision  "<|begin_of_text|>" then per message
//                   "<|start_header_id|>" role "<|end_header_id|>\n\n" "<|image|>"×images text
//                   "<|eot_id|>"; generation prompt: the assistant header.
#pragma once

#include <string>
#include <vector>

namespace lavender::text {

enum class ChatFormat { llava15, llama3_vision };

// "llava-1.5" | "llama-3-vision"; or a model_type ("llava", "mllama"). Throws for others.
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

// The placeholder the format writes for one image ("<image>" or "<|image|>").
const char* image_placeholder(ChatFormat format);

}  // namespace lavender::text

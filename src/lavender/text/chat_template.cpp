#include "lavender/text/chat_template.h"

#include <algorithm>

#include "lavender/util/error.h"

namespace lavender::text {
namespace {

void check_roles(const std::vector<ChatMessage>& messages) {
  for (size_t i = 0; i < messages.size(); ++i) {
    const std::string& r = messages[i].role;
    if (r != "system" && r != "user" && r != "assistant")
      throw Error("chat: unknown role \"" + r + "\" (expected system, user or assistant)");
    if (r == "system" && i != 0) throw Error("chat: a system message must come first");
    if (messages[i].images < 0) throw Error("chat: negative image count");
  }
}

// Python's str.strip() for ASCII whitespace (what Jinja's trim does).
std::string trimmed_whitespace(const std::string& s) {
  const char* space = " \t\n\r\f\v";
  const size_t begin = s.find_first_not_of(space);
  if (begin == std::string::npos) return "";
  return s.substr(begin, s.find_last_not_of(space) + 1 - begin);
}

std::string repeat(const std::string& s, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += s;
  return out;
}

std::vector<ChatSegment> render_llava(const std::vector<ChatMessage>& messages, bool prompt) {
  std::vector<ChatSegment> out;
  for (const auto& m : messages) {
    if (m.role == "system") {
      out.push_back({m.text + " ", false});
    } else if (m.role == "user") {
      out.push_back({"USER: " + repeat("<image>\n", m.images) + m.text + " ", false});
    } else {
      if (m.images > 0) throw Error("chat (llava-1.5): images must be in user messages");
      // The reply's leading space is its own: the boundary then falls where the tokenizer
      // splits anyway (SentencePiece glues a space to the word after it).
      out.push_back({"ASSISTANT:", false});
      out.push_back({" " + m.text + "</s>", true});
    }
  }
  if (prompt) out.push_back({"ASSISTANT:", false});
  return out;
}

// `images`: what one image adds before a message's text; `trim`: the content is stripped of
// surrounding whitespace (MiniCPM-V's template applies Jinja's trim to it).
std::vector<ChatSegment> render_llama3(const std::vector<ChatMessage>& messages, bool prompt,
                                       const std::string& image, bool trim) {
  std::vector<ChatSegment> out{{"<|begin_of_text|>", false}};
  auto header = [](const std::string& role) {
    return "<|start_header_id|>" + role + "<|end_header_id|>\n\n";
  };
  auto content = [&](const ChatMessage& m) {
    const std::string c = repeat(image, m.images) + m.text;
    return trim ? trimmed_whitespace(c) : c;
  };
  for (const auto& m : messages) {
    if (m.role == "assistant") {
      out.push_back({header(m.role) + repeat(image, m.images), false});
      out.push_back({content({m.role, m.text, 0}) + "<|eot_id|>", true});
    } else {
      out.push_back({header(m.role) + content(m) + "<|eot_id|>", false});
    }
  }
  if (prompt) out.push_back({header("assistant"), false});
  return out;
}

// OpenFlamingo was trained on interleaved image-text chunks, not chats: a user turn with a
// question becomes "Question:{q} Short answer:" (its VQA prompt), one without text "Output:"
// (its captioning prompt), and each reply ends its chunk with <|endofchunk|>.
std::vector<ChatSegment> render_open_flamingo(const std::vector<ChatMessage>& messages,
                                              bool prompt) {
  std::vector<ChatSegment> out;
  bool asked = false;  // the last user turn's prompt already ends where the reply begins
  for (const auto& m : messages) {
    if (m.role == "system") {
      out.push_back({m.text, false});
    } else if (m.role == "user") {
      const std::string images = repeat("<image>", m.images);
      out.push_back(
          {images + (m.text.empty() ? "Output:" : "Question:" + m.text + " Short answer:"), false});
      asked = true;
    } else {
      if (m.images > 0) throw Error("chat (openflamingo): images must be in user messages");
      if (!asked) out.push_back({"Output:", false});
      out.push_back({m.text + "<|endofchunk|>", true});
      asked = false;
    }
  }
  if (prompt && !asked) out.push_back({"Output:", false});
  return out;
}

}  // namespace

ChatFormat parse_chat_format(const std::string& name) {
  if (name == "llava-1.5" || name == "llava") return ChatFormat::llava15;
  if (name == "llama-3-vision" || name == "mllama") return ChatFormat::llama3_vision;
  if (name == "openflamingo") return ChatFormat::open_flamingo;
  if (name == "minicpm-v" || name == "minicpmv") return ChatFormat::minicpmv;
  throw Error("unknown chat format \"" + name +
              "\" (expected llava-1.5, llama-3-vision, openflamingo or minicpm-v)");
}

const char* chat_format_name(ChatFormat format) {
  switch (format) {
    case ChatFormat::llava15:
      return "llava-1.5";
    case ChatFormat::llama3_vision:
      return "llama-3-vision";
    case ChatFormat::open_flamingo:
      return "openflamingo";
    case ChatFormat::minicpmv:
      return "minicpm-v";
  }
  return "?";
}

const char* image_placeholder(ChatFormat format) {
  return format == ChatFormat::llama3_vision ? "<|image|>" : "<image>";
}

std::vector<ChatSegment> render_chat(ChatFormat format, const std::vector<ChatMessage>& messages,
                                     bool add_generation_prompt) {
  check_roles(messages);
  switch (format) {
    case ChatFormat::llava15:
      return render_llava(messages, add_generation_prompt);
    case ChatFormat::llama3_vision:
      return render_llama3(messages, add_generation_prompt, "<|image|>", false);
    case ChatFormat::minicpmv:
      return render_llama3(messages, add_generation_prompt, "<image>\n", true);
    case ChatFormat::open_flamingo:
      break;
  }
  return render_open_flamingo(messages, add_generation_prompt);
}

TokenizedChat tokenize_chat(const Tokenizer& tokenizer, const std::vector<ChatSegment>& segments,
                            bool add_special) {
  std::string text;
  std::vector<size_t> ends;
  for (const auto& s : segments) ends.push_back((text += s.text).size());
  TokenizedChat out;
  out.ids = tokenizer.encode(text, add_special);
  out.labels.assign(out.ids.size(), kIgnoreLabel);
  size_t begin_token = 0;
  for (size_t k = 0; k < segments.size(); ++k) {
    const size_t end_token =
        k + 1 == segments.size()
            ? out.ids.size()
            : std::min(out.ids.size(),
                       tokenizer.encode(text.substr(0, ends[k]), add_special).size());
    if (segments[k].trainable)
      for (size_t t = begin_token; t < end_token; ++t) out.labels[t] = out.ids[t];
    begin_token = std::max(begin_token, end_token);
  }
  return out;
}

std::string chat_text(const std::vector<ChatSegment>& segments) {
  std::string out;
  for (const auto& s : segments) out += s.text;
  return out;
}

}  // namespace lavender::text

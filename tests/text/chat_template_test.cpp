#include "lavender/text/chat_template.h"

#include <gtest/gtest.h>

#include "lavender/util/error.h"

namespace lavender::text {
namespace {

std::string trainable_text(const std::vector<ChatSegment>& segments) {
  std::string out;
  for (const auto& s : segments)
    if (s.trainable) out += s.text;
  return out;
}

const std::vector<ChatMessage> kTwoTurns = {{"user", "What is this?", 1},
                                            {"assistant", "A red circle.", 0},
                                            {"user", "And its colour?", 0},
                                            {"assistant", "Red.", 0}};

TEST(ChatTemplate, Llava15) {
  auto segs = render_chat(ChatFormat::llava15, kTwoTurns, false);
  EXPECT_EQ(chat_text(segs),
            "USER: <image>\nWhat is this? ASSISTANT: A red circle.</s>USER: And its colour? "
            "ASSISTANT: Red.</s>");
  EXPECT_EQ(trainable_text(segs), " A red circle.</s> Red.</s>");
  auto prompt = render_chat(ChatFormat::llava15, {{"user", "What are these?", 1}}, true);
  EXPECT_EQ(chat_text(prompt), "USER: <image>\nWhat are these? ASSISTANT:");
  EXPECT_EQ(trainable_text(prompt), "");
}

TEST(ChatTemplate, Llama3Vision) {
  auto segs = render_chat(ChatFormat::llama3_vision,
                          {{"system", "Be brief.", 0}, kTwoTurns[0], kTwoTurns[1]}, true);
  EXPECT_EQ(chat_text(segs),
            "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>"
            "<|start_header_id|>user<|end_header_id|>\n\n<|image|>What is this?<|eot_id|>"
            "<|start_header_id|>assistant<|end_header_id|>\n\nA red circle.<|eot_id|>"
            "<|start_header_id|>assistant<|end_header_id|>\n\n");
  EXPECT_EQ(trainable_text(segs), "A red circle.<|eot_id|>");
}

// MiniCPM-Llama3-V 2.5: Llama 3's template with each content trimmed, a user turn's images
// '\n'-joined before its text (the model expands each "<image>" into the image's placeholder).
TEST(ChatTemplate, MiniCpmV) {
  auto segs = render_chat(ChatFormat::minicpmv,
                          {{"user", "Describe the image. ", 1}, {"assistant", " Red. ", 0}}, true);
  EXPECT_EQ(chat_text(segs),
            "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\n<image>\nDescribe the "
            "image.<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\nRed.<|eot_id|>"
            "<|start_header_id|>assistant<|end_header_id|>\n\n");
  EXPECT_EQ(trainable_text(segs), "Red.<|eot_id|>");
  auto two = render_chat(ChatFormat::minicpmv, {{"user", "", 2}}, false);
  EXPECT_EQ(chat_text(two),
            "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\n<image>\n<image>"
            "<|eot_id|>");
  EXPECT_EQ(parse_chat_format("minicpmv"), ChatFormat::minicpmv);
  EXPECT_STREQ(chat_format_name(ChatFormat::minicpmv), "minicpm-v");
  EXPECT_STREQ(image_placeholder(ChatFormat::minicpmv), "<image>");
}

// A question is OpenFlamingo's VQA prompt, a turn without text its captioning prompt; each reply
// ends its chunk.
TEST(ChatTemplate, OpenFlamingo) {
  auto segs = render_chat(ChatFormat::open_flamingo, kTwoTurns, false);
  EXPECT_EQ(chat_text(segs),
            "<image>Question:What is this? Short answer:A red circle.<|endofchunk|>"
            "Question:And its colour? Short answer:Red.<|endofchunk|>");
  EXPECT_EQ(trainable_text(segs), "A red circle.<|endofchunk|>Red.<|endofchunk|>");
  auto caption = render_chat(ChatFormat::open_flamingo,
                             {{"user", "", 1}, {"assistant", "Two shapes.", 0}}, false);
  EXPECT_EQ(chat_text(caption), "<image>Output:Two shapes.<|endofchunk|>");
  EXPECT_EQ(trainable_text(caption), "Two shapes.<|endofchunk|>");
  auto prompt = render_chat(ChatFormat::open_flamingo, {{"user", "What?", 1}}, true);
  EXPECT_EQ(chat_text(prompt), "<image>Question:What? Short answer:");
  EXPECT_EQ(parse_chat_format("openflamingo"), ChatFormat::open_flamingo);
  EXPECT_STREQ(chat_format_name(ChatFormat::open_flamingo), "openflamingo");
  EXPECT_STREQ(image_placeholder(ChatFormat::open_flamingo), "<image>");
}

TEST(ChatTemplate, FormatsByNameAndBadConversations) {
  EXPECT_EQ(parse_chat_format("mllama"), ChatFormat::llama3_vision);
  EXPECT_EQ(parse_chat_format("llava-1.5"), ChatFormat::llava15);
  EXPECT_THROW(parse_chat_format("chatml"), Error);
  EXPECT_THROW(render_chat(ChatFormat::llava15, {{"robot", "hi", 0}}, false), Error);
  EXPECT_THROW(render_chat(ChatFormat::llava15, {{"user", "a", 0}, {"system", "b", 0}}, false),
               Error);
  EXPECT_THROW(render_chat(ChatFormat::llava15, {{"assistant", "a", 1}}, false), Error);
  EXPECT_STREQ(image_placeholder(ChatFormat::llama3_vision), "<|image|>");
}

}  // namespace
}  // namespace lavender::text

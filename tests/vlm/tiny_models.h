// Small random configs for VLM unit tests.
#pragma once

#include "lavender/io/config/llama.h"
#include "lavender/io/config/llava.h"

namespace lavender::test {

inline io::config::LlamaConfig tiny_llama_config() {
  io::config::LlamaConfig c;
  c.vocab_size = 50;
  c.hidden_size = 32;
  c.intermediate_size = 48;
  c.num_hidden_layers = 3;
  c.num_attention_heads = 4;
  c.num_key_value_heads = 2;
  c.head_dim = 8;
  c.max_position_embeddings = 64;
  c.rms_norm_eps = 1e-5;
  return c;
}

// 16 px images, patch 4: 16 patches per image (the "default" strategy drops the class token).
inline io::config::LlavaConfig tiny_llava_config() {
  io::config::LlavaConfig c;
  c.text_config = tiny_llama_config();
  c.vision_config.hidden_size = 16;
  c.vision_config.intermediate_size = 24;
  c.vision_config.num_hidden_layers = 2;
  c.vision_config.num_attention_heads = 2;
  c.vision_config.head_dim = 8;
  c.vision_config.image_size = 16;
  c.vision_config.patch_size = 4;
  c.image_token_index = 49;
  c.image_seq_length = 16;
  c.vision_feature_layers = {-2};
  return c;
}

}  // namespace lavender::test

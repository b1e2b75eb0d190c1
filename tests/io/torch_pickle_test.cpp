#include "lavender/io/torch_pickle.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <fstream>
#include <iterator>

#include "lavender/util/error.h"
#include "test_errors.h"
#include "test_paths.h"

namespace lavender::io {
namespace {

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

using test::error_of;

TEST(TorchPickle, ReadsTheOpenFlamingoStateDicts) {
  const std::string dir = test::fixture_dir("openflamingo");
  auto ckpt = load_torch_pickle(dir + "/checkpoint.pt");
  EXPECT_EQ(ckpt.size(), 48u);
  ASSERT_TRUE(ckpt.count("perceiver.latents"));
  EXPECT_EQ(ckpt.at("perceiver.latents").sizes(), (std::vector<int64_t>{8, 32}));
  EXPECT_EQ(ckpt.at("lang_encoder.transformer.wte.weight").sizes(),
            (std::vector<int64_t>{103, 48}));
  auto lang = load_torch_pickle(dir + "/lang/pytorch_model.bin");
  EXPECT_EQ(lang.size(), 18u);
  EXPECT_EQ(lang.at("transformer.wte.weight").sizes(), (std::vector<int64_t>{112, 48}));
  EXPECT_EQ(lang.at("transformer.wte.weight").scalar_type(), torch::kFloat);
  // The tied head: rows shared with the resized table are what the release copied over.
  EXPECT_TRUE(torch::isfinite(lang.at("transformer.blocks.0.attn.Wqkv.weight")).all().item<bool>());
}

TEST(TorchPickle, BadFilesAreErrorsNamingTheFile) {
  test::TempDir tmp;
  const std::string good = read_all(test::fixture_dir("openflamingo") + "/checkpoint.pt");

  const std::string truncated = tmp.file("truncated.pt");
  test::write_file(truncated, good.substr(0, good.size() / 2));
  std::string message = error_of([&] { load_torch_pickle(truncated); });
  EXPECT_NE(message.find(truncated), std::string::npos) << message;

  // Bytes flipped in the middle of the archive (the zip's records no longer check out).
  std::string corrupt_bytes = good;
  for (size_t i = good.size() / 3; i < good.size() / 3 + 64; ++i) corrupt_bytes[i] ^= 0x5a;
  corrupt_bytes.replace(corrupt_bytes.size() - 22, 22, std::string(22, '\0'));
  const std::string corrupt = tmp.file("corrupt.pt");
  test::write_file(corrupt, corrupt_bytes);
  message = error_of([&] { load_torch_pickle(corrupt); });
  EXPECT_NE(message.find(corrupt), std::string::npos) << message;

  const std::string legacy = tmp.file("legacy.pt");
  test::write_file(legacy, std::string("\x80\x02\x8a\x0a", 4) + "legacy torch.save magic");
  message = error_of([&] { load_torch_pickle(legacy); });
  EXPECT_NE(message.find("legacy"), std::string::npos) << message;
  EXPECT_NE(message.find(legacy), std::string::npos) << message;

  const std::string text = tmp.file("text.pt");
  test::write_file(text, "not a checkpoint");
  message = error_of([&] { load_torch_pickle(text); });
  EXPECT_NE(message.find("not a torch.save"), std::string::npos) << message;

  // A valid archive holding a tensor rather than a state dict.
  const std::vector<char> tensor_bytes = torch::pickle_save(torch::ones({2}));
  const std::string not_dict = tmp.file("tensor.pt");
  test::write_file(not_dict, std::string(tensor_bytes.begin(), tensor_bytes.end()));
  message = error_of([&] { load_torch_pickle(not_dict); });
  EXPECT_NE(message.find("not a dict"), std::string::npos) << message;

  message = error_of([&] { load_torch_pickle(tmp.file("absent.pt")); });
  EXPECT_NE(message.find("absent.pt"), std::string::npos) << message;
}

}  // namespace
}  // namespace lavender::io

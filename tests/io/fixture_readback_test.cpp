// Every tensor of every fixture file reads back exactly. The expected bytes come from a reader
// written here independently of lavender's (plain ifstream + JSON), and a few values are checked
// against facts the fixtures' README states or that follow from first principles.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "lavender/io/safetensors.h"
#include "test_paths.h"

namespace lavender::io {
namespace {

namespace fs = std::filesystem;

struct Independent {
  std::string dtype;
  std::vector<int64_t> shape;
  std::string bytes;
};

// A deliberately naive reader: no mmap, no validation beyond what it needs.
std::map<std::string, Independent> read_independently(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  unsigned char len_bytes[8];
  in.read(reinterpret_cast<char*>(len_bytes), 8);
  uint64_t n = 0;
  for (int i = 0; i < 8; ++i) n |= static_cast<uint64_t>(len_bytes[i]) << (8 * i);
  std::string header(n, '\0');
  in.read(header.data(), static_cast<std::streamsize>(n));
  auto j = nlohmann::json::parse(header);
  std::map<std::string, Independent> out;
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (it.key() == "__metadata__") continue;
    Independent t;
    t.dtype = it.value()["dtype"];
    t.shape = it.value()["shape"].get<std::vector<int64_t>>();
    uint64_t begin = it.value()["data_offsets"][0], end = it.value()["data_offsets"][1];
    t.bytes.resize(end - begin);
    in.seekg(static_cast<std::streamoff>(8 + n + begin));
    in.read(t.bytes.data(), static_cast<std::streamsize>(end - begin));
    out[it.key()] = t;
  }
  return out;
}

std::vector<std::string> fixture_files() {
  std::vector<std::string> files;
  for (const auto& e : fs::recursive_directory_iterator(test::shared_dir() + "/fixtures"))
    if (e.path().extension() == ".safetensors") files.push_back(e.path().string());
  std::sort(files.begin(), files.end());
  return files;
}

TEST(FixtureReadback, EveryTensorOfEveryFixtureFileIsExact) {
  auto files = fixture_files();
  ASSERT_GE(files.size(), 10u) << "fixtures not found under " << test::shared_dir();
  size_t tensors = 0;
  for (const auto& path : files) {
    auto expected = read_independently(path);
    auto file = SafetensorsFile::open(path);
    ASSERT_EQ(file->tensors().size(), expected.size()) << path;
    for (const auto& [name, want] : expected) {
      at::Tensor got = file->tensor(name).contiguous();
      EXPECT_EQ(got.sizes().vec(), want.shape) << path << " " << name;
      EXPECT_STREQ(dtype_name(file->info(name).dtype), want.dtype.c_str()) << path << " " << name;
      ASSERT_EQ(static_cast<size_t>(got.nbytes()), want.bytes.size()) << path << " " << name;
      EXPECT_EQ(std::memcmp(got.data_ptr(), want.bytes.data(), want.bytes.size()), 0)
          << path << " " << name;
      ++tensors;
    }
  }
  EXPECT_GT(tensors, 500u);
}

TEST(FixtureReadback, ValuesMatchDocumentedFacts) {
  auto llava = SafetensorsFile::open(test::fixture_dir("llava") + "/io.safetensors");
  at::Tensor ids = llava->tensor("input_ids");
  // README: 64 image tokens (id 299) at positions 5..68 in each row.
  EXPECT_TRUE((ids.slice(1, 5, 69) == 299).all().item<bool>());
  EXPECT_EQ((ids == 299).sum().item<int64_t>(), 128);
  // Attention probabilities: each row sums to one (padding rows included, softmax is total).
  at::Tensor probs = llava->tensor("lm_attentions.0");
  EXPECT_LT((probs.sum(-1) - 1).abs().max().item<float>(), 1e-5);

  auto sd = SafetensorsFile::open(test::fixture_dir("sd_tiny") + "/io.safetensors");
  // scaled_linear betas 0.00085..0.012 over 1000 steps, computed here from first principles.
  at::Tensor acp = sd->tensor("alphas_cumprod").to(torch::kDouble);
  double prod = 1.0, worst = 0.0;
  for (int t = 0; t < 1000; ++t) {
    double root = std::sqrt(0.00085) + (std::sqrt(0.012) - std::sqrt(0.00085)) * t / 999.0;
    prod *= 1.0 - root * root;
    worst = std::max(worst, std::abs(prod - acp[t].item<double>()));
  }
  EXPECT_LT(worst, 1e-6);
  at::Tensor image = sd->tensor("image");
  EXPECT_GE(image.min().item<float>(), -1.0f);
  EXPECT_LE(image.max().item<float>(), 1.0f);
  EXPECT_TRUE(torch::equal(sd->tensor("timesteps"), torch::tensor({100, 500}, torch::kLong)));
}

}  // namespace
}  // namespace lavender::io

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>

#include "lavender/io/safetensors.h"
#include "lavender/util/error.h"
#include "test_paths.h"

namespace lavender::io {
namespace {

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST(Safetensors, RoundTripsEveryDtypeAndMetadata) {
  test::TempDir dir;
  std::string path = dir.file("all.safetensors");
  torch::manual_seed(0);
  std::vector<std::pair<std::string, at::Tensor>> tensors = {
      {"f64", torch::randn({3, 2}, torch::kDouble)},
      {"f32", torch::randn({5})},
      {"f16", torch::randn({2, 3}).to(torch::kHalf)},
      {"bf16", torch::randn({4, 1, 2}).to(torch::kBFloat16)},
      {"i64", torch::arange(7, torch::kLong)},
      {"i32", torch::arange(-3, 3, torch::kInt)},
      {"i16", torch::arange(5, torch::kShort)},
      {"i8", torch::arange(-4, 4, torch::kChar)},
      {"u8", torch::arange(250, 256, torch::kByte)},
      {"bool", torch::tensor({true, false, true})},
      {"scalar", torch::tensor(3.5f)},
      {"empty", torch::zeros({0, 4})},
  };
  save_safetensors(path, tensors, {{"format", "pt"}, {"note", "round trip"}});

  auto file = SafetensorsFile::open(path);
  EXPECT_EQ(file->metadata().at("note"), "round trip");
  EXPECT_EQ(file->tensors().size(), tensors.size());
  for (const auto& [name, expected] : tensors) {
    at::Tensor got = file->tensor(name);
    EXPECT_EQ(got.scalar_type(), expected.scalar_type()) << name;
    EXPECT_EQ(got.sizes(), expected.sizes()) << name;
    EXPECT_TRUE(torch::equal(got, expected)) << name;
  }
  // The data buffer starts 8-byte aligned, as the format asks of writers.
  EXPECT_EQ(file->header().data_offset % 8, 0u);
}

TEST(Safetensors, TensorsAreZeroCopyAndOutliveTheFileObject) {
  test::TempDir dir;
  std::string path = dir.file("z.safetensors");
  save_safetensors(path, {{"w", torch::arange(1024, torch::kFloat)}});
  std::string before = slurp(path);
  at::Tensor w;
  {
    auto file = SafetensorsFile::open(path);
    w = file->tensor("w");
    // Zero-copy: the tensor's data is the mapped file's bytes.
    EXPECT_EQ(static_cast<const void*>(w.data_ptr()),
              static_cast<const void*>(file->raw_data("w")));
  }
  EXPECT_EQ(w[1023].item<float>(), 1023.0f);  // mapping kept alive by the tensor
  w.mul_(2);                                  // private pages: allowed, never written back
  EXPECT_EQ(w[3].item<float>(), 6.0f);
  EXPECT_EQ(slurp(path), before);
}

TEST(Safetensors, MisalignedDataIsCopiedNotMisread) {
  // A header whose length is not padded puts F32 data at an odd offset.
  test::TempDir dir;
  std::string path = dir.file("odd.safetensors");
  std::string header = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";  // 53 bytes
  std::string bytes(8, '\0');
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>((header.size() >> (8 * i)) & 0xff);
  float values[2] = {1.5f, -2.25f};
  bytes += header + std::string(reinterpret_cast<char*>(values), sizeof values);
  std::ofstream(path, std::ios::binary) << bytes;
  at::Tensor a = SafetensorsFile::open(path)->tensor("a");
  EXPECT_EQ(a[0].item<float>(), 1.5f);
  EXPECT_EQ(a[1].item<float>(), -2.25f);
}

TEST(Safetensors, WriterRejectsWhatTheFormatCannotHoldAndLeavesOldFile) {
  test::TempDir dir;
  std::string path = dir.file("keep.safetensors");
  save_safetensors(path, {{"x", torch::ones({2})}});
  std::string before = slurp(path);
  EXPECT_THROW(save_safetensors(path, {{"c", torch::ones({2}, torch::kComplexFloat)}}), Error);
  EXPECT_THROW(save_safetensors(path, {{"u", at::Tensor()}}), Error);
  EXPECT_THROW(save_safetensors(path, {{"d", torch::ones({1})}, {"d", torch::ones({1})}}), Error);
  EXPECT_THROW(save_safetensors(path, {{"__metadata__", torch::ones({1})}}), Error);
  EXPECT_EQ(slurp(path), before);
  size_t files = 0;
  for (auto& e : std::filesystem::directory_iterator(dir.path())) files += e.is_regular_file();
  EXPECT_EQ(files, 1u);
}

TEST(Safetensors, NonContiguousAndTransposedTensorsAreWrittenByValue) {
  test::TempDir dir;
  std::string path = dir.file("t.safetensors");
  at::Tensor m = torch::arange(12, torch::kFloat).reshape({3, 4});
  save_safetensors(path, {{"t", m.t()}, {"s", m.slice(1, 1, 3)}});
  auto f = SafetensorsFile::open(path);
  EXPECT_TRUE(torch::equal(f->tensor("t"), m.t()));
  EXPECT_TRUE(torch::equal(f->tensor("s"), m.slice(1, 1, 3)));
}

TEST(Safetensors, Float8IsReportedClearlyWhereLibTorchLacksIt) {
  test::TempDir dir;
  std::string path = dir.file("f8.safetensors");
  std::string header = R"({"q":{"dtype":"F8_E4M3","shape":[4],"data_offsets":[0,4]}})";
  while ((8 + header.size()) % 8) header += ' ';
  std::string bytes(8, '\0');
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>((header.size() >> (8 * i)) & 0xff);
  bytes += header + std::string(4, '\x38');
  std::ofstream(path, std::ios::binary) << bytes;
  auto file = SafetensorsFile::open(path);  // the header itself is valid
  EXPECT_EQ(file->info("q").dtype, StDtype::F8_E4M3);
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 1)
  EXPECT_EQ(file->tensor("q").numel(), 4);
#else
  try {
    file->tensor("q");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find("F8_E4M3"), std::string::npos) << msg;
    EXPECT_NE(msg.find("'q'"), std::string::npos) << msg;
    EXPECT_NE(msg.find("f8.safetensors"), std::string::npos) << msg;
  }
#endif
}

TEST(Safetensors, MissingFileAndUnknownTensorNameTheProblem) {
  try {
    SafetensorsFile::open("/no/such/file.safetensors");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("/no/such/file.safetensors"), std::string::npos);
  }
  test::TempDir dir;
  save_safetensors(dir.file("a.safetensors"), {{"x", torch::ones({1})}});
  EXPECT_THROW(SafetensorsFile::open(dir.file("a.safetensors"))->tensor("y"), Error);
  EXPECT_THROW(SafetensorsFile::open(dir.path()), Error);  // a folder is not a file
}

}  // namespace
}  // namespace lavender::io

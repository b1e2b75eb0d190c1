#include "lavender/dm/extract_job.h"

#include <gtest/gtest.h>

#include <torch/cuda.h>
#include <torch/torch.h>

#include <fstream>

#include "dm/tiny_tokenizer.h"
#include "lavender/io/image.h"
#include "lavender/io/map_store.h"
#include "lavender/util/error.h"
#include "test_paths.h"

namespace lavender::dm {
namespace {

io::Image gradient(int w, int h, int seed) {
  io::Image img;
  img.width = w;
  img.height = h;
  img.channels = 3;
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int c = 0; c < 3; ++c)
        img.pixels.push_back(static_cast<uint8_t>((x * 7 + y * 3 + c * 50 + seed * 40) % 256));
  return img;
}

// Three good images (one not square, so it is cropped), one missing image, one text without
// words, and a second caption for a.png (pairs a.png#0 and a.png#1).
void write_dataset(const test::TempDir& dir) {
  std::filesystem::create_directory(dir.file("img"));
  io::write_png(dir.file("img/a.png"), gradient(32, 32, 0));
  io::write_png(dir.file("img/b.png"), gradient(48, 32, 1));
  io::write_png(dir.file("img/c.png"), gradient(40, 40, 2));
  io::write_png(dir.file("img/d.png"), gradient(32, 32, 3));
  std::ofstream(dir.file("data.tsv")) << "a.png\ta cat on a dog\n"
                                         "b.png\tthe dog\n"
                                         "missing.png\ta cat\n"
                                         "c.png\tcat, dog.\n"
                                         "d.png\t!!!\n"
                                         "a.png\tanother caption of a\n";
}

ExtractJobOptions options(const test::TempDir& dir) {
  ExtractJobOptions o;
  o.model = test::fixture_dir("sd_tiny");
  o.data = dir.file("data.tsv");
  o.images = dir.file("img");
  o.out = dir.file("store");
  o.tokenizer = dir.file("tokenizer.json");
  o.recipe.name = "tiny";
  o.recipe.layers = {{2, 0.7}, {1, 0.3}};  // the fixture's latents have factors 1 and 2 only
  o.recipe.image_size = 32;
  o.recipe.map_size = 8;
  o.batch = 2;
  o.show_progress = false;
  return o;
}

TEST(ExtractJob, WritesTheStoreSkipsBadSamplesAndResumes) {
  test::TempDir dir;
  write_dataset(dir);
  test::write_tiny_clip_tokenizer(dir.file("tokenizer.json"));
  auto first = run_extract_job(options(dir));
  EXPECT_EQ(first.pairs, 6);
  EXPECT_EQ(first.processed, 4);
  ASSERT_EQ(first.bad.size(), 2u);
  EXPECT_NE(first.bad[0].find("image not found"), std::string::npos) << first.bad[0];
  EXPECT_NE(first.bad[1].find("no word"), std::string::npos) << first.bad[1];

  auto store = io::MapStoreReader::open(dir.file("store"));
  ASSERT_EQ(store.entries().size(), 4u);
  EXPECT_TRUE(store.contains("a.png#0"));
  EXPECT_TRUE(store.contains("a.png#1"));
  EXPECT_EQ(store.info()["map_size"], 8);
  EXPECT_EQ(store.info()["recipe"]["name"], "tiny");
  const auto& b = store.entry("b.png");
  EXPECT_EQ(b.words, (std::vector<std::string>{"the", "dog"}));
  EXPECT_EQ(b.extra["crop"], nlohmann::json({8, 0, 32, 32}));
  EXPECT_EQ(store.maps(b.key).sizes(), (std::vector<int64_t>{2, 8, 8}));
  EXPECT_EQ(store.entry("c.png").words, (std::vector<std::string>{"cat", "dog"}));

  auto second = run_extract_job(options(dir));
  EXPECT_EQ(second.processed, 0);
  EXPECT_EQ(second.already_done, 4);
  EXPECT_EQ(io::MapStoreReader::open(dir.file("store")).entries().size(), 4u);
}

TEST(ExtractJob, ShardedRunsReadBackAsOneStore) {
  test::TempDir dir;
  write_dataset(dir);
  test::write_tiny_clip_tokenizer(dir.file("tokenizer.json"));
  int64_t written = 0;
  for (int64_t rank = 0; rank < 2; ++rank) {
    ExtractJobOptions o = options(dir);
    o.shard_index = rank;
    o.shard_count = 2;
    written += run_extract_job(o).processed;
  }
  EXPECT_EQ(written, 4);
  auto store = io::MapStoreReader::open(dir.file("store"));  // the folder of part-i-of-2 stores
  EXPECT_EQ(store.entries().size(), 4u);
  EXPECT_EQ(store.duplicates(), 0u);
  for (const auto& e : store.entries()) EXPECT_EQ(store.maps(e.key).size(0), e.words.size());
}

TEST(ExtractJob, Bf16ComputeGivesTheFp32MapsClosely) {
  test::TempDir dir;
  write_dataset(dir);
  test::write_tiny_clip_tokenizer(dir.file("tokenizer.json"));
  ExtractJobOptions o = options(dir);
  run_extract_job(o);
  o.out = dir.file("store-bf16");
  o.dtype = "bf16";
  run_extract_job(o);
  auto fp32 = io::MapStoreReader::open(dir.file("store"));
  auto bf16 = io::MapStoreReader::open(dir.file("store-bf16"));
  EXPECT_EQ(bf16.info()["compute_dtype"], "bf16");
  ASSERT_EQ(bf16.entries().size(), fp32.entries().size());
  for (const auto& e : fp32.entries()) {
    at::Tensor diff = (bf16.maps(e.key).to(at::kFloat) - fp32.maps(e.key).to(at::kFloat)).abs();
    EXPECT_LT(diff.mean().item<float>(), 0.05) << e.key;
  }
  o.dtype = "fp64";
  EXPECT_THROW(run_extract_job(o), Error);
}

// Runs where LibTorch sees a GPU: the same job on CUDA (fp32, then fp16) gives the CPU's maps.
TEST(ExtractJob, CudaGivesTheCpuMaps) {
  if (!torch::cuda::is_available())
    GTEST_SKIP() << "no CUDA device: this compares sd-attn on a GPU with the CPU and runs on GPU "
                    "machines (it passed on an H100 with PyTorch 2.11's LibTorch)";
  test::TempDir dir;
  write_dataset(dir);
  test::write_tiny_clip_tokenizer(dir.file("tokenizer.json"));
  ExtractJobOptions o = options(dir);
  run_extract_job(o);
  auto cpu = io::MapStoreReader::open(dir.file("store"));
  for (const char* dtype : {"fp32", "fp16"}) {
    o.out = dir.file(std::string("store-") + dtype);
    o.device = "cuda";
    o.dtype = dtype;
    EXPECT_EQ(run_extract_job(o).processed, 4) << dtype;
    auto gpu = io::MapStoreReader::open(o.out);
    for (const auto& e : cpu.entries()) {
      at::Tensor diff = (gpu.maps(e.key).to(at::kFloat) - cpu.maps(e.key).to(at::kFloat)).abs();
      EXPECT_LT(diff.max().item<float>(), std::string(dtype) == "fp32" ? 2e-3 : 3e-2)
          << dtype << " " << e.key;
    }
  }
}

TEST(ExtractJob, ShardsSplitThePairs) {
  EXPECT_EQ(parse_shard("1/3"), (std::pair<int64_t, int64_t>{1, 3}));
  EXPECT_THROW(parse_shard("3/3"), Error);
  EXPECT_THROW(parse_shard("x"), Error);
  EXPECT_EQ(shard_store_path("s", 0, 1), "s");
  EXPECT_EQ(shard_store_path("s", 1, 2), "s/part-1-of-2");
}

}  // namespace
}  // namespace lavender::dm

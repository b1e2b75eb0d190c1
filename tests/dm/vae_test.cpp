#include <gtest/gtest.h>
#include <torch/torch.h>

#include "lavender/dm/vae.h"
#include "lavender/io/safetensors.h"
#include "lavender/parity/parity.h"
#include "lavender/util/error.h"
#include "test_paths.h"

namespace lavender::dm {
namespace {

io::config::AutoencoderKLConfig tiny_vae_config() {
  io::config::AutoencoderKLConfig c;
  c.block_out_channels = {8, 16};
  c.down_block_types = {"DownEncoderBlock2D", "DownEncoderBlock2D"};
  c.up_block_types = {"UpDecoderBlock2D", "UpDecoderBlock2D"};
  c.norm_num_groups = 4;
  return c;
}

TEST(Vae, ParityWithTheReferenceFixture) {
  auto report = parity::run_parity(test::fixture_dir("sd_tiny"));
  EXPECT_EQ(report.exit_code(), parity::kExitPass) << report.format();
  int seen = 0;
  for (const auto& c : report.comparisons)
    for (const char* name : {"latent_mean", "latent_std", "latents", "vae_decoded"})
      if (c.name == name) {
        ++seen;
        EXPECT_TRUE(c.passed) << report.format();
        EXPECT_LT(c.max_abs_diff, 1e-4) << name;
      }
  EXPECT_EQ(seen, 4);
}

TEST(Vae, LatentsFromImageScalesTheMeanOrASample) {
  auto vae = load_vae(test::fixture_dir("sd_tiny") + "/vae");
  auto io = io::SafetensorsFile::open(test::fixture_dir("sd_tiny") + "/io.safetensors");
  torch::NoGradGuard no_grad;
  at::Tensor image = io->tensor("image");
  auto d = vae->encode(image);
  const double s = vae->config().scaling_factor;
  EXPECT_TRUE(torch::allclose(latents_from_image(*vae, image), d.mean * s));
  at::Tensor noise = torch::randn_like(d.mean);
  EXPECT_TRUE(
      torch::allclose(latents_from_image(*vae, image, noise), (d.mean + d.std * noise) * s));
  EXPECT_EQ(image_from_latents(*vae, io->tensor("latents")).sizes(), image.sizes());
  EXPECT_THROW(vae->encode(torch::zeros({1, 4, 32, 32})), Error);
  EXPECT_THROW(vae->decode(torch::zeros({1, 3, 16, 16})), Error);
}

TEST(Vae, BatchIndependence) {
  torch::manual_seed(0);
  AutoencoderKL vae(tiny_vae_config());
  vae->eval();
  torch::NoGradGuard no_grad;
  at::Tensor image = torch::rand({2, 3, 16, 16}) * 2 - 1;
  auto both = vae->encode(image);
  auto one = vae->encode(image.slice(0, 1, 2));
  EXPECT_TRUE(torch::allclose(one.mean[0], both.mean[1], 1e-5, 1e-6));
  EXPECT_EQ(both.mean.sizes(), (std::vector<int64_t>{2, 4, 8, 8}));
  at::Tensor dec = vae->decode(both.mean);
  at::Tensor dec1 = vae->decode(both.mean.slice(0, 1, 2))[0];
  EXPECT_LT((dec1 - dec[1]).abs().max().item<double>(), 1e-5) << dec.abs().max().item<double>();
}

TEST(Vae, OptionalPiecesFollowTheConfig) {
  auto c = tiny_vae_config();
  c.mid_block_add_attention = false;
  c.use_quant_conv = false;
  c.use_post_quant_conv = false;
  AutoencoderKL vae(c);
  for (const auto& p : vae->named_parameters()) {
    EXPECT_EQ(p.key().find("attentions"), std::string::npos) << p.key();
    EXPECT_EQ(p.key().find("quant_conv"), std::string::npos) << p.key();
  }
  torch::NoGradGuard no_grad;
  EXPECT_EQ(vae->decode(torch::zeros({1, 4, 4, 4})).sizes(), (std::vector<int64_t>{1, 3, 8, 8}));
  c = tiny_vae_config();
  c.latents_mean = std::vector<double>(4, 0.0);
  AutoencoderKL normalised(c);
  EXPECT_THROW(latents_from_image(*normalised, torch::zeros({1, 3, 8, 8})), Error);
}

}  // namespace
}  // namespace lavender::dm

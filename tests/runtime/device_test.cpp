// The device option and host-to-device copies.
#include "lavender/runtime/device.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "lavender/util/error.h"

namespace lavender::runtime {
namespace {

TEST(Device, SpellingsAndErrors) {
  EXPECT_TRUE(parse_device("cpu").is_cpu());
  EXPECT_THROW(parse_device("tpu"), Error);
  EXPECT_THROW(parse_device("gpu0"), Error);
  if (!torch::cuda::is_available()) {
    EXPECT_THROW(parse_device("cuda"), Error);
  }
}

TEST(Device, ToDeviceCastsAndKeepsValues) {
  at::Tensor t = torch::arange(6, torch::kFloat).view({2, 3});
  at::Tensor same = to_device(t, c10::Device(c10::kCPU));
  EXPECT_TRUE(same.is_same(t));  // nothing to do
  at::Tensor half = to_device(t, c10::Device(c10::kCPU), at::kBFloat16);
  EXPECT_EQ(half.scalar_type(), at::kBFloat16);
  EXPECT_TRUE(torch::equal(half.to(at::kFloat), t));
  if (torch::cuda::is_available()) {
    at::Tensor gpu = to_device(t, c10::Device(c10::kCUDA), at::kBFloat16);
    EXPECT_TRUE(gpu.is_cuda());
    EXPECT_TRUE(torch::equal(gpu.cpu().to(at::kFloat), t));
  }
}

}  // namespace
}  // namespace lavender::runtime

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "lavender/nn/linear.h"
#include "lavender/util/error.h"

namespace lavender::nn {
namespace {

std::vector<std::string> parameter_names(const torch::nn::Module& m) {
  std::vector<std::string> out;
  for (const auto& p : m.named_parameters()) out.push_back(p.key());
  return out;
}

TEST(Linear, IsADropInForTorchLinear) {
  for (bool bias : {true, false}) {
    const auto opts = torch::nn::LinearOptions(7, 5).bias(bias);
    torch::manual_seed(3);
    torch::nn::Linear reference(opts);
    torch::manual_seed(3);
    Linear ours(opts);
    EXPECT_EQ(parameter_names(*ours), parameter_names(*reference));
    EXPECT_TRUE(torch::equal(ours->weight, reference->weight));
    if (bias) {
      EXPECT_TRUE(torch::equal(ours->bias, reference->bias));
    }
    const at::Tensor x = torch::randn({2, 3, 7});
    EXPECT_TRUE(torch::equal(ours(x), reference(x)));
  }
}

TEST(Linear, FreshAdapterLeavesTheOutputUnchanged) {
  torch::manual_seed(0);
  Linear layer(torch::nn::LinearOptions(6, 4));
  const at::Tensor x = torch::randn({3, 6});
  const at::Tensor before = layer(x);
  layer->add_lora(2, 16, 0.05);
  EXPECT_EQ(parameter_names(*layer),
            (std::vector<std::string>{"weight", "bias", "lora_A.weight", "lora_B.weight"}));
  EXPECT_EQ(layer->lora_A->weight.sizes(), (std::vector<int64_t>{2, 6}));
  EXPECT_EQ(layer->lora_B->weight.sizes(), (std::vector<int64_t>{4, 2}));
  EXPECT_TRUE(torch::equal(layer->lora_B->weight, torch::zeros({4, 2})));
  // kaiming-uniform(a=√5) on [r, in]: bound = 1/√in.
  EXPECT_LE(layer->lora_A->weight.abs().max().item<double>(), 1.0 / std::sqrt(6.0) + 1e-7);
  EXPECT_GT(layer->lora_A->weight.abs().max().item<double>(), 0.0);
  EXPECT_DOUBLE_EQ(layer->lora_scale(), 8.0);
  EXPECT_TRUE(torch::equal(layer(x), before));  // training mode: dropout runs, B is still zero
  EXPECT_THROW(layer->add_lora(2, 16, 0), Error);
}

TEST(Linear, AdaptedForwardMatchesAHandComputation) {
  torch::manual_seed(1);
  Linear layer(torch::nn::LinearOptions(5, 3));
  layer->add_lora(4, 8, 0.3);
  torch::NoGradGuard no_grad;
  layer->lora_B->weight.normal_();
  layer->eval();  // no dropout
  const at::Tensor x = torch::randn({2, 5});
  const at::Tensor A = layer->lora_A->weight, B = layer->lora_B->weight;
  const at::Tensor expected =
      torch::matmul(x, layer->weight.t()) + layer->bias + torch::matmul(x, torch::matmul(B, A).t()) * 2.0;
  EXPECT_TRUE(torch::allclose(layer(x), expected, 1e-5, 1e-6));

  // Training mode: the adapter's input goes through dropout, the base path does not.
  layer->train();
  torch::manual_seed(9);
  const at::Tensor dropped = layer(x);
  EXPECT_FALSE(torch::allclose(dropped, expected, 1e-5, 1e-6));

  Linear rs(torch::nn::LinearOptions(5, 3).bias(false));
  rs->add_lora(4, 8, 0, /*use_rslora=*/true);
  EXPECT_DOUBLE_EQ(rs->lora_scale(), 4.0);  // 8 / √4
}

TEST(Linear, MergeFoldsTheAdapterIntoTheWeight) {
  torch::manual_seed(2);
  Linear layer(torch::nn::LinearOptions(8, 6));
  layer->add_lora(3, 6, 0.1);
  torch::NoGradGuard no_grad;
  layer->lora_B->weight.normal_();
  layer->eval();
  const at::Tensor x = torch::randn({4, 8});
  const at::Tensor unmerged = layer(x);
  layer->merge_lora();
  EXPECT_FALSE(layer->has_lora());
  EXPECT_EQ(parameter_names(*layer), (std::vector<std::string>{"weight", "bias"}));
  EXPECT_TRUE(torch::allclose(layer(x), unmerged, 1e-5, 1e-5));
  EXPECT_THROW(layer->merge_lora(), Error);
  layer->add_lora(2, 4, 0);  // a new adapter after merging is allowed
  EXPECT_TRUE(layer->has_lora());
}

TEST(Linear, AdapterTakesTheBaseDtypeAndTheParentsMode) {
  Linear layer(torch::nn::LinearOptions(4, 4));
  layer->to(torch::kDouble);
  layer->eval();
  layer->add_lora(2, 2, 0.5);
  EXPECT_EQ(layer->lora_A->weight.scalar_type(), torch::kDouble);
  EXPECT_EQ(layer->lora_B->weight.scalar_type(), torch::kDouble);
  EXPECT_FALSE(layer->lora_dropout->is_training());
  EXPECT_EQ(layer(torch::randn({1, 4}, torch::kDouble)).scalar_type(), torch::kDouble);
}

}  // namespace
}  // namespace lavender::nn

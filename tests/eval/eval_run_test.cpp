// The model-facing half of evaluation: likelihood scoring, accuracy runs with resume, attention
// scores against stores, and the `lavender eval` command on the tiny VLM fixtures.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <fstream>

#include "cli/run_cli.h"
#include "lavender/eval/accuracy_run.h"
#include "lavender/eval/answer_normalize.h"
#include "lavender/eval/attention_scores.h"
#include "lavender/eval/predictions.h"
#include "lavender/io/json_file.h"
#include "lavender/io/map_store.h"
#include "lavender/vlm/chat_model.h"
#include "test_paths.h"
#include "vlm/tiny_vlm_folder.h"

namespace lavender::eval {
namespace {

MapScores scores_of(const at::Tensor& a, const at::Tensor& b, const MapScoreOptions& o = {}) {
  const at::Tensor x = a.to(torch::kFloat).contiguous(), y = b.to(torch::kFloat).contiguous();
  return score_map(x.data_ptr<float>(), y.data_ptr<float>(), static_cast<size_t>(x.numel()), o);
}

// Three records on one picture (left half red, right half blue), as the shapes world writes them.
std::string write_benchmark(const test::TempDir& dir) {
  io::write_png(dir.file("img.png"), test::two_colour_image());
  std::ofstream f(dir.file("bench.jsonl"));
  f << R"({"id": "q1", "image": "img.png", "type": "colour", "conversations": [{"from": "human", "value": "<image>\nWhat colour is the left dish?"}, {"from": "gpt", "value": "red"}], "answer": "red", "choices": ["red", "blue", "green"]})"
    << "\n"
    << R"({"id": "q2", "image": "img.png", "type": "count", "conversations": [{"from": "human", "value": "<image>\nHow many dishes?"}, {"from": "gpt", "value": "two"}]})"
    << "\n"
    << R"({"id": "q3", "image": "img.png", "type": "colour", "conversations": [{"from": "human", "value": "<image>\nIs the red dish left?"}, {"from": "gpt", "value": "yes"}], "choices": ["yes", "no"]})"
    << "\n";
  return dir.file("bench.jsonl");
}

class EvalRunTest : public ::testing::TestWithParam<std::string> {};

TEST_P(EvalRunTest, TeacherForcedLogProbsAgreeWithGreedyDecoding) {
  test::TempDir dir;
  auto model = vlm::ChatModel::load(test::write_tiny_vlm_folder(dir.file("m"), GetParam()));
  const io::Image image = test::two_colour_image();
  vlm::GenerationOptions o;
  o.max_new_tokens = 1;
  o.eos_token_ids = {-1};  // never stop: the greedy token, whatever it is
  auto reply = model->generate(image, "What colour?", o);
  ASSERT_EQ(reply.reply_ids.size(), 1u);
  std::vector<int64_t> ids = reply.prompt_ids;
  ids.push_back(reply.reply_ids[0]);
  const double greedy = model->token_log_probs(image, ids).back();
  EXPECT_LT(greedy, 0.0);
  // Any other next token is no more likely than the arg-max one (the rows line up).
  for (int64_t other : {int64_t{65}, int64_t{97}, int64_t{120}, int64_t{200}}) {
    if (other == reply.reply_ids[0]) continue;
    ids.back() = other;
    EXPECT_LE(model->token_log_probs(image, ids).back(), greedy + 1e-6) << other;
  }
  // The reply's likelihood sums its labelled tokens' log-probabilities.
  const auto chat = model->conversation_ids("What colour?", "red");
  const auto logp = model->token_log_probs(image, chat.ids);
  double expected = 0;
  int labelled = 0;
  for (size_t t = 1; t < chat.ids.size(); ++t)
    if (chat.labels[t] != text::kIgnoreLabel) expected += logp[t - 1], ++labelled;
  EXPECT_GE(labelled, 4);  // "red" as bytes, the turn's end
  EXPECT_NEAR(model->reply_log_likelihood(image, "What colour?", "red"), expected, 1e-9);
}

// The answer loss is the reference answer's mean negative log-likelihood per labelled token;
// rows written without it are answered again when it is asked for.
TEST_P(EvalRunTest, AnswerLossIsTheReferenceRepliesLossPerToken) {
  test::TempDir dir;
  auto model = vlm::ChatModel::load(test::write_tiny_vlm_folder(dir.file("m"), GetParam()));
  Benchmark bench = read_benchmark(write_benchmark(dir));
  const std::string path = dir.file("predictions.jsonl");
  AccuracyOptions o;
  o.max_new_tokens = 2;
  AccuracyRun run = run_accuracy(*model, bench.items, path, o);
  EXPECT_EQ(run.answer_loss.items, 0u);
  o.answer_loss = true;
  run = run_accuracy(*model, bench.items, path, o);
  EXPECT_EQ(run.answered, bench.items.size());
  ASSERT_EQ(run.answer_loss.items, bench.items.size());
  double nll = 0;
  int64_t tokens = 0;
  for (const auto& item : bench.items) {
    const auto s = model->reply_score(io::read_image(item.image), item.question, item.answer);
    EXPECT_GE(s.tokens, 2) << item.id;  // the answer's bytes and the turn's end
    nll -= s.log_likelihood;
    tokens += s.tokens;
  }
  EXPECT_EQ(run.answer_loss.tokens, tokens);
  EXPECT_NEAR(run.answer_loss.mean(), nll / static_cast<double>(tokens), 1e-9);
  EXPECT_GT(run.answer_loss.mean(), 0.0);
  // Read back from the file: the same loss; a resumed run answers nothing again.
  run = run_accuracy(*model, bench.items, path, o);
  EXPECT_EQ(run.answered, 0u);
  EXPECT_NEAR(run.answer_loss.mean(), nll / static_cast<double>(tokens), 1e-9);
}

TEST_P(EvalRunTest, AccuracyRunResumesAndLikelihoodPicksTheLikeliestChoice) {
  test::TempDir dir;
  auto model = vlm::ChatModel::load(test::write_tiny_vlm_folder(dir.file("m"), GetParam()));
  Benchmark bench = read_benchmark(write_benchmark(dir));
  ASSERT_EQ(bench.items.size(), 3u);
  AccuracyOptions o;
  o.likelihood = true;
  o.max_new_tokens = 3;
  const std::string path = dir.file("predictions.jsonl");
  AccuracyRun run = run_accuracy(*model, bench.items, path, o);
  EXPECT_EQ(run.answered, 3u);
  EXPECT_EQ(run.table.overall().n, 3u);
  EXPECT_EQ(run.table.types().at("colour").n, 2u);
  auto rows = read_predictions(path).rows;
  ASSERT_EQ(rows.size(), 3u);
  // q1 by likelihood: the choice with the highest reply log-likelihood.
  const io::Image image = io::read_image(bench.items[0].image);
  std::string best;
  double best_ll = -1e300;
  for (const auto& c : bench.items[0].choices) {
    const double ll = model->reply_log_likelihood(image, bench.items[0].question, c);
    if (ll > best_ll) best_ll = ll, best = c;
  }
  EXPECT_EQ(rows[0].choice, best);
  EXPECT_EQ(rows[0].correct, best == "red");
  EXPECT_TRUE(rows[1].choice.empty());  // q2 is open: generated and exact-matched
  EXPECT_EQ(rows[1].correct, answers_match(rows[1].prediction, "two"));

  // Killed while writing q3's row: the resumed run answers q3 only.
  std::string text = io::read_text_file(path);
  text.resize(text.rfind('\n', text.size() - 2) + 1 + 10);
  std::ofstream(path, std::ios::trunc) << text;
  run = run_accuracy(*model, bench.items, path, o);
  EXPECT_EQ(run.resumed, 2u);
  EXPECT_EQ(run.answered, 1u);
  EXPECT_EQ(run.table.overall().n, 3u);
  EXPECT_EQ(read_predictions(path).rows.size(), 3u);
  EXPECT_TRUE(read_predictions(path).problems.empty());
}

TEST_P(EvalRunTest, VlmMapsAreScoredAgainstTeacherAndTruthByWord) {
  test::TempDir dir;
  auto model = vlm::ChatModel::load(test::write_tiny_vlm_folder(dir.file("m"), GetParam()));
  Benchmark bench = read_benchmark(write_benchmark(dir));
  // Truth for q3: "red" is the left half, "dish" the whole picture, "blue" (not said) the right.
  at::Tensor left = torch::zeros({8, 8});
  left.slice(1, 0, 4).fill_(1);
  at::Tensor truth_maps = torch::stack({left, torch::ones({8, 8}), 1 - left}).to(torch::kHalf);
  at::Tensor teacher_maps = torch::rand({2, 16, 16}, torch::TensorOptions().dtype(torch::kFloat))
                                .to(torch::kHalf);
  {
    io::MapStoreWriter truth(dir.file("truth"), {{"map_size", 8}, {"recipe", {{"name", "truth"}}}});
    io::MapEntry e;
    e.key = "q3";
    e.words = {"red", "dish", "blue"};
    truth.add(e, truth_maps);
    io::MapStoreWriter teacher(dir.file("teacher"), {{"map_size", 16}, {"recipe", "single-pass"}});
    e.words = {"dish", "left"};
    teacher.add(e, teacher_maps);
  }
  auto truth = io::MapStoreReader::open(dir.file("truth"));
  auto teacher = io::MapStoreReader::open(dir.file("teacher"));
  VlmMapOptions o;
  o.aggregation = "mean-mean";
  o.map_size = 16;
  VlmMapScorer scorer(*model, &teacher, &truth, {{"red", "colour"}}, o);
  {
    io::MapStoreWriter kept(dir.file("kept"), {{"map_size", 16}, {"recipe", "vlm"}});
    scorer.keep_maps(&kept, 1);
    for (const auto& item : bench.items) scorer.add(item, io::read_image(item.image));
  }
  EXPECT_EQ(scorer.records(), 1u);
  EXPECT_EQ(scorer.missing(), 2u);
  const auto j = scorer.to_json();
  EXPECT_EQ(j["vs_truth"]["overall"]["n"], 2);  // red, dish (blue is not in the text)
  EXPECT_EQ(j["vs_truth"]["classes"]["colour"]["n"], 1);
  EXPECT_EQ(j["vs_teacher"]["overall"]["n"], 2);  // dish, left

  // By hand: the word's map as `lavender generate --show-attention` draws it (mean over layers
  // and heads of its tokens), scored against the truth resized to 16×16.
  const auto chat = model->conversation_ids(bench.items[2].question, bench.items[2].answer);
  auto att = model->attention(io::read_image(bench.items[2].image), chat.ids, {}, 16);
  const auto red = vlm::word_attention(att, {"red"})[0];
  const at::Tensor truth16 = torch::nn::functional::interpolate(
      truth_maps.to(torch::kFloat).unsqueeze(1),
      torch::nn::functional::InterpolateFuncOptions()
          .size(std::vector<int64_t>{16, 16})
          .mode(torch::kBilinear)
          .align_corners(false))[0][0];
  const MapScores s = scores_of(red, truth16);
  EXPECT_NEAR(j["vs_truth"]["words"]["red"]["mse"].get<double>(), s.mse, 1e-5);
  EXPECT_NEAR(j["vs_truth"]["words"]["red"]["iou"].get<double>(), s.iou, 1e-9);
  EXPECT_NEAR(j["vs_truth"]["words"]["red"]["entropy"].get<double>(), s.entropy, 1e-5);
  EXPECT_NEAR(j["vs_truth"]["words"]["red"]["reference_entropy"].get<double>(),
              s.reference_entropy, 1e-5);
  const auto left_map = vlm::word_attention(att, {"left"})[0];
  MapScoreOptions same;
  same.reference_threshold = same.map_threshold;
  const MapScores t = scores_of(left_map, teacher_maps[1], same);
  EXPECT_NEAR(j["vs_teacher"]["words"]["left"]["soft_iou"].get<double>(), t.soft_iou, 1e-5);
  EXPECT_NEAR(j["vs_teacher"]["words"]["left"]["reference_entropy"].get<double>(),
              t.reference_entropy, 1e-5);

  // The kept maps: the scored record's words as matched against the truth, the same maps.
  auto kept = io::MapStoreReader::open(dir.file("kept"));
  ASSERT_EQ(kept.entries().size(), 1u);
  const io::MapEntry& e = kept.entries()[0];
  EXPECT_EQ(e.key, bench.items[2].id);
  ASSERT_EQ(e.words.size(), 2u);
  EXPECT_EQ(e.words[0], "red");
  auto normalised = [](const at::Tensor& m) { return (m - m.min()) / (m.max() - m.min()); };
  EXPECT_LT((normalised(kept.maps(e.key)[0].to(torch::kFloat)) - normalised(red))
                .abs()
                .max()
                .item<double>(),
            2e-3);  // the store keeps fp16
}

INSTANTIATE_TEST_SUITE_P(Families, EvalRunTest, ::testing::Values("llava", "mllama"));

TEST(CompareStores, ScoresEachSharedWordAtTheTruthSize) {
  test::TempDir dir;
  at::Tensor a = torch::rand({3, 8, 8}), b = torch::rand({3, 8, 8});
  {
    io::MapStoreWriter maps(dir.file("maps"), {{"map_size", 8}, {"recipe", "x"}});
    io::MapEntry e;
    e.key = "k1";
    e.words = {"Red", "star", "above"};
    maps.add(e, a.to(torch::kHalf));
    e.key = "k2";
    maps.add(e, a.to(torch::kHalf));
    io::MapStoreWriter truth(dir.file("truth"), {{"map_size", 8}, {"recipe", "truth"}});
    e.key = "k1";
    e.words = {"star", "red", "large"};
    truth.add(e, b.to(torch::kHalf));
  }
  const auto c = compare_stores(io::MapStoreReader::open(dir.file("maps")),
                                io::MapStoreReader::open(dir.file("truth")),
                                {{"red", "colour"}, {"star", "shape"}}, {});
  EXPECT_EQ(c.keys, 1u);
  EXPECT_EQ(c.missing_keys, 1u);
  EXPECT_EQ(c.missing_words, 1u);  // "above"
  const auto j = c.to_json();
  const MapScores red = scores_of(a[0].to(torch::kHalf), b[1].to(torch::kHalf));
  EXPECT_NEAR(j["words"]["red"]["mse"].get<double>(), red.mse, 1e-9);
  EXPECT_NEAR(j["classes"]["colour"]["iou"].get<double>(), red.iou, 1e-9);
  const MapScores star = scores_of(a[1].to(torch::kHalf), b[0].to(torch::kHalf));
  EXPECT_NEAR(j["classes"]["shape"]["soft_iou"].get<double>(), star.soft_iou, 1e-9);
  EXPECT_NEAR(j["overall"]["entropy"].get<double>(), (red.entropy + star.entropy) / 2, 1e-9);
}

TEST(EvalCommand, ScoresATinyVlmAndResumes) {
  test::TempDir dir;
  const std::string model = test::write_tiny_vlm_folder(dir.file("m"), "llava");
  const std::string bench = write_benchmark(dir);
  const std::string out = dir.file("out");
  auto r = test::run_cli("eval --model " + model + " --data " + bench + " --out " + out +
                         " --max-new-tokens 4");
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("accuracy"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("colour"), std::string::npos) << r.output;
  auto results = io::read_json_file(out + "/results.json");
  EXPECT_EQ(results["accuracy"]["overall"]["n"], 3);
  EXPECT_EQ(results["accuracy"]["types"]["colour"]["n"], 2);
  EXPECT_EQ(results["answered_now"], 3);
  EXPECT_EQ(results["mode"], "generate");
  EXPECT_EQ(read_predictions(out + "/predictions.jsonl").rows.size(), 3u);
  // A second run finds every answer already there.
  r = test::run_cli("eval --model " + model + " --data " + bench + " --out " + out + " --limit 2");
  ASSERT_EQ(r.code, 0) << r.output;
  results = io::read_json_file(out + "/results.json");
  EXPECT_EQ(results["resumed"], 2);
  EXPECT_EQ(results["answered_now"], 0);
  EXPECT_EQ(results["accuracy"]["overall"]["n"], 2);
  // A malformed benchmark line is named and skipped; a bad option is an error.
  std::ofstream(bench, std::ios::app) << "{oops\n";
  r = test::run_cli("eval --model " + model + " --data " + bench + " --out " + out);
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("bench.jsonl:4: invalid JSON"), std::string::npos) << r.output;
  EXPECT_EQ(io::read_json_file(out + "/results.json")["skipped"], 1);
  r = test::run_cli("eval --model " + model + " --data " + bench + " --out " + out +
                    " --mc maybe");
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.output.find("--mc"), std::string::npos) << r.output;
  r = test::run_cli("eval --maps " + dir.file("nowhere") + " --out " + out);
  EXPECT_NE(r.code, 0);
}

TEST(EvalCommand, ComparesTwoStoresByWordClass) {
  test::TempDir dir;
  {
    io::MapStoreWriter maps(dir.file("maps"), {{"map_size", 4}, {"recipe", "x"}});
    io::MapStoreWriter truth(dir.file("truth"), {{"map_size", 4}, {"recipe", "truth"}});
    io::MapEntry e;
    e.key = "k";
    e.words = {"red", "star"};
    maps.add(e, torch::rand({2, 4, 4}).to(torch::kHalf));
    truth.add(e, torch::rand({2, 4, 4}).to(torch::kHalf));
  }
  std::ofstream(dir.file("world.json"))
      << R"({"vocabulary": {"colours": ["red"], "shapes": ["star"]}})";
  auto r = test::run_cli("eval --maps " + dir.file("maps") + " --truth " + dir.file("truth") +
                         " --word-classes " + dir.file("world.json") + " --out " + dir.file("o"));
  ASSERT_EQ(r.code, 0) << r.output;
  auto results = io::read_json_file(dir.file("o/results.json"));
  EXPECT_EQ(results["maps_vs_truth"]["classes"]["colour"]["n"], 1);
  EXPECT_EQ(results["maps_vs_truth"]["classes"]["shape"]["n"], 1);
  EXPECT_EQ(results["maps_vs_truth"]["keys"], 1);
  EXPECT_NE(r.output.find("shape"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace lavender::eval

#include "lavender/demo/stage_runner.h"

#include <gtest/gtest.h>

#include <signal.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "lavender/util/error.h"
#include "test_paths.h"

namespace lavender {
namespace {

// Stages are lavender commands; `init-vlm` is a quick one that writes a folder.
demo::Stage init_stage(const std::string& dir, const std::string& name,
                       std::vector<std::string> after = {}) {
  demo::Stage s;
  s.name = name;
  s.title = "a tiny model";
  s.args = {"init-vlm", "--out", dir + "/" + name, "--image-size", "16", "--text-hidden", "16",
            "--vision-hidden", "16", "--text-layers", "1", "--vision-layers", "1"};
  s.outputs = {dir + "/" + name + "/config.json"};
  s.after = std::move(after);
  return s;
}

demo::RunnerOptions options(const std::string& dir, std::vector<std::string>* lines) {
  demo::RunnerOptions o;
  o.exe = LAVENDER_CLI_PATH;
  o.out = dir;
  o.cores = 2;
  o.say = [lines](const std::string& l) { lines->push_back(l); };
  return o;
}

TEST(StageRunner, RunsWhatIsReadyRecordsAndReusesFinishedStages) {
  test::TempDir dir;
  std::vector<std::string> lines;
  const std::vector<demo::Stage> stages = {init_stage(dir.path(), "a"),
                                           init_stage(dir.path(), "b", {"a"}),
                                           init_stage(dir.path(), "c", {"a"})};
  auto results = demo::run_stages(stages, options(dir.path(), &lines));
  ASSERT_EQ(results.size(), 3u);
  EXPECT_EQ(results[0].name, "a");  // b and c wait for it
  for (const auto& r : results) EXPECT_FALSE(r.reused) << r.name;
  for (const char* n : {"a", "b", "c"}) {
    EXPECT_TRUE(std::filesystem::exists(dir.path() + "/" + n + "/model.safetensors")) << n;
    EXPECT_TRUE(demo::stage_is_done(stages[0], dir.path()));
    const auto rec = nlohmann::json::parse(std::ifstream(demo::stage_record_path(dir.path(), n)));
    EXPECT_TRUE(rec["ok"].get<bool>());
  }
  // b and c ran together (two cores): both started before either finished, after a finished.
  size_t started_b = 0, started_c = 0, finished_a = 0, finished_b = 0, finished_c = 0;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (lines[i].rfind("started b", 0) == 0) started_b = i;
    if (lines[i].rfind("started c", 0) == 0) started_c = i;
    if (lines[i].rfind("finished a", 0) == 0) finished_a = i;
    if (lines[i].rfind("finished b", 0) == 0) finished_b = i;
    if (lines[i].rfind("finished c", 0) == 0) finished_c = i;
  }
  EXPECT_LT(finished_a, started_b);
  EXPECT_LT(started_c, std::min(finished_b, finished_c));

  // Again: everything reused. With other arguments, or a lost output, the stage runs again.
  results = demo::run_stages(stages, options(dir.path(), &lines));
  for (const auto& r : results) EXPECT_TRUE(r.reused) << r.name;
  auto changed = stages;
  changed[0].args.push_back("--seed=4");
  std::filesystem::remove(dir.path() + "/b/config.json");
  results = demo::run_stages(changed, options(dir.path(), &lines));
  EXPECT_FALSE(results[0].reused);
  EXPECT_FALSE(results[1].reused);  // b and c read a, which is newer now
  EXPECT_FALSE(results[2].reused);
}

TEST(StageRunner, AStageThatCanNeverStartIsAnError) {
  test::TempDir dir;
  std::vector<std::string> lines;
  try {
    demo::run_stages({init_stage(dir.path(), "a", {"missing"})}, options(dir.path(), &lines));
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("stage a cannot run"), std::string::npos) << e.what();
  }
}

TEST(StageRunner, AStageRunsAgainFromAnEmptyFolderWhenWhatItReadsIsNewer) {
  test::TempDir dir;
  std::vector<std::string> lines;
  std::vector<demo::Stage> stages = {init_stage(dir.path(), "a"), init_stage(dir.path(), "b")};
  stages[1].after = {"a"};
  stages[1].folder = dir.path() + "/b";
  demo::run_stages(stages, options(dir.path(), &lines));
  std::ofstream(dir.path() + "/b/stale.txt") << "from the old run";
  stages[0].args.push_back("--seed=9");  // a changes, so b's input is newer than b
  const auto results = demo::run_stages(stages, options(dir.path(), &lines));
  EXPECT_FALSE(results[0].reused);
  EXPECT_FALSE(results[1].reused);
  EXPECT_FALSE(std::filesystem::exists(dir.path() + "/b/stale.txt"));
  EXPECT_TRUE(std::filesystem::exists(dir.path() + "/b/config.json"));
  // Nothing changed: both reused.
  for (const auto& r : demo::run_stages(stages, options(dir.path(), &lines)))
    EXPECT_TRUE(r.reused) << r.name;
}

TEST(StageRunner, AFailingStageNamesItsLog) {
  test::TempDir dir;
  std::vector<std::string> lines;
  demo::Stage bad = init_stage(dir.path(), "bad");
  bad.args = {"init-vlm", "--out", dir.path() + "/bad", "--patch-size", "5"};
  demo::Stage after = init_stage(dir.path(), "after", {"bad"});
  try {
    demo::run_stages({bad, after}, options(dir.path(), &lines));
    FAIL() << "expected an error";
  } catch (const Error& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("stage bad"), std::string::npos) << m;
    EXPECT_NE(m.find("exit code 2"), std::string::npos) << m;
    EXPECT_NE(m.find("logs/bad.log"), std::string::npos) << m;
    EXPECT_NE(m.find("patch_size"), std::string::npos) << m;  // the log's last line
  }
  EXPECT_FALSE(std::filesystem::exists(dir.path() + "/after"));
  EXPECT_FALSE(std::filesystem::exists(demo::stage_record_path(dir.path(), "bad")));
}

TEST(StageRunner, ASignalStopsTheChildrenAndLaterStagesDoNotStart) {
  test::TempDir dir;
  std::vector<std::string> lines;
  demo::RunnerOptions o = options(dir.path(), &lines);
  // SIGTERM arrives while the first stage runs (raised from the runner's own report of it).
  o.say = [&lines](const std::string& l) {
    lines.push_back(l);
    if (l.rfind("started", 0) == 0) std::raise(SIGTERM);
  };
  try {
    demo::run_stages({init_stage(dir.path(), "first"), init_stage(dir.path(), "second")}, o);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("stopped by signal 15"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(std::filesystem::exists(dir.path() + "/second"));
  // The handler is gone afterwards: SIGTERM's default would end this test binary, so check the
  // disposition instead of raising it.
  struct sigaction now {};
  sigaction(SIGTERM, nullptr, &now);
  EXPECT_EQ(now.sa_handler, SIG_DFL);
}

}  // namespace
}  // namespace lavender

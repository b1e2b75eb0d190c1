// The demo's stages run as child processes of the `lavender` binary itself (`lavender synth ...`,
// `lavender train ...`): each stage is exactly a command a user could type, its output goes to a
// log file of its own, a crash in one cannot corrupt another's state, and independent stages run
// side by side: a stage starts, in plan order, as soon as the stages it reads have finished and
// a core is free (one thread each; a stage with nothing beside it gets every core).
//
// A finished stage leaves OUT/stages/<name>.json (its arguments, exit code, seconds, finishing
// time). Re-running skips a stage whose record says it succeeded with the same arguments, whose
// outputs still exist and which finished after every stage it reads from; anything else runs
// again. A stage that runs again after a change starts from an empty folder (stale maps or
// checkpoints must not leak into it); one that never finished keeps its folder, so a killed
// training resumes.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace lavender::demo {

struct Stage {
  std::string name;                  // file-name safe: "synth", "train-sft", ...
  std::string title;                 // what a user reads in the progress lines
  std::vector<std::string> args;     // arguments of the lavender binary (after global options)
  std::vector<std::string> outputs;  // paths that exist when the stage is done
  std::vector<std::string> after = {};  // stages whose results this one reads (all of them)
  std::string folder = {};  // what it writes; removed before it runs again for a changed input
};

struct StageResult {
  std::string name;
  double seconds = 0;
  bool reused = false;  // finished by an earlier run
};

struct RunnerOptions {
  std::string exe;      // the lavender binary (default: /proc/self/exe)
  std::string out;      // OUT: stages/ and logs/ go here
  int cores = 0;        // 0: the machine's; at most this many stages run at once
  bool force = false;   // ignore earlier records
  std::function<void(const std::string&)> say;  // progress lines (default: stderr)
};

// Runs `stages` as their `after` lists allow (earlier stages first when several are ready).
// Throws lavender::Error naming the stage, its exit status and its log file when one fails (no
// stage starts after that; the running ones are waited for), or when a stage can never start.
std::vector<StageResult> run_stages(const std::vector<Stage>& stages, const RunnerOptions& options);

// The record file of a stage, and whether it marks the stage done for these arguments.
std::string stage_record_path(const std::string& out, const std::string& name);
bool stage_is_done(const Stage& stage, const std::string& out);

}  // namespace lavender::demo

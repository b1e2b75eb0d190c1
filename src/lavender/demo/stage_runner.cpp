#include "lavender/demo/stage_runner.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <thread>

#include "lavender/util/atomic_file.h"
#include "lavender/util/error.h"
#include "lavender/util/progress.h"
#include "lavender/util/remove_tree.h"

extern char** environ;

namespace lavender::demo {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

struct Running {
  const Stage* stage = nullptr;
  pid_t pid = -1;
  Clock::time_point start;
  std::string log;
};

// Set by SIGTERM/SIGINT while stages run: the runner then stops its children (which a Ctrl-C in a
// terminal reaches anyway, but a `kill` of the demo alone would not) and fails.
volatile std::sig_atomic_t g_stop_signal = 0;
extern "C" void on_stop_signal(int sig) { g_stop_signal = sig; }

// Installs the handler for the lifetime of the object and restores the previous ones.
class StopSignals {
 public:
  StopSignals() {
    struct sigaction a {};
    a.sa_handler = on_stop_signal;
    sigemptyset(&a.sa_mask);
    sigaction(SIGTERM, &a, &old_term_);
    sigaction(SIGINT, &a, &old_int_);
  }
  ~StopSignals() {
    sigaction(SIGTERM, &old_term_, nullptr);
    sigaction(SIGINT, &old_int_, nullptr);
  }
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;

 private:
  struct sigaction old_term_ {}, old_int_ {};
};

std::string log_path(const std::string& out, const std::string& name) {
  return out + "/logs/" + name + ".log";
}

// The last non-empty line of a log (a child's latest progress line), at most 100 characters.
std::string last_line(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "";
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  const std::streamoff from = std::max<std::streamoff>(0, size - 4096);
  in.seekg(from);
  std::string tail((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  for (char& c : tail)
    if (c == '\r') c = '\n';
  while (!tail.empty() && tail.back() == '\n') tail.pop_back();
  const size_t nl = tail.rfind('\n');
  std::string line = nl == std::string::npos ? tail : tail.substr(nl + 1);
  if (line.size() > 100) line = line.substr(0, 97) + "...";
  return line;
}

pid_t spawn(const std::string& exe, const std::vector<std::string>& args, const std::string& log) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(exe.c_str()));
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, exe.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) throw Error("cannot start " + exe + ": " + std::strerror(rc));
  return pid;
}

std::string describe_status(int status) {
  if (WIFEXITED(status)) return "exit code " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return "signal " + std::to_string(WTERMSIG(status));
  return "status " + std::to_string(status);
}

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

nlohmann::json record(const Stage& stage, int status, double seconds) {
  return {{"name", stage.name}, {"args", stage.args}, {"ok", status == 0},
          {"status", status}, {"seconds", seconds}, {"finished_at", now_seconds()}};
}

nlohmann::json read_record(const std::string& out, const std::string& name) {
  std::ifstream in(stage_record_path(out, name));
  if (!in) return nullptr;
  return nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
}

// A stage that finished before but must run again: its old results go, so that what it writes
// cannot mix with them.
void clear_stale(const Stage& stage, const std::string& out) {
  const std::string path = stage_record_path(out, stage.name);
  if (!fs::exists(path)) return;
  if (!stage.folder.empty()) remove_tree(stage.folder);
  fs::remove(path);
}

Running start_stage(const Stage& s, const RunnerOptions& o, int threads) {
  Running r;
  r.stage = &s;
  r.log = log_path(o.out, s.name);
  std::vector<std::string> args = {"--threads", std::to_string(threads)};
  args.insert(args.end(), s.args.begin(), s.args.end());
  r.start = Clock::now();
  r.pid = spawn(o.exe, args, r.log);
  o.say("started " + s.name + ": " + s.title + " (log " + r.log + ")");
  return r;
}

// Reaps the children that ended; a success is recorded, the first failure kept in `failure`.
void reap(std::vector<Running>& running, const RunnerOptions& o, std::set<std::string>& completed,
          std::vector<StageResult>& results, std::string& failure) {
  for (size_t i = 0; i < running.size();) {
    int status = 0;
    const pid_t done = waitpid(running[i].pid, &status, WNOHANG);
    if (done == 0) {
      ++i;
      continue;
    }
    const Running r = running[i];
    running.erase(running.begin() + static_cast<std::ptrdiff_t>(i));
    const double seconds = std::chrono::duration<double>(Clock::now() - r.start).count();
    const int code = done < 0 ? -1 : status;
    if (code == 0) {
      write_file_atomically(stage_record_path(o.out, r.stage->name),
                            record(*r.stage, 0, seconds).dump(2) + "\n");
      o.say("finished " + r.stage->name + " in " + Progress::format_duration(seconds));
      results.push_back({r.stage->name, seconds, false});
      completed.insert(r.stage->name);
    } else if (failure.empty()) {
      failure = "stage " + r.stage->name + " (" + r.stage->title + ") failed with " +
                describe_status(code) + "; its log: " + r.log + "\n  last line: " +
                last_line(r.log);
      if (!running.empty()) o.say(failure + "\n  waiting for the running stages to finish");
    }
  }
}

// Whether every stage `s` reads from has completed.
bool inputs_complete(const Stage& s, const std::set<std::string>& completed) {
  for (const auto& dep : s.after)
    if (completed.count(dep) == 0) return false;
  return true;
}

void report_running(const std::vector<Running>& running, const RunnerOptions& o) {
  for (const auto& r : running)
    o.say("  " + r.stage->name + " " +
          Progress::format_duration(std::chrono::duration<double>(Clock::now() - r.start).count()) +
          ": " + last_line(r.log));
}

}  // namespace

std::string stage_record_path(const std::string& out, const std::string& name) {
  return out + "/stages/" + name + ".json";
}

bool stage_is_done(const Stage& stage, const std::string& out) {
  const nlohmann::json r = read_record(out, stage.name);
  if (!r.is_object() || r.value("ok", false) != true ||
      r.value("args", nlohmann::json()) != nlohmann::json(stage.args))
    return false;
  for (const auto& path : stage.outputs)
    if (!fs::exists(path)) return false;
  const double finished = r.value("finished_at", 0.0);
  for (const auto& name : stage.after) {
    const nlohmann::json dep = read_record(out, name);
    if (!dep.is_object() || dep.value("finished_at", 0.0) > finished) return false;
  }
  return true;
}

std::vector<StageResult> run_stages(const std::vector<Stage>& stages,
                                    const RunnerOptions& options) {
  RunnerOptions o = options;
  if (o.exe.empty()) o.exe = "/proc/self/exe";
  if (!o.say) o.say = [](const std::string& line) { std::fprintf(stderr, "%s\n", line.c_str()); };
  const int cores = o.cores > 0 ? o.cores
                                : std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  fs::create_directories(o.out + "/stages");
  fs::create_directories(o.out + "/logs");
  g_stop_signal = 0;
  const StopSignals stop_signals;
  std::vector<StageResult> results;
  std::set<std::string> completed;  // done now or by an earlier run
  std::vector<bool> started(stages.size(), false);
  std::vector<Running> running;
  std::string failure;
  bool stopping = false;
  auto last_report = Clock::now();
  for (;;) {
    if (g_stop_signal != 0 && !stopping) {
      stopping = true;  // the children stop; their partial work stays for a resume
      for (const auto& r : running) kill(r.pid, SIGTERM);
      failure = "stopped by signal " + std::to_string(static_cast<int>(g_stop_signal)) +
                "; rerun the same command to resume";
    }
    reap(running, o, completed, results, failure);
    // Start, in plan order, every stage whose inputs are complete while a core is free.
    bool progressed = false;
    for (size_t i = 0; failure.empty() && i < stages.size(); ++i) {
      const Stage& s = stages[i];
      if (started[i]) continue;
      if (!inputs_complete(s, completed)) continue;
      if (!o.force && stage_is_done(s, o.out)) {
        started[i] = progressed = true;
        o.say("reusing " + s.name + " (" + s.title + ") from an earlier run");
        results.push_back({s.name, 0, true});
        completed.insert(s.name);
        continue;
      }
      if (static_cast<int>(running.size()) >= cores) continue;
      if (o.force || fs::exists(stage_record_path(o.out, s.name))) clear_stale(s, o.out);
      // A stage that starts with nothing else running or ready gets every core, others one.
      bool alone = running.empty();
      for (size_t j = i + 1; alone && j < stages.size(); ++j)
        alone = started[j] || !inputs_complete(stages[j], completed);
      running.push_back(start_stage(s, o, alone ? cores : 1));
      started[i] = progressed = true;
    }
    if (running.empty()) {
      if (!failure.empty()) break;
      if (progressed) continue;  // reused stages may have readied others
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    if (Clock::now() - last_report > std::chrono::seconds(15)) {
      last_report = Clock::now();
      report_running(running, o);
    }
  }
  if (!failure.empty()) throw Error(failure);
  for (size_t i = 0; i < stages.size(); ++i)
    if (!started[i])
      throw Error("stage " + stages[i].name + " cannot run: it needs a stage the plan does not "
                  "have or that comes after it");
  return results;
}

}  // namespace lavender::demo

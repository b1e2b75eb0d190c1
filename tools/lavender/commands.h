// The CLI's subcommands. Each parses its own options and calls the library; the exit code it
// returns is the process's.
#pragma once

#include <string>
#include <vector>

namespace lavender::cli {

using Args = std::vector<std::string>;

int run_demo(const Args& args);
int run_eval(const Args& args);
int run_generate(const Args& args);
int run_info(const Args& args);
int run_init_vlm(const Args& args);
int run_inspect(const Args& args);
int run_maps(const Args& args);
int run_openflamingo_config(const Args& args);
int run_parity(const Args& args);
int run_plan(const Args& args);
int run_sd_attn(const Args& args);
int run_show_maps(const Args& args);
int run_synth(const Args& args);
int run_tokenize(const Args& args);
int run_train(const Args& args);
int run_train_dm(const Args& args);

}  // namespace lavender::cli

// Command-line options for one subcommand: declared with help text and defaults, so that
// `--help` lists every option and a typo is an error rather than silently ignored.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace lavender {

class ArgParser {
 public:
  ArgParser(std::string command, std::string summary);

  // A boolean switch: `--name`.
  ArgParser& flag(const std::string& name, const std::string& help);
  // An option taking a value: `--name VALUE` or `--name=VALUE`.
  ArgParser& option(const std::string& name, const std::string& help,
                    const std::string& default_value = "");
  // A required positional argument, in declaration order.
  ArgParser& positional(const std::string& name, const std::string& help);

  // Throws lavender::Error (message includes the usage line) on unknown options, missing
  // values or positionals. Returns false when --help/-h was given (help() then says what to print).
  bool parse(const std::vector<std::string>& args);

  bool has(const std::string& name) const;  // flag given, or option given explicitly
  std::string get(const std::string& name) const;
  int64_t get_int(const std::string& name) const;
  double get_double(const std::string& name) const;
  // A comma-separated value as its items (empty items dropped; empty value: none).
  std::vector<std::string> get_list(const std::string& name) const;
  std::vector<int64_t> get_int_list(const std::string& name) const;
  const std::vector<std::string>& positionals() const { return positional_values_; }

  std::string usage() const;
  std::string help() const;

 private:
  struct Spec {
    std::string help;
    std::string default_value;
    bool is_flag = false;
  };
  const Spec& spec(const std::string& name) const;

  std::string command_, summary_;
  std::vector<std::string> order_;
  std::map<std::string, Spec> specs_;
  std::vector<std::pair<std::string, std::string>> positional_specs_;
  std::map<std::string, std::string> values_;
  std::vector<std::string> positional_values_;
};

}  // namespace lavender

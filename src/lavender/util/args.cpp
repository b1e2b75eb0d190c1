#include "lavender/util/args.h"

#include <sstream>

#include "lavender/util/error.h"

namespace lavender {

ArgParser::ArgParser(std::string command, std::string summary)
    : command_(std::move(command)), summary_(std::move(summary)) {}

ArgParser& ArgParser::flag(const std::string& name, const std::string& help) {
  order_.push_back(name);
  specs_[name] = Spec{help, "", true};
  return *this;
}

ArgParser& ArgParser::option(const std::string& name, const std::string& help,
                             const std::string& default_value) {
  order_.push_back(name);
  specs_[name] = Spec{help, default_value, false};
  return *this;
}

ArgParser& ArgParser::positional(const std::string& name, const std::string& help) {
  positional_specs_.emplace_back(name, help);
  return *this;
}

const ArgParser::Spec& ArgParser::spec(const std::string& name) const {
  auto it = specs_.find(name);
  if (it == specs_.end()) throw Error("internal: option --" + name + " was never declared");
  return it->second;
}

bool ArgParser::parse(const std::vector<std::string>& args) {
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--help" || a == "-h") return false;
    if (a.size() > 2 && a.compare(0, 2, "--") == 0) {
      std::string name = a.substr(2), value;
      bool inline_value = false;
      if (auto eq = name.find('='); eq != std::string::npos) {
        value = name.substr(eq + 1);
        name = name.substr(0, eq);
        inline_value = true;
      }
      auto it = specs_.find(name);
      if (it == specs_.end()) throw Error("unknown option --" + name + "\n" + usage());
      if (it->second.is_flag) {
        if (inline_value) throw Error("--" + name + " takes no value\n" + usage());
        value.assign(1, '1');  // (operator= "1" trips GCC 12's -Wrestrict false positive in C++20)
      } else if (!inline_value) {
        if (i + 1 >= args.size()) throw Error("--" + name + " needs a value\n" + usage());
        value = args[++i];
      }
      values_[name] = value;
    } else {
      positional_values_.push_back(a);
    }
  }
  if (positional_values_.size() < positional_specs_.size())
    throw Error("missing " + positional_specs_[positional_values_.size()].first + "\n" + usage());
  if (positional_values_.size() > positional_specs_.size())
    throw Error("unexpected argument \"" + positional_values_[positional_specs_.size()] + "\"\n" +
                usage());
  return true;
}

bool ArgParser::has(const std::string& name) const {
  spec(name);
  return values_.count(name) > 0;
}

std::string ArgParser::get(const std::string& name) const {
  auto it = values_.find(name);
  return it != values_.end() ? it->second : spec(name).default_value;
}

int64_t ArgParser::get_int(const std::string& name) const {
  std::string v = get(name);
  try {
    size_t used = 0;
    int64_t n = std::stoll(v, &used);
    if (used == v.size()) return n;
  } catch (const std::exception&) {
  }
  throw Error("--" + name + ": \"" + v + "\" is not an integer");
}

std::vector<std::string> ArgParser::get_list(const std::string& name) const {
  std::vector<std::string> items;
  std::istringstream in(get(name));
  for (std::string item; std::getline(in, item, ',');)
    if (!item.empty()) items.push_back(item);
  return items;
}

std::vector<int64_t> ArgParser::get_int_list(const std::string& name) const {
  std::vector<int64_t> out;
  for (const auto& item : get_list(name)) {
    try {
      size_t used = 0;
      const int64_t n = std::stoll(item, &used);
      if (used == item.size()) {
        out.push_back(n);
        continue;
      }
    } catch (const std::exception&) {
    }
    throw Error("--" + name + ": \"" + item + "\" is not an integer");
  }
  return out;
}

double ArgParser::get_double(const std::string& name) const {
  std::string v = get(name);
  try {
    size_t used = 0;
    double d = std::stod(v, &used);
    if (used == v.size()) return d;
  } catch (const std::exception&) {
  }
  throw Error("--" + name + ": \"" + v + "\" is not a number");
}

std::string ArgParser::usage() const {
  std::string s = "usage: lavender " + command_ + " [options]";
  for (const auto& p : positional_specs_) s += " " + p.first;
  return s;
}

std::string ArgParser::help() const {
  std::ostringstream s;
  s << usage() << "\n\n" << summary_ << "\n";
  if (!positional_specs_.empty()) s << "\narguments:\n";
  for (const auto& p : positional_specs_) s << "  " << p.first << "\n      " << p.second << "\n";
  s << "\noptions:\n";
  for (const auto& name : order_) {
    const Spec& sp = specs_.at(name);
    s << "  --" << name << (sp.is_flag ? "" : " VALUE");
    if (!sp.is_flag && !sp.default_value.empty()) s << "  (default: " << sp.default_value << ")";
    s << "\n      " << sp.help << "\n";
  }
  s << "  --help\n      show this help\n";
  return s.str();
}

}  // namespace lavender

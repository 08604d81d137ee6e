#pragma once
// The argument loop of the benchmarks' command lines: "--name value" options and "--flag"
// switches, with one error path for all of them.
#include <functional>
#include <string>
#include <vector>

namespace connector::testing {

// Reads the value of the option being handled: the next argument.
using option_value = std::function<std::string()>;

// Calls on_option(name, value) for each of argv[1..argc). on_option reads the option's value
// with value() (a switch does not) and returns false for a name it does not know. usage is
// called with the problem, and the process exits with 2 if it returns, for: --help or -h
// ("help"), an unknown name, a missing value ("NAME needs a value"), and a std::logic_error
// out of on_option such as a failed std::stoi ("bad value for NAME: …").
void read_command_line(
    int argc, char** argv, const std::function<void(const std::string& problem)>& usage,
    const std::function<bool(const std::string& name, const option_value& value)>& on_option);

// A program's "--name value" options as a table, with the --help text made from it.
struct named_option {
  std::string name;   // "--listen"
  std::string shown;  // the default, as --help shows it ("" : none)
  std::string help;
  std::function<void(const std::string& value)> set;  // may throw std::logic_error (stoi)
};

// Reads argv against `options`. --help prints the usage (`about`, then one line per option)
// to stdout and exits 0; an unknown name, a missing or bad value prints the problem and the
// usage to stderr and exits 2.
void read_options(int argc, char** argv, const std::string& program, const std::string& about,
                  const std::vector<named_option>& options);

}  // namespace connector::testing

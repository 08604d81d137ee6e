#include "support/command_line.hpp"

#include <cstdio>
#include <cstdlib>
#include <stdexcept>

namespace connector::testing {

void read_command_line(
    int argc, char** argv, const std::function<void(const std::string& problem)>& usage,
    const std::function<bool(const std::string& name, const option_value& value)>& on_option) {
  const auto fail = [&](const std::string& problem) {
    usage(problem);
    std::exit(2);
  };
  for (int i = 1; i < argc; ++i) {
    const std::string name = argv[i];
    const option_value value = [&]() -> std::string {
      if (i + 1 >= argc) fail(name + " needs a value");
      return argv[++i];
    };
    try {
      if (on_option(name, value)) continue;
      if (name == "--help" || name == "-h") fail("help");
      fail("unknown argument " + name);
    } catch (const std::logic_error& e) {
      fail("bad value for " + name + ": " + e.what());
    }
  }
}

void read_options(int argc, char** argv, const std::string& program, const std::string& about,
                  const std::vector<named_option>& options) {
  const auto print_usage = [&](std::FILE* out) {
    std::fprintf(out, "%s\nusage: %s [options]\n", about.c_str(), program.c_str());
    for (const auto& o : options)
      std::fprintf(out, "  %-20s %s%s\n", o.name.c_str(), o.help.c_str(),
                   o.shown.empty() ? "" : (" (default: " + o.shown + ")").c_str());
  };
  read_command_line(
      argc, argv,
      [&](const std::string& problem) {
        if (problem == "help") {
          print_usage(stdout);
          std::exit(0);
        }
        std::fprintf(stderr, "%s: %s\n", program.c_str(), problem.c_str());
        print_usage(stderr);
      },
      [&](const std::string& name, const option_value& value) {
        for (const auto& o : options) {
          if (o.name != name) continue;
          o.set(value());
          return true;
        }
        return false;
      });
}

}  // namespace connector::testing

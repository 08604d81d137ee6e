#include "support/command_line.hpp"

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

}  // namespace connector::testing

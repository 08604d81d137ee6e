#pragma once
// What the standalone sandbox programs (tests/tools) share around their server: the server
// options from the command line, the ready file a parent process waits for, and running
// until SIGTERM or SIGINT.
#include <signal.h>

#include <cstdint>
#include <optional>
#include <string>

#include "support/sandbox_https_server.hpp"

namespace connector::testing {

// --listen host:port, --cert and --key (both or neither) and --threads as server options;
// nothing, after telling stderr what is wrong ("PROGRAM: …"), when they do not fit.
std::optional<sandbox_server_options> sandbox_listen_options(const std::string& program,
                                                             const std::string& listen,
                                                             const std::string& cert,
                                                             const std::string& key, int threads);

// Blocks SIGTERM and SIGINT in this thread and every thread started after it, so that only
// wait() receives them: construct it before the server starts its threads.
class stop_signals {
 public:
  stop_signals();
  // Waits for SIGTERM or SIGINT; the signal received.
  int wait();

 private:
  sigset_t signals_;
};

// Writes {"url","port","pid"} to `path` all at once (through a rename), for a parent process
// that waits for the file to appear.
void write_ready_file(const std::string& path, const std::string& url, std::uint16_t port);

}  // namespace connector::testing

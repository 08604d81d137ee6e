#include "support/sandbox_process.hpp"

#include <pthread.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "connector/config/config.hpp"

namespace connector::testing {

std::optional<sandbox_server_options> sandbox_listen_options(const std::string& program,
                                                             const std::string& listen,
                                                             const std::string& cert,
                                                             const std::string& key, int threads) {
  if (cert.empty() != key.empty()) {
    std::cerr << program << ": give both --cert and --key, or neither\n";
    return std::nullopt;
  }
  const auto endpoint = config::parse_endpoint(listen);
  if (!endpoint) {
    std::cerr << program << ": --listen: expected host:port, got '" << listen << "'\n";
    return std::nullopt;
  }
  return sandbox_server_options{endpoint->host, endpoint->port, cert, key, threads};
}

stop_signals::stop_signals() {
  sigemptyset(&signals_);
  sigaddset(&signals_, SIGTERM);
  sigaddset(&signals_, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals_, nullptr);
}

int stop_signals::wait() {
  int received = 0;
  sigwait(&signals_, &received);
  return received;
}

void write_ready_file(const std::string& path, const std::string& url, std::uint16_t port) {
  {
    std::ofstream ready(path + ".tmp");
    ready
        << nlohmann::json{{"url", url}, {"port", port}, {"pid", static_cast<long>(getpid())}}.dump()
        << "\n";
  }
  std::filesystem::rename(path + ".tmp", path);
}

}  // namespace connector::testing

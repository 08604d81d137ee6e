#include "support/test_certs.hpp"

#include <unistd.h>

#include <cstdlib>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>

#include "support/process.hpp"

namespace connector::testing {

namespace {

// Removes the folder a process generated, at its exit; never in a forked child (it exits
// through exec or _exit, but a check costs nothing).
struct generated_certs {
  std::filesystem::path dir;
  pid_t owner = 0;
};
generated_certs& generated() {
  static generated_certs g;
  return g;
}
void remove_generated_certs() {
  const auto& g = generated();
  if (g.owner != getpid() || g.dir.empty()) return;
  std::error_code ignored;
  std::filesystem::remove_all(g.dir, ignored);
}

// The folder ctest's fixture made (tests/CMakeLists.txt, test_certs_setup), if any.
std::optional<std::filesystem::path> certs_from_ctest() {
  const char* dir = std::getenv("CONNECTOR_TEST_CERTS");
  if (dir == nullptr || *dir == '\0') return std::nullopt;
  if (!std::filesystem::exists(std::filesystem::path(dir) / "ca.crt"))
    throw std::runtime_error(std::string("CONNECTOR_TEST_CERTS=") + dir +
                             " holds no ca.crt: run the tests through ctest, whose fixture "
                             "test_certs_setup makes them, or unset it");
  return std::filesystem::path(dir);
}

}  // namespace

const test_certs& test_certs::get() {
  static std::once_flag once;
  static test_certs certs;
  std::call_once(once, [] {
    if (auto dir = certs_from_ctest()) {
      certs.dir = std::move(*dir);  // made once per ctest run, removed by its cleanup
    } else {
      // Outside ctest: once per process, removed when it exits.
      certs.dir =
          std::filesystem::temp_directory_path() / ("connector-certs-" + std::to_string(getpid()));
      generated() = {certs.dir, getpid()};
      std::atexit(remove_generated_certs);
      const auto result = run_command(
          {"/bin/bash", std::string(CONNECTOR_SOURCE_DIR) + "/certs/generate.sh",
           certs.dir.string(), "--force", "--no-jwt-key"});  // JWT keys: support/rsa_keys.hpp
      if (result.exit_code != 0) {
        throw std::runtime_error("certs/generate.sh failed: " + result.err);
      }
    }
    certs.server_crt = certs.dir / "server.crt";
    certs.server_key = certs.dir / "server.key";
    certs.ca_crt = certs.dir / "ca.crt";
    certs.client_crt = certs.dir / "client.crt";
    certs.client_key = certs.dir / "client.key";
  });
  return certs;
}

}  // namespace connector::testing

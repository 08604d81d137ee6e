#pragma once
// The certificates tests and the sandbox programs serve and trust, made by certs/generate.sh.
#include <filesystem>

namespace connector::testing {

// Once per ctest run (the test_certs fixture, its folder in CONNECTOR_TEST_CERTS), or once per
// process outside ctest, removed at its exit.
struct test_certs {
  std::filesystem::path dir, server_crt, server_key, ca_crt, client_crt, client_key;
  static const test_certs& get();
};

}  // namespace connector::testing

// A local stand-in for iSpring Learn, for the README demo and the benchmarks:
//   ispring_sandbox --listen 127.0.0.1:9443 --cert server.crt --key server.key \
//                   --client-id X --client-secret Y [--ready-file F]
// Serves the REST API (reference/ispring-learn-api.md) plus the /_sandbox/ control
// endpoints (support/ispring_sandbox_server.hpp) until SIGTERM or SIGINT.
#include <CLI/CLI.hpp>
#include <iostream>

#include "support/ispring_sandbox_server.hpp"
#include "support/sandbox_process.hpp"
#include "support/service.hpp"

int main(int argc, char** argv) {
  using namespace connector;
  CLI::App app{"iSpring Learn sandbox: an in-memory account over HTTPS"};
  std::string listen = "127.0.0.1:9443";
  std::string cert, key, ready_file;
  testing::sandbox_options sandbox;
  std::string legacy_account_url, legacy_login, legacy_password;
  int threads = 2;
  app.add_option("--listen", listen, "host:port to listen on (port 0: any free port)")
      ->capture_default_str();
  app.add_option("--cert", cert, "PEM certificate chain (default: generated test certificates)");
  app.add_option("--key", key, "PEM private key (with --cert)");
  app.add_option("--client-id", sandbox.client_id, "accepted client_id")->capture_default_str();
  app.add_option("--client-secret", sandbox.client_secret, "accepted client_secret")
      ->capture_default_str();
  app.add_option("--token-ttl", sandbox.token_ttl_s, "access token lifetime in seconds")
      ->capture_default_str();
  app.add_option("--duplicate-status", sandbox.duplicate_status,
                 "status of a duplicate login/e-mail (409 or 400)")
      ->capture_default_str();
  app.add_option("--legacy-account-url", legacy_account_url, "accept X-Auth-* header auth for");
  app.add_option("--legacy-login", legacy_login, "X-Auth-Email accepted");
  app.add_option("--legacy-password", legacy_password, "X-Auth-Password accepted");
  app.add_option("--threads", threads, "server threads")->capture_default_str();
  app.add_option("--ready-file", ready_file, "written once listening: {\"url\",\"port\",\"pid\"}");
  CLI11_PARSE(app, argc, argv);

  const auto server_options =
      testing::sandbox_listen_options("ispring_sandbox", listen, cert, key, threads);
  if (!server_options) return 2;
  if (!legacy_account_url.empty()) {
    sandbox.legacy_account_url = legacy_account_url;
    sandbox.legacy_login = legacy_login;
    sandbox.legacy_password = legacy_password;
  }

  testing::stop_signals signals;  // before any thread starts

  try {
    testing::ispring_sandbox_server server(std::move(sandbox), *server_options);
    const std::string url = server.base_url();
    std::cout << "iSpring sandbox listening on " << url << std::endl;
    if (cert.empty()) {
      std::cout << "trust " << testing::test_certs::get().ca_crt.string()
                << " (ispring.tls_ca_file, curl --cacert)" << std::endl;
    }
    if (!ready_file.empty()) testing::write_ready_file(ready_file, url, server.port());
    std::cout << "stopping (signal " << signals.wait() << ")" << std::endl;
    server.stop();
  } catch (const std::exception& e) {
    std::cerr << "ispring_sandbox: " << e.what() << "\n";
    return 1;
  }
  return 0;
}

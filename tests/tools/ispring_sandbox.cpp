// A local stand-in for iSpring Learn, for the README demo and the benchmarks:
//   ispring_sandbox --listen 127.0.0.1:9443 --cert server.crt --key server.key \
//                   --client-id X --client-secret Y [--ready-file F]
// Serves the REST API (reference/ispring-learn-api.md) plus the /_sandbox/ control
// endpoints (support/ispring_sandbox_server.hpp) until SIGTERM or SIGINT.
#include <iostream>

#include "support/command_line.hpp"
#include "support/ispring_sandbox_server.hpp"
#include "support/sandbox_process.hpp"
#include "support/test_certs.hpp"

int main(int argc, char** argv) {
  using namespace connector;
  std::string listen = "127.0.0.1:9443";
  std::string cert, key, ready_file;
  testing::sandbox_options sandbox;
  std::string legacy_account_url, legacy_login, legacy_password;
  int threads = 2;
  const auto text = [](std::string& to) { return [&to](const std::string& v) { to = v; }; };
  testing::read_options(
      argc, argv, "ispring_sandbox", "iSpring Learn sandbox: an in-memory account over HTTPS",
      {{"--listen", listen, "host:port to listen on (port 0: any free port)", text(listen)},
       {"--cert", "", "PEM certificate chain (default: generated test certificates)", text(cert)},
       {"--key", "", "PEM private key (with --cert)", text(key)},
       {"--client-id", sandbox.client_id, "accepted client_id", text(sandbox.client_id)},
       {"--client-secret", sandbox.client_secret, "accepted client_secret",
        text(sandbox.client_secret)},
       {"--token-ttl", std::to_string(sandbox.token_ttl_s), "access token lifetime in seconds",
        [&](const std::string& v) { sandbox.token_ttl_s = std::stoll(v); }},
       {"--duplicate-status", std::to_string(sandbox.duplicate_status),
        "status of a duplicate login/e-mail (409 or 400)",
        [&](const std::string& v) { sandbox.duplicate_status = std::stoi(v); }},
       {"--legacy-account-url", "", "accept X-Auth-* header auth for", text(legacy_account_url)},
       {"--legacy-login", "", "X-Auth-Email accepted", text(legacy_login)},
       {"--legacy-password", "", "X-Auth-Password accepted", text(legacy_password)},
       {"--threads", std::to_string(threads), "server threads",
        [&](const std::string& v) { threads = std::stoi(v); }},
       {"--ready-file", "", "written once listening: {\"url\",\"port\",\"pid\"}",
        text(ready_file)}});

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

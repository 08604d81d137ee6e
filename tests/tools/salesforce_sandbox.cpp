// A local stand-in for a Salesforce org, for the README demo and the benchmarks:
//   salesforce_sandbox --listen 127.0.0.1:9444 --cert server.crt --key server.key \
//                      --client-id X --username integration@example.com \
//                      --public-key certs/salesforce-jwt.pub [--client-secret S] \
//                      [--org-id 00D…] [--seed users.json] [--generate 1000] [--ready-file F]
// Serves the OAuth token endpoint and SOQL queries (reference/salesforce.md §D) plus the
// /_sandbox/ control endpoints (support/salesforce_sandbox_server.hpp) until SIGTERM or
// SIGINT. The seed file is a /_sandbox/seed body: {"users":[{…}], "generate":n}.
#include <iostream>
#include <nlohmann/json.hpp>

#include "support/command_line.hpp"
#include "support/files.hpp"
#include "support/salesforce_sandbox_server.hpp"
#include "support/sandbox_process.hpp"
#include "support/test_certs.hpp"

int main(int argc, char** argv) {
  using namespace connector;
  std::string listen = "127.0.0.1:9444";
  std::string cert, key, ready_file, public_key_file, seed_file;
  std::size_t generate = 0;
  testing::salesforce_sandbox_options sandbox;
  int threads = 2;
  const auto text = [](std::string& to) { return [&to](const std::string& v) { to = v; }; };
  testing::read_options(
      argc, argv, "salesforce_sandbox",
      "Salesforce sandbox: an in-memory org (OAuth + SOQL query) over HTTPS",
      {{"--listen", listen, "host:port to listen on (port 0: any free port)", text(listen)},
       {"--cert", "", "PEM certificate chain (default: generated test certificates)", text(cert)},
       {"--key", "", "PEM private key (with --cert)", text(key)},
       {"--client-id", sandbox.client_id, "the connected app's consumer key",
        text(sandbox.client_id)},
       {"--client-secret", sandbox.client_secret,
        "consumer secret for the client credentials flow (\"\" turns it off)",
        text(sandbox.client_secret)},
       {"--username", sandbox.username, "the integration user (JWT sub)", text(sandbox.username)},
       {"--public-key", "",
        "PEM public key or certificate that verifies JWT assertions (none: JWT refused)",
        text(public_key_file)},
       {"--audience", "", "accepted JWT aud (default: this server's URL)", text(sandbox.audience)},
       {"--org-id", sandbox.org_id, "organization id", text(sandbox.org_id)},
       {"--session-timeout", std::to_string(sandbox.session_timeout_s),
        "session inactivity timeout in seconds",
        [&](const std::string& v) { sandbox.session_timeout_s = std::stoll(v); }},
       {"--seed", "", "JSON file: {\"users\":[{…}], \"generate\":n}", text(seed_file)},
       {"--generate", "0", "synthetic users to add",
        [&](const std::string& v) { generate = std::stoull(v); }},
       {"--threads", std::to_string(threads), "server threads",
        [&](const std::string& v) { threads = std::stoi(v); }},
       {"--ready-file", "", "written once listening: {\"url\",\"port\",\"pid\"}",
        text(ready_file)}});

  const auto server_options =
      testing::sandbox_listen_options("salesforce_sandbox", listen, cert, key, threads);
  if (!server_options) return 2;

  testing::stop_signals signals;  // before any thread starts

  try {
    if (!public_key_file.empty()) sandbox.public_key_pem = testing::read_text(public_key_file);
    nlohmann::json seed = nlohmann::json::object();
    if (!seed_file.empty()) {
      seed = nlohmann::json::parse(testing::read_text(seed_file));
      if (!seed.is_object()) throw std::invalid_argument(seed_file + ": expected a JSON object");
    }
    testing::salesforce_sandbox_server server(std::move(sandbox), *server_options);
    std::vector<nlohmann::json> users;
    for (const auto& user : seed.value("users", nlohmann::json::array())) users.push_back(user);
    server.sandbox().add_users(users);
    server.sandbox().add_generated_users(seed.value("generate", std::size_t{0}) + generate,
                                         seed.value("generate_fields", nlohmann::json::object()));

    const std::string url = server.base_url();
    std::cout << "Salesforce sandbox listening on " << url << " (org "
              << server.sandbox().organization_id() << ", " << server.sandbox().user_count()
              << " users)" << std::endl;
    if (cert.empty()) {
      std::cout << "trust " << testing::test_certs::get().ca_crt.string()
                << " (salesforce.tls_ca_file, curl --cacert)" << std::endl;
    }
    if (!ready_file.empty()) testing::write_ready_file(ready_file, url, server.port());
    std::cout << "stopping (signal " << signals.wait() << ")" << std::endl;
    server.stop();
  } catch (const std::exception& e) {
    std::cerr << "salesforce_sandbox: " << e.what() << "\n";
    return 1;
  }
  return 0;
}

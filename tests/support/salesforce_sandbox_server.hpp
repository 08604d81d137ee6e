#pragma once
// The in-memory Salesforce org behind a real HTTPS server on loopback, so the REST client
// (and the real `connector` binary) talk to it over TLS exactly as to Salesforce. Its URL is
// both the login URL (token endpoint, JWT audience) and, unless changed, the instance_url.
//
// Every method on every path goes to salesforce_sandbox::handle(), except the control
// endpoints under /_sandbox/ (no auth; for demos and for tests that drive a child process):
//   POST  /_sandbox/seed          {"users":[{"Username","LastName","Email",…}],
//                                  "generate":n, "generate_fields":{…},
//                                  "generate_departments":10}
//                                 → {"ids":[…]} (the listed users, then the generated ones)
//   GET   /_sandbox/users/{id}    → every field of the user
//   PATCH /_sandbox/users/{id}    {"Department":"Sales", "Title":null, …} → the user
//   POST  /_sandbox/fail          {"count":n, "status":503, "error_code":"…", "message":"…",
//                                  "target":"api"|"token"|"any"}
//   POST  /_sandbox/outage        {"on":true}
//   POST  /_sandbox/latency       {"ms":50}
//   POST  /_sandbox/request_limit {"max_requests":n}  (0 switches it off)
//   POST  /_sandbox/expire_tokens
//   POST  /_sandbox/token         → {"access_token", "instance_url"} (skips OAuth)
//   POST  /_sandbox/reset
//   GET   /_sandbox/calls         → {"GET /services/data/{version}/query": 3, …}
//   GET   /_sandbox/log           → [{"method","path","endpoint","status","soql"}, …]
#include <cstdint>
#include <memory>
#include <string>

#include "connector/http/server.hpp"
#include "support/salesforce_sandbox.hpp"
#include "support/sandbox_https_server.hpp"

namespace connector::testing {

using salesforce_sandbox_server_options = sandbox_server_options;

class salesforce_sandbox_server {
 public:
  // Listens at once (throws std::runtime_error if it cannot) and serves on its own threads.
  // options.base_url is replaced by this server's base_url().
  explicit salesforce_sandbox_server(salesforce_sandbox_options options = {},
                                     salesforce_sandbox_server_options server = {});
  ~salesforce_sandbox_server();
  salesforce_sandbox_server(const salesforce_sandbox_server&) = delete;
  salesforce_sandbox_server& operator=(const salesforce_sandbox_server&) = delete;

  std::uint16_t port() const;
  // "https://localhost:PORT" on loopback (the test certificate names localhost and
  // 127.0.0.1), otherwise "https://HOST:PORT". Use it as salesforce.login_url.
  std::string base_url() const;
  // The same server as "https://127.0.0.1:PORT": a second name for instance_url tests.
  std::string loopback_ip_url() const;
  // Direct state access, seeding and fault injection; thread-safe like the sandbox itself.
  salesforce_sandbox& sandbox();
  http::server_counters counters() const;
  // Finishes in-flight requests (delayed replies are sent at once) and stops. Idempotent;
  // the destructor calls it.
  void stop();

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace connector::testing

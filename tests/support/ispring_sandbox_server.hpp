#pragma once
// The in-memory iSpring Learn sandbox behind a real HTTPS server on loopback, so the HTTPS
// client (and the real `connector` binary) talk to it over TLS exactly as to the service.
//
// Every method on every path goes to ispring_sandbox::handle(), except the control
// endpoints under /_sandbox/ (no auth; for demos and for tests that drive a child process):
//   POST /_sandbox/fail        {"count":n, "status":503, "retry_after_s":2}
//   POST /_sandbox/outage      {"on":true}
//   POST /_sandbox/latency     {"ms":50, "endpoint"?:"POST /group/{id}/members"}
//   POST /_sandbox/rate_limit  {"per_second":10}          (0 switches it off)
//   POST /_sandbox/reset
//   POST /_sandbox/token       → {"access_token":…}       (skips the client-credentials call)
//   POST /_sandbox/seed        {"departments":[{"name","parent"?,"code"?}],
//                               "users":[{"login","email","department"?,"fields"?,"status"?}],
//                               "groups":[{"name","members"?:[login…],"smart"?}]}
//                              → {"departments":{name:id}, "users":{login:id}, "groups":{name:id}}
//                              (parents and departments by name, created in order; the root
//                              when absent)
//   GET  /_sandbox/state       → ispring_sandbox::dump_json()
//   GET  /_sandbox/calls       → {"GET /users/v2": 3, …}
#include <cstdint>
#include <memory>
#include <string>

#include "connector/http/server.hpp"
#include "support/ispring_sandbox.hpp"
#include "support/sandbox_https_server.hpp"

namespace connector::testing {

class ispring_sandbox_server {
 public:
  // Listens at once (throws std::runtime_error if it cannot) and serves on its own threads.
  explicit ispring_sandbox_server(sandbox_options options = {}, sandbox_server_options server = {});
  ~ispring_sandbox_server();
  ispring_sandbox_server(const ispring_sandbox_server&) = delete;
  ispring_sandbox_server& operator=(const ispring_sandbox_server&) = delete;

  std::uint16_t port() const;
  // "https://localhost:PORT" on loopback (the test certificate names localhost and
  // 127.0.0.1), otherwise "https://HOST:PORT".
  std::string base_url() const;
  // Direct state access and fault injection; thread-safe like the sandbox itself.
  ispring_sandbox& sandbox();
  http::server_counters counters() const;
  // Finishes in-flight requests (delayed replies are sent at once) and stops. Idempotent;
  // the destructor calls it.
  void stop();

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace connector::testing

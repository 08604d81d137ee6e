#pragma once
// What the iSpring and Salesforce sandbox servers share: a real HTTPS server (the test
// certificates unless others are given) serving on its own threads, the /_sandbox/ control
// routes in front of the sandbox's own, and the sandbox's latency added to its answers
// without holding a server thread (delayed_replies).
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "connector/http/server.hpp"
#include "support/delayed_replies.hpp"

namespace connector::testing {

struct sandbox_server_options {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;  // 0: any free port, read it back with port()
  // PEM files; both empty: the test certificates (test_certs::get(), CA in ca.crt).
  std::string certificate_file;
  std::string private_key_file;
  int threads = 2;
};

struct sandbox_routes {
  // Methods routed to `control` on /_sandbox/*; it answers at once.
  std::vector<std::string> control_methods;
  std::function<http::response(http::request&&)> control;
  // Methods routed to `sandbox` on every other path; answered after latency_ms(request).
  std::vector<std::string> sandbox_methods;
  std::function<http::response(http::request&&)> sandbox;
  std::function<int(const http::request&)> latency_ms;
};

class sandbox_https_server {
 public:
  // Listens at once (throws std::runtime_error if it cannot) and serves on its own threads.
  sandbox_https_server(const std::string& server_name, const sandbox_server_options& options,
                       sandbox_routes routes);
  ~sandbox_https_server();  // stops
  sandbox_https_server(const sandbox_https_server&) = delete;
  sandbox_https_server& operator=(const sandbox_https_server&) = delete;

  std::uint16_t port() const;
  // "https://localhost:PORT" for a loopback `host` (the test certificate names localhost and
  // 127.0.0.1), otherwise "https://HOST:PORT".
  std::string url_for(const std::string& host) const;
  http::server_counters counters() const;
  // Finishes in-flight requests (delayed replies are sent at once) and stops. Idempotent.
  void stop();

 private:
  void serve(http::request&& req, http::respond_fn respond);

  sandbox_routes routes_;
  delayed_replies delayed_;
  std::unique_ptr<http::server> server_;
  std::thread thread_;
  std::once_flag stopped_;
};

}  // namespace connector::testing

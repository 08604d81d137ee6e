#pragma once
// The HTTPS server: TLS 1.2/1.3 on one listener, request limits and timeouts, routing by
// method and path, graceful shutdown. Beast and Asio stay inside src/http/.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "connector/http/message.hpp"

namespace connector::http {

struct tls_options {
  std::string certificate_chain_file;  // PEM: leaf, then intermediates
  std::string private_key_file;
  std::optional<std::string> client_ca_file;  // require and verify a client certificate
  std::vector<std::string> client_subjects;   // allowed subjects ("CN=proxy.salesforce.com")
};

struct server_options {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;          // 0: any free port; read it back with port()
  std::optional<tls_options> tls;  // nullopt: plain HTTP (admin listener on loopback only)
  std::size_t body_limit_bytes = 4 * 1024 * 1024;
  std::size_t header_limit_bytes = 16 * 1024;
  int handshake_timeout_ms = 10'000;
  int read_timeout_ms = 30'000;
  int idle_timeout_ms = 60'000;
  int write_timeout_ms = 30'000;
  std::size_t max_connections = 512;
  // Open connections one client address may hold; over it a new one is closed at once,
  // before TLS. 0: no cap.
  std::size_t max_connections_per_address = 0;
  std::string server_name = "connector";
  std::vector<std::string> allowed_networks;  // CIDRs; empty: everyone
};

enum class connection_refusal {
  not_allowed,      // outside allowed_networks: closed before TLS
  per_address_cap,  // over max_connections_per_address: closed before TLS
  server_full,      // over max_connections: answered 503
};
const char* to_string(connection_refusal why);  // "not_allowed", "per_address_cap", "server_full"

// Called on the server's threads for each refused connection (metrics).
using refusal_observer = std::function<void(connection_refusal)>;

struct route {
  std::string method;  // "GET", "POST"
  std::string path;    // exact, or a prefix when it ends with '*'
  handler_fn handler;
};

struct server_counters {
  std::uint64_t connections_accepted = 0;
  std::uint64_t connections_refused = 0;  // any connection_refusal
  std::uint64_t connections_refused_per_address = 0;
  std::uint64_t requests = 0;
  std::uint64_t tls_handshake_failures = 0;
  std::uint64_t timeouts = 0;
};

class server {
 public:
  // Binds and listens at once, so a bad address fails here with a clear message.
  server(server_options options, std::vector<route> routes, refusal_observer on_refused = {});
  ~server();
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  std::uint16_t port() const;
  // Runs the accept loop and sessions on `threads` threads; returns after stop() once every
  // connection has finished its in-flight request.
  void run(int threads);
  // Stops accepting, lets in-flight requests finish and closes idle connections. Thread-safe.
  void stop();
  server_counters counters() const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace connector::http

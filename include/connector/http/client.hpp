#pragma once
// A synchronous HTTPS client with a keep-alive connection pool, for the REST services we
// call (iSpring Learn). Thread-safe: each request borrows a pooled connection for its whole
// exchange. Beast and Asio stay inside src/http/.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "connector/expected.hpp"

namespace connector::http {

struct client_options {
  // https://host[:port][/prefix]; http:// only towards a loopback host (tests, local demo).
  std::string base_url;
  std::optional<std::string> ca_file;  // trusted in addition to the system store
  int connect_timeout_ms = 5000;       // DNS, TCP connect and TLS handshake
  int request_timeout_ms = 30000;      // writing the request and reading the whole response
  std::size_t max_idle_connections = 8;
  std::string user_agent = "connector/0.1";
};

struct client_request {
  std::string method;  // "GET", "POST", …
  std::string target;  // path and query, appended to base_url's prefix
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

struct client_response {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;  // names in lower case
  std::string body;

  // The first value of a header (any case), or empty.
  std::string header(std::string_view name) const;
};

// base_url split into its parts.
struct url_parts {
  bool tls = true;
  std::string host;  // without brackets for IPv6 literals
  std::uint16_t port = 443;
  std::string prefix;  // "" or "/something", never ending in '/'
};

// Parses https://host[:port][/prefix] (and http:// for loopback hosts). An error says what
// is wrong with the text.
expected<url_parts, std::string> parse_base_url(std::string_view url);

class client {
 public:
  // Throws std::invalid_argument on a bad base_url and std::runtime_error on an unreadable
  // CA file: both are configuration mistakes, better found at start-up.
  explicit client(client_options options);
  ~client();
  client(const client&) = delete;
  client& operator=(const client&) = delete;

  // Any HTTP status is a response; the error is a transport failure (DNS, connect, TLS,
  // timeout, reset), phrased for an operator. A request on a reused connection that fails
  // before any response byte (the server closed the idle connection) is retried once on a
  // fresh connection.
  expected<client_response, std::string> send(const client_request& request);

  // "host:port", for messages.
  const std::string& authority() const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace connector::http

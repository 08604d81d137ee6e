#pragma once
// A small synchronous HTTPS (or HTTP) client for tests: one keep-alive connection, real TLS
// verified against the test CA.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace connector::testing {

struct http_reply {
  int status = 0;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string header(const std::string& lower_case_name) const;
};

struct client_options {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
  bool tls = true;
  std::string ca_file;           // trust anchor for the server certificate
  std::string client_cert_file;  // mutual TLS
  std::string client_key_file;
  int max_tls_version = 0;  // e.g. TLS1_1_VERSION to test refusals; 0 = default
  int min_tls_version = 0;
  int timeout_ms = 30'000;
};

class https_client {
 public:
  explicit https_client(client_options options);
  ~https_client();
  https_client(https_client&&) noexcept;

  // Connects (and handshakes) now; throws std::runtime_error on failure.
  void connect();
  http_reply request(const std::string& method, const std::string& target,
                     const std::string& body = {},
                     const std::vector<std::pair<std::string, std::string>>& headers = {});
  http_reply get(const std::string& target,
                 const std::vector<std::pair<std::string, std::string>>& headers = {}) {
    return request("GET", target, {}, headers);
  }
  http_reply post_xml(const std::string& target, const std::string& body) {
    return request("POST", target, body,
                   {{"Content-Type", "text/xml; charset=UTF-8"}, {"SOAPAction", "\"\""}});
  }
  // Sends raw bytes over the (TLS) connection and reads what comes back until close or
  // timeout: for malformed requests.
  std::string raw_exchange(const std::string& bytes);
  void close();

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace connector::testing

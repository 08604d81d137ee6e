#include "support/sandbox_https_server.hpp"

#include <algorithm>
#include <chrono>

#include "support/test_certs.hpp"

namespace connector::testing {

sandbox_https_server::sandbox_https_server(const std::string& server_name,
                                           const sandbox_server_options& options,
                                           sandbox_routes routes)
    : routes_(std::move(routes)) {
  http::server_options server;
  server.host = options.host;
  server.port = options.port;
  server.server_name = server_name;
  server.body_limit_bytes = std::size_t{64} * 1024 * 1024;  // seeding many users at once
  http::tls_options tls;
  if (options.certificate_file.empty() && options.private_key_file.empty()) {
    const auto& certs = test_certs::get();
    tls.certificate_chain_file = certs.server_crt.string();
    tls.private_key_file = certs.server_key.string();
  } else {
    tls.certificate_chain_file = options.certificate_file;
    tls.private_key_file = options.private_key_file;
  }
  server.tls = tls;

  std::vector<http::route> http_routes;
  // Control routes first: the router takes the first route whose path and method match.
  for (const auto& method : routes_.control_methods) {
    http_routes.push_back(
        {method, "/_sandbox/*", [this](http::request&& req, const http::respond_fn& respond) {
           respond(routes_.control(std::move(req)));
         }});
  }
  for (const auto& method : routes_.sandbox_methods) {
    http_routes.push_back({method, "/*", [this](http::request&& req, http::respond_fn respond) {
                             serve(std::move(req), std::move(respond));
                           }});
  }
  server_ = std::make_unique<http::server>(std::move(server), std::move(http_routes));
  thread_ = std::thread([this, threads = options.threads] { server_->run(std::max(threads, 1)); });
}

sandbox_https_server::~sandbox_https_server() {
  stop();
}

void sandbox_https_server::stop() {
  std::call_once(stopped_, [this] {
    delayed_.flush();  // the server waits for in-flight requests: answer them now
    server_->stop();
    thread_.join();
  });
}

void sandbox_https_server::serve(http::request&& req, http::respond_fn respond) {
  const int latency = routes_.latency_ms(req);
  auto answer = routes_.sandbox(std::move(req));
  if (latency <= 0) {
    respond(std::move(answer));
    return;
  }
  delayed_.after(std::chrono::milliseconds(latency),
                 [respond = std::move(respond), answer = std::move(answer)]() mutable {
                   respond(std::move(answer));
                 });
}

std::uint16_t sandbox_https_server::port() const {
  return server_->port();
}

std::string sandbox_https_server::url_for(const std::string& host) const {
  const bool loopback = host == "127.0.0.1" || host == "localhost" || host == "0.0.0.0";
  std::string name = loopback ? "localhost" : host;
  if (name.find(':') != std::string::npos) name = "[" + name + "]";
  return "https://" + name + ":" + std::to_string(port());
}

http::server_counters sandbox_https_server::counters() const {
  return server_->counters();
}

}  // namespace connector::testing

#include "support/https_client.hpp"

#include <openssl/ssl.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <optional>
#include <stdexcept>

namespace connector::testing {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;

std::string http_reply::header(const std::string& lower_case_name) const {
  for (const auto& [name, value] : headers) {
    if (name == lower_case_name) return value;
  }
  return {};
}

struct https_client::impl {
  client_options options;
  asio::io_context ioc;
  asio::ssl::context ssl{asio::ssl::context::tls_client};
  std::optional<beast::ssl_stream<beast::tcp_stream>> tls_stream;
  std::optional<beast::tcp_stream> plain_stream;
  beast::flat_buffer buffer;

  explicit impl(client_options o) : options(std::move(o)) {
    if (!options.ca_file.empty()) ssl.load_verify_file(options.ca_file);
    ssl.set_verify_mode(asio::ssl::verify_peer);
    if (!options.client_cert_file.empty()) {
      ssl.use_certificate_chain_file(options.client_cert_file);
      ssl.use_private_key_file(options.client_key_file, asio::ssl::context::pem);
    }
    if (options.max_tls_version != 0) {
      SSL_CTX_set_security_level(ssl.native_handle(), 0);  // let old protocols be offered
      SSL_CTX_set_max_proto_version(ssl.native_handle(), options.max_tls_version);
    }
    if (options.min_tls_version != 0) {
      SSL_CTX_set_min_proto_version(ssl.native_handle(), options.min_tls_version);
    }
  }

  bool connected() const { return tls_stream.has_value() || plain_stream.has_value(); }

  void connect() {
    tcp::resolver resolver(ioc);
    const auto endpoints = resolver.resolve(options.host, std::to_string(options.port));
    if (options.tls) {
      tls_stream.emplace(ioc, ssl);
      auto& lowest = beast::get_lowest_layer(*tls_stream);
      lowest.expires_after(std::chrono::milliseconds(options.timeout_ms));
      lowest.connect(endpoints);
      SSL_set_tlsext_host_name(tls_stream->native_handle(), "localhost");
      tls_stream->set_verify_callback(asio::ssl::host_name_verification("localhost"));
      tls_stream->handshake(asio::ssl::stream_base::client);
    } else {
      plain_stream.emplace(ioc);
      plain_stream->expires_after(std::chrono::milliseconds(options.timeout_ms));
      plain_stream->connect(endpoints);
    }
    buffer.clear();
  }

  template <class F>
  auto with_stream(F&& f) {
    if (tls_stream) {
      beast::get_lowest_layer(*tls_stream)
          .expires_after(std::chrono::milliseconds(options.timeout_ms));
      return f(*tls_stream);
    }
    plain_stream->expires_after(std::chrono::milliseconds(options.timeout_ms));
    return f(*plain_stream);
  }

  void close() {
    beast::error_code ignored;
    if (tls_stream) {
      beast::get_lowest_layer(*tls_stream).expires_after(std::chrono::seconds(2));
      tls_stream->shutdown(ignored);
      beast::get_lowest_layer(*tls_stream).socket().close(ignored);
    }
    if (plain_stream) plain_stream->socket().close(ignored);
    tls_stream.reset();
    plain_stream.reset();
  }
};

https_client::https_client(client_options options)
    : impl_(std::make_unique<impl>(std::move(options))) {}
https_client::~https_client() {
  if (impl_) impl_->close();
}
https_client::https_client(https_client&&) noexcept = default;

void https_client::connect() {
  impl_->connect();
}
void https_client::close() {
  impl_->close();
}

http_reply https_client::request(const std::string& method, const std::string& target,
                                 const std::string& body,
                                 const std::vector<std::pair<std::string, std::string>>& headers) {
  if (!impl_->connected()) impl_->connect();
  bhttp::request<bhttp::string_body> req{bhttp::string_to_verb(method), target, 11};
  req.set(bhttp::field::host, impl_->options.host);
  for (const auto& [name, value] : headers) req.set(name, value);
  req.body() = body;
  req.prepare_payload();
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(64 * 1024 * 1024);
  impl_->with_stream([&](auto& stream) {
    bhttp::write(stream, req);
    bhttp::read(stream, impl_->buffer, parser);
    return 0;
  });
  auto res = parser.release();
  http_reply reply;
  reply.status = static_cast<int>(res.result_int());
  reply.body = std::move(res.body());
  for (const auto& field : res) {
    std::string name(field.name_string());
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    reply.headers.emplace_back(std::move(name), std::string(field.value()));
  }
  if (!res.keep_alive()) impl_->close();
  return reply;
}

std::string https_client::raw_exchange(const std::string& bytes) {
  if (!impl_->connected()) impl_->connect();
  std::string received;
  impl_->with_stream([&](auto& stream) {
    beast::error_code ec;
    asio::write(stream, asio::buffer(bytes), ec);
    if (ec) return 0;
    char chunk[4096];
    for (;;) {
      const auto n = stream.read_some(asio::buffer(chunk), ec);
      received.append(chunk, n);
      if (ec) break;
    }
    return 0;
  });
  impl_->close();
  return received;
}

}  // namespace connector::testing

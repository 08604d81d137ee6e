#include "connector/http/client.hpp"

#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>
#include <cctype>
#include <charconv>
#include <chrono>
#include <mutex>
#include <stdexcept>

#include "connector/text/ascii.hpp"
#include "tls_context.hpp"

namespace connector::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;
using std::chrono::milliseconds;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

constexpr std::size_t response_body_limit = std::size_t{64} * 1024 * 1024;
// Every operation but name resolution carries its own deadline on the stream; run_for gets
// this much extra so that those deadlines, not the backstop, report a timeout.
constexpr milliseconds backstop_slack{250};

bool is_ip_literal(const std::string& host) {
  beast::error_code ec;
  asio::ip::make_address(host, ec);
  return !ec;
}

bool is_loopback_host(const std::string& host) {
  if (text::ascii_lower(host) == "localhost") return true;
  beast::error_code ec;
  const auto address = asio::ip::make_address(host, ec);
  return !ec && address.is_loopback();
}

// The peer went away before answering: what a server's idle-connection close looks like
// to the next request on that connection.
bool closed_by_peer(const beast::error_code& ec) {
  return ec == asio::error::eof || ec == bhttp::error::end_of_stream ||
         ec == asio::error::connection_reset || ec == asio::error::connection_aborted ||
         ec == asio::error::broken_pipe || ec == asio::ssl::error::stream_truncated;
}

// One pooled connection. It owns its io_context so that a synchronous caller can drive
// async operations (the only ones tcp_stream puts deadlines on) with run_for.
struct connection {
  asio::io_context ioc{1};  // first member: destroyed after the streams that use it
  tcp::resolver resolver{ioc};
  std::optional<beast::ssl_stream<beast::tcp_stream>> tls;
  std::optional<beast::tcp_stream> plain;
  beast::flat_buffer buffer;

  bool is_open() const { return tls.has_value() || plain.has_value(); }
  beast::tcp_stream& lowest() { return tls ? beast::get_lowest_layer(*tls) : *plain; }
  void abort() {
    resolver.cancel();
    beast::error_code ignored;
    if (is_open()) lowest().socket().close(ignored);
  }
};

// Runs `op` on the connection's own io_context for at most `limit`. nullopt when the limit
// passed first; the operation is then cancelled and drained before returning.
template <class T>
std::optional<T> run_for(connection& c, asio::awaitable<T> op, milliseconds limit) {
  std::optional<T> out;
  std::exception_ptr failure;
  asio::co_spawn(c.ioc, std::move(op), [&out, &failure](const std::exception_ptr& e, T value) {
    failure = e;
    if (!e) out = std::move(value);
  });
  c.ioc.restart();
  c.ioc.run_for(limit);
  if (!out && !failure) {
    c.abort();
    c.ioc.restart();
    c.ioc.run();  // the coroutine ends with operation_aborted
    if (failure) std::rethrow_exception(failure);
    return std::nullopt;
  }
  if (failure) std::rethrow_exception(failure);
  return out;
}

struct open_outcome {
  beast::error_code ec;
  const char* stage = "";  // "resolve", "connect", "handshake"
};

struct exchange_outcome {
  beast::error_code ec;
  bool got_some = false;  // some response bytes arrived before the error
  std::optional<bhttp::response<bhttp::string_body>> response;
};

}  // namespace

std::string client_response::header(std::string_view name) const {
  const std::string wanted = text::ascii_lower(name);
  for (const auto& [key, value] : headers) {
    if (key == wanted) return value;
  }
  return {};
}

expected<url_parts, std::string> parse_base_url(std::string_view text) {
  constexpr std::string_view expected_form = "expected https://host[:port][/prefix]";
  const auto parsed = boost::urls::parse_absolute_uri(text);  // refuses a fragment
  // Boost.URL 1.81 reads "https://host:44x" as port 44 and path "x": a path must start at '/'.
  if (!parsed || !parsed->has_authority() ||
      (!parsed->encoded_path().empty() && !parsed->encoded_path().starts_with('/')))
    return unexpected{std::string(expected_form)};
  const boost::urls::url_view& url = *parsed;
  url_parts out;
  if (url.scheme_id() == boost::urls::scheme::https) {
    out.tls = true;
    out.port = 443;
  } else if (url.scheme_id() == boost::urls::scheme::http) {
    out.tls = false;
    out.port = 80;
  } else {
    return unexpected{"unsupported scheme '" + text::ascii_lower(url.scheme()) +
                      "' (expected https)"};
  }
  if (url.has_query()) return unexpected{std::string("a base URL takes no query or fragment")};
  if (url.has_userinfo()) return unexpected{std::string("credentials do not belong in the URL")};
  out.host = url.host_address();  // IPv6 without brackets, %XX decoded
  if (out.host.empty()) return unexpected{std::string("missing host")};
  if (url.has_port()) {
    if (url.port().empty()) return unexpected{std::string("empty port")};
    if (url.port_number() == 0) return unexpected{"invalid port '" + std::string(url.port()) + "'"};
    out.port = url.port_number();
  }
  // Plain HTTP would carry secrets in the clear: only towards this machine.
  if (!out.tls && !is_loopback_host(out.host)) {
    return unexpected{"plain http:// is allowed only towards a loopback host, not '" + out.host +
                      "'"};
  }
  std::string_view path = url.encoded_path();
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  out.prefix = std::string(path);
  return out;
}

struct client::impl {
  client_options options_;
  url_parts url_;
  std::string authority_;    // host:port, for messages
  std::string host_header_;  // host[:port] as the Host header wants it
  std::optional<asio::ssl::context> ssl_;

  std::mutex mutex_;
  std::vector<std::unique_ptr<connection>> idle_;  // most recently used last

  explicit impl(client_options options) : options_(std::move(options)) {
    auto parsed = parse_base_url(options_.base_url);
    if (!parsed) {
      throw std::invalid_argument("invalid base URL '" + options_.base_url +
                                  "': " + parsed.error());
    }
    url_ = std::move(*parsed);
    const std::string bracketed =
        url_.host.find(':') != std::string::npos ? "[" + url_.host + "]" : url_.host;
    authority_ = bracketed + ":" + std::to_string(url_.port);
    const bool default_port = url_.port == (url_.tls ? 443 : 80);
    host_header_ = default_port ? bracketed : authority_;
    if (url_.tls) {
      ssl_.emplace(make_client_tls_context(options_.ca_file ? &*options_.ca_file : nullptr));
    }
  }

  std::unique_ptr<connection> acquire() {
    {
      std::lock_guard lock(mutex_);
      if (!idle_.empty()) {
        auto c = std::move(idle_.back());
        idle_.pop_back();
        return c;
      }
    }
    return std::make_unique<connection>();
  }

  void release(std::unique_ptr<connection> c) {
    std::lock_guard lock(mutex_);
    if (idle_.size() < options_.max_idle_connections) idle_.push_back(std::move(c));
  }

  // Resolve, connect and (for https) handshake, all within connect_timeout_ms.
  asio::awaitable<open_outcome> open(connection& c) {
    const auto deadline =
        std::chrono::steady_clock::now() + milliseconds(options_.connect_timeout_ms);
    auto [resolve_ec, endpoints] =
        co_await c.resolver.async_resolve(url_.host, std::to_string(url_.port), use_tuple);
    if (resolve_ec) co_return open_outcome{resolve_ec, "resolve"};

    if (!ssl_) {
      c.plain.emplace(c.ioc);
      c.plain->expires_at(deadline);
      auto [connect_ec, endpoint] = co_await c.plain->async_connect(endpoints, use_tuple);
      if (connect_ec) co_return open_outcome{connect_ec, "connect"};
      c.plain->socket().set_option(tcp::no_delay(true), connect_ec);
      co_return open_outcome{};
    }

    c.tls.emplace(c.ioc, *ssl_);
    auto& lowest = beast::get_lowest_layer(*c.tls);
    lowest.expires_at(deadline);
    auto [connect_ec, endpoint] = co_await lowest.async_connect(endpoints, use_tuple);
    if (connect_ec) co_return open_outcome{connect_ec, "connect"};
    lowest.socket().set_option(tcp::no_delay(true), connect_ec);

    SSL* ssl = c.tls->native_handle();
    if (is_ip_literal(url_.host)) {
      // No SNI for addresses (RFC 6066); the certificate must name the IP.
      X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), url_.host.c_str());
    } else {
      SSL_set_tlsext_host_name(ssl, url_.host.c_str());
      // OpenSSL's own check too, so a mismatch reports "hostname mismatch".
      SSL_set1_host(ssl, url_.host.c_str());
    }
    c.tls->set_verify_callback(asio::ssl::host_name_verification(url_.host));
    auto [handshake_ec] =
        co_await c.tls->async_handshake(asio::ssl::stream_base::client, use_tuple);
    if (handshake_ec) co_return open_outcome{handshake_ec, "handshake"};
    co_return open_outcome{};
  }

  template <class Stream>
  asio::awaitable<exchange_outcome> exchange(Stream& stream, connection& c,
                                             const bhttp::request<bhttp::string_body>& request) {
    beast::get_lowest_layer(stream).expires_after(milliseconds(options_.request_timeout_ms));
    auto [write_ec, written] = co_await bhttp::async_write(stream, request, use_tuple);
    if (write_ec) co_return exchange_outcome{write_ec, false, std::nullopt};

    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(response_body_limit);
    if (request.method() == bhttp::verb::head) parser.skip(true);
    auto [read_ec, read] = co_await bhttp::async_read(stream, c.buffer, parser, use_tuple);
    if (read_ec) co_return exchange_outcome{read_ec, parser.got_some(), std::nullopt};
    co_return exchange_outcome{{}, true, parser.release()};
  }

  asio::awaitable<exchange_outcome> exchange(connection& c,
                                             const bhttp::request<bhttp::string_body>& request) {
    if (c.tls) co_return co_await exchange(*c.tls, c, request);
    co_return co_await exchange(*c.plain, c, request);
  }

  std::string open_error(connection& c, const open_outcome& outcome) const {
    const std::string stage = outcome.stage;
    const auto& ec = outcome.ec;
    if (stage == "resolve") return "cannot resolve " + url_.host + ": " + ec.message();
    if (ec == beast::error::timeout) {
      return (stage == "connect" ? "connect to " : "TLS handshake with ") + authority_ +
             " timed out after " + std::to_string(options_.connect_timeout_ms) + " ms";
    }
    if (stage == "connect") return "connect to " + authority_ + " failed: " + ec.message();
    std::string text = "TLS handshake with " + authority_ + " failed: ";
    const long verify = c.tls ? SSL_get_verify_result(c.tls->native_handle()) : X509_V_OK;
    if (verify != X509_V_OK) {
      return text + "certificate verify failed: " + X509_verify_cert_error_string(verify);
    }
    return text + ec.message();
  }

  std::string exchange_error(const bhttp::request<bhttp::string_body>& request,
                             const exchange_outcome& outcome) const {
    // Method and path only: queries may carry logins and e-mail addresses.
    const std::string target(request.target());
    const std::string what = std::string(request.method_string()) + " " +
                             target.substr(0, target.find('?')) + " to " + authority_;
    const auto& ec = outcome.ec;
    if (ec == beast::error::timeout) {
      return what + " timed out after " + std::to_string(options_.request_timeout_ms) + " ms";
    }
    if (ec == bhttp::error::body_limit) return what + ": response body larger than 64 MiB";
    if (closed_by_peer(ec) && !outcome.got_some) {
      return what + " failed: the server closed the connection without answering";
    }
    return what + " failed: " + ec.message();
  }

  bhttp::request<bhttp::string_body> build(const client_request& in) const {
    bhttp::request<bhttp::string_body> out;
    const auto verb = bhttp::string_to_verb(in.method);
    if (verb == bhttp::verb::unknown) {
      out.method_string(in.method);
    } else {
      out.method(verb);
    }
    std::string target = in.target;
    if (target.empty() || target.front() != '/') target.insert(target.begin(), '/');
    out.target(url_.prefix + target);
    out.version(11);
    out.set(bhttp::field::host, host_header_);
    out.set(bhttp::field::user_agent, options_.user_agent);
    for (const auto& [name, value] : in.headers) out.set(name, value);
    out.body() = in.body;
    out.keep_alive(true);
    out.prepare_payload();
    return out;
  }
};

client::client(client_options options) : impl_(std::make_unique<impl>(std::move(options))) {}

client::~client() = default;

const std::string& client::authority() const {
  return impl_->authority_;
}

expected<client_response, std::string> client::send(const client_request& request) {
  const auto message = impl_->build(request);
  const milliseconds connect_limit{impl_->options_.connect_timeout_ms};
  const milliseconds request_limit{impl_->options_.request_timeout_ms};

  for (int attempt = 0;; ++attempt) {
    auto c = attempt == 0 ? impl_->acquire() : std::make_unique<connection>();
    const bool reused = c->is_open();
    if (!reused) {
      const auto opened = run_for(*c, impl_->open(*c), connect_limit + backstop_slack);
      if (!opened) {
        return unexpected{"connect to " + impl_->authority_ + " timed out after " +
                          std::to_string(connect_limit.count()) + " ms"};
      }
      if (opened->ec) return unexpected{impl_->open_error(*c, *opened)};
    }

    auto outcome = run_for(*c, impl_->exchange(*c, message), request_limit + backstop_slack);
    if (!outcome) outcome = exchange_outcome{beast::error::timeout, false, std::nullopt};
    if (outcome->response) {
      auto& response = *outcome->response;
      client_response out;
      out.status = static_cast<int>(response.result_int());
      out.headers.reserve(16);
      for (const auto& field : response) {
        out.headers.emplace_back(text::ascii_lower(field.name_string()),
                                 std::string(field.value()));
      }
      out.body = std::move(response.body());
      if (response.keep_alive()) impl_->release(std::move(c));
      return out;
    }
    // A kept-alive connection the server closed while it sat idle: the request never got
    // there, so one more try on a fresh connection is what every HTTP client does.
    if (reused && attempt == 0 && !outcome->got_some && closed_by_peer(outcome->ec)) continue;
    return unexpected{impl_->exchange_error(message, *outcome)};
  }
}

}  // namespace connector::http

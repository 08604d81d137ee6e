#include "connector/http/server.hpp"

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <unordered_map>

#include "connector/log.hpp"
#include "connector/text/ascii.hpp"
#include "network.hpp"
#include "tls_context.hpp"

namespace connector::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// Errors that end a connection in the ordinary way and are not worth a warning.
bool is_benign(const beast::error_code& ec) {
  return ec == asio::error::operation_aborted || ec == asio::error::eof ||
         ec == asio::error::connection_reset || ec == asio::error::broken_pipe ||
         ec == bhttp::error::end_of_stream || ec == asio::ssl::error::stream_truncated ||
         ec == beast::error::timeout;
}

// Awaits a handler that answers through a callback, possibly from another thread (the
// intake answers from the store's writer thread). The answer resumes the coroutine on its
// own executor.
template <class Token>
auto async_handle(const handler_fn& handler, request req, Token&& token) {
  return asio::async_initiate<Token, void(response)>(
      [&handler](auto completion, request req) {
        auto executor = asio::get_associated_executor(completion);
        auto shared = std::make_shared<decltype(completion)>(std::move(completion));
        handler(std::move(req), [shared, executor](response answer) {
          asio::post(executor, [shared, answer = std::move(answer)]() mutable {
            (*shared)(std::move(answer));
          });
        });
      },
      token, std::move(req));
}

request to_request(bhttp::request<bhttp::string_body>&& in, const std::string& remote) {
  request out;
  out.method = std::string(in.method_string());
  out.target = std::string(in.target());
  const auto question = out.target.find('?');
  out.path = out.target.substr(0, question);
  if (question != std::string::npos) out.query = out.target.substr(question + 1);
  out.headers.reserve(16);
  for (const auto& field : in) {
    out.headers.emplace_back(text::ascii_lower(field.name_string()), std::string(field.value()));
  }
  out.body = std::move(in.body());
  out.remote_address = remote;
  out.version = static_cast<int>(in.version());
  return out;
}

bhttp::response<bhttp::string_body> to_beast(response&& in, int version, bool keep_alive,
                                             const std::string& server_name) {
  bhttp::response<bhttp::string_body> out{static_cast<bhttp::status>(in.status), version};
  out.set(bhttp::field::server, server_name);
  out.set(bhttp::field::content_type, in.content_type);
  for (auto& [name, value] : in.headers) out.set(name, value);
  out.body() = std::move(in.body);
  out.keep_alive(keep_alive);
  out.prepare_payload();
  return out;
}

}  // namespace

const char* to_string(connection_refusal why) {
  switch (why) {
    case connection_refusal::not_allowed:
      return "not_allowed";
    case connection_refusal::per_address_cap:
      return "per_address_cap";
    case connection_refusal::server_full:
      return "server_full";
  }
  return "refused";
}

struct server::impl {
  server_options options_;
  std::vector<route> routes_;
  refusal_observer on_refused_;
  std::vector<network> allowed_;
  asio::io_context ioc_;
  std::optional<asio::ssl::context> ssl_;
  // On a strand of its own: stop() closes it from another thread while an accept is
  // pending.
  tcp::acceptor acceptor_{asio::make_strand(ioc_)};
  std::atomic<bool> stopping_{false};
  std::atomic<std::size_t> active_connections_{0};

  // Sessions waiting for a next request register how to close themselves, so stop() ends
  // idle keep-alive connections at once instead of waiting for their idle timeout.
  std::mutex idle_mutex_;
  std::uint64_t next_session_id_ = 0;
  std::unordered_map<std::uint64_t, std::function<void()>> idle_closers_;

  // Open connections per client address, for max_connections_per_address.
  std::mutex per_address_mutex_;
  std::unordered_map<std::string, std::size_t> per_address_;

  std::atomic<std::uint64_t> accepted_{0}, refused_{0}, refused_per_address_{0}, requests_{0},
      handshake_failures_{0}, timeouts_{0};

  impl(server_options options, std::vector<route> routes, refusal_observer on_refused)
      : options_(std::move(options)),
        routes_(std::move(routes)),
        on_refused_(std::move(on_refused)) {
    for (const auto& cidr : options_.allowed_networks) {
      auto parsed = parse_network(cidr);
      if (!parsed) throw std::runtime_error("invalid network in allowlist: " + cidr);
      allowed_.push_back(*parsed);
    }
    if (options_.tls) ssl_.emplace(make_server_tls_context(*options_.tls));

    beast::error_code ec;
    const auto address = asio::ip::make_address(
        options_.host == "localhost" ? std::string("127.0.0.1") : options_.host, ec);
    if (ec) throw std::runtime_error("invalid listen address '" + options_.host + "'");
    const tcp::endpoint endpoint{address, options_.port};
    acceptor_.open(endpoint.protocol());
    acceptor_.set_option(asio::socket_base::reuse_address(true));
    acceptor_.bind(endpoint, ec);
    if (ec) {
      throw std::runtime_error("cannot listen on " + options_.host + ":" +
                               std::to_string(options_.port) + ": " + ec.message());
    }
    acceptor_.listen(asio::socket_base::max_listen_connections);
  }

  const route* find_route(const request& req, bool& path_known) const {
    path_known = false;
    for (const auto& r : routes_) {
      const bool prefix = !r.path.empty() && r.path.back() == '*';
      const bool matches =
          prefix ? req.path.compare(0, r.path.size() - 1, r.path, 0, r.path.size() - 1) == 0
                 : req.path == r.path;
      if (!matches) continue;
      path_known = true;
      if (r.method == req.method) return &r;
    }
    return nullptr;
  }

  asio::awaitable<response> dispatch(request req) {
    bool path_known = false;
    const route* r = find_route(req, path_known);
    if (r == nullptr) {
      co_return path_known ? response::text(405, "Method Not Allowed\n")
                           : response::text(404, "Not Found\n");
    }
    co_return co_await async_handle(r->handler, std::move(req), asio::use_awaitable);
  }

  template <class Stream>
  asio::awaitable<beast::error_code> write(Stream& stream, response&& answer, int version,
                                           bool keep_alive) {
    auto message = to_beast(std::move(answer), version, keep_alive, options_.server_name);
    beast::get_lowest_layer(stream).expires_after(
        std::chrono::milliseconds(options_.write_timeout_ms));
    auto [ec, written] = co_await bhttp::async_write(stream, message, use_tuple);
    co_return ec;
  }

  std::uint64_t register_idle(std::function<void()> closer) {
    std::lock_guard lock(idle_mutex_);
    const auto id = ++next_session_id_;
    idle_closers_.emplace(id, std::move(closer));
    return id;
  }
  void unregister_idle(std::uint64_t id) {
    std::lock_guard lock(idle_mutex_);
    idle_closers_.erase(id);
  }

  // Reads and answers requests until the peer closes, a limit or timeout is hit, or the
  // server stops. Only I/O here: what to answer is the route handler's business.
  template <class Stream>
  asio::awaitable<void> serve_requests(Stream& stream, const std::string& remote) {
    auto& lowest = beast::get_lowest_layer(stream);
    beast::flat_buffer buffer;
    for (;;) {
      if (stopping_) co_return;
      if (buffer.size() == 0) {
        // Waiting for the next request on a kept-alive connection.
        lowest.expires_after(std::chrono::milliseconds(options_.idle_timeout_ms));
        // stop() cancels the read from another thread by posting to this connection's strand.
        // That post may run after the read has ended and the stream is gone (the peer closed
        // at the same moment): `reading`, set and read only on the strand, tells it not to
        // touch the stream then. (A late cancel on a destroyed stream crashed the RestClient
        // tests under load.)
        auto executor = co_await asio::this_coro::executor;
        auto reading = std::make_shared<bool>(true);
        const auto idle_id = register_idle([&lowest, executor, reading] {
          asio::post(executor, [&lowest, reading] {
            if (*reading) lowest.cancel();
          });
        });
        auto [ec, n] = co_await stream.async_read_some(buffer.prepare(16 * 1024), use_tuple);
        *reading = false;
        unregister_idle(idle_id);
        if (ec) {
          if (ec == beast::error::timeout) ++timeouts_;
          co_return;
        }
        buffer.commit(n);
      }

      bhttp::request_parser<bhttp::string_body> parser;
      parser.body_limit(options_.body_limit_bytes);
      parser.header_limit(static_cast<std::uint32_t>(options_.header_limit_bytes));
      lowest.expires_after(std::chrono::milliseconds(options_.read_timeout_ms));
      auto [ec, n] = co_await bhttp::async_read(stream, buffer, parser, use_tuple);
      if (ec) {
        if (ec == beast::error::timeout) {
          ++timeouts_;  // the stream is closed by now: nothing can be answered
          co_return;
        }
        if (ec == bhttp::error::end_of_stream || is_benign(ec)) co_return;
        response refusal;
        if (ec == bhttp::error::body_limit) {
          refusal = response::text(413, "Request body larger than " +
                                            std::to_string(options_.body_limit_bytes) + " bytes\n");
        } else if (ec == bhttp::error::header_limit) {
          refusal = response::text(431, "Request header fields too large\n");
        } else {
          refusal = response::text(400, "Bad request: " + ec.message() + "\n");
        }
        co_await write(stream, std::move(refusal), 11, false);
        co_return;
      }

      ++requests_;
      auto beast_request = parser.release();
      const bool wants_keep_alive = beast_request.keep_alive();
      const int version = static_cast<int>(beast_request.version());
      auto answer = co_await dispatch(to_request(std::move(beast_request), remote));
      const bool keep_alive = wants_keep_alive && !answer.close && !stopping_;
      const auto write_ec = co_await write(stream, std::move(answer), version, keep_alive);
      if (write_ec || !keep_alive) co_return;
    }
  }

  bool allowed(const tcp::endpoint& peer) const {
    if (allowed_.empty()) return true;
    for (const auto& net : allowed_) {
      if (net.contains(peer.address())) return true;
    }
    return false;
  }

  void refused(connection_refusal why) {
    ++refused_;
    if (why == connection_refusal::per_address_cap) ++refused_per_address_;
    if (on_refused_) on_refused_(why);
  }

  // Takes one of the address's slots; false (and nothing taken) when it holds them all.
  bool take_address_slot(const std::string& address) {
    std::lock_guard lock(per_address_mutex_);
    auto& count = per_address_[address];
    if (count >= options_.max_connections_per_address) return false;
    ++count;
    return true;
  }
  void release_address_slot(const std::string& address) {
    std::lock_guard lock(per_address_mutex_);
    const auto it = per_address_.find(address);
    if (it != per_address_.end() && --it->second == 0) per_address_.erase(it);
  }

  asio::awaitable<void> session(tcp::socket socket) {
    beast::error_code ignored;
    const auto peer = socket.remote_endpoint(ignored);
    const std::string remote = peer.address().to_string();
    struct connection_slot {
      std::atomic<std::size_t>& count;
      ~connection_slot() { --count; }
    } slot{active_connections_};
    const bool over_limit = ++active_connections_ > options_.max_connections;
    if (!allowed(peer)) {
      refused(connection_refusal::not_allowed);
      co_return;  // the socket closes: not a Salesforce address we accept
    }
    // One host must not hold every slot: closed before the handshake costs us anything.
    struct address_slot {
      impl* owner = nullptr;
      std::string address;
      ~address_slot() {
        if (owner) owner->release_address_slot(address);
      }
    } per_address;
    if (options_.max_connections_per_address > 0) {
      if (!take_address_slot(remote)) {
        refused(connection_refusal::per_address_cap);
        log::debug("http.connection_refused", "refused a connection from {}: it holds {} already",
                   remote, options_.max_connections_per_address);
        co_return;
      }
      // Set in place: a temporary slot would release the address when destroyed.
      per_address.address = remote;
      per_address.owner = this;
    }
    ++accepted_;

    beast::tcp_stream tcp_stream(std::move(socket));
    if (!ssl_) {
      if (over_limit) {
        refused(connection_refusal::server_full);
        co_await write(tcp_stream, response::text(503, "Too many connections\n"), 11, false);
      } else {
        co_await serve_requests(tcp_stream, remote);
      }
      tcp_stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
      co_return;
    }

    beast::ssl_stream<beast::tcp_stream> stream(std::move(tcp_stream), *ssl_);
    stream.set_verify_callback(
        [this](bool preverified, asio::ssl::verify_context& ctx) {
          return verify_client_certificate(preverified, ctx.native_handle(), *options_.tls);
        },
        ignored);
    beast::get_lowest_layer(stream).expires_after(
        std::chrono::milliseconds(options_.handshake_timeout_ms));
    auto [ec] = co_await stream.async_handshake(asio::ssl::stream_base::server, use_tuple);
    if (ec) {
      ++handshake_failures_;
      log::debug("http.tls_failed", "TLS handshake with {} failed: {}", remote, ec.message());
      co_return;
    }
    if (over_limit) {
      refused(connection_refusal::server_full);
      co_await write(stream, response::text(503, "Too many connections\n"), 11, false);
    } else {
      co_await serve_requests(stream, remote);
    }
    if (stopping_) {
      // Shutting down: do not wait for the peer's close_notify.
      beast::get_lowest_layer(stream).socket().shutdown(tcp::socket::shutdown_both, ignored);
      co_return;
    }
    beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(2));
    co_await stream.async_shutdown(use_tuple);
  }

  asio::awaitable<void> accept_loop() {
    for (;;) {
      auto [ec, socket] = co_await acceptor_.async_accept(asio::make_strand(ioc_), use_tuple);
      if (stopping_) co_return;
      if (ec) {
        log::warn("http.accept_failed", "accept failed: {}", ec.message());
        if (ec == asio::error::no_descriptors) {
          // Out of file descriptors: pause briefly so the loop does not spin.
          asio::steady_timer pause(ioc_, std::chrono::milliseconds(50));
          co_await pause.async_wait(use_tuple);
        }
        continue;
      }
      socket.set_option(tcp::no_delay(true), ec);
      auto executor = socket.get_executor();
      asio::co_spawn(executor, session(std::move(socket)), [](std::exception_ptr error) {
        if (!error) return;
        try {
          std::rethrow_exception(error);
        } catch (const std::exception& e) {
          log::error("http.connection_failed", "connection failed: {}", e.what());
        }
      });
    }
  }

  void stop() {
    if (stopping_.exchange(true)) return;
    asio::post(acceptor_.get_executor(), [this] {
      beast::error_code ignored;
      acceptor_.close(ignored);
    });
    std::lock_guard lock(idle_mutex_);
    for (auto& [id, closer] : idle_closers_) closer();
  }
};

server::server(server_options options, std::vector<route> routes, refusal_observer on_refused)
    : impl_(std::make_unique<impl>(std::move(options), std::move(routes), std::move(on_refused))) {}

server::~server() = default;

std::uint16_t server::port() const {
  return impl_->acceptor_.local_endpoint().port();
}

void server::run(int threads) {
  asio::co_spawn(impl_->acceptor_.get_executor(), impl_->accept_loop(), asio::detached);
  if (threads < 1) threads = 1;
  std::vector<std::thread> pool;
  pool.reserve(static_cast<std::size_t>(threads - 1));
  for (int i = 1; i < threads; ++i) pool.emplace_back([this] { impl_->ioc_.run(); });
  impl_->ioc_.run();
  for (auto& t : pool) t.join();
}

void server::stop() {
  impl_->stop();
}

server_counters server::counters() const {
  return {impl_->accepted_.load(),
          impl_->refused_.load(),
          impl_->refused_per_address_.load(),
          impl_->requests_.load(),
          impl_->handshake_failures_.load(),
          impl_->timeouts_.load()};
}

}  // namespace connector::http

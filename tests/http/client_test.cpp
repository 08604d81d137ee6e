// The pooled HTTPS client against our own server over real TLS on loopback: round trips,
// keep-alive reuse, certificate and hostname verification, timeouts and refused connects,
// each failure phrased for an operator.
#include "connector/http/client.hpp"

#include <atomic>
#include <chrono>
#include <future>
#include <mutex>
#include <thread>

#include <gtest/gtest.h>

#include "connector/http/server.hpp"
#include "support/process.hpp"
#include "support/service.hpp"

namespace connector::http {
namespace {

using connector::testing::temp_dir;
using connector::testing::test_certs;

// gmock is not linked; a readable substring check instead of HasSubstr.
::testing::AssertionResult contains(const std::string& text, const std::string& part) {
  if (text.find(part) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "'" << text << "' does not contain '" << part << "'";
}

tls_options test_tls() {
  const auto& certs = test_certs::get();
  return tls_options{certs.server_crt.string(), certs.server_key.string(), std::nullopt, {}};
}

// An http::server on 127.0.0.1, port 0, running on two threads until destroyed.
class running_server {
 public:
  running_server(std::vector<route> routes, std::optional<tls_options> tls = test_tls(),
                 int idle_timeout_ms = 60'000) {
    server_options options;
    options.tls = std::move(tls);
    options.idle_timeout_ms = idle_timeout_ms;
    server_ = std::make_unique<server>(std::move(options), std::move(routes));
    thread_ = std::thread([this] { server_->run(2); });
  }
  ~running_server() {
    server_->stop();
    thread_.join();
  }
  std::uint16_t port() const { return server_->port(); }
  server_counters counters() const { return server_->counters(); }

 private:
  std::unique_ptr<server> server_;
  std::thread thread_;
};

class HttpClient : public ::testing::Test {
 public:
  // Lets /api/slow answer (the fixture does at the end in any case).
  void release_late_replies() {
    std::call_once(released_once_, [this] { release_.set_value(); });
  }

 protected:
  ~HttpClient() override {
    // Late answers first: the server waits for them before it stops.
    release_late_replies();
    std::lock_guard lock(late_mutex_);
    for (auto& t : late_replies_) t.join();
  }

  std::vector<route> routes() {
    return {
        {"GET", "/api/hello",
         [](request&& req, respond_fn respond) {
           auto answer = response::text(200, "hello " + req.query);
           answer.headers.emplace_back("X-Reply", "yes");
           respond(std::move(answer));
         }},
        {"POST", "/api/echo",
         [](request&& req, respond_fn respond) {
           auto answer = response::json(201, req.body);
           answer.headers.emplace_back("X-Seen-Content-Type",
                                       std::string(req.header("content-type")));
           answer.headers.emplace_back("X-Seen-Host", std::string(req.header("host")));
           answer.headers.emplace_back("X-Seen-Agent", std::string(req.header("user-agent")));
           answer.headers.emplace_back("X-Seen-Target", req.target);
           respond(std::move(answer));
         }},
        // Answers once the test releases it, from another thread, without holding a server
        // thread: a client that returns before then did not wait for the answer, however slow
        // the machine is.
        {"GET", "/api/slow",
         [this](request&&, respond_fn respond) {
           std::lock_guard lock(late_mutex_);
           late_replies_.emplace_back([this, respond] {
             // A client that ignores its timeout gets the answer after 30 s, and fails.
             released_.wait_for(std::chrono::seconds(30));
             answered_ = true;
             respond(response::text(200, "late\n"));
           });
         }},
    };
  }

  static client_options options_for(std::uint16_t port, const std::string& host = "localhost") {
    client_options o;
    o.base_url = "https://" + host + ":" + std::to_string(port) + "/api";
    o.ca_file = test_certs::get().ca_crt.string();
    return o;
  }

  std::mutex late_mutex_;
  std::vector<std::thread> late_replies_;
  std::promise<void> release_;
  std::shared_future<void> released_ = release_.get_future().share();
  std::once_flag released_once_;
  std::atomic<bool> answered_{false};
};

TEST_F(HttpClient, GetAndPostRoundTripOverTls) {
  running_server srv(routes());
  client c(options_for(srv.port()));

  const auto got = c.send({"GET", "/hello?name=ada", {}, {}});
  ASSERT_TRUE(got) << got.error();
  EXPECT_EQ(got->status, 200);
  EXPECT_EQ(got->body, "hello name=ada");
  EXPECT_EQ(got->header("X-Reply"), "yes");  // any case in, lower case stored
  EXPECT_EQ(got->header("x-reply"), "yes");
  bool all_lower = true;
  for (const auto& [name, value] : got->headers) {
    for (const char ch : name) all_lower = all_lower && !(ch >= 'A' && ch <= 'Z');
  }
  EXPECT_TRUE(all_lower);

  const auto posted =
      c.send({"POST", "/echo", {{"Content-Type", "application/json"}}, R"({"a":1})"});
  ASSERT_TRUE(posted) << posted.error();
  EXPECT_EQ(posted->status, 201);
  EXPECT_EQ(posted->body, R"({"a":1})");
  EXPECT_EQ(posted->header("x-seen-content-type"), "application/json");
  EXPECT_EQ(posted->header("x-seen-host"), "localhost:" + std::to_string(srv.port()));
  EXPECT_EQ(posted->header("x-seen-agent"), "connector/0.1");
  EXPECT_EQ(posted->header("x-seen-target"), "/api/echo");
}

TEST_F(HttpClient, UnknownPathIsAResponseNotAnError) {
  running_server srv(routes());
  client c(options_for(srv.port()));
  const auto got = c.send({"GET", "/nowhere", {}, {}});
  ASSERT_TRUE(got) << got.error();
  EXPECT_EQ(got->status, 404);
}

TEST_F(HttpClient, KeepAliveReusesOneConnection) {
  running_server srv(routes());
  client c(options_for(srv.port()));
  for (int i = 0; i < 3; ++i) {
    const auto got = c.send({"GET", "/hello", {}, {}});
    ASSERT_TRUE(got) << got.error();
    EXPECT_EQ(got->status, 200);
  }
  EXPECT_EQ(srv.counters().connections_accepted, 1u);
  EXPECT_EQ(srv.counters().requests, 3u);
}

TEST_F(HttpClient, ConcurrentCallersShareThePool) {
  running_server srv(routes());
  client c(options_for(srv.port()));
  std::atomic<int> ok{0};
  std::vector<std::thread> callers;
  for (int t = 0; t < 4; ++t) {
    callers.emplace_back([&c, &ok, t] {
      for (int i = 0; i < 10; ++i) {
        const std::string body = std::to_string(t) + "/" + std::to_string(i);
        const auto got = c.send({"POST", "/echo", {}, body});
        if (got && got->status == 201 && got->body == body) ++ok;
      }
    });
  }
  for (auto& t : callers) t.join();
  EXPECT_EQ(ok.load(), 40);
  // Never more connections than callers at once, all of them kept for reuse.
  EXPECT_LE(srv.counters().connections_accepted, 4u);
}

TEST_F(HttpClient, RetriesOnceWhenTheServerClosedAnIdleConnection) {
  running_server srv(routes(), test_tls(), /*idle_timeout_ms=*/100);
  client c(options_for(srv.port()));
  ASSERT_TRUE(c.send({"GET", "/hello", {}, {}}));
  // Wait for the server to drop the pooled connection (its idle timeout), not for a time.
  for (int i = 0; i < 500 && srv.counters().timeouts == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_EQ(srv.counters().timeouts, 1u);

  const auto got = c.send({"POST", "/echo", {}, "again"});
  ASSERT_TRUE(got) << got.error();
  EXPECT_EQ(got->body, "again");
  EXPECT_EQ(srv.counters().connections_accepted, 2u);
  EXPECT_EQ(srv.counters().requests, 2u);  // the stale attempt never reached the server
}

TEST_F(HttpClient, UnknownCertificateAuthorityIsRefused) {
  running_server srv(routes());
  auto options = options_for(srv.port());
  options.ca_file.reset();  // the system store does not know our test CA
  client c(options);
  const auto got = c.send({"GET", "/hello", {}, {}});
  ASSERT_FALSE(got);
  EXPECT_TRUE(contains(got.error(), "TLS handshake with localhost:" + std::to_string(srv.port()) +
                                        " failed: certificate verify failed"));
  EXPECT_EQ(srv.counters().requests, 0u);
}

TEST_F(HttpClient, CertificateForAnotherHostIsRefused) {
  // A trusted certificate, but for other.example: only the host name check can refuse it.
  temp_dir dir;
  const auto cert = (dir.path() / "other.crt").string();
  const auto key = (dir.path() / "other.key").string();
  const auto made = connector::testing::run_command(
      {"/usr/bin/openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
       "-nodes", "-days", "2", "-subj", "/CN=other.example", "-addext",
       "subjectAltName=DNS:other.example", "-keyout", key, "-out", cert});
  ASSERT_EQ(made.exit_code, 0) << made.err;
  running_server srv(routes(), tls_options{cert, key, std::nullopt, {}});

  auto by_name = options_for(srv.port(), "localhost");
  by_name.ca_file = cert;
  const auto named = client(by_name).send({"GET", "/hello", {}, {}});
  ASSERT_FALSE(named);
  EXPECT_TRUE(contains(named.error(), "certificate verify failed: hostname mismatch"));

  auto by_ip = options_for(srv.port(), "127.0.0.1");
  by_ip.ca_file = cert;
  const auto addressed = client(by_ip).send({"GET", "/hello", {}, {}});
  ASSERT_FALSE(addressed);
  EXPECT_TRUE(contains(addressed.error(), "certificate verify failed: IP address mismatch"));
  EXPECT_EQ(srv.counters().requests, 0u);
}

TEST_F(HttpClient, RequestTimeoutIsReported) {
  running_server srv(routes());
  struct release_at_exit {  // before the server stops, which waits for the late answer
    HttpClient& test;
    ~release_at_exit() { test.release_late_replies(); }
  } release{*this};
  auto options = options_for(srv.port());
  options.request_timeout_ms = 200;
  client c(options);
  const auto got = c.send({"GET", "/slow?secret=x", {}, {}});
  EXPECT_FALSE(answered_);  // returned while the answer was still held back
  ASSERT_FALSE(got);
  EXPECT_EQ(got.error(),
            "GET /api/slow to localhost:" + std::to_string(srv.port()) + " timed out after 200 ms");
  release_late_replies();

  // The timed-out connection is dropped, and the client keeps working.
  const auto next = c.send({"GET", "/hello", {}, {}});
  ASSERT_TRUE(next) << next.error();
  EXPECT_EQ(next->status, 200);
}

TEST_F(HttpClient, RefusedConnectionIsReported) {
  std::uint16_t closed_port = 0;
  {
    running_server srv(routes());
    closed_port = srv.port();
  }
  auto options = options_for(closed_port, "127.0.0.1");
  client c(options);
  const auto got = c.send({"GET", "/hello", {}, {}});
  ASSERT_FALSE(got);
  EXPECT_EQ(got.error(),
            "connect to 127.0.0.1:" + std::to_string(closed_port) + " failed: Connection refused");
}

TEST_F(HttpClient, UnresolvableHostIsReported) {
  client c(client_options{"https://no-such-host.invalid", std::nullopt, 2000, 2000, 1, "t"});
  const auto got = c.send({"GET", "/", {}, {}});
  ASSERT_FALSE(got);
  EXPECT_TRUE(contains(got.error(), "cannot resolve no-such-host.invalid"));
}

TEST_F(HttpClient, PlainHttpWorksOnLoopback) {
  running_server srv(routes(), std::nullopt);
  client c(client_options{"http://127.0.0.1:" + std::to_string(srv.port()) + "/api/", std::nullopt,
                          1000, 1000, 2, "plain-test"});
  const auto got = c.send({"POST", "echo", {}, "plain"});
  ASSERT_TRUE(got) << got.error();
  EXPECT_EQ(got->body, "plain");
  EXPECT_EQ(got->header("x-seen-target"), "/api/echo");
  EXPECT_EQ(got->header("x-seen-agent"), "plain-test");
}

TEST(HttpClientOptions, BadBaseUrlOrCaFileFailAtConstruction) {
  EXPECT_THROW(client(client_options{"api-learn.ispringlearn.com"}), std::invalid_argument);
  EXPECT_THROW(client(client_options{"http://api-learn.ispringlearn.com"}), std::invalid_argument);
  client_options missing_ca{"https://localhost"};
  missing_ca.ca_file = "/nonexistent/ca.crt";
  EXPECT_THROW(client{missing_ca}, std::runtime_error);
}

TEST(ParseBaseUrl, AcceptsHostPortAndPrefix) {
  auto plain = parse_base_url("https://api-learn.ispringlearn.com");
  ASSERT_TRUE(plain) << plain.error();
  EXPECT_TRUE(plain->tls);
  EXPECT_EQ(plain->host, "api-learn.ispringlearn.com");
  EXPECT_EQ(plain->port, 443);
  EXPECT_EQ(plain->prefix, "");

  auto full = parse_base_url("HTTPS://acme.example:8443/index.php/api/v2/");
  ASSERT_TRUE(full) << full.error();
  EXPECT_EQ(full->host, "acme.example");
  EXPECT_EQ(full->port, 8443);
  EXPECT_EQ(full->prefix, "/index.php/api/v2");

  auto v6 = parse_base_url("http://[::1]:8080");
  ASSERT_TRUE(v6) << v6.error();
  EXPECT_FALSE(v6->tls);
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, 8080);

  auto local = parse_base_url("http://localhost");
  ASSERT_TRUE(local) << local.error();
  EXPECT_EQ(local->port, 80);
}

TEST(ParseBaseUrl, RefusesWhatItCannotUse) {
  const std::pair<const char*, const char*> cases[] = {
      {"api-learn.ispringlearn.com", "expected https://host[:port][/prefix]"},
      {"ftp://host", "unsupported scheme 'ftp' (expected https)"},
      {"https://", "missing host"},
      {"https://:443", "missing host"},
      {"https://host:", "empty port"},
      {"https://host:0", "invalid port '0'"},
      {"https://host:65536", "invalid port '65536'"},
      {"https://host:44x", "expected https://host[:port][/prefix]"},
      {"https://host:443x/api", "expected https://host[:port][/prefix]"},
      {"https://host/api#top", "expected https://host[:port][/prefix]"},
      {"https://host/a b", "expected https://host[:port][/prefix]"},
      {"https://host:99999999999999999999", "invalid port '99999999999999999999'"},
      {"https://user:pw@host", "credentials do not belong in the URL"},
      {"https://host/api?x=1", "a base URL takes no query or fragment"},
      {"https://[::1", "expected https://host[:port][/prefix]"},
      {"http://203.0.113.7",
       "plain http:// is allowed only towards a loopback host, not '203.0.113.7'"},
  };
  for (const auto& [url, message] : cases) {
    const auto parsed = parse_base_url(url);
    ASSERT_FALSE(parsed) << url;
    EXPECT_EQ(parsed.error(), message) << url;
  }
}

}  // namespace
}  // namespace connector::http

// Failed admin-token attempts per address: a few are free, then each one locks the address
// out for twice as long, up to a ceiling; a right token clears the count, and other
// addresses are never slowed.
#include "connector/app/admin_throttle.hpp"

#include <gtest/gtest.h>

#include "connector/app/admin_page.hpp"

namespace connector::app {
namespace {

constexpr epoch_ms start = 1'800'000'000'000;

std::string header_of(const http::response& r, const std::string& name) {
  for (const auto& [n, v] : r.headers)
    if (n == name) return v;
  return "";
}

TEST(AdminThrottle, AFewWrongTokensAreFreeThenTheWaitDoubles) {
  admin_throttle throttle;
  for (int i = 1; i <= 5; ++i) {
    const auto f = throttle.record_failure("203.0.113.7", start);
    EXPECT_EQ(f.in_a_row, i);
    EXPECT_EQ(f.lockout_ms, 0);
    EXPECT_EQ(throttle.wait_ms("203.0.113.7", start), 0);
  }
  epoch_ms now = start;
  for (const std::int64_t expected : {1'000, 2'000, 4'000, 8'000}) {
    const auto f = throttle.record_failure("203.0.113.7", now);
    EXPECT_EQ(f.lockout_ms, expected);
    EXPECT_EQ(throttle.wait_ms("203.0.113.7", now), expected);
    EXPECT_EQ(throttle.wait_ms("203.0.113.7", now + expected - 1), 1);
    now += expected;
    EXPECT_EQ(throttle.wait_ms("203.0.113.7", now), 0) << "over when the wait is";
  }
  EXPECT_EQ(throttle.wait_ms("198.51.100.1", now), 0) << "other addresses are not slowed";
}

TEST(AdminThrottle, TheWaitStopsGrowingAtItsCeiling) {
  admin_throttle throttle({.free_failures = 0, .first_lockout_ms = 1'000, .max_lockout_ms = 5'000});
  std::int64_t last = 0;
  for (int i = 0; i < 40; ++i) last = throttle.record_failure("a", start).lockout_ms;
  EXPECT_EQ(last, 5'000);
}

TEST(AdminThrottle, ARightTokenClearsTheCountAndAQuietHourForgetsIt) {
  admin_throttle throttle({.free_failures = 2});
  throttle.record_failure("a", start);
  throttle.record_failure("a", start);
  EXPECT_GT(throttle.record_failure("a", start).lockout_ms, 0);
  throttle.record_success("a");
  EXPECT_EQ(throttle.wait_ms("a", start), 0);
  EXPECT_EQ(throttle.record_failure("a", start).in_a_row, 1);
  EXPECT_EQ(throttle.record_failure("a", start + 61 * 60'000).in_a_row, 1)
      << "an hour without failures starts over";
}

TEST(AdminThrottle, ASprayOfAddressesKeepsMemoryBoundedAndTheLockedOnesLocked) {
  admin_throttle throttle({.free_failures = 0, .max_addresses = 100});
  throttle.record_failure("attacker", start);
  for (int i = 0; i < 1000; ++i) throttle.record_failure("spray-" + std::to_string(i), start + i);
  // The oldest entry goes first when all are recent; the bound holds either way.
  EXPECT_EQ(throttle.wait_ms("spray-999", start + 999), 1'000);
}

// Through the route wrapper: what a client of the admin listener sees.
class throttled_routes : public ::testing::Test {
 protected:
  http::response call(const std::string& address, const std::string& token) {
    http::request req;
    req.method = "GET";
    req.path = "/admin/status";
    req.remote_address = address;
    if (!token.empty()) req.headers.emplace_back("authorization", "Bearer " + token);
    std::optional<http::response> answer;
    routes_[0].handler(std::move(req), [&](http::response r) { answer = std::move(r); });
    EXPECT_TRUE(answer);
    return answer.value_or(http::response{});
  }
  bool has(const std::string& line) {
    return registry_.render().find(line + "\n") != std::string::npos;
  }

  const std::string token_ = "the-right-admin-token-0123456789";
  manual_clock clock_{start};
  metrics::registry registry_;
  int inner_calls_ = 0;
  std::vector<http::route> routes_ =
      with_admin_throttle({{"GET", "/admin/status",
                            [this](http::request&& req, http::respond_fn respond) {
                              ++inner_calls_;
                              respond(req.header("authorization") == "Bearer " + token_
                                          ? http::response::json(200, "{}")
                                          : http::response::json(401, "{}"));
                            }}},
                          config::secret(token_), clock_, &registry_);
};

TEST_F(throttled_routes, AfterAFewWrongTokensAnswer429WithRetryAfterThenTheRightTokenWorks) {
  for (int i = 0; i < 6; ++i)
    EXPECT_EQ(call("203.0.113.7", "guess-" + std::to_string(i)).status, 401);
  const int calls_before = inner_calls_;
  const auto throttled = call("203.0.113.7", token_);
  EXPECT_EQ(throttled.status, 429) << "even the right token waits: it is not compared";
  EXPECT_EQ(header_of(throttled, "Retry-After"), "1");
  EXPECT_EQ(inner_calls_, calls_before) << "a throttled request reaches no handler";
  EXPECT_FALSE(header_of(throttled, "Content-Security-Policy").empty());
  EXPECT_EQ(call("198.51.100.1", token_).status, 200) << "another address is not slowed";
  EXPECT_EQ(call("203.0.113.7", "").status, 401) << "no token: no attempt, not throttled";

  clock_.advance(1'000);
  EXPECT_EQ(call("203.0.113.7", token_).status, 200);
  EXPECT_EQ(call("203.0.113.7", "guess-again").status, 401) << "the count started over";
  EXPECT_TRUE(has("connector_admin_auth_failures_total 7")) << registry_.render();
  EXPECT_TRUE(has("connector_admin_auth_throttled_total 1")) << registry_.render();
}

}  // namespace
}  // namespace connector::app

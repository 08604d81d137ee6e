#pragma once
// Failed admin-token attempts, counted per client address and slowed down: a few wrong
// tokens are free (typos), then each further one locks the address out for twice as long
// as the last, up to a ceiling. A right token is never slowed by someone else's failures,
// and ends the address's count. Pure: the time is a parameter.
#include <cstddef>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "connector/clock.hpp"
#include "connector/config/config.hpp"
#include "connector/http/server.hpp"
#include "connector/metrics/registry.hpp"

namespace connector::app {

struct admin_throttle_policy {
  int free_failures = 5;                       // wrong tokens in a row before any wait
  std::int64_t first_lockout_ms = 1'000;       // after the first failure past those
  std::int64_t max_lockout_ms = 15 * 60'000;   // doubling stops here
  std::int64_t forget_after_ms = 60 * 60'000;  // quiet this long: the count starts over
  std::size_t max_addresses = 10'000;          // memory bound under a spray of addresses
};

class admin_throttle {
 public:
  explicit admin_throttle(admin_throttle_policy policy = {}) : policy_(policy) {}

  // How long `address` must still wait before its next attempt; 0: it may try now.
  std::int64_t wait_ms(const std::string& address, epoch_ms now);

  struct failure {
    int in_a_row = 0;             // wrong tokens from the address, this one included
    std::int64_t lockout_ms = 0;  // the wait it starts (0: none yet)
  };
  failure record_failure(const std::string& address, epoch_ms now);
  void record_success(const std::string& address);

 private:
  struct entry {
    int failures = 0;
    epoch_ms last_failure = 0;
    epoch_ms locked_until = 0;
  };
  void make_room(epoch_ms now);

  admin_throttle_policy policy_;
  std::mutex mutex_;
  std::unordered_map<std::string, entry> entries_;
};

// Every route's handler behind the throttle: a request carrying an Authorization header
// from a locked-out address is answered 429 with Retry-After (its token is not even
// compared); a wrong token is counted (metrics, a log line without the token); a right one
// clears the address's count. Requests without the header pass untouched. `time` must
// outlive the routes.
std::vector<http::route> with_admin_throttle(std::vector<http::route> routes,
                                             const config::secret& token, const clock& time,
                                             metrics::registry* metrics,
                                             admin_throttle_policy policy = {});
// The same for any of `tokens` (admin.tokens).
std::vector<http::route> with_admin_throttle(std::vector<http::route> routes,
                                             const std::vector<config::admin_token>& tokens,
                                             const clock& time, metrics::registry* metrics,
                                             admin_throttle_policy policy = {});

}  // namespace connector::app

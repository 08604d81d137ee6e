#include "connector/app/admin_throttle.hpp"

#include <algorithm>
#include <memory>
#include <nlohmann/json.hpp>

#include "connector/app/admin_api.hpp"
#include "connector/app/admin_page.hpp"
#include "connector/log.hpp"

namespace connector::app {

std::int64_t admin_throttle::wait_ms(const std::string& address, epoch_ms now) {
  std::lock_guard lock(mutex_);
  const auto it = entries_.find(address);
  if (it == entries_.end() || it->second.locked_until <= now) return 0;
  return it->second.locked_until - now;
}

admin_throttle::failure admin_throttle::record_failure(const std::string& address, epoch_ms now) {
  std::lock_guard lock(mutex_);
  if (entries_.size() >= policy_.max_addresses && !entries_.contains(address)) make_room(now);
  auto& e = entries_[address];
  if (e.failures > 0 && now - e.last_failure > policy_.forget_after_ms) e = entry{};
  ++e.failures;
  e.last_failure = now;
  failure out{e.failures, 0};
  const int past_free = e.failures - policy_.free_failures;
  if (past_free > 0) {
    // Doubling per failure past the free ones: 1 s, 2 s, 4 s, … up to the ceiling.
    std::int64_t lockout = policy_.first_lockout_ms;
    for (int i = 1; i < past_free && lockout < policy_.max_lockout_ms; ++i) lockout *= 2;
    out.lockout_ms = std::min(lockout, policy_.max_lockout_ms);
    e.locked_until = now + out.lockout_ms;
  }
  return out;
}

void admin_throttle::record_success(const std::string& address) {
  std::lock_guard lock(mutex_);
  entries_.erase(address);
}

// Needs mutex_. Forgets the quiet addresses; if all are recent, the one quiet longest.
void admin_throttle::make_room(epoch_ms now) {
  std::erase_if(entries_, [&](const auto& item) {
    return item.second.locked_until <= now &&
           now - item.second.last_failure > policy_.forget_after_ms;
  });
  if (entries_.size() < policy_.max_addresses) return;
  const auto oldest = std::min_element(
      entries_.begin(), entries_.end(),
      [](const auto& a, const auto& b) { return a.second.last_failure < b.second.last_failure; });
  entries_.erase(oldest);
}

std::vector<http::route> with_admin_throttle(std::vector<http::route> routes,
                                             const config::secret& token, const clock& time,
                                             metrics::registry* metrics,
                                             admin_throttle_policy policy) {
  return with_admin_throttle(std::move(routes), std::vector<config::admin_token>{{"admin", token}},
                             time, metrics, policy);
}

std::vector<http::route> with_admin_throttle(std::vector<http::route> routes,
                                             const std::vector<config::admin_token>& tokens,
                                             const clock& time, metrics::registry* metrics,
                                             admin_throttle_policy policy) {
  struct shared_state {
    shared_state(admin_throttle_policy policy, std::vector<config::admin_token> tokens,
                 const clock& time)
        : throttle(policy), tokens(std::move(tokens)), time(&time) {}
    admin_throttle throttle;
    std::vector<config::admin_token> tokens;
    const clock* time;
    metrics::counter* failures = nullptr;
    metrics::counter* throttled = nullptr;
  };
  auto state = std::make_shared<shared_state>(policy, tokens, time);
  if (metrics) {
    state->failures = &metrics
                           ->counter("connector_admin_auth_failures_total",
                                     "Requests to the admin listener with a wrong admin token")
                           .with({});
    state->throttled = &metrics
                            ->counter("connector_admin_auth_throttled_total",
                                      "Requests with an admin token refused with 429 because "
                                      "their address had too many wrong tokens in a row")
                            .with({});
  }
  for (auto& route : routes) {
    route.handler = [state, inner = std::move(route.handler)](http::request&& req,
                                                              http::respond_fn respond) {
      if (req.header("authorization").empty()) return inner(std::move(req), std::move(respond));
      const std::string address = req.remote_address;
      const epoch_ms now = state->time->now();
      if (const auto wait = state->throttle.wait_ms(address, now); wait > 0) {
        if (state->throttled) state->throttled->inc();
        const auto seconds = (wait + 999) / 1000;
        auto r = http::response::json(
            429, nlohmann::json{{"error",
                                 "too many wrong admin tokens from this address; try "
                                 "again in " +
                                     std::to_string(seconds) + " s"}}
                     .dump());
        r.headers.emplace_back("Retry-After", std::to_string(seconds));
        add_security_headers(r);
        return respond(std::move(r));
      }
      if (admin_token_name(req, state->tokens)) {
        state->throttle.record_success(address);
      } else {
        const auto failed = state->throttle.record_failure(address, now);
        if (state->failures) state->failures->inc();
        // The presented token is never logged: it may be a near miss of the real one.
        if (failed.lockout_ms > 0) {
          log::warn("admin.auth_failed",
                    "wrong admin token from {} ({} in a row): its next attempts are refused "
                    "for {} s",
                    address, failed.in_a_row, (failed.lockout_ms + 999) / 1000);
        } else {
          log::warn("admin.auth_failed", "wrong admin token from {} ({} in a row)", address,
                    failed.in_a_row);
        }
      }
      inner(std::move(req), std::move(respond));
    };
  }
  return routes;
}

}  // namespace connector::app

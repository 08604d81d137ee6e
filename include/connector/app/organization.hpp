#pragma once
// Reset to another organization (issue 16 §5; design.md: "changing the organization means
// resetting the stored state for it, explicitly"). The store is bound to the iSpring
// organization its links belong to (store/organization_binding.hpp). When the config names
// another one while links exist, the service still takes notifications in (nothing
// acknowledged is lost) but writes nothing to iSpring: the worker, the group drainer and
// reconciliation runs wait, and status says why and how out, until
//   `connector reset-organization --confirm IDENTITY` (or POST /admin/organization/reset)
// forgets the old organization's links and binds the new one, or `--same-organization` says
// it is the same organization under a new URL. A rotated secret is not another organization.
//
// What a reset forgets: user links, department links, group additions waiting (with their
// claims). What it keeps: every record, Salesforce's state. Pending records stay pending;
// held and dead ones become pending again: all are applied to the new organization, and the
// next reconciliation creates the users there.
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "connector/clock.hpp"
#include "connector/config/config.hpp"
#include "connector/expected.hpp"
#include "connector/http/server.hpp"
#include "connector/store/interfaces.hpp"
#include "connector/store/organization_binding.hpp"

namespace connector::app {

// The organization `ispring` names: "CLIENT_ID@API_URL" for client credentials,
// "ACCOUNT_URL" for the legacy scheme; URLs without a trailing '/', scheme and host in lower
// case. Never a secret: a rotated secret or password keeps it.
std::string organization_identity(const config::ispring_settings& ispring);

// The binding as the API, the CLI and status show it.
struct organization_view {
  std::string configured;
  std::optional<store::organization_bond> stored;
  store::organization_state state;
  bool matches() const { return stored && stored->identity == configured; }
  // Writes to iSpring wait: another organization is configured while the stored one's links
  // exist.
  bool held() const { return stored && !matches() && state.has_links(); }
};
organization_view view_organization(store::organization_binding& binding,
                                    const std::string& configured);
nlohmann::json organization_to_json(const organization_view& view);
// Why writes wait and the way out, for status and logs; empty when they do not.
std::string hold_reason(const organization_view& view);

// At start: binds the configured organization when none is (a store from before the binding
// keeps its links as this organization's), or when another is bound but nothing of it is
// kept. Returns the view after that.
organization_view settle_organization(store::organization_binding& binding,
                                      const std::string& configured, epoch_ms now);

// The history kind of a user whose link a reset forgot (explain says it in words).
inline constexpr const char* organization_reset_kind = "organization_reset";

// The reset, confirmed by `typed` (the configured identity typed back; anything else forgets
// nothing). Records an "organization_reset" event in each forgotten user's history.
struct reset_refusal {
  int status = 400;
  std::string error;
};
expected<store::reset_outcome, reset_refusal> reset_organization(
    store::organization_binding& binding, store::history_log& history,
    const std::string& configured, const std::string& typed, epoch_ms now, const std::string& who);

// The running service's side: holds what writes to iSpring until the organization matches,
// then starts it (`start_writers`, once, on the hold's thread or at once). Polls the binding
// once a second while held, so a reset made by the CLI releases the service too.
class organization_hold {
 public:
  organization_hold(std::unique_ptr<store::organization_binding> binding, std::string configured,
                    store::history_log& history, const clock& time);
  ~organization_hold();
  organization_hold(const organization_hold&) = delete;
  organization_hold& operator=(const organization_hold&) = delete;

  bool held();
  std::string reason();
  // Runs `start_writers` now when not held, else once the hold lifts (never after stop()).
  void when_released(std::function<void()> start_writers);
  void stop();

  // GET /admin/organization and POST /admin/organization/reset {"confirm": IDENTITY}.
  std::vector<http::route> routes(const std::vector<config::admin_token>& tokens);
  // GET /admin/status's warning while held ({"kind": "organization", "message": …}).
  nlohmann::json status_warnings();

 private:
  organization_view view_locked();
  void release_if_matching_locked();
  void poll();

  std::unique_ptr<store::organization_binding> binding_;
  const std::string configured_;
  store::history_log& history_;
  const clock& time_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool held_ = false;
  bool stopping_ = false;
  std::function<void()> start_writers_;
  std::thread poller_;
};

}  // namespace connector::app

namespace connector::app {

// `connector reset-organization`: without `confirm`, shows what a reset would forget and
// changes nothing; with it (the configured identity typed back) resets, or with
// `same_organization` only rebinds (links kept).
struct organization_cli_options {
  std::string confirm;
  bool same_organization = false;
  bool json = false;
};
int reset_organization_command(const config::settings& settings,
                               const organization_cli_options& options);

// Why writes to iSpring wait (the store bound to another organization), for `connector
// status` and the CLI's commands that write; empty when they do not, or without an ispring
// section. Binds a store bound to nothing yet, as the service does at start.
std::string organization_hold_reason(const config::settings& settings);

}  // namespace connector::app

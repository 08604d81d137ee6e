#pragma once
// The admin page (issue 8): static HTML, CSS and JavaScript embedded in the binary at build
// time (web/, turned into byte arrays by cmake/embed_web.cmake), served at `/` on the admin
// listener, and the read-mostly data routes it needs beside the admin API:
//
//   GET  /                          the page (holds no data, so no token)
//   GET  /static/{file}             its script and style sheet
//   GET  /admin/config              the effective configuration, secrets redacted
//   GET  /admin/schedule            run type and the next scheduled run
//   GET  /admin/activity?hours=24   notifications per hour (a list of named series)
//   POST /admin/check               the `connector check` findings
//   POST /admin/dead-letters/retry  re-queue every dead letter, or ?record_id= one
//   GET  /admin/runs/{id}/plan      a run's plan, one page of users: ?action=&offset=&limit=
//
// Every admin answer (these and the admin API's) carries a strict Content-Security-Policy
// and the usual security headers; data answers are never cached.
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "connector/app/reconcile_runs.hpp"
#include "connector/clock.hpp"
#include "connector/config/config.hpp"
#include "connector/http/server.hpp"
#include "connector/store/interfaces.hpp"
#include "connector/sync/settings_snapshot.hpp"

namespace connector::app {

// One embedded file of web/ (generated at build time).
struct web_asset {
  std::string_view name;  // "index.html", "app.js"
  std::string_view content_type;
  std::string_view body;
};
std::span<const web_asset> web_assets();

struct admin_page_context {
  const config::settings* settings = nullptr;
  store::store_reader* reader = nullptr;
  store::work_queue* queue = nullptr;  // the page's retry and release
  run_coordinator* runs = nullptr;     // null: the reconciliation is unavailable
  const clock* time = nullptr;
  std::function<void()> wake_worker;  // after dead letters are re-queued; may be empty
  // The settings in force now (a revision saved in the page, or by another instance); empty:
  // `settings` as started. /admin/config and /admin/schedule show these.
  sync::settings_source live;
};

// The page's routes in front of `admin_routes`, every handler wrapped to add the security
// headers. `context`'s pointers must outlive the routes.
std::vector<http::route> with_admin_page(std::vector<http::route> admin_routes,
                                         admin_page_context context);

// The security headers every admin answer carries (those it does not set itself); for
// answers made in front of the page's routes (admin_throttle.hpp's 429).
void add_security_headers(http::response& r);

// The configuration as the page shows it: every setting, secrets as "[redacted]" (or null
// when unset), never their values.
nlohmann::json config_to_json(const config::settings& settings);

// A stored plan (plan_to_json's shape, as text) ready for paging: each user's JSON text and
// actions, and the rest (counts, departments, safety). Null when the text is no plan.
struct indexed_plan {
  struct user {
    std::vector<std::string> actions;
    std::string json;
  };
  std::vector<user> users;
  nlohmann::json summary;
};
std::shared_ptr<const indexed_plan> index_plan(std::string_view plan_json);

// One page: users whose actions include `action` (all when empty), from `offset`, at most
// `limit`, and `total` matching; with the plan's counts, departments and safety.
nlohmann::json plan_page(const indexed_plan& plan, const std::string& action, std::size_t offset,
                         std::size_t limit);
// The same from the text; null when it is no plan.
nlohmann::json plan_page(std::string_view plan_json, const std::string& action, std::size_t offset,
                         std::size_t limit);

}  // namespace connector::app

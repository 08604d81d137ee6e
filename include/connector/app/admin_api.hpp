#pragma once
// The admin listener's routes: health, status, metrics and manual reconciliation. Every
// admin face needs `Authorization: Bearer <admin.token>`.
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "connector/app/outbound_intake.hpp"
#include "connector/app/reconcile_runs.hpp"
#include "connector/config/config.hpp"
#include "connector/http/server.hpp"
#include "connector/ispring/api.hpp"
#include "connector/metrics/registry.hpp"
#include "connector/store/interfaces.hpp"
#include "connector/sync/settings_snapshot.hpp"
#include "connector/text/url.hpp"

namespace connector::app {

// The admin faces' JSON answers: strings that are not valid UTF-8 are replaced, never
// thrown on. An error is {"error": message}, with the settings key it names when there is one.
http::response json_answer(int status, const nlohmann::json& body);
http::response json_error(int status, const std::string& message, const std::string& key = {});

// True when the request carries the admin token; compared in constant time.
bool has_admin_token(const http::request& req, const config::secret& token);

// The name of the admin token the request carries (admin.tokens; admin.token is "admin"),
// each compared in constant time; nullopt when it carries none of them.
std::optional<std::string> admin_token_name(const http::request& req,
                                            const std::vector<config::admin_token>& tokens);

// admin.tokens, or admin.token named "admin" for settings made without load_file.
std::vector<config::admin_token> accepted_tokens(const config::admin_settings& admin);

// An admin route's handler, given the request's query string already read by
// text::query_params' rules.
using admin_handler_fn =
    std::function<void(http::request&&, const text::query_params&, http::respond_fn)>;

// The one guard of every admin route: a request without `token` is answered 401 (with
// WWW-Authenticate: Bearer), one whose query string breaks the rules 400 naming the
// parameter; only the rest reach `handler`. Wrong tokens are counted and slowed down by the
// listener's throttle (admin_throttle.hpp), which stands in front of every route.
http::handler_fn admin_only(config::secret token, admin_handler_fn handler);
// The same for any of `tokens` (admin.tokens).
http::handler_fn admin_only(std::vector<config::admin_token> tokens, admin_handler_fn handler);

// `runs` is null when the reconciliation cannot run (no ispring section, or no Salesforce
// credentials): its routes then answer 409 with the reason. With `metrics`, GET /metrics
// serves it in the Prometheus text format (without the token only when
// admin.allow_unauthenticated_metrics is set, which config allows on loopback only).
// `ispring` (null: none) is read live by GET /admin/users/{id}, which explains by `live`'s
// newest settings (settings edited in the page) when given, else by `settings`.
// GET /admin/status carries `status_warnings()` as "warnings" (an array; empty without
// it), e.g. the pickers' configured departments that match no Salesforce user.
std::vector<http::route> make_admin_routes(const config::settings& settings,
                                           store::store_reader& inbox, intake_counters& counters,
                                           run_coordinator* runs, std::string runs_unavailable = {},
                                           const metrics::registry* metrics = nullptr,
                                           ispring::api* ispring = nullptr,
                                           sync::settings_source live = {},
                                           std::function<nlohmann::json()> status_warnings = {});

}  // namespace connector::app

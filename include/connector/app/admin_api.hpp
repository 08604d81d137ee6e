#pragma once
// The admin listener's routes: health, status, metrics and manual reconciliation. Every
// admin face needs `Authorization: Bearer <admin.token>`.
#include <vector>

#include "connector/app/outbound_intake.hpp"
#include "connector/app/reconcile_runs.hpp"
#include "connector/config/config.hpp"
#include "connector/http/server.hpp"
#include "connector/ispring/api.hpp"
#include "connector/metrics/registry.hpp"
#include "connector/store/interfaces.hpp"

namespace connector::app {

// True when the request carries the admin token; compared in constant time.
bool has_admin_token(const http::request& req, const config::secret& token);

// `runs` is null when the reconciliation cannot run (no ispring section, or no Salesforce
// credentials): its routes then answer 409 with the reason. With `metrics`, GET /metrics
// serves it in the Prometheus text format (without the token only when
// admin.allow_unauthenticated_metrics is set, which config allows on loopback only).
// `ispring` (null: none) is read live by GET /admin/users/{id}.
std::vector<http::route> make_admin_routes(const config::settings& settings,
                                           store::store_reader& inbox, intake_counters& counters,
                                           run_coordinator* runs, std::string runs_unavailable = {},
                                           const metrics::registry* metrics = nullptr,
                                           ispring::api* ispring = nullptr);

}  // namespace connector::app

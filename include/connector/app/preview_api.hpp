#pragma once
// The Sync preview (issue 16 §6): what a change to the page's settings would do before it is
// saved.
//   POST /admin/settings/preview   {"sync": {…}} (one or more editable sections)
//     → 202 {"run_id": N, "based_on_revision": R, "url": "/admin/runs/N"}
// The sections are checked exactly as PUT /admin/settings/{section} checks them (400 naming
// the key, 409 for a file-managed section) and never saved; the run is a dry run of a full
// reconciliation on them (trigger "preview", settings_candidate true), whose counts and plan
// GET /admin/runs/N shows. No If-Match: nothing is written.
#include <string>
#include <vector>

#include "connector/app/live_settings.hpp"
#include "connector/app/reconcile_runs.hpp"
#include "connector/config/config.hpp"
#include "connector/http/server.hpp"

namespace connector::app {

// `runs` null: the reconciliation is unavailable and a valid preview answers 409 with
// `runs_unavailable`. `live` and `runs` must outlive the routes.
std::vector<http::route> make_preview_routes(live_settings& live, run_coordinator* runs,
                                             std::string runs_unavailable,
                                             const std::vector<config::admin_token>& tokens);

}  // namespace connector::app

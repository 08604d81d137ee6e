#pragma once
// The admin API of settings edited in the page (design.md "Settings edited in the page"):
//   GET  /admin/settings                          {"revision", "settings", "file_managed"}
//   PUT  /admin/settings/{section}                If-Match: "R" → {"revision": R2}
//   GET  /admin/settings/revisions                revision, time, who, sections changed
//   GET  /admin/settings/revisions/{R}            one revision with its content
//   POST /admin/settings/revisions/{R}/restore    If-Match: "R" → {"revision": R2}
// A missing If-Match is 428 (Precondition Required, RFC 6585): a save that does not say
// which revision it edits would silently overwrite another administrator's change, and 428
// tells a client that forgot the header apart from one whose revision is stale (409).
#include <vector>

#include "connector/app/live_settings.hpp"
#include "connector/config/config.hpp"
#include "connector/http/server.hpp"

namespace connector::app {

// `settings` must outlive the routes; who saved is the name of the admin token used.
std::vector<http::route> make_settings_routes(live_settings& settings,
                                              const std::vector<config::admin_token>& tokens);

// A revision as the API and `connector settings revisions --json` list it.
nlohmann::json revision_to_json(const store::settings_revision& revision);

// The If-Match header's revision: "R", R or W/"R"; nullopt when absent, unexpected when it
// is not a revision.
expected<std::optional<std::int64_t>, std::string> parse_if_match(std::string_view header);

}  // namespace connector::app

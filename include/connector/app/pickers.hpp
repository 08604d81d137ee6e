#pragma once
// The admin page's pickers read the live systems (design.md "Settings edited in the page";
// issue 16 §4), so departments, users and fields are picked, not typed:
//   GET /admin/salesforce/departments  {"departments": [{"name", "active_users", "selected",
//                                       "missing"?}], "without_department", "complete"}
//   GET /admin/salesforce/users?department=&q=&limit=&offset=   the "Manage users" tick list
//   GET /admin/salesforce/fields       the source object's fields (describe) for the mapping
//   GET /admin/ispring/fields, /admin/ispring/departments, /admin/ispring/groups
// A configured department that matches no active Salesforce user is said plainly: listed
// with "missing": true, and as a warning of GET /admin/status (status_warnings).
//
// Remote calls run off the admin listener's thread, a few at a time, with short timeouts:
// a remote failure answers 502 with Salesforce's or iSpring's cause (never a credential),
// a source that is not configured 409 with what is missing.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "connector/config/config.hpp"
#include "connector/expected.hpp"
#include "connector/http/server.hpp"
#include "connector/ispring/api.hpp"

namespace connector::salesforce {
class rest_api;
}

namespace connector::app {

// --- Pure parts -------------------------------------------------------------------------

// The body of a SOQL 'string literal': backslash, quotes and control characters escaped,
// so the text can never end the literal. With `like`, % and _ are escaped too (a LIKE
// pattern then matches them literally).
std::string soql_escape(std::string_view text, bool like = false);

// Most rows the grouped department query asks for: Salesforce answers a grouped query in
// one batch (no queryMore), so more departments than this are cut (complete: false).
inline constexpr std::size_t max_picker_departments = 2000;

// SELECT <department field>, COUNT(Id) FROM <object> WHERE IsActive = true [AND (filter)]
// GROUP BY <department field> LIMIT 2000: active users per department, one query.
std::string department_count_query(const config::salesforce_settings& salesforce,
                                   const config::mapping_settings& mapping);

struct department_count {
  std::string name;  // "" for users without a department
  std::int64_t active_users = 0;
};

// The same count for the named departments only (… AND <field> IN ('…', …) GROUP BY …):
// the configured departments beyond a cut list. `departments` must not be empty.
std::string configured_count_query(const config::salesforce_settings& salesforce,
                                   const config::mapping_settings& mapping,
                                   const std::vector<std::string>& departments);

// What the departments picker read: the counts (the first max_picker_departments groups,
// then any configured department beyond them, asked for by name), and whether the list was
// cut.
struct department_listing {
  std::vector<department_count> counts;
  bool complete = true;
  std::vector<std::string> looked_up;  // configured departments asked for by name
};

// The AggregateResult records of department_count_query: the department under the field's
// last name ("Department"), the count as expr0. Nullopt-free: a record without a readable
// count is an error naming it (a changed answer shape must not show 0 users).
expected<std::vector<department_count>, std::string> read_department_counts(
    const std::vector<nlohmann::json>& records, const config::mapping_settings& mapping);

// Is a Salesforce department value in scope by sync.departments (its key ignoring case,
// "*", or no list at all)? Never when users are chosen by group (departments select no one)
// nor for the name of a custom department (not a Salesforce value).
bool department_selected(const config::sync_settings& sync, const std::string& department);

// Configured departments (sync.departments keys but "*") that no active user carries, in
// the config's order. Empty when `complete` is false: a department beyond the cut may exist.
std::vector<std::string> unmatched_departments(const std::vector<department_count>& counts,
                                               const config::sync_settings& sync, bool complete);

// The custom departments' listed users ("custom": true) as SOQL queries of at most 100 entries
// each: SELECT Id, Username, IsActive by Username or record id, under the query filter.
std::vector<std::string> custom_users_queries(const config::salesforce_settings& salesforce,
                                              const config::sync_settings& sync);

// Status warnings for listed users of custom departments that `records` (the answers of
// custom_users_queries) shows inactive or does not hold: such a user is not synchronised.
nlohmann::json custom_user_warnings(const config::sync_settings& sync,
                                    const std::vector<nlohmann::json>& records);

// {"departments": [...] sorted by name, ignoring case, "without_department": n,
//  "complete": bool (the list was not cut)}; configured departments matching no user are
// listed with active_users 0, "selected": true, "missing": true. `counts` must hold every
// configured department that has users (department_listing does).
nlohmann::json departments_answer(const std::vector<department_count>& counts,
                                  const config::sync_settings& sync, bool complete);

struct user_search {
  // The department field's value, matched as Salesforce does; "" searches every department
  // (the page's "Add New Department" picks users whatever their department): q required then.
  std::string department;
  std::string text;  // q: part of the name, username or e-mail; "" lists them all
  std::size_t limit = 50;
  std::size_t offset = 0;  // SOQL allows at most 2000
};
inline constexpr std::size_t max_picker_users = 200;    // per page
inline constexpr std::size_t max_picker_offset = 2000;  // SOQL OFFSET's ceiling
inline constexpr std::size_t max_picker_search = 100;   // characters of q

// The active users of a department, ordered by name, one more than `limit` (to tell that
// more follow); q is escaped into LIKE patterns, so it can only narrow the list.
std::string user_search_query(const config::salesforce_settings& salesforce,
                              const config::mapping_settings& mapping, const user_search& search);

// {"department", "q", "limit", "offset", "more", "users": [{"id", "username", "name",
//  "email", "department", "selected"}]}: "selected" is whether sync.departments puts the user
// in scope.
nlohmann::json users_answer(std::vector<nlohmann::json> records, const user_search& search,
                            const config::settings& settings);

// {"object", "fields": [{"name", "label", "type"}]} sorted by label, from a describe answer.
nlohmann::json salesforce_fields_answer(const nlohmann::json& describe);
nlohmann::json ispring_fields_answer(const std::vector<ispring::profile_field>& fields);
// Each department with its path from the root ("Example Corp / Sales"), sorted by path.
nlohmann::json ispring_departments_answer(const std::vector<ispring::department>& departments);
nlohmann::json ispring_groups_answer(const std::vector<ispring::group>& groups);

// --- The routes -------------------------------------------------------------------------

struct picker_sources {
  std::shared_ptr<salesforce::rest_api> salesforce;  // null: salesforce_unavailable says why
  std::string salesforce_unavailable;
  std::shared_ptr<ispring::api> ispring;  // null: no ispring section
  // The effective settings, read on each request (a saved revision shows at once).
  std::function<config::settings()> settings;
  std::size_t max_in_flight = 4;  // remote calls at once; more answer 503
  // How old the department counts behind status_warnings may grow before a refresh; a
  // refresh that failed is tried again after a tenth of it.
  std::int64_t warning_refresh_ms = 10 * 60'000;
};

class pickers {
 public:
  explicit pickers(picker_sources sources);
  ~pickers();
  pickers(const pickers&) = delete;
  pickers& operator=(const pickers&) = delete;

  // The six routes, each behind admin_only(tokens): any named admin token.
  std::vector<http::route> routes(const std::vector<config::admin_token>& tokens) const;

  // Warnings for GET /admin/status: [{"kind": "department_matches_no_user", "department",
  // "message"}]. From the last department counts (those of the departments picker, or of a
  // refresh this starts in the background when they are older than warning_refresh_ms), so
  // status never waits for Salesforce. Nothing to check, nothing asked: no sync.departments
  // list, or no Salesforce access.
  nlohmann::json status_warnings() const;
  // The same warnings from counts read now, once (`connector status`, which keeps no counts
  // between runs): [] when there is nothing to check, or why Salesforce could not be read.
  expected<nlohmann::json, std::string> read_status_warnings() const;

  struct state;

 private:
  std::shared_ptr<state> state_;
};

// Salesforce and iSpring clients for the pickers: their own, with short timeouts and no
// retries, so a remote outage answers within seconds. Null where not configured.
picker_sources make_picker_sources(const config::settings& settings);

}  // namespace connector::app

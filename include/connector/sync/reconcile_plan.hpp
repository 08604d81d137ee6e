#pragma once
// The full reconciliation's plan: every Salesforce user (desired) against every iSpring user,
// department and group (actual), as the list of changes that makes iSpring agree. Pure:
// values in, a plan out, so a dry run prints exactly what a real run would do.
//
// Rules (design.md "Contracts" sync section, "Rules carried over from the seed"):
// - Matching: the stored link first (it survives login and e-mail changes), then login, then
//   e-mail, ignoring case; an iSpring user is matched to one Salesforce user at most.
//   iSpring users that match no Salesforce user are never touched: not their department,
//   not their groups (an iSpring user matched by login or e-mail is linked, so managed).
// - A linked iSpring user whose Salesforce record the query no longer returns is handled as
//   out of scope (sync.out_of_scope_users) — only when the whole query was read.
// - Departments (design.md "Trust"): the connector owns the departments it linked to a
//   department key (scope.hpp) — created, or adopted by the configured name under the
//   configured parent. A key's users go to its linked department whatever it is called now.
//   A linked department is renamed in place exactly when the configured name of its key
//   differs from the name the connector last gave it, whatever users do; never otherwise,
//   and a department nobody linked is never renamed, moved or deleted. Names compare
//   ignoring case, as iSpring does. A link whose department iSpring no longer has is
//   forgotten; one whose department sits under another parent (sync.parent_department
//   changed) is placed anew under the parent, and the old department goes once empty.
// - sync.delete_empty_departments: a linked department left with no users at all (and no
//   child departments) is deleted and its link forgotten. Never the root or the parent.
// - sync.max_deactivations: a plan that would deactivate or delete more users than the count
//   (or the share of the synchronised users) is stopped before anything changes.
// - Records with a notification in flight are left to the sync worker (it holds a newer
//   state than a full read may), and are shown as deferred.
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "connector/config/config.hpp"
#include "connector/ispring/wire.hpp"
#include "connector/sync/byte_blocks.hpp"
#include "connector/sync/hash_slots.hpp"
#include "connector/sync/ispring_index.hpp"
#include "connector/sync/plan.hpp"

namespace connector::sync {

// Everything at once, for tests and small accounts: make_reconcile_plan packs `actual` into an
// ispring_index and feeds `desired` to a reconcile_planner that keeps every user.
struct reconcile_input {
  std::deque<desired_user> desired;  // every Salesforce user read, in query order
  bool salesforce_complete = true;   // false: the read stopped early, retire nobody
  std::deque<ispring::user> actual;  // every iSpring user
  directory_snapshot directory;      // departments and groups
  std::unordered_map<std::string, std::string> links;  // record id → iSpring user id
  // Department key → the department linked to it (keys compare ignoring case).
  std::map<std::string, linked_department> department_links;
  std::set<std::string> in_flight;  // record ids the worker owns now
};

// What happens to one user, for counts and filters. A user may have several.
enum class change_kind {
  create,
  update,  // profile fields
  move,    // department
  groups,
  deactivate,
  reactivate,
  remove,
  unchanged,
  ignored,   // out of scope with "ignore", or nothing in iSpring to retire
  deferred,  // a notification is in flight: the worker applies it
  problem,   // cannot be carried out (no login to create, ambiguous match)
};
const char* to_string(change_kind kind);

struct planned_user {
  desired_user desired;
  std::optional<ispring::user> actual;  // the matched iSpring user
  std::string matched_by;               // "link", "login", "e-mail", "" (none)
  user_plan plan;
  std::vector<change_kind> kinds;
  bool should_apply() const;  // has changes, and is neither deferred nor a problem
};

struct department_rename {
  std::string id;
  std::string from;
  std::string to;
  std::string key;      // the department key whose configured name changed
  std::string problem;  // non-empty: it cannot be carried out, and why
};

// A department key linked to a department that exists under its configured name: adopted.
struct department_adoption {
  std::string key;
  std::string id;
  std::string name;
};

struct department_deletion {
  std::string id;
  std::string name;
  std::string reason;
};

struct safety_check {
  std::size_t retirements = 0;   // deactivations and deletions planned
  std::size_t synchronised = 0;  // iSpring users matched to Salesforce users
  std::optional<std::size_t> limit;
  bool exceeded = false;
  std::string message;  // "would deactivate or delete 250 users; the limit is 10% of 1000 (100)"
};

// Users planned unchanged and not kept (reconcile_planner without keep_unchanged): counted.
struct omitted_users {
  std::int64_t unchanged = 0;
  std::int64_t in_scope = 0;          // of them, upserts
  std::int64_t salesforce_users = 0;  // of them, read from Salesforce (not retired links)
};

struct reconcile_plan {
  // Every Salesforce user read, then retired linked users — but for the unchanged ones when
  // the planner keeps only changes (`omitted` counts those).
  std::deque<planned_user> users;
  omitted_users omitted;
  std::size_t ispring_users = 0;
  std::vector<department_rename> renames;
  std::vector<department_adoption> adoptions;
  std::vector<std::string> departments_to_create;  // names, as users will need them
  std::vector<department_deletion> deletions;      // their links are forgotten with them
  // Linked departments iSpring no longer has: their links are forgotten.
  std::vector<std::string> gone_departments;
  safety_check safety;
  // Links found by login or e-mail (record id → iSpring user id), to remember even when
  // nothing else changes.
  std::vector<std::pair<std::string, std::string>> new_links;

  // "salesforce_users", "ispring_users", "in_scope", "create", "update", "move", "groups",
  // "deactivate", "reactivate", "delete", "unchanged", "ignored", "deferred", "problems",
  // "departments_renamed", "departments_adopted", "departments_created",
  // "departments_deleted", "to_apply".
  std::map<std::string, std::int64_t> counts() const;
  std::size_t to_apply() const;
};

// A share ("10%") or a count ("25"); nullopt when unset. The limit for `synchronised` users.
std::optional<std::size_t> deactivation_limit(const std::optional<std::string>& setting,
                                              std::size_t synchronised);

// What the planner reads besides the users.
// The stored links, record id → iSpring user id, packed as the store hands them over (a
// reconciliation reads them beside the iSpring users; a million links as pairs of strings took
// 150 MB, packed about 60). Of two links for one record, the first added counts.
class stored_links {
 public:
  void add(std::string_view record_id, std::string_view ispring_user_id);
  std::size_t size() const { return starts_.size(); }
  std::optional<std::size_t> find(std::string_view record_id) const;  // the link's number
  std::string_view record_id(std::size_t link) const;
  std::string_view ispring_user_id(std::size_t link) const;

 private:
  byte_blocks texts_;                  // record id, NUL, iSpring user id, NUL; link after link
  std::vector<std::uint64_t> starts_;  // where each link begins in texts_
  hash_slots by_record_;
  std::string scratch_;
};

struct reconcile_sources {
  directory_snapshot directory;  // departments and groups
  stored_links links;
  std::map<std::string, linked_department> department_links;  // by key, as stored
  std::set<std::string> in_flight;                            // record ids the worker owns
};

// The plan, built as the Salesforce users arrive: each is matched against the packed iSpring
// users and planned at once, and kept only when something is to be shown or done (or
// `keep_unchanged`), so a run over 1,000,000 unchanged users holds no Salesforce user.
// Users must come in query order: an iSpring user matched twice goes to the first.
// Department renames are planned as their keys appear; finish() plans the kept users again
// against every rename, so they agree with a plan made at the end.
class reconcile_planner {
 public:
  // `actual` is sealed and outlives the planner.
  reconcile_planner(const ispring_index& actual, reconcile_sources sources,
                    const config::sync_settings& sync, bool keep_unchanged);
  ~reconcile_planner();
  reconcile_planner(const reconcile_planner&) = delete;
  reconcile_planner& operator=(const reconcile_planner&) = delete;

  void add(desired_user user);
  // `salesforce_complete` false: the read stopped early, retire nobody. Records now in
  // flight join those given at the start (deferred).
  reconcile_plan finish(bool salesforce_complete, const std::set<std::string>& in_flight_now = {});

 private:
  struct state;
  std::unique_ptr<state> s_;
};

reconcile_plan make_reconcile_plan(reconcile_input& input, const config::sync_settings& sync);

// One row per user with changes (all rows with `all`), for `reconcile --dry-run --json` and
// the admin API: {"record_id","login","ispring_user_id","matched_by","actions":[…],
// "reason","changes":[…lines…]}, plus departments and safety.
// Users left out of scope (ignored) are always in it, with their reason.
nlohmann::json plan_to_json(const reconcile_plan& plan, bool all);
// The same as a table for a terminal.
std::string plan_to_table(const reconcile_plan& plan, bool all);

}  // namespace connector::sync

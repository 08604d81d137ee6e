#pragma once
// Desired vs actual: what one Salesforce user should look like in iSpring, and the smallest
// set of changes that gets it there. Pure, so the notification worker (through the applier)
// and the full reconciliation (which prints plans in a dry run) compute changes the same way.
#include <optional>
#include <string>
#include <vector>

#include "connector/config/config.hpp"
#include "connector/ispring/wire.hpp"
#include "connector/sync/mapping.hpp"
#include "connector/sync/scope.hpp"

namespace connector::sync {

// The iSpring department a department key is linked to (design.md "Trust"): the connector
// created it, or adopted it by its configured name, so it owns it.
struct linked_department {
  std::string id;
  std::string name;  // the iSpring name the connector last gave it
};

// One Salesforce user as iSpring should have it.
struct desired_user {
  std::string record_id;
  sync_action action = sync_action::ignore;
  std::string reason;  // the scope decision's reason
  // Match keys; nullopt or "" when the record does not give one.
  std::optional<std::string> login;
  std::optional<std::string> email;
  // Every profile field the mapping owns that the record carries ("" clears it). Fields the
  // mapping does not own are never sent, so never cleared.
  ispring::field_map fields;
  std::string department;      // the iSpring department name (upsert)
  std::string department_key;  // the sync.departments key (scope.hpp)
  // The department linked to that key, set by the caller from the stored links: the user goes
  // there whatever its name now (renamed to `department` when the connector last gave it
  // another). nullopt: `department` under parent_department, found by name or created.
  std::optional<linked_department> department_link;
  std::optional<std::string> parent_department;  // sync.parent_department; nullopt: the root
  // upsert: true makes an inactive user active again; nullopt leaves the status alone.
  std::optional<bool> active;
  // Managed groups the user belongs in; nullopt leaves membership alone (no group field).
  std::optional<std::vector<std::string>> groups;
  // sync.groups: the groups whose membership the connector manages; nullopt: all of them.
  std::optional<std::vector<std::string>> managed_groups;
};

desired_user make_desired_user(const mapped_user& user, const config::sync_settings& sync);

// The departments and groups of the account, as last read.
struct directory_snapshot {
  std::vector<ispring::department> departments;
  std::vector<ispring::group> groups;  // without members

  const ispring::department* root() const;  // the department without a parent
  const ispring::department* department_by_id(const std::string& id) const;
  // By name (ignoring case, as iSpring does) among the children of `parent_id`.
  const ispring::department* find_department(const std::string& name,
                                             const std::string& parent_id) const;
  // `name` under the department `parent` (nullopt: the root), itself under the root.
  const ispring::department* find_target(const std::optional<std::string>& parent,
                                         const std::string& name) const;
  // The linked department `id` when it sits under `parent` (as find_target); null when it is
  // gone, or sync.parent_department changed (the key is then placed anew under the parent).
  const ispring::department* find_linked(const std::optional<std::string>& parent,
                                         const std::string& id) const;
  const ispring::group* group_by_id(const std::string& id) const;
  const ispring::group* find_group(const std::string& name) const;
};

struct field_change {
  std::string field;  // iSpring field id: login, email, last_name, job_title, …
  std::string from;   // "" when creating or unset
  std::string to;
};

struct department_change {
  std::string name;                   // the target's iSpring name
  std::string id;                     // empty: it does not exist yet and will be created
  std::optional<std::string> parent;  // sync.parent_department (nullopt: the root)
  std::string from_id;                // the user's department now; empty when creating
  std::string from_name;
};

struct group_ref {
  std::string id;  // empty: the group does not exist yet and will be created
  std::string name;
};

struct user_plan {
  sync_action action = sync_action::ignore;
  std::string reason;
  std::string user_id;  // the existing iSpring user; empty when there is none
  bool create = false;
  std::vector<field_change> fields;  // create: every value set; update: only what differs
  std::optional<department_change> department;  // create: the target; update: a move
  std::vector<group_ref> add_groups;
  std::vector<group_ref> remove_groups;
  std::optional<int> status;       // the new status, when it changes
  bool remove = false;             // delete the iSpring user
  std::vector<std::string> notes;  // what is deliberately left alone, and why
  std::string problem;  // non-empty: the plan cannot be carried out (e.g. no login to create)

  bool has_changes() const;
  // One line per change for a dry run: "create 'jane@acme.com' in 'Sales EMEA'",
  // "set job_title 'Engineer' → 'Lead Engineer'", "add to group 'Onboarding'", ….
  std::vector<std::string> describe() const;
};

// `actual` is the matched iSpring user (nullopt: none). The target department is the linked
// one when `directory` has it (find_linked), else found by name. Departments and groups missing
// from `directory` are planned as created. Groups the user is in that `directory` does not know are
// left alone (refresh the snapshot first to manage them).
user_plan plan_user(const desired_user& desired, const std::optional<ispring::user>& actual,
                    const directory_snapshot& directory);
// The same without a copy of the user (null: none), for the reconciliation's 100,000.
user_plan plan_user(const desired_user& desired, const ispring::user* actual,
                    const directory_snapshot& directory);

}  // namespace connector::sync

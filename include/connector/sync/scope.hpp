#pragma once
// Scope rules: is a mapped user synchronised, into which iSpring department, which of its
// groups does the connector manage, and what happens to it — each decision with a reason an
// administrator reads (`connector explain`, `sync-user`). Pure: values in, values out.
//
// Rules (design.md "Contracts" sync section, "Rules carried over from the seed"):
// - IsActive = false → sync.inactive_users (deactivate by default).
// - Users without a department are not synchronised → sync.out_of_scope_users.
// - sync.departments empty: every department is in scope. Otherwise only listed departments
//   (keyed by the Salesforce value; "*" stands for every unlisted one), and of a department
//   with sync_all_users off only its listed users (Username or record id).
// - A custom department ("custom": true, "Add New Department") takes exactly its listed users,
//   whatever their Department; its key is never matched against Department values, and a
//   Salesforce department of the same name is not pulled in through it (nor through "*").
// - sync.select_by "group": a user carrying one of sync.groups is in scope, and only they;
//   sync.departments then selects no one: it names departments (ispring_name) and defines
//   custom ones. The department is still required (custom, else the user's Department).
// - A record missing the field a decision needs (Department, the group field, or Username
//   while a custom department lists usernames) is left alone: nothing happens.
// - ispring_name names the department in iSpring; the Salesforce value otherwise. The key a
//   user is bound by (department_key) is what the connector's department links are kept by.
// - sync.groups: nullopt ("all") manages every group; a list manages only those, and groups
//   outside it are neither added nor removed.
#include <optional>
#include <string>
#include <vector>

#include "connector/config/config.hpp"
#include "connector/sync/mapping.hpp"

namespace connector::sync {

enum class sync_action {
  upsert,      // create or update, and make active when Salesforce says so
  deactivate,  // iSpring status 3
  remove,      // delete the iSpring user (only when configured as "delete")
  ignore,      // leave iSpring alone
};

const char* to_string(sync_action action);

struct scope_decision {
  bool in_scope = false;
  sync_action action = sync_action::ignore;
  // Why, for an administrator: "department 'Sales' is selected", "no department",
  // "department 'Engineering' is not selected", "IsActive = false", ….
  std::string reason;
  std::string department;  // the iSpring department name when in scope
  // The sync.departments key the user is bound by when in scope (for "*", or without a
  // departments list, its own Department value): what department links are kept by.
  std::string department_key;
};

scope_decision decide_scope(const mapped_user& user, const config::sync_settings& sync);

// The iSpring name the config gives a department key (ispring_name, else the key itself);
// nullopt when the key is no longer selected.
std::optional<std::string> configured_department_name(const config::sync_settings& sync,
                                                      const std::string& key);

// Does the connector manage membership of the group with this iSpring name? `managed_groups`
// is sync.groups: nullopt ("all") manages every group.
bool manages_group(const std::optional<std::vector<std::string>>& managed_groups,
                   const std::string& group_name);

// The managed groups the user belongs in (its group field filtered by sync.groups); nullopt
// when the record does not carry the group field, so membership is left as it is.
std::optional<std::vector<std::string>> desired_groups(const mapped_user& user,
                                                       const config::sync_settings& sync);

}  // namespace connector::sync

#include "connector/sync/scope.hpp"

#include <algorithm>

#include "connector/salesforce/ids.hpp"
#include "text.hpp"

namespace connector::sync {
namespace {

using rule_map = std::map<std::string, config::department_rule>;

constexpr const char* wildcard = "*";

// The rule for a Salesforce department value: its own key (exactly, else ignoring case, as
// admins type keys by hand), else "*". Null when the department is not selected.
const rule_map::value_type* find_rule(const rule_map& rules, const std::string& department) {
  if (const auto it = rules.find(department); it != rules.end() && it->first != wildcard)
    return &*it;
  for (const auto& entry : rules)
    if (entry.first != wildcard && iequals(entry.first, department)) return &entry;
  if (const auto it = rules.find(wildcard); it != rules.end()) return &*it;
  return nullptr;
}

// Listed by Username (case-insensitive, as Salesforce treats it) or by record id (15 or 18
// characters, same record when the first 15 match).
bool is_listed(const mapped_user& user, const config::department_rule& rule) {
  return std::any_of(rule.users.begin(), rule.users.end(), [&user](const std::string& entry) {
    if (user.username && iequals(*user.username, entry)) return true;
    return salesforce::is_valid_id(entry) && salesforce::is_valid_id(user.record_id) &&
           salesforce::same_id(entry, user.record_id);
  });
}

sync_action action_for(config::user_action configured) {
  switch (configured) {
    case config::user_action::deactivate:
      return sync_action::deactivate;
    case config::user_action::remove:
      return sync_action::remove;
    case config::user_action::ignore:
      return sync_action::ignore;
  }
  return sync_action::ignore;
}

scope_decision out_of_scope(sync_action action, std::string reason) {
  return {false, action, std::move(reason), {}, {}};
}

scope_decision in_scope(std::string department, std::string key, std::string reason) {
  return {true, sync_action::upsert, std::move(reason), std::move(department), std::move(key)};
}

}  // namespace

const char* to_string(sync_action action) {
  switch (action) {
    case sync_action::upsert:
      return "upsert";
    case sync_action::deactivate:
      return "deactivate";
    case sync_action::remove:
      return "delete";
    case sync_action::ignore:
      return "ignore";
  }
  return "?";
}

scope_decision decide_scope(const mapped_user& user, const config::sync_settings& sync) {
  // Inactive users follow inactive_users, whatever their department.
  if (user.active == false)
    return out_of_scope(action_for(sync.inactive_users), "IsActive = false");
  // A partial record (change event) that does not carry the department cannot be placed;
  // acting on missing data would deactivate users by accident, so nothing happens.
  if (!user.department)
    return out_of_scope(sync_action::ignore, "department unknown (not in the record)");
  const sync_action leave = action_for(sync.out_of_scope_users);
  const std::string& department = *user.department;
  // Users without a department are not synchronised (seed, Sync Settings).
  if (department.empty()) return out_of_scope(leave, "no department");
  if (sync.departments.empty())
    return in_scope(department, department, "all departments are synced");

  const auto* rule = find_rule(sync.departments, department);
  if (!rule) return out_of_scope(leave, "department " + quoted(department) + " is not selected");
  const bool by_wildcard = rule->first == wildcard;
  if (!rule->second.sync_all_users && !is_listed(user, rule->second))
    return out_of_scope(leave, "user is not listed in department " + quoted(department) +
                                   " (sync_all_users is off)");

  // ispring_name names the department in iSpring ("*" cannot rename).
  std::string target = by_wildcard ? department : rule->second.ispring_name.value_or(rule->first);
  std::string reason =
      !rule->second.sync_all_users ? "user is listed in department " + quoted(department)
      : by_wildcard ? "department " + quoted(department) + " is synced by the '*' rule"
                    : "department " + quoted(department) + " is selected";
  return in_scope(std::move(target), by_wildcard ? department : rule->first, std::move(reason));
}

std::optional<std::string> configured_department_name(const config::sync_settings& sync,
                                                      const std::string& key) {
  if (sync.departments.empty()) return key;
  const auto* rule = find_rule(sync.departments, key);
  if (!rule) return std::nullopt;
  if (rule->first == wildcard) return key;
  return rule->second.ispring_name.value_or(rule->first);
}

bool manages_group(const std::optional<std::vector<std::string>>& managed_groups,
                   const std::string& group_name) {
  if (!managed_groups) return true;  // "all"
  return std::any_of(managed_groups->begin(), managed_groups->end(),
                     [&group_name](const std::string& g) { return iequals(g, group_name); });
}

std::optional<std::vector<std::string>> desired_groups(const mapped_user& user,
                                                       const config::sync_settings& sync) {
  if (!user.groups) return std::nullopt;
  std::vector<std::string> out;
  for (const auto& name : *user.groups)
    if (manages_group(sync.groups, name)) out.push_back(name);
  return out;
}

}  // namespace connector::sync

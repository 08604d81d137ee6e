#include "connector/sync/scope.hpp"

#include <algorithm>

#include "connector/salesforce/ids.hpp"
#include "text.hpp"

namespace connector::sync {
namespace {

using rule_map = std::map<std::string, config::department_rule>;

constexpr const char* wildcard = "*";

// The entry naming a Salesforce department value: its own key (exactly, else ignoring case,
// as admins type keys by hand). Never "*" and never a custom department: a custom key is a
// name the connector made up, not a Department value.
const rule_map::value_type* find_named(const rule_map& rules, const std::string& department) {
  if (const auto it = rules.find(department);
      it != rules.end() && it->first != wildcard && !it->second.custom)
    return &*it;
  for (const auto& entry : rules)
    if (entry.first != wildcard && !entry.second.custom && iequals(entry.first, department))
      return &entry;
  return nullptr;
}

// Is `department` the name of a custom department? Such a Salesforce value is not pulled into
// it (nor through "*" or a group into a second department under the same name and key).
const rule_map::value_type* custom_named(const rule_map& rules, const std::string& department) {
  for (const auto& entry : rules)
    if (entry.second.custom && iequals(entry.first, department)) return &entry;
  return nullptr;
}

// The rule for a Salesforce department value: its own entry, else "*" (unless the value is a
// custom department's name). Null when the department is not selected.
const rule_map::value_type* find_rule(const rule_map& rules, const std::string& department) {
  if (const auto* named = find_named(rules, department)) return named;
  if (custom_named(rules, department)) return nullptr;
  if (const auto it = rules.find(wildcard); it != rules.end()) return &*it;
  return nullptr;
}

bool is_record_id(const std::string& entry) {
  return salesforce::is_valid_id(entry);
}

// Listed by Username (case-insensitive, as Salesforce treats it) or by record id (15 or 18
// characters, same record when the first 15 match).
bool is_listed(const mapped_user& user, const config::department_rule& rule) {
  return std::any_of(rule.users.begin(), rule.users.end(), [&user](const std::string& entry) {
    if (user.username && iequals(*user.username, entry)) return true;
    return is_record_id(entry) && salesforce::is_valid_id(user.record_id) &&
           salesforce::same_id(entry, user.record_id);
  });
}

// The custom department that hand-picks the user (config allows one at most).
const rule_map::value_type* find_custom(const rule_map& rules, const mapped_user& user) {
  for (const auto& entry : rules)
    if (entry.second.custom && is_listed(user, entry.second)) return &entry;
  return nullptr;
}

// A record without its Username cannot be told apart from a user a custom department lists
// by Username: placing it by the ordinary rules could move a hand-picked user out.
bool custom_listing_unknown(const rule_map& rules, const mapped_user& user) {
  if (user.username) return false;
  return std::any_of(rules.begin(), rules.end(), [](const rule_map::value_type& entry) {
    return entry.second.custom &&
           !std::all_of(entry.second.users.begin(), entry.second.users.end(), is_record_id);
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

namespace {

// By department (sync.select_by "department"): the department selects the user.
scope_decision by_department(const mapped_user& user, const config::sync_settings& sync) {
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
  if (!rule && custom_named(sync.departments, department))
    return out_of_scope(leave, "department " + quoted(department) +
                                   " is not selected (sync.departments has a custom department "
                                   "of that name: only its listed users go there)");
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

// By group (sync.select_by "group"): carrying one of sync.groups selects the user; the
// department only places them (a custom department's list, else their own Department, named
// by its sync.departments entry).
scope_decision by_group(const mapped_user& user, const config::sync_settings& sync) {
  if (!user.groups)
    return out_of_scope(sync_action::ignore, "group field unknown (not in the record)");
  const sync_action leave = action_for(sync.out_of_scope_users);
  const auto group =
      std::find_if(user.groups->begin(), user.groups->end(),
                   [&](const std::string& g) { return manages_group(sync.groups, g); });
  if (group == user.groups->end())
    return out_of_scope(leave, "in none of sync.groups (users are chosen by group)");
  const std::string why = "in group " + quoted(*group) + " (users are chosen by group)";
  if (const auto* custom = find_custom(sync.departments, user))
    return in_scope(custom->second.ispring_name.value_or(custom->first), custom->first,
                    why + "; hand-picked for department " + quoted(custom->first));
  if (!user.department)
    return out_of_scope(sync_action::ignore, "department unknown (not in the record)");
  const std::string& department = *user.department;
  if (department.empty()) return out_of_scope(leave, why + " but has no department");
  if (const auto* rule = find_named(sync.departments, department))
    return in_scope(rule->second.ispring_name.value_or(rule->first), rule->first, why);
  if (custom_named(sync.departments, department))
    return out_of_scope(leave, why + " but department " + quoted(department) +
                                   " is the name of a custom department that does not list "
                                   "the user");
  return in_scope(department, department, why);
}

}  // namespace

scope_decision decide_scope(const mapped_user& user, const config::sync_settings& sync) {
  // Inactive users follow inactive_users, whatever their department.
  if (user.active == false)
    return out_of_scope(action_for(sync.inactive_users), "IsActive = false");
  if (custom_listing_unknown(sync.departments, user))
    return out_of_scope(sync_action::ignore,
                        "Username unknown (not in the record): a custom department may list it");
  if (sync.select_by == "group") return by_group(user, sync);
  // A hand-picked user goes to their custom department, whatever their Department says.
  if (const auto* custom = find_custom(sync.departments, user))
    return in_scope(custom->second.ispring_name.value_or(custom->first), custom->first,
                    "hand-picked for department " + quoted(custom->first));
  return by_department(user, sync);
}

std::optional<std::string> configured_department_name(const config::sync_settings& sync,
                                                      const std::string& key) {
  if (const auto it = sync.departments.find(key); it != sync.departments.end() && it->second.custom)
    return it->second.ispring_name.value_or(key);
  if (const auto* named = find_named(sync.departments, key))
    return named->second.ispring_name.value_or(named->first);
  if (custom_named(sync.departments, key)) return std::nullopt;
  // Chosen by group, or every department, or "*": the key is the Department value itself.
  if (sync.select_by == "group" || sync.departments.empty() ||
      sync.departments.count(wildcard) != 0)
    return key;
  return std::nullopt;
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

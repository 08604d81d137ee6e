#include "connector/sync/mapping.hpp"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "text.hpp"

namespace connector::sync {
namespace {

using json = nlohmann::json;

// What a record says about one Salesforce field.
struct field_lookup {
  bool present = false;
  std::optional<std::string> value;  // nullopt: null in Salesforce
};

// A leaf as text. Objects and arrays (a compound address, REST "attributes") carry no single
// value for a profile field, so they count as absent rather than as a guess.
field_lookup leaf(const json& v) {
  if (v.is_null()) return {true, std::nullopt};
  if (v.is_string()) return {true, v.get<std::string>()};
  if (v.is_boolean()) return {true, std::string(v.get<bool>() ? "true" : "false")};
  if (v.is_number()) return {true, v.dump()};
  return {};
}

field_lookup find_field(const json& record, const std::string& name) {
  if (!record.is_object() || name.empty()) return {};
  if (const auto it = record.find(name); it != record.end()) return leaf(*it);
  // "Manager.Email": REST query results nest relationships; a null relationship means the
  // field is null, not unknown.
  const json* at = &record;
  std::string_view rest = name;
  while (true) {
    const auto dot = rest.find('.');
    if (dot == std::string_view::npos || dot == 0) break;
    const auto it = at->find(std::string(rest.substr(0, dot)));
    if (it == at->end()) return {};
    if (it->is_null()) return {true, std::nullopt};
    if (!it->is_object()) return {};
    at = &*it;
    rest.remove_prefix(dot + 1);
    if (const auto leaf_it = at->find(std::string(rest)); leaf_it != at->end())
      return leaf(*leaf_it);
  }
  return {};
}

// Absent stays nullopt; null becomes "" (cleared, sent as "").
std::optional<std::string> text_of(const json& record, const std::string& name) {
  const field_lookup f = find_field(record, name);
  if (!f.present) return std::nullopt;
  return f.value.value_or(std::string());
}

std::optional<bool> active_of(const json& record) {
  const field_lookup f = find_field(record, "IsActive");
  if (!f.present || !f.value) return std::nullopt;
  const std::string v = ascii_lower(trim(*f.value));
  if (v == "true" || v == "1") return true;
  if (v == "false" || v == "0") return false;
  return std::nullopt;
}

// Multi-select picklists hold "A;B;C".
std::vector<std::string> split_groups(std::string_view text) {
  std::vector<std::string> out;
  while (true) {
    const auto semi = text.find(';');
    const std::string_view item = trim(text.substr(0, semi));
    const bool seen = std::any_of(out.begin(), out.end(),
                                  [item](const std::string& g) { return iequals(g, item); });
    if (!item.empty() && !seen) out.emplace_back(item);
    if (semi == std::string_view::npos) break;
    text.remove_prefix(semi + 1);
  }
  return out;
}

}  // namespace

std::map<std::string, std::string> mapped_user::profile() const {
  std::map<std::string, std::string> out = fields;
  if (login) out["login"] = *login;
  if (email) out["email"] = *email;
  if (last_name) out["last_name"] = *last_name;
  return out;
}

mapped_user map_user(const json& record, const std::string& record_id,
                     const config::mapping_settings& mapping) {
  mapped_user user;
  user.record_id = record_id;
  user.login = text_of(record, mapping.login);
  user.email = text_of(record, mapping.email);
  user.last_name = text_of(record, mapping.last_name);
  if (auto department = text_of(record, mapping.department))
    user.department = std::string(trim(*department));
  if (!mapping.groups.empty())
    if (auto groups = text_of(record, mapping.groups)) user.groups = split_groups(*groups);
  for (const auto& [ispring_id, salesforce_field] : mapping.fields)
    if (auto value = text_of(record, salesforce_field)) user.fields[ispring_id] = *value;
  user.active = active_of(record);
  if (const field_lookup u = find_field(record, "Username"); u.present && u.value)
    user.username = *u.value;
  return user;
}

std::vector<std::string> required_salesforce_fields(const config::mapping_settings& mapping) {
  std::vector<std::string> out;
  const auto add = [&out](const std::string& name) {
    // SOQL field names are case-insensitive; a repeated name would be refused.
    const bool seen = std::any_of(out.begin(), out.end(),
                                  [&name](const std::string& f) { return iequals(f, name); });
    if (!name.empty() && !seen) out.push_back(name);
  };
  for (const char* fixed : {"Id", "Username", "IsActive", "SystemModstamp"}) add(fixed);
  add(mapping.login);
  add(mapping.email);
  add(mapping.last_name);
  add(mapping.department);
  add(mapping.groups);
  for (const auto& [ispring_id, salesforce_field] : mapping.fields) add(salesforce_field);
  return out;
}

std::vector<std::string> missing_mapped_fields(const json& record,
                                               const config::mapping_settings& mapping) {
  std::vector<std::string> missing;
  for (auto& name : required_salesforce_fields(mapping)) {
    if (iequals(name, "Id") || iequals(name, "SystemModstamp")) continue;
    if (!find_field(record, name).present) missing.push_back(std::move(name));
  }
  return missing;
}

std::vector<std::string> differing_mapped_fields(const json& notified, const json& read,
                                                 const config::mapping_settings& mapping) {
  std::vector<std::string> differing;
  for (auto& name : required_salesforce_fields(mapping)) {
    if (iequals(name, "Id") || iequals(name, "SystemModstamp")) continue;
    const field_lookup claimed = find_field(notified, name);
    if (!claimed.present) continue;
    if (claimed.value.value_or("") != find_field(read, name).value.value_or(""))
      differing.push_back(std::move(name));
  }
  return differing;
}

}  // namespace connector::sync

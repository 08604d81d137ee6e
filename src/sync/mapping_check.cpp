#include "connector/sync/mapping_check.hpp"

#include <algorithm>
#include <map>

namespace connector::sync {

std::vector<finding> check_mapping(const config::mapping_settings& mapping,
                                   const std::vector<ispring::profile_field>& fields) {
  // iSpring field id -> the config key that feeds it.
  std::map<std::string, std::string> targets{
      {"login", "mapping.login"}, {"email", "mapping.email"}, {"last_name", "mapping.last_name"}};
  for (const auto& [id, salesforce_field] : mapping.fields) targets[id] = "mapping.fields." + id;

  const auto known = [&](const std::string& id) {
    return std::any_of(fields.begin(), fields.end(),
                       [&](const ispring::profile_field& f) { return f.id == id; });
  };
  std::vector<finding> findings;
  for (const auto& [id, key] : targets) {
    if (known(id)) {
      findings.push_back({true, key + ": maps to iSpring profile field '" + id + "'"});
    } else {
      findings.push_back({false, key + ": '" + id +
                                     "' is not a profile field of this iSpring account (see "
                                     "Settings > User Profile Settings for Field IDs)"});
    }
  }
  for (const auto& field : fields) {
    // Country-type fields are exempt from the required rule on create (reference §4.3).
    if (!field.is_required || field.type == "country" || targets.count(field.id) != 0) continue;
    findings.push_back({false, "iSpring requires profile field '" + field.id + "' (" + field.label +
                                   ") but the mapping does not fill it: add it to mapping.fields, "
                                   "or users cannot be created"});
  }
  return findings;
}

}  // namespace connector::sync

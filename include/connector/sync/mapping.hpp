#pragma once
// Field mapping: a Salesforce record's fields → the iSpring user they describe
// (design.md "Rules carried over from the seed": five mandatory targets — login, email,
// last_name, the department field, the group field — plus any number of extra profile
// fields). Pure: values in, values out.
//
// Records may be partial (a change event carries only the fields that changed), so every
// target remembers whether the record carried it: an absent field is unknown and must not
// be cleared in iSpring; a field present as null was cleared in Salesforce and is sent as "".
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "connector/config/config.hpp"

namespace connector::sync {

struct mapped_user {
  std::string record_id;  // the Salesforce record id, as given

  // nullopt: the record does not carry the field; "": it is null (cleared) in Salesforce.
  std::optional<std::string> login;
  std::optional<std::string> email;
  std::optional<std::string> last_name;
  // The raw Salesforce value, trimmed; "" means the user has no department.
  std::optional<std::string> department;
  // The group field split on ';' (multi-select picklist form), trimmed, without empties or
  // repeats (compared case-insensitively, first spelling kept). nullopt when no group field
  // is mapped or the record does not carry it.
  std::optional<std::vector<std::string>> groups;
  // Extra profile fields (mapping.fields) present in the record: iSpring field id → value.
  std::map<std::string, std::string> fields;
  std::optional<bool> active;           // IsActive; nullopt when absent or unreadable
  std::optional<std::string> username;  // Salesforce Username, for sync.departments users lists

  // Every profile field the mapping owns that the record carries, keyed like iSpring
  // requests (login, email, last_name, then mapping.fields ids). "" clears the field.
  std::map<std::string, std::string> profile() const;
};

// Maps one record (field name → string or null, as stored; booleans and numbers from JSON
// events are taken as their text). A relationship path such as "Manager.Email" is read as a
// flat key first, then through nested objects (REST query results). Anything that is not a
// JSON object maps to a user with nothing present.
mapped_user map_user(const nlohmann::json& record, const std::string& record_id,
                     const config::mapping_settings& mapping);

// The Salesforce fields the mapping reads, each once, in a stable order: Id, Username,
// IsActive, SystemModstamp, then the mapped fields (for the reconciliation's SOQL query).
std::vector<std::string> required_salesforce_fields(const config::mapping_settings& mapping);

// The fields the mapping reads (required_salesforce_fields but Id and SystemModstamp) that
// `record` does not carry at all (null counts as carried): a partial change event holds only
// what changed, and applying it as it is would take the rest for unknown.
std::vector<std::string> missing_mapped_fields(const nlohmann::json& record,
                                               const config::mapping_settings& mapping);

// The fields the mapping reads that `notified` carries with another value than `read` has
// (null and "" alike, as Salesforce stores them; a field `read` lacks counts as null): what
// a notification claimed that Salesforce does not say.
std::vector<std::string> differing_mapped_fields(const nlohmann::json& notified,
                                                 const nlohmann::json& read,
                                                 const config::mapping_settings& mapping);

}  // namespace connector::sync

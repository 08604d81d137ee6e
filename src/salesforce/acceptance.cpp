#include "connector/salesforce/acceptance.hpp"

#include <algorithm>

#include "connector/salesforce/ids.hpp"

namespace connector::salesforce {

std::optional<std::string> check_outbound_message(const outbound_message& message,
                                                  const acceptance_rules& rules) {
  // 15- and 18-character forms name the same organization: compare the case-sensitive
  // first 15 characters.
  const bool known_org = std::any_of(
      rules.organization_ids.begin(), rules.organization_ids.end(),
      [&](const std::string& allowed) { return same_id(allowed, message.organization_id); });
  if (!known_org) {
    return "OrganizationId " + message.organization_id +
           " is not one of the organizations this connector serves "
           "(salesforce.organization_ids)";
  }
  for (std::size_t i = 0; i < message.notifications.size(); ++i) {
    const auto& n = message.notifications[i];
    if (!n.object_type.empty() && n.object_type != rules.source_object) {
      return "Notification " + std::to_string(i + 1) + " (" + n.id + ") is about a " +
             n.object_type + "; this endpoint accepts " + rules.source_object +
             " outbound messages only (salesforce.source_object)";
    }
  }
  return std::nullopt;
}

}  // namespace connector::salesforce

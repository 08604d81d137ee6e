#pragma once
// The checks a well-formed Outbound Message must pass before anything is stored: it comes
// from an organization we serve and is about the object we synchronise (reference §A.6:
// "check OrganizationId in every message").
#include <optional>
#include <string>
#include <vector>

#include "connector/salesforce/outbound_message.hpp"

namespace connector::salesforce {

struct acceptance_rules {
  std::vector<std::string> organization_ids;  // 15 or 18 characters
  std::string source_object = "User";         // "User" or "Contact"
};

// Nothing when the message is acceptable, else the reason, phrased for the Salesforce
// administrator who reads it in the outbound message's delivery status.
std::optional<std::string> check_outbound_message(const outbound_message& message,
                                                  const acceptance_rules& rules);

}  // namespace connector::salesforce

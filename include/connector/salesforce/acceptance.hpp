#pragma once
// The checks a well-formed Outbound Message must pass before anything is stored: it comes
// from an organization we serve and is about the object we synchronise (reference §A.6:
// "check OrganizationId in every message").
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "connector/salesforce/change_events.hpp"
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

// Newest wins (change_order.hpp), so a stamp from the future would pin a record's state
// over every real change until that date. Salesforce stamps a change when it commits it:
// more than this ahead of our clock is forged or broken, and the request is refused.
inline constexpr std::int64_t max_future_stamp_ms = 5 * 60 * 1000;

// The first notification whose ordering stamp (SystemModstamp, else LastModifiedDate: the
// one modstamp_ms uses) is more than max_future_stamp_ms after `now_ms`, phrased for the
// Salesforce administrator and naming the record; nothing when every stamp is plausible.
std::optional<std::string> check_stamps_not_future(const outbound_message& message,
                                                   std::int64_t now_ms);
// The same for change and platform events: their commitTimestamp (CreatedDate).
std::optional<std::string> check_stamps_not_future(const std::vector<parsed_event>& events,
                                                   std::int64_t now_ms);

}  // namespace connector::salesforce

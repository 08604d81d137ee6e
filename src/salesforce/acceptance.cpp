#include "connector/salesforce/acceptance.hpp"

#include <algorithm>

#include "connector/salesforce/change_order.hpp"
#include "connector/salesforce/ids.hpp"

namespace connector::salesforce {
namespace {

std::string ahead_by(std::int64_t stamp_ms, std::int64_t now_ms) {
  const auto minutes = (stamp_ms - now_ms) / 60'000;
  return minutes >= 1 ? std::to_string(minutes) + " minutes" : "less than a minute";
}

std::string refusal(const std::string& what, const std::string& record,
                    const std::string& stamp_field, const std::string& stamp, std::int64_t stamp_ms,
                    std::int64_t now_ms) {
  return what + " about record " + (record.empty() ? std::string("(no id)") : record) + ": " +
         stamp_field + " " + stamp + " is " + ahead_by(stamp_ms, now_ms) +
         " ahead of the connector's clock (more than " +
         std::to_string(max_future_stamp_ms / 60'000) +
         " minutes is refused, so that a forged stamp cannot pin the record's state); nothing "
         "of this request was stored. Check the sender's data and both clocks";
}

}  // namespace

std::optional<std::string> check_stamps_not_future(const outbound_message& message,
                                                   std::int64_t now_ms) {
  for (std::size_t i = 0; i < message.notifications.size(); ++i) {
    const auto& n = message.notifications[i];
    // The field modstamp_ms orders by: the first of the two that parses.
    for (const std::string_view field : {"SystemModstamp", "LastModifiedDate"}) {
      const std::optional<std::string>* value = n.find(field);
      if (value == nullptr || !value->has_value()) continue;
      const auto ms = parse_datetime_ms(**value);
      if (!ms) continue;
      if (*ms - now_ms > max_future_stamp_ms) {
        return refusal("Notification " + std::to_string(i + 1) + " (" + n.id + ")", n.record_id,
                       std::string(field), **value, *ms, now_ms);
      }
      break;
    }
  }
  return std::nullopt;
}

std::optional<std::string> check_stamps_not_future(const std::vector<parsed_event>& events,
                                                   std::int64_t now_ms) {
  for (const auto& event : events) {
    if (!event.commit_timestamp_ms || *event.commit_timestamp_ms - now_ms <= max_future_stamp_ms) {
      continue;
    }
    const bool platform = event.type == change_type::platform_event;
    return refusal("event " + std::to_string(event.event_index) + " (" + event.event_name + ")",
                   event.record_id, platform ? "CreatedDate" : "commitTimestamp",
                   std::to_string(*event.commit_timestamp_ms) + " ms", *event.commit_timestamp_ms,
                   now_ms);
  }
  return std::nullopt;
}

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

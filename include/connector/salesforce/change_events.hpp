#pragma once
// Salesforce change events (Change Data Capture) and platform events delivered as JSON by a
// relay, a Flow/Apex callout or Amazon EventBridge (reference salesforce.md §C). Pure: bytes
// in, one change per record or a typed error out; the HTTP intake stores the result.
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "connector/expected.hpp"

namespace connector::store {
struct incoming_change;
}

namespace connector::salesforce {

// Limits for one request body; anything beyond is refused, not truncated.
inline constexpr std::size_t max_events_per_body = 1000;
inline constexpr std::size_t max_changes_per_body = 10000;  // after splitting recordIds
inline constexpr std::size_t max_json_depth = 64;

enum class change_type {
  create,
  update,
  remove,  // DELETE
  undelete,
  gap_create,  // GAP_*: Salesforce could not send the fields; re-read the record
  gap_update,
  gap_remove,
  gap_undelete,
  gap_overflow,
  platform_event,  // a custom `…__e` event, mapped through event_parse_options
};

struct event_parse_options {
  // The only entityName accepted from change events, and the object_type of platform events.
  std::string source_object = "User";
  // Platform events: event field → record field. Unmapped event fields are ignored.
  std::map<std::string, std::string> platform_event_fields;
  // The event field that holds the record id. Empty: platform events are refused.
  std::string platform_event_record_id_field;
  // Platform event names accepted ("Employee_Changed__e"); empty accepts any `…__e` name.
  std::vector<std::string> platform_event_names;
};

// One record's change from one event (an event naming several records gives several).
struct parsed_event {
  std::size_t event_index = 0;  // position of the event in the body (0 for a single object)
  std::string notification_id;  // dedupe key, unique per record: "<event id>/<record id>"
  std::string record_id;        // 18 characters
  std::string object_type;      // entityName, or source_object for platform events
  std::string event_name;       // "UserChangeEvent"-style entity, or the platform event name
  change_type type = change_type::update;
  // Newest wins: commitTimestamp (CreatedDate for platform events), then sequenceNumber.
  std::optional<std::int64_t> commit_timestamp_ms;
  std::optional<std::int64_t> sequence_number;
  std::string transaction_key;
  std::string commit_user;
  std::string channel;    // CometD channel when the envelope named one
  std::string replay_id;  // as sent (CometD: a number; Pub/Sub: opaque), empty when absent
  // JSON object of the fields sent, compound fields flattened (Name.FirstName → FirstName,
  // MailingAddress.City → MailingCity); null means cleared in Salesforce. "{}" without data.
  std::string fields_json = "{}";
  bool has_data = true;  // false for DELETE and every GAP_* event
  // GAP_*: the record must be read over REST. record_id may then be a wildcard ("005*",
  // every record of a kind; is_wildcard_record), which only a full reconciliation serves.
  bool needs_reread = false;
};

bool is_wildcard_record(std::string_view record_id);

enum class event_errc {
  empty_body,
  malformed_json,       // not JSON, not UTF-8, trailing bytes
  duplicate_key,        // the same key twice in one object: which one wins is unknowable
  too_deep,             // nested deeper than max_json_depth
  number_out_of_range,  // an integer beyond 64 bits, or a float beyond double
  too_many_events,
  not_an_event,  // neither a change event nor a recognisable platform event
  wrong_entity,  // entityName is not the configured source object
  bad_header,    // ChangeEventHeader field missing or of the wrong type
  bad_change_type,
  bad_record_id,
  bad_field,  // a field name or value a record cannot hold
  bad_timestamp,
  platform_event_not_configured,
};

struct event_error {
  event_errc code;
  std::string message;  // names the event index and what is wrong; quotes input briefly
};

// Accepts a single event, an array of events, the CometD envelope
// `{"channel", "data": {"payload", "event": {"replayId"}}}`, the EventBridge envelope
// `{"detail-type", "source", "detail": event}` (detail may itself hold `{"payload", …}`), and
// arrays of those. One refused event refuses the body: the sender retries it whole.
// An empty array gives no changes.
expected<std::vector<parsed_event>, event_error> parse_change_events(
    std::string_view body, const event_parse_options& options);

// The store's view of one change. A GAP_* event for one record queues that record for a
// read over REST (incoming_change::reread). A wildcard GAP becomes a notification with an
// empty record_id: the store remembers the id (redeliveries stay duplicates) and syncs
// nothing; the caller asks for a full reconciliation.
store::incoming_change to_incoming_change(const parsed_event& event);

const char* to_string(change_type type);  // "UPDATE", "GAP_OVERFLOW", "PLATFORM_EVENT"

}  // namespace connector::salesforce

#pragma once
// The store's values: what intake delivers, the records the sync worker takes, history events,
// links and look-ups. Plain data, shared by every store engine and its callers.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "connector/clock.hpp"

namespace connector::store {

// One notification as the store sees it: already checked and normalised by the caller.
struct incoming_change {
  std::string notification_id;       // dedupe key within the organization
  std::string record_id;             // 18-character Salesforce id
  std::string object_type;           // "User", "Contact"
  std::optional<epoch_ms> modstamp;  // SystemModstamp, else LastModifiedDate
  std::string fields_json;  // JSON object of the fields sent, e.g. {"Email":"a@b.c","Title":null}
  bool has_data = true;     // false: record deleted before delivery, nothing to apply
  // Salesforce could not send the data (a GAP change event): the record is queued, and the
  // worker reads it over REST before applying it. Implies has_data = false.
  bool reread = false;
};

// Everything one HTTP request delivered: stored in one transaction, or not at all.
struct intake_request {
  std::string organization_id;  // 18-character
  std::string source;           // "outbound_message" or "event"
  epoch_ms received_at = 0;
  std::vector<incoming_change> changes;
};

struct intake_outcome {
  bool committed = false;      // true only once the transaction is durable on disk
  std::size_t stored = 0;      // new notifications
  std::size_t duplicates = 0;  // notification ids seen before: acked, not applied again
  std::string error;           // why the commit failed (disk full, locked, I/O error)
};

// A record's state in the pending queue, as the sync worker takes it. `held`: the worker's
// safety limit (sync.max_deactivations_per_hour) kept its deactivation or deletion back; it
// waits for the operator (release_held) or for a newer state of the record, and the worker
// does not take it.
enum class record_state { pending, retrying, done, dead, held };
// "pending", "retrying", "done", "dead", "held": as stored, and as status and explain show it.
const char* to_string(record_state state);

struct pending_record {
  std::string organization_id;
  std::string record_id;
  std::string object_type;
  std::string fields_json;  // newest known state (all fields ever received, newest wins per field)
  std::optional<epoch_ms> modstamp;
  std::int64_t version = 0;  // grows with every newer state; lets the worker finish safely
  int attempts = 0;
  std::string last_error;
  epoch_ms due_at = 0;
  std::string last_outcome;                    // set by mark_done
  record_state state = record_state::pending;  // where it is in the queue (find_record, explain)
  bool needs_reread = false;  // a GAP event: read the record from Salesforce before applying
  // The operator released this state from the safety limit (release_held): applied even over
  // the hour's cap. A newer state is not released.
  bool released = false;
};

struct inbox_stats {
  std::int64_t notifications_received = 0;  // distinct notifications stored
  std::int64_t duplicates_ignored = 0;
  std::int64_t pending = 0;   // records waiting for their first (or next fresh) attempt
  std::int64_t retrying = 0;  // records backing off after a failure
  std::int64_t dead_letters = 0;
  std::int64_t held = 0;     // held by the safety limit, waiting for the operator
  std::int64_t skipped = 0;  // applied as "nothing to do", e.g. users without a department
  std::optional<epoch_ms> last_received_at;
  // When the change that has waited longest for the worker (pending or retrying) arrived;
  // none when nothing waits. Retries don't reset it, a newer state of a waiting record
  // doesn't either.
  std::optional<epoch_ms> oldest_waiting_since;
};

// One event in a Salesforce user's history, what `connector explain` tells: a notification
// received, ignored as a duplicate or merged into a waiting state, the mapping and scope
// decision, each iSpring call with its answer, retries, dead-lettering, re-queues, and the
// reconciliation runs that touched the user. Kinds are history_kinds; details is a JSON
// object whose keys depend on the kind (source, notification_id, modstamp, reason,
// call, status, error, attempt, next_attempt_at, run_id, action, …) and never hold a secret.
struct history_event {
  std::string organization_id;
  std::string record_id;  // 18-character Salesforce id
  epoch_ms time = 0;
  std::string kind;
  std::string details_json = "{}";
  std::int64_t id = 0;  // set when read back: orders events of the same millisecond
};

// The kinds an event may have, in the order they usually happen.
namespace history_kinds {
inline constexpr const char* received = "received";      // stored (explain tells a merge)
inline constexpr const char* duplicate = "duplicate";    // notification id seen before
inline constexpr const char* stale = "stale";            // older modstamp than the state held
inline constexpr const char* superseded = "superseded";  // a newer state arrived during apply
inline constexpr const char* read = "read";      // read over REST first: details.purpose, returned
inline constexpr const char* mapped = "mapped";  // the mapping's result
inline constexpr const char* scope = "scope";    // in scope or not, and why
inline constexpr const char* ispring_call = "ispring_call";
inline constexpr const char* applied = "applied";
inline constexpr const char* skipped = "skipped";
inline constexpr const char* failed = "failed";  // details.next_attempt_at
inline constexpr const char* dead_letter = "dead_letter";
inline constexpr const char* requeued = "requeued";
inline constexpr const char* held = "held";  // kept back by the safety limit; details.reason
inline constexpr const char* released = "released";      // let through by the operator
inline constexpr const char* reconciled = "reconciled";  // details.run_id, action, ok
}  // namespace history_kinds

// A department the connector owns (design.md "Trust: … Salesforce is the truth"): the iSpring
// department it created, or adopted by its configured name, for a Salesforce department key,
// and the iSpring name it last gave it. Only owned departments are renamed or deleted.
struct department_link {
  std::string key;            // the sync.departments key; for "*", the user's own Department
  std::string department_id;  // iSpring
  std::string name;           // the iSpring name the connector last gave it
};

// A Salesforce record found by id, login or e-mail (search_users, `connector explain`).
struct user_match {
  std::string organization_id;
  std::string record_id;
  std::string login;  // the mapping's login field as last seen; "" when not carried
  std::string email;
  record_state state = record_state::pending;
};

// What search_users looks for: a record id, or the text of the login or e-mail field
// (ignoring case), whole or as a prefix.
struct user_query {
  std::vector<std::string> organization_ids;  // 18-character; empty: every organization
  std::string text;
  bool prefix = false;
  std::size_t limit = 20;
  std::size_t offset = 0;
};

}  // namespace connector::store

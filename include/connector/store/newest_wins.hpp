#pragma once
// Newest wins, and how changes coalesce into the one state a record waits with: decided here,
// once, for every engine. An engine reads the record's row inside its write transaction,
// asks these functions, and writes what they return; it encodes none of the rules in SQL.
//
// Salesforce redelivers out of order, so the newest SystemModstamp wins; an equal or unknown
// stamp cannot tell, so arrival order decides (the later arrival wins). Fields merge newest
// over older (merge_fields_json: a change event carries only what changed, and a null means
// "cleared").
#include <cstdint>
#include <optional>
#include <string>

#include "connector/clock.hpp"
#include "connector/store/types.hpp"

namespace connector::store {

// The columns of a record the rules read and write; the engine keeps the rest (links, keys,
// last_outcome, released_version) as they are.
struct record_row {
  std::string object_type;
  std::string fields_json = "{}";
  std::optional<epoch_ms> modstamp;
  std::int64_t version = 0;  // a new state gets a higher one; the worker finishes by it
  record_state state = record_state::pending;
  int attempts = 0;
  std::string last_error;
  epoch_ms due_at = 0;
  // When the change the worker has yet to apply arrived (inbox_stats::oldest_waiting_since):
  // kept while the record waits (pending, retrying), restarted once it had settled.
  std::optional<epoch_ms> waiting_since;
  bool needs_reread = false;  // a GAP event: read from Salesforce before applying
};

enum class intake_verdict {
  applied,  // the change is the record's newest state (or merged into it): history "received"
  stale,    // older than the state held: nothing changes; history "stale"
  // Stale, but the waiting record is due again with a new version, its fields as they were
  // (store_settings::requeue_stale_while_waiting; history "stale" with read_again).
  stale_requeued,
};

struct intake_decision {
  intake_verdict verdict = intake_verdict::applied;
  // What to write: the record's new row (inserted when there was none), or none when stale.
  std::optional<record_row> row;
};

// A notification or event for `stored` (none: the record is new), received at `received_at`.
// A change without data (deleted before delivery, or a GAP event: change.reread) is always
// applied: nothing merges, but the worker must look at the record again, and a mark to re-read
// stays until a read is saved.
intake_decision decide_intake(const std::optional<record_row>& stored,
                              const incoming_change& change, epoch_ms received_at,
                              bool requeue_stale_while_waiting);

// What the worker read over REST for the state with `version` (work_queue::save_reread):
// none when a newer state arrived meanwhile (the version differs; its mark to re-read stays).
// Merged, fields newest over stored and the higher of the two stamps; `replace` (a verified
// read): the read becomes the state, fields and stamp alike, even a lower or no stamp.
// Either way the mark to re-read is cleared and the state's place in the queue is kept.
std::optional<record_row> decide_reread(const record_row& stored, std::int64_t version,
                                        const std::string& fields_json,
                                        std::optional<epoch_ms> modstamp, bool replace);

}  // namespace connector::store

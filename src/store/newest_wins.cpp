#include "connector/store/newest_wins.hpp"

#include <algorithm>

#include "connector/store/fields_json.hpp"

namespace connector::store {

namespace {

bool is_waiting(record_state state) {
  return state == record_state::pending || state == record_state::retrying;
}

// The record is due for the worker again, with a state it has not seen (a new version).
void make_due(record_row& row, epoch_ms received_at) {
  ++row.version;
  row.state = record_state::pending;
  row.attempts = 0;
  row.last_error.clear();
  row.due_at = received_at;
}

// A change arrived for a record held before: what waits now is a new state. A record that
// was waiting keeps the time its oldest unapplied change arrived.
void requeue_with_new_state(record_row& row, epoch_ms received_at) {
  row.waiting_since = is_waiting(row.state) ? row.waiting_since.value_or(received_at) : received_at;
  make_due(row, received_at);
}

record_row new_record(const incoming_change& change, epoch_ms received_at) {
  record_row row;
  row.object_type = change.object_type;
  row.version = 1;
  row.due_at = received_at;
  row.waiting_since = received_at;
  if (change.has_data) {
    row.fields_json = change.fields_json;
    row.modstamp = change.modstamp;
  } else {
    row.needs_reread = change.reread;
  }
  return row;
}

// An unknown stamp on either side cannot tell, so the later arrival wins.
bool is_stale(const record_row& stored, const incoming_change& change) {
  return change.modstamp && stored.modstamp && *change.modstamp < *stored.modstamp;
}

}  // namespace

intake_decision decide_intake(const std::optional<record_row>& stored,
                              const incoming_change& change, epoch_ms received_at,
                              bool requeue_stale_while_waiting) {
  if (!stored) return {intake_verdict::applied, new_record(change, received_at)};
  record_row row = *stored;
  if (!change.has_data) {
    row.needs_reread = row.needs_reread || change.reread;
    requeue_with_new_state(row, received_at);
    return {intake_verdict::applied, std::move(row)};
  }
  if (is_stale(row, change)) {
    if (!requeue_stale_while_waiting || !is_waiting(row.state)) {
      return {intake_verdict::stale, std::nullopt};
    }
    make_due(row, received_at);  // fields as they are; waiting_since too
    return {intake_verdict::stale_requeued, std::move(row)};
  }
  if (!change.object_type.empty()) row.object_type = change.object_type;
  row.fields_json = merge_fields_json(row.fields_json, change.fields_json);
  if (change.modstamp) row.modstamp = change.modstamp;
  requeue_with_new_state(row, received_at);
  return {intake_verdict::applied, std::move(row)};
}

std::optional<record_row> decide_reread(const record_row& stored, std::int64_t version,
                                        const std::string& fields_json,
                                        std::optional<epoch_ms> modstamp, bool replace) {
  if (stored.version != version) return std::nullopt;
  record_row row = stored;
  row.needs_reread = false;
  if (replace) {
    // A verified read is Salesforce's state: nothing a notification said survives.
    row.fields_json = fields_json;
    row.modstamp = modstamp;
    return row;
  }
  row.fields_json = merge_fields_json(row.fields_json, fields_json);
  if (modstamp) row.modstamp = row.modstamp ? std::max(*row.modstamp, *modstamp) : *modstamp;
  return row;
}

}  // namespace connector::store

#include "postgres_intake.hpp"

#include <map>
#include <set>
#include <utility>

#include <nlohmann/json.hpp>

#include "connector/store/newest_wins.hpp"
#include "postgres_reads.hpp"

namespace connector::store {
namespace {

using key = std::pair<std::string, std::string>;  // (organization_id, id)

void append(history_rows& history, const intake_request& request, const incoming_change& change,
            const char* kind, const char* flag = nullptr) {
  nlohmann::json details = {{"source", request.source}};
  if (!change.notification_id.empty()) details["notification_id"] = change.notification_id;
  if (change.modstamp) details["modstamp"] = *change.modstamp;
  if (flag != nullptr) details[flag] = true;
  history.add(request.organization_id, change.record_id, request.received_at, kind, details.dump());
}

// The batch's notification ids that are new: inserted now. An id twice in the batch counts
// once (its first arrival); ids seen before insert nothing.
std::set<key> insert_notifications(postgres_connection& db, const std::vector<intake_item>& items) {
  std::vector<std::string> organizations, ids, records, sources;
  std::vector<std::int64_t> times;
  std::set<key> in_batch;
  for (const auto& item : items) {
    const auto& request = *item.request;
    for (const auto& change : request.changes) {
      if (change.notification_id.empty()) continue;
      if (!in_batch.emplace(request.organization_id, change.notification_id).second) continue;
      organizations.push_back(request.organization_id);
      ids.push_back(change.notification_id);
      records.push_back(change.record_id);
      sources.push_back(request.source);
      times.push_back(request.received_at);
    }
  }
  std::set<key> fresh;
  if (ids.empty()) return fresh;
  const auto rows = db.exec(R"sql(
INSERT INTO notifications (organization_id, notification_id, record_id, source, received_at)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[])
ON CONFLICT DO NOTHING
RETURNING organization_id, notification_id)sql",
                            postgres_params()
                                .add_array(organizations)
                                .add_array(ids)
                                .add_array(records)
                                .add_array(sources)
                                .add_array(times),
                            "insert notifications");
  for (int i = 0; i < rows.rows(); ++i) fresh.emplace(rows.text(i, 0), rows.text(i, 1));
  return fresh;
}

// The records' own advisory locks (the two-number form, so apart from the migration lock's
// one number), taken in the order of their numbers so that two batches never wait on each
// other in a circle. FOR UPDATE locks only rows that exist: without these, two instances
// taking a user's first notifications at once both read "no row", and the later upsert
// overwrote a newer state with an older one (several_instances_e2e).
constexpr int record_lock_class = 17017;

void lock_record_keys(postgres_connection& db, const std::vector<std::string>& organizations,
                      const std::vector<std::string>& ids) {
  db.exec(R"sql(
SELECT pg_advisory_xact_lock($1::integer, k) FROM
  (SELECT DISTINCT hashtext(o || '/' || r) AS k
   FROM unnest($2::text[], $3::text[]) AS keys(o, r) ORDER BY k) AS ordered)sql",
          postgres_params()
              .add(std::int64_t{record_lock_class})
              .add_array(organizations)
              .add_array(ids),
          "lock record keys");
}

// The stored rows of `keys`, locked until the transaction ends (another instance's intake
// for the same record waits, so newest wins holds across instances too).
std::map<key, std::optional<record_row>> lock_records(postgres_connection& db,
                                                      const std::set<key>& keys) {
  std::map<key, std::optional<record_row>> rows;
  std::vector<std::string> organizations, ids;
  for (const auto& k : keys) {
    rows.emplace(k, std::nullopt);
    organizations.push_back(k.first);
    ids.push_back(k.second);
  }
  if (keys.empty()) return rows;
  lock_record_keys(db, organizations, ids);
  const auto found =
      db.exec(std::string("SELECT organization_id, record_id, ") + record_row_columns + R"sql(
FROM records WHERE (organization_id, record_id) IN
  (SELECT * FROM unnest($1::text[], $2::text[]))
ORDER BY organization_id, record_id
FOR UPDATE)sql",
              postgres_params().add_array(organizations).add_array(ids), "lock records");
  for (int i = 0; i < found.rows(); ++i)
    rows[{found.text(i, 0), found.text(i, 1)}] = postgres_reads::record_row_from(found, i, 2);
  return rows;
}

// The new rows of the records that changed, in one upsert. Columns the rules do not own
// (last_outcome, released_version, the lease) are left as they are.
void write_records(postgres_connection& db, const std::map<key, record_row>& changed) {
  if (changed.empty()) return;
  std::vector<std::string> organizations, ids, types, fields, states, errors;
  std::vector<std::optional<std::int64_t>> modstamps, waiting;
  std::vector<std::int64_t> versions, attempts, due;
  std::vector<bool> rereads;
  for (const auto& [k, r] : changed) {
    organizations.push_back(k.first);
    ids.push_back(k.second);
    types.push_back(r.object_type);
    fields.push_back(r.fields_json);
    modstamps.push_back(r.modstamp);
    versions.push_back(r.version);
    states.push_back(to_string(r.state));
    attempts.push_back(r.attempts);
    errors.push_back(r.last_error);
    due.push_back(r.due_at);
    waiting.push_back(r.waiting_since);
    rereads.push_back(r.needs_reread);
  }
  db.exec(R"sql(
INSERT INTO records (organization_id, record_id, object_type, fields_json, modstamp, version,
                     state, attempts, last_error, due_at, waiting_since, needs_reread)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[],
                     $6::bigint[], $7::text[], $8::integer[], $9::text[], $10::bigint[],
                     $11::bigint[], $12::boolean[])
ON CONFLICT (organization_id, record_id) DO UPDATE SET
  object_type = excluded.object_type, fields_json = excluded.fields_json,
  modstamp = excluded.modstamp, version = excluded.version, state = excluded.state,
  attempts = excluded.attempts, last_error = excluded.last_error, due_at = excluded.due_at,
  waiting_since = excluded.waiting_since, needs_reread = excluded.needs_reread)sql",
          postgres_params()
              .add_array(organizations)
              .add_array(ids)
              .add_array(types)
              .add_array(fields)
              .add_array(modstamps)
              .add_array(versions)
              .add_array(states)
              .add_array(attempts)
              .add_array(errors)
              .add_array(due)
              .add_array(waiting)
              .add_array(rereads),
          "upsert records");
}

// The records the batch's new notifications name.
std::set<key> records_named(const std::vector<intake_item>& items) {
  std::set<key> keys;
  for (const auto& item : items)
    for (const auto& change : item.request->changes)
      if (!change.record_id.empty()) keys.emplace(item.request->organization_id, change.record_id);
  return keys;
}

}  // namespace

void history_rows::add(const std::string& organization_id, const std::string& record_id,
                       epoch_ms time, std::string kind, std::string details_json) {
  organization_ids.push_back(organization_id);
  record_ids.push_back(record_id);
  times.push_back(time);
  kinds.push_back(std::move(kind));
  details.push_back(std::move(details_json));
}

void history_rows::clear() {
  organization_ids.clear();
  record_ids.clear();
  times.clear();
  kinds.clear();
  details.clear();
}

void history_rows::insert(postgres_connection& db) const {
  if (empty()) return;
  db.exec(R"sql(
INSERT INTO user_history (organization_id, record_id, time, kind, details)
SELECT organization_id, record_id, time, kind, details FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::text[])
  WITH ORDINALITY AS e (organization_id, record_id, time, kind, details, position)
ORDER BY position)sql",
          postgres_params()
              .add_array(organization_ids)
              .add_array(record_ids)
              .add_array(times)
              .add_array(kinds)
              .add_array(details),
          "record history");
}

void apply_intake(postgres_connection& db, const std::vector<intake_item>& items,
                  bool requeue_stale_while_waiting, history_rows& history, intake_totals& totals) {
  const std::set<key> fresh = insert_notifications(db, items);
  auto stored = lock_records(db, records_named(items));
  std::map<key, record_row> changed;
  std::set<key> counted;  // an id twice in the batch: its second arrival is a duplicate
  for (const auto& item : items) {
    const auto& request = *item.request;
    for (const auto& change : request.changes) {
      if (!change.notification_id.empty()) {
        const key id{request.organization_id, change.notification_id};
        if (!fresh.contains(id) || !counted.insert(id).second) {
          ++item.outcome->duplicates;
          if (!change.record_id.empty()) append(history, request, change, history_kinds::duplicate);
          continue;
        }
      }
      ++item.outcome->stored;
      if (change.record_id.empty()) continue;  // nothing to sync, only the id to remember
      const key record{request.organization_id, change.record_id};
      auto decision =
          decide_intake(stored[record], change, request.received_at, requeue_stale_while_waiting);
      if (decision.row) {
        stored[record] = *decision.row;
        changed[record] = std::move(*decision.row);
      }
      // What explain tells besides the kind (a stale change is never without data).
      const char* flag = change.reread                                        ? "reread"
                         : !change.has_data                                   ? "no_data"
                         : decision.verdict == intake_verdict::stale_requeued ? "read_again"
                                                                              : nullptr;
      const bool stale = decision.verdict != intake_verdict::applied;
      append(history, request, change, stale ? history_kinds::stale : history_kinds::received,
             flag);
    }
    totals.received += static_cast<std::int64_t>(item.outcome->stored);
    totals.duplicates += static_cast<std::int64_t>(item.outcome->duplicates);
    totals.last_received_at =
        std::max(totals.last_received_at.value_or(request.received_at), request.received_at);
  }
  write_records(db, changed);
}

void write_totals(postgres_connection& db, const intake_totals& totals) {
  if (totals.received == 0 && totals.duplicates == 0 && !totals.last_received_at) return;
  db.exec(R"sql(
INSERT INTO counters (name, value)
VALUES ('notifications_received', $1), ('duplicates_ignored', $2)
ON CONFLICT (name) DO UPDATE SET value = counters.value + excluded.value)sql",
          postgres_params().add(totals.received).add(totals.duplicates), "add to counters");
  if (totals.last_received_at) {
    db.exec(R"sql(
INSERT INTO counters (name, value) VALUES ('last_received_at', $1)
ON CONFLICT (name) DO UPDATE SET value = greatest(counters.value, excluded.value))sql",
            postgres_params().add(*totals.last_received_at), "record last received time");
  }
}

}  // namespace connector::store

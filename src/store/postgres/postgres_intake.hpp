#pragma once
// Intake on PostgreSQL, a group commit's requests at a time and set-based: one INSERT of
// every notification id of the batch (dedupe), one SELECT … FOR UPDATE of the records they
// touch, newest wins decided in C++ (newest_wins.hpp, as on every engine), one upsert of the
// records that changed. A handful of round trips per batch, not three per notification.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "connector/store/postgres.hpp"
#include "connector/store/types.hpp"

namespace connector::store {

// History events waiting for their batch's one INSERT.
struct history_rows {
  std::vector<std::string> organization_ids, record_ids, kinds, details;
  std::vector<std::int64_t> times;

  void add(const std::string& organization_id, const std::string& record_id, epoch_ms time,
           std::string kind, std::string details_json);
  bool empty() const { return times.empty(); }
  std::size_t size() const { return times.size(); }
  void clear();
  // One INSERT of every row, in order (ids follow it).
  void insert(postgres_connection& db) const;
};

// What a batch adds to the persistent counters.
struct intake_totals {
  std::int64_t received = 0;
  std::int64_t duplicates = 0;
  std::optional<epoch_ms> last_received_at;
};

struct intake_item {
  const intake_request* request;
  intake_outcome* outcome;  // stored and duplicates counted here
};

// Applies the requests in order inside the open transaction: their history into `history`,
// their counts into `totals` (written by write_totals once per transaction).
void apply_intake(postgres_connection& db, const std::vector<intake_item>& items,
                  bool requeue_stale_while_waiting, history_rows& history, intake_totals& totals);

void write_totals(postgres_connection& db, const intake_totals& totals);

}  // namespace connector::store

#include "connector/store/activity.hpp"

#include <sqlite3.h>

#include <stdexcept>

#include "connector/store/sqlite.hpp"

namespace connector::store {

namespace {

// Calls `query(db, fill)` on a read-only connection to the file; `fill(rows)` takes its
// (bucket index, count) rows into `buckets` zeros. A store that cannot be read throws naming
// the file.
template <typename Query>
std::vector<std::int64_t> read_buckets(const std::string& path, epoch_ms bucket_ms,
                                       std::size_t buckets, Query query) {
  std::vector<std::int64_t> counts(buckets, 0);
  if (bucket_ms <= 0 || buckets == 0) return counts;
  const auto fill = [&](sqlite_statement::run& rows) {
    while (rows.step()) {
      const auto bucket = rows.int64(0);
      if (bucket >= 0 && static_cast<std::size_t>(bucket) < buckets) counts[bucket] = rows.int64(1);
    }
  };
  try {
    sqlite_connection db(path, SQLITE_OPEN_READONLY);
    sqlite3_busy_timeout(db.handle(), 5000);
    query(db, fill);
  } catch (const sqlite_error& e) {
    throw std::runtime_error("store: cannot read " + path + ": " + e.what());
  }
  return counts;
}

}  // namespace

std::vector<std::int64_t> read_sqlite_notifications_per_bucket(const std::string& path,
                                                               epoch_ms since, epoch_ms bucket_ms,
                                                               std::size_t buckets) {
  const epoch_ms until = since + bucket_ms * static_cast<epoch_ms>(buckets);
  return read_buckets(path, bucket_ms, buckets, [&](sqlite_connection& db, const auto& fill) {
    // notifications_by_time serves the window (the ids are kept for the dedupe window only,
    // so the chart reaches back no further than store.notification_retention_hours).
    sqlite_statement statement(db, R"sql(
SELECT (received_at - ?1) / ?2, COUNT(*) FROM notifications
WHERE received_at >= ?1 AND received_at < ?3 GROUP BY 1)sql",
                               "count notifications per bucket");
    sqlite_statement::run rows(statement);
    rows.bind(1, since).bind(2, bucket_ms).bind(3, until);
    fill(rows);
  });
}

std::vector<std::int64_t> read_sqlite_applied_per_bucket(const std::string& path, epoch_ms since,
                                                         epoch_ms bucket_ms, std::size_t buckets) {
  const epoch_ms until = since + bucket_ms * static_cast<epoch_ms>(buckets);
  return read_buckets(path, bucket_ms, buckets, [&](sqlite_connection& db, const auto& fill) {
    // user_history's ids follow time (one sequence, stamped as written) and it has no index
    // on time: the first event of the window is found by bisecting the ids, a couple of
    // dozen look-ups, and only the window is read (not 30 days of every user's events).
    sqlite_statement bounds(db, "SELECT min(id), max(id) FROM user_history", "history bounds");
    sqlite_statement time_at(db, "SELECT time FROM user_history WHERE id >= ?1 ORDER BY id LIMIT 1",
                             "history time at id");
    std::int64_t low = 0, high = -1;
    {
      sqlite_statement::run row(bounds);
      if (row.step() && row.optional_int64(0)) {
        low = row.int64(0);
        high = row.int64(1) + 1;  // [low, high): the first id at or after `since`
      }
    }
    while (low < high) {
      const std::int64_t middle = low + (high - low) / 2;
      sqlite_statement::run row(time_at);
      row.bind(1, middle);
      if (row.step() && row.int64(0) < since) {
        low = middle + 1;
      } else {
        high = middle;
      }
    }
    // A user applied: by the worker (kind 'applied', nothing to change included) or by a
    // reconciliation run, when its change went through.
    sqlite_statement statement(db, R"sql(
SELECT (time - ?1) / ?2, COUNT(*) FROM user_history
WHERE id >= ?4 AND time >= ?1 AND time < ?3
  AND (kind = 'applied' OR (kind = 'reconciled' AND json_extract(details, '$.ok') = 1))
GROUP BY 1)sql",
                               "count applied users per bucket");
    sqlite_statement::run rows(statement);
    rows.bind(1, since).bind(2, bucket_ms).bind(3, until).bind(4, low);
    fill(rows);
  });
}

}  // namespace connector::store

#include "connector/store/activity.hpp"

#include <sqlite3.h>

#include <stdexcept>

#include "connector/store/sqlite.hpp"

namespace connector::store {

std::vector<std::int64_t> read_sqlite_notifications_per_bucket(const std::string& path,
                                                               epoch_ms since, epoch_ms bucket_ms,
                                                               std::size_t buckets) {
  std::vector<std::int64_t> counts(buckets, 0);
  if (bucket_ms <= 0 || buckets == 0) return counts;
  const epoch_ms until = since + bucket_ms * static_cast<epoch_ms>(buckets);
  try {
    sqlite_connection db(path, SQLITE_OPEN_READONLY);
    sqlite3_busy_timeout(db.handle(), 5000);
    // No index on received_at (the chart is read rarely): one scan of the notifications.
    sqlite_statement statement(db, R"sql(
SELECT (received_at - ?1) / ?2, COUNT(*) FROM notifications
WHERE received_at >= ?1 AND received_at < ?3 GROUP BY 1)sql",
                               "count notifications per bucket");
    sqlite_statement::run rows(statement);
    rows.bind(1, since).bind(2, bucket_ms).bind(3, until);
    while (rows.step()) {
      const auto bucket = rows.int64(0);
      if (bucket >= 0 && static_cast<std::size_t>(bucket) < buckets) counts[bucket] = rows.int64(1);
    }
  } catch (const sqlite_error& e) {
    throw std::runtime_error("store: cannot read " + path + ": " + e.what());
  }
  return counts;
}

}  // namespace connector::store

#pragma once
// What the store took in over time, for the admin page's chart: read-only from the file,
// beside the running service (WAL allows it), like read_sqlite_stats.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "connector/clock.hpp"

namespace connector::store {

// Notifications stored per time bucket: `buckets` counts, the first for
// [since, since + bucket_ms). Throws std::runtime_error naming the file when it cannot be read.
std::vector<std::int64_t> read_sqlite_notifications_per_bucket(const std::string& path,
                                                               epoch_ms since, epoch_ms bucket_ms,
                                                               std::size_t buckets);

// Users applied to iSpring per time bucket, from the per-user history: the worker's applies
// and the users a reconciliation run changed successfully. Same buckets and errors as above.
std::vector<std::int64_t> read_sqlite_applied_per_bucket(const std::string& path, epoch_ms since,
                                                         epoch_ms bucket_ms, std::size_t buckets);

}  // namespace connector::store

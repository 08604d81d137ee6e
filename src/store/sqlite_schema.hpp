#pragma once
// The SQLite schema and its migrations. PRAGMA user_version holds the number of steps
// applied; the steps run in order, in one transaction, when a connection opens the file.
#include <cstdint>

#include "connector/store/sqlite.hpp"

namespace connector::store {

// The schema version this binary writes (the number of migration steps it knows).
std::int64_t latest_schema_version();

// Sets the connection up for intake (WAL, synchronous=FULL, foreign keys) and applies the
// missing migration steps. Throws std::runtime_error naming the path when the file was
// written by a newer connector, or sqlite_error when SQLite fails.
void prepare_for_writing(sqlite_connection& connection, int busy_timeout_ms);

// Checks that a read-only connection sees a schema this binary can read.
void check_readable(sqlite_connection& connection);

}  // namespace connector::store

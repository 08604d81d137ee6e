#pragma once
// `connector migrate --to-postgresql`: an existing SQLite store moved into an empty
// PostgreSQL database, so an organisation can go from one instance to several without
// losing its links, queue, runs or history.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "connector/store/open.hpp"

namespace connector::store {

// Rows copied, per table, in the order copied.
using migration_counts = std::vector<std::pair<std::string, std::int64_t>>;

// Copies every table of the SQLite store at `from.sqlite_path` (migrated to this binary's
// schema first) into the PostgreSQL database at `to.postgresql_url` (its schema created
// first), in one transaction: all or nothing. Refuses a target that holds any data
// (notifications, records, links, runs or history). The service must be stopped: what it
// writes meanwhile would be left behind. Throws std::runtime_error saying why, never with
// the password.
migration_counts migrate_to_postgresql(const store_settings& from, const store_settings& to);

}  // namespace connector::store

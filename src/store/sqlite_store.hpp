#pragma once
// The SQLite engine (store.sqlite_path), behind open_store and open_store_reader.
#include <memory>

#include "connector/store/open.hpp"

namespace connector::store {

// Opens (creating and migrating) the file. Throws std::runtime_error with the path and
// SQLite's message when it cannot be opened or migrated.
std::unique_ptr<store> open_sqlite_store(const store_settings& settings);

// Read-only, beside a running service (WAL allows it); never migrates.
std::unique_ptr<store_reader> open_sqlite_reader(const store_settings& settings);

}  // namespace connector::store

#pragma once
// The PostgreSQL engine (store.postgresql_url): every store interface on one database that
// several connector instances may share. open_store dispatches here.
#include <memory>

#include "connector/store/open.hpp"

namespace connector::store {

// Connects, migrates (under an advisory lock) and starts the group-commit writer. Throws
// std::runtime_error naming the cause, never the password, when it cannot.
std::unique_ptr<store> open_postgres_store(const store_settings& settings);

// Read-only, beside running services (the CLI's status, runs, explain). Never migrates: a
// database without the connector's schema reads as empty.
std::unique_ptr<store_reader> open_postgres_reader(const store_settings& settings);

}  // namespace connector::store

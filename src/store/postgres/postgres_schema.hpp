#pragma once
// The PostgreSQL schema and its migrations: the final SQLite schema (sqlite_schema.cpp) in
// PostgreSQL's terms, plus what several instances on one database need. schema_migrations
// holds one row per step applied; the steps run in one transaction under an advisory lock,
// so instances starting at once migrate once.
#include <cstdint>

#include "connector/store/postgres.hpp"

namespace connector::store {

// The schema version this binary writes (the number of migration steps it knows).
std::int64_t latest_postgres_schema_version();

// Applies the missing steps. Throws std::runtime_error when the database was written by a
// newer connector, postgres_error when PostgreSQL fails.
void migrate_postgres(postgres_connection& connection);

// The version found (0: no connector schema yet); for a reader, which never migrates.
std::int64_t postgres_schema_version(postgres_connection& connection);

}  // namespace connector::store

#include "connector/store/open.hpp"

#include <stdexcept>

#include "sqlite_store.hpp"

namespace connector::store {

namespace {

// Exactly one engine. Says which keys, never the URL (it holds a password).
void check_one_engine(const store_settings& settings) {
  if (!settings.sqlite_path.empty() && !settings.postgresql_url.empty()) {
    throw std::runtime_error(
        "store: set either store.sqlite_path or store.postgresql_url, not both");
  }
  if (settings.sqlite_path.empty() && settings.postgresql_url.empty()) {
    throw std::runtime_error("store: no engine: set store.sqlite_path or store.postgresql_url");
  }
}

// The PostgreSQL engine is dispatched to here, and only here (src/store/postgres/:
// open_postgres_store, open_postgres_reader).
[[noreturn]] void postgresql_not_built() {
  throw std::runtime_error("store: postgresql_url is not supported by this build");
}

}  // namespace

std::unique_ptr<store> open_store(const store_settings& settings) {
  check_one_engine(settings);
  if (!settings.sqlite_path.empty()) return open_sqlite_store(settings);
  postgresql_not_built();  // PostgreSQL: return open_postgres_store(settings);
}

std::unique_ptr<store_reader> open_store_reader(const store_settings& settings) {
  check_one_engine(settings);
  if (!settings.sqlite_path.empty()) return open_sqlite_reader(settings);
  postgresql_not_built();  // PostgreSQL: return open_postgres_reader(settings);
}

}  // namespace connector::store

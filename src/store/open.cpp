#include "connector/store/open.hpp"

#include <stdexcept>

#include "postgres/postgres_store.hpp"
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

}  // namespace

std::unique_ptr<store> open_store(const store_settings& settings) {
  check_one_engine(settings);
  if (!settings.sqlite_path.empty()) return open_sqlite_store(settings);
  return open_postgres_store(settings);
}

std::unique_ptr<store_reader> open_store_reader(const store_settings& settings) {
  check_one_engine(settings);
  if (!settings.sqlite_path.empty()) return open_sqlite_reader(settings);
  return open_postgres_reader(settings);
}

}  // namespace connector::store

#include "connector/store/organization_binding.hpp"
#include "settings_logs.hpp"

namespace connector::store {

std::unique_ptr<organization_binding> open_sqlite_organization_binding(
    const store_settings& settings);
std::unique_ptr<organization_binding> open_postgres_organization_binding(
    const store_settings& settings);

std::unique_ptr<organization_binding> open_organization_binding(const store_settings& settings) {
  check_one_engine(settings);
  if (!settings.sqlite_path.empty()) return open_sqlite_organization_binding(settings);
  return open_postgres_organization_binding(settings);
}

std::unique_ptr<settings_log> open_settings_log(const store_settings& settings) {
  check_one_engine(settings);
  if (!settings.sqlite_path.empty()) return open_sqlite_settings_log(settings);
  return open_postgres_settings_log(settings);
}

}  // namespace connector::store

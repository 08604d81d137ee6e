#pragma once
// The engines' settings logs, for open_settings_log.
#include <memory>

#include "connector/store/settings_log.hpp"

namespace connector::store {

std::unique_ptr<settings_log> open_sqlite_settings_log(const store_settings& settings);
std::unique_ptr<settings_log> open_postgres_settings_log(const store_settings& settings);

}  // namespace connector::store

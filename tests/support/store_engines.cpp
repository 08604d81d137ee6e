#include "support/store_engines.hpp"

#include <atomic>
#include <filesystem>
#include <memory>

#include "support/postgres_server.hpp"
#include "support/service.hpp"

namespace connector::testing {

std::vector<store_engine> test_store_engines() {
  // A folder per test, removed when the engine's release runs (the fixture's TearDown).
  auto folder = std::make_shared<std::unique_ptr<temp_dir>>();
  store_engine sqlite{"sqlite",
                      [folder](const store::store_settings& base) {
                        *folder = std::make_unique<temp_dir>();
                        auto settings = base;
                        settings.postgresql_url.clear();
                        settings.sqlite_path = ((*folder)->path() / "store.db").string();
                        return settings;
                      },
                      [folder] { folder->reset(); }};
  // A fresh database on the process's PostgreSQL 15 (support/postgres_server), left to the
  // server's removal at exit.
  store_engine postgresql{"postgresql",
                          [](const store::store_settings& base) {
                            auto settings = base;
                            settings.sqlite_path.clear();
                            settings.postgresql_url = postgres_server::shared().create_database();
                            return settings;
                          },
                          {}};
  return {std::move(sqlite), std::move(postgresql)};
}

std::unique_ptr<store::store_reader> open_test_reader(const store::store_settings& settings) {
  return store::open_store_reader(settings);
}

std::unique_ptr<store::store_reader> sqlite_reader_of(const std::string& path) {
  store::store_settings settings;
  settings.sqlite_path = path;
  return store::open_store_reader(settings);
}

void store_test::SetUp() {
  if (!sqlite_only()) {
    engine_ = GetParam();
  } else {
    for (auto& engine : test_store_engines())
      if (engine.name == "sqlite") engine_ = std::move(engine);
  }
  location_ = engine_.fresh({});
}

store_test::~store_test() {
  if (engine_.release) engine_.release();
}

store::store_settings store_test::located(store::store_settings base) const {
  base.sqlite_path = location_.sqlite_path;
  base.postgresql_url = location_.postgresql_url;
  return base;
}

std::string engine_test_name(const ::testing::TestParamInfo<store_engine>& info) {
  return info.param.name;
}

}  // namespace connector::testing

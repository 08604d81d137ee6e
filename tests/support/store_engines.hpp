#pragma once
// The store engines the conformance suite runs against: each opens a fresh, empty store for
// one test, and readers beside it: SQLite, and PostgreSQL on a server the tests start.
#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "connector/store/open.hpp"

namespace connector::testing {

struct store_engine {
  std::string name;  // the test name's suffix: "sqlite"
  // Fresh storage for one test, and settings that open it: `base`'s options, the engine's
  // location filled in. Called once per test; the storage lives until `release` (if any).
  std::function<store::store_settings(const store::store_settings& base)> fresh;
  std::function<void()> release;
};

// gtest names a test's engine by its name.
inline void PrintTo(const store_engine& engine, std::ostream* out) {
  *out << engine.name;
}

// The factories of every engine this build can test.
std::vector<store_engine> test_store_engines();

// A reader beside an open store (WAL), from settings `fresh` returned.
std::unique_ptr<store::store_reader> open_test_reader(const store::store_settings& settings);

// A read-only reader of a SQLite file by path (tests about the file itself).
std::unique_ptr<store::store_reader> sqlite_reader_of(const std::string& path);

// The conformance suite's fixture: each test gets fresh, empty storage of one engine, the
// test's parameter (TEST_P, instantiated by INSTANTIATE_STORE_ENGINES), or SQLite for tests
// about the SQLite file itself (TEST_F on a fixture whose sqlite_only() is true, in a suite
// named sqlite_file_*).
class store_test : public ::testing::Test, public ::testing::WithParamInterface<store_engine> {
 protected:
  void SetUp() override;
  ~store_test() override;  // after the derived fixture closed its stores
  virtual bool sqlite_only() const { return false; }

  // `base` with this test's storage filled in: open_store(located(o)) opens it (again).
  store::store_settings located(store::store_settings base = {}) const;
  std::unique_ptr<store::store> open_located(store::store_settings base = {}) const {
    return store::open_store(located(std::move(base)));
  }
  // A reader beside the open store (status, explain).
  std::unique_ptr<store::store_reader> open_reader() const {
    return store::open_store_reader(location_);
  }
  // The SQLite file, for SQLite-only tests.
  const std::string& db_path() const { return location_.sqlite_path; }

 private:
  store_engine engine_;
  store::store_settings location_;
};

// "sqlite", "postgresql": the engine's name as the test's suffix.
std::string engine_test_name(const ::testing::TestParamInfo<store_engine>& info);

}  // namespace connector::testing

#define INSTANTIATE_STORE_ENGINES(fixture)                                                  \
  INSTANTIATE_TEST_SUITE_P(engines, fixture,                                                \
                           ::testing::ValuesIn(::connector::testing::test_store_engines()), \
                           ::connector::testing::engine_test_name)

namespace connector::testing {}  // namespace connector::testing

#pragma once
// The store engines the conformance suite runs against: each opens a fresh, empty store for
// one test, and readers beside it: SQLite, and PostgreSQL on a server the tests start.
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "connector/store/open.hpp"

namespace connector::testing {

struct store_engine {
  std::string name;  // the test name's suffix: "sqlite"
  // Fresh storage for one test, and settings that open it: `base`'s options, the engine's
  // location filled in. Called once per test; the storage lives until `release` (if any).
  std::function<store::store_settings(const store::store_settings& base)> fresh;
  std::function<void()> release;
};

// The factories of every engine this build can test.
std::vector<store_engine> test_store_engines();

// A reader beside an open store (WAL), from settings `fresh` returned.
std::unique_ptr<store::store_reader> open_test_reader(const store::store_settings& settings);

// A read-only reader of a SQLite file by path (tests about the file itself).
std::unique_ptr<store::store_reader> sqlite_reader_of(const std::string& path);

}  // namespace connector::testing

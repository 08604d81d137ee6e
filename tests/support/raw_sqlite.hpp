#pragma once
// Raw SQL on the store's file beside the code under test: to look at what it wrote, to
// build an old schema, to play another process's rows or to hold a lock against it.
#include <cstdint>
#include <string>

struct sqlite3;

namespace connector::testing {

class raw_sqlite {
 public:
  // Opens (or creates) `path`; throws std::runtime_error if it cannot. busy_timeout_ms 0:
  // SQLITE_BUSY at once when another connection holds the lock.
  explicit raw_sqlite(const std::string& path, int busy_timeout_ms = 0);
  ~raw_sqlite();
  raw_sqlite(const raw_sqlite&) = delete;
  raw_sqlite& operator=(const raw_sqlite&) = delete;

  // Runs `sql` (several statements allowed); throws std::runtime_error naming it on failure.
  void exec(const std::string& sql);
  // The first column of the first row as text; "" when there is no row or it is NULL.
  std::string text(const std::string& sql);
  // The first column of the first row as an integer; -1 when there is no row.
  std::int64_t integer(const std::string& sql);

 private:
  sqlite3* db_ = nullptr;
};

}  // namespace connector::testing

#pragma once
// A thin RAII layer over the SQLite C API: one connection, statements prepared once and
// reused, and errors that name the operation that failed together with SQLite's message.
// No threading policy here: a connection and its statements belong to one thread at a time
// (connections are opened with SQLITE_OPEN_NOMUTEX; callers serialise access).
#include <sqlite3.h>

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace connector::store {

// A failed SQLite call. what() reads "sqlite: <operation>: <sqlite3_errmsg> (code N)".
class sqlite_error : public std::runtime_error {
 public:
  sqlite_error(int code, const std::string& message) : std::runtime_error(message), code_(code) {}
  int code() const noexcept { return code_; }  // extended result code (SQLITE_FULL, ...)

 private:
  int code_;
};

// Throws sqlite_error for a failed call on `db` (nullptr: no connection yet).
[[noreturn]] void throw_sqlite_error(sqlite3* db, int code, std::string_view operation);

class sqlite_connection {
 public:
  // Opens `path` with SQLITE_OPEN_* `flags` (NOMUTEX and EXRESCODE are added); throws
  // sqlite_error when it cannot. Errors leave the path out: callers add it where it helps
  // (an operator's message) and not where it would leak (a fault sent to Salesforce).
  sqlite_connection(const std::string& path, int flags);
  ~sqlite_connection();
  sqlite_connection(const sqlite_connection&) = delete;
  sqlite_connection& operator=(const sqlite_connection&) = delete;

  sqlite3* handle() const noexcept { return db_; }
  const std::string& path() const noexcept { return path_; }

  // Runs SQL without results (DDL, PRAGMA assignments, several statements separated by ';').
  void exec(const std::string& sql, std::string_view operation);
  // Runs SQL whose first row's first column is the answer (PRAGMA user_version, ...).
  std::int64_t query_int(const std::string& sql, std::string_view operation);
  std::string query_text(const std::string& sql, std::string_view operation);

  // True while a transaction is open (after a failure SQLite may already have rolled back).
  bool in_transaction() const noexcept { return sqlite3_get_autocommit(db_) == 0; }

 private:
  sqlite3* db_ = nullptr;
  std::string path_;
};

// A prepared statement, prepared once (SQLITE_PREPARE_PERSISTENT) and reused. Use it through
// a `run` scope: the statement is reset and its bindings cleared when the scope ends, so it
// never keeps a read snapshot open (which would stop WAL checkpoints) or dangling text.
class sqlite_statement {
 public:
  // `operation` names the statement in errors ("insert notification").
  sqlite_statement(const sqlite_connection& connection, std::string_view sql,
                   std::string operation);
  ~sqlite_statement();
  sqlite_statement(const sqlite_statement&) = delete;
  sqlite_statement& operator=(const sqlite_statement&) = delete;

  class run {
   public:
    explicit run(sqlite_statement& statement) noexcept : statement_(statement) {}
    ~run() { statement_.reset(); }
    run(const run&) = delete;
    run& operator=(const run&) = delete;

    // Parameters are 1-based. Text is bound without a copy: it must outlive the scope.
    run& bind(int index, std::int64_t value);
    run& bind(int index, std::string_view text);
    run& bind(int index, const std::optional<std::int64_t>& value);
    run& bind_null(int index);

    // Advances; true when a row is ready. Throws sqlite_error on failure.
    bool step();
    // Steps to the end, for statements without results.
    void execute();

    bool is_null(int column) const;
    std::int64_t int64(int column) const;
    std::optional<std::int64_t> optional_int64(int column) const;
    std::string text(int column) const;
    // Valid until the next step.
    std::string_view text_view(int column) const;

   private:
    sqlite_statement& statement_;
  };

 private:
  void reset() noexcept;

  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
  std::string operation_;
};

}  // namespace connector::store

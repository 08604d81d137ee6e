#pragma once
// A thin RAII layer over libpq's C API: one connection, parameterised statements in text
// form, results, and errors that name the operation that failed together with PostgreSQL's
// message, never the password of the URL. No threading policy here: a connection belongs
// to one thread at a time (callers serialise access), as libpq requires.
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

struct pg_conn;
struct pg_result;

namespace connector::store {

// A failed libpq call. what() reads "postgresql: <operation>: <message>".
class postgres_error : public std::runtime_error {
 public:
  postgres_error(const std::string& message, std::string sqlstate, bool connection_lost)
      : std::runtime_error(message),
        sqlstate_(std::move(sqlstate)),
        connection_lost_(connection_lost) {}
  // The SQLSTATE ("23505", …); empty when the server gave none (no connection).
  const std::string& sqlstate() const noexcept { return sqlstate_; }
  // The connection is gone (server restarted, backend terminated, network): reconnect.
  bool connection_lost() const noexcept { return connection_lost_; }

 private:
  std::string sqlstate_;
  bool connection_lost_;
};

// Parameters $1, $2, … in text form; a value left out is NULL.
class postgres_params {
 public:
  postgres_params& add(std::string_view text);
  postgres_params& add(const char* text) { return add(std::string_view(text)); }
  postgres_params& add(const std::string& text) { return add(std::string_view(text)); }
  postgres_params& add(std::int64_t value);
  postgres_params& add(bool value);
  postgres_params& add(const std::optional<std::int64_t>& value);
  postgres_params& add(const std::optional<std::string>& value);
  postgres_params& add_null();
  // An array literal ('{…}') for `$n::text[]` / `$n::bigint[]`, so a whole batch is one
  // parameter (unnest) instead of one statement per row.
  postgres_params& add_array(const std::vector<std::string>& values);
  postgres_params& add_array(const std::vector<std::int64_t>& values);
  postgres_params& add_array(const std::vector<std::optional<std::int64_t>>& values);
  postgres_params& add_array(const std::vector<bool>& values);

  int size() const noexcept { return static_cast<int>(values_.size()); }
  // For PQexecParams: pointers into the values, nullptr for NULL.
  std::vector<const char*> pointers() const;

 private:
  std::vector<std::optional<std::string>> values_;
};

class postgres_result {
 public:
  explicit postgres_result(pg_result* result) noexcept : result_(result) {}
  ~postgres_result();
  postgres_result(postgres_result&& other) noexcept : result_(other.result_) {
    other.result_ = nullptr;
  }
  postgres_result& operator=(postgres_result&& other) noexcept;
  postgres_result(const postgres_result&) = delete;
  postgres_result& operator=(const postgres_result&) = delete;

  int rows() const noexcept;
  // Rows an INSERT, UPDATE or DELETE touched.
  std::int64_t affected() const;
  bool is_null(int row, int column) const;
  std::string text(int row, int column) const;
  std::int64_t int64(int row, int column) const;
  std::optional<std::int64_t> optional_int64(int row, int column) const;
  bool boolean(int row, int column) const;  // 't' / 'f'
  std::string command_tag() const;          // "COMMIT", "ROLLBACK", "INSERT 0 3", …

 private:
  pg_result* result_;
};

class postgres_connection {
 public:
  // Connects to `url` (postgresql://user:password@host:port/db?…); throws postgres_error
  // (connection_lost) when it cannot. Errors never contain the password.
  explicit postgres_connection(const std::string& url);
  ~postgres_connection();
  postgres_connection(const postgres_connection&) = delete;
  postgres_connection& operator=(const postgres_connection&) = delete;

  pg_conn* handle() const noexcept { return conn_; }
  // False once the connection was lost (the next call would fail).
  bool usable() const noexcept;
  // One statement with parameters; throws postgres_error naming `operation`.
  postgres_result exec(std::string_view sql, const postgres_params& params,
                       std::string_view operation);
  // SQL without parameters, several statements separated by ';' allowed (migrations).
  postgres_result exec(std::string_view sql, std::string_view operation);
  // True while a transaction is open (or failed and not yet rolled back).
  bool in_transaction() const noexcept;

 private:
  [[noreturn]] void fail(std::string_view operation, pg_result* result);
  postgres_result check(pg_result* result, std::string_view operation);

  pg_conn* conn_ = nullptr;
  std::string password_;  // only to scrub it from messages
};

// BEGIN … COMMIT on a connection; rolled back when the scope ends without commit() (a
// failure that lost the connection has nothing left to roll back).
class postgres_transaction {
 public:
  postgres_transaction(postgres_connection& connection, std::string_view begin_sql = "BEGIN");
  ~postgres_transaction();
  postgres_transaction(const postgres_transaction&) = delete;
  postgres_transaction& operator=(const postgres_transaction&) = delete;
  void commit();

 private:
  postgres_connection& connection_;
  bool open_ = true;
};

// The URL's password, empty when it has none (or the URL cannot be parsed); for scrubbing.
std::string postgres_url_password(const std::string& url);
// `text` with every occurrence of `secret` replaced by "***" (secret empty: unchanged).
std::string scrub_secret(std::string text, const std::string& secret);
// Checks the shape of a store.postgresql_url: a postgresql:// or postgres:// URI that libpq
// parses, naming a host and a database. Returns what is wrong (never the password), or "".
std::string postgres_url_problem(const std::string& url);

}  // namespace connector::store

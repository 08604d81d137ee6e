#include "connector/store/sqlite.hpp"

#include <cassert>
#include <climits>

namespace connector::store {
namespace {

// SQLite counts every allocation under a global mutex (for sqlite3_memory_used(), which we
// never read); without it the writer takes no lock per allocation. It must be set before
// SQLite initialises, hence at static initialisation; if SQLite is already up, it is a no-op.
[[maybe_unused]] const bool memory_statistics_off =
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0) == SQLITE_OK;

}  // namespace

void throw_sqlite_error(sqlite3* db, int code, std::string_view operation) {
  // sqlite3_errmsg is specific ("database is locked", "near 'x': syntax error"); errstr is
  // the fallback when there is no connection to ask.
  const char* message = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(code);
  std::string text = "sqlite: ";
  text.append(operation);
  text += ": ";
  text += message;
  text += " (code " + std::to_string(code) + ")";
  throw sqlite_error(code, text);
}

sqlite_connection::sqlite_connection(const std::string& path, int flags) : path_(path) {
  const int rc = sqlite3_open_v2(path.c_str(), &db_,
                                 flags | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE, nullptr);
  if (rc != SQLITE_OK) {
    // On failure SQLite may still hand out a handle that carries the message.
    std::string message = db_ != nullptr ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
    sqlite3_close_v2(db_);
    db_ = nullptr;
    throw sqlite_error(rc, "sqlite: open: " + message + " (code " + std::to_string(rc) + ")");
  }
  sqlite3_extended_result_codes(db_, 1);
}

sqlite_connection::~sqlite_connection() {
  // close_v2 defers the close until statements owned elsewhere are finalized.
  sqlite3_close_v2(db_);
}

void sqlite_connection::exec(const std::string& sql, std::string_view operation) {
  char* message = nullptr;
  const int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &message);
  sqlite3_free(message);  // sqlite3_errmsg still holds the same text
  if (rc != SQLITE_OK) throw_sqlite_error(db_, rc, operation);
}

std::int64_t sqlite_connection::query_int(const std::string& sql, std::string_view operation) {
  sqlite_statement statement(*this, sql, std::string(operation));
  sqlite_statement::run run(statement);
  if (!run.step()) throw_sqlite_error(db_, SQLITE_ERROR, operation);
  return run.int64(0);
}

std::string sqlite_connection::query_text(const std::string& sql, std::string_view operation) {
  sqlite_statement statement(*this, sql, std::string(operation));
  sqlite_statement::run run(statement);
  if (!run.step()) throw_sqlite_error(db_, SQLITE_ERROR, operation);
  return run.text(0);
}

sqlite_statement::sqlite_statement(const sqlite_connection& connection, std::string_view sql,
                                   std::string operation)
    : db_(connection.handle()), operation_(std::move(operation)) {
  assert(sql.size() < INT_MAX);
  const int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                                    SQLITE_PREPARE_PERSISTENT, &stmt_, nullptr);
  if (rc != SQLITE_OK) throw_sqlite_error(db_, rc, "prepare " + operation_);
  assert(stmt_ != nullptr && "empty SQL is a bug");
}

sqlite_statement::~sqlite_statement() {
  sqlite3_finalize(stmt_);
}

void sqlite_statement::reset() noexcept {
  // reset() repeats the last step's error code; that error was already reported.
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

sqlite_statement::run& sqlite_statement::run::bind(int index, std::int64_t value) {
  const int rc = sqlite3_bind_int64(statement_.stmt_, index, value);
  if (rc != SQLITE_OK) throw_sqlite_error(statement_.db_, rc, "bind " + statement_.operation_);
  return *this;
}

sqlite_statement::run& sqlite_statement::run::bind(int index, std::string_view text) {
  // SQLITE_STATIC: no copy; the scope resets the statement before the text goes away.
  const int rc = sqlite3_bind_text64(statement_.stmt_, index, text.data(), text.size(),
                                     SQLITE_STATIC, SQLITE_UTF8);
  if (rc != SQLITE_OK) throw_sqlite_error(statement_.db_, rc, "bind " + statement_.operation_);
  return *this;
}

sqlite_statement::run& sqlite_statement::run::bind(int index,
                                                   const std::optional<std::int64_t>& value) {
  return value ? bind(index, *value) : bind_null(index);
}

sqlite_statement::run& sqlite_statement::run::bind_null(int index) {
  const int rc = sqlite3_bind_null(statement_.stmt_, index);
  if (rc != SQLITE_OK) throw_sqlite_error(statement_.db_, rc, "bind " + statement_.operation_);
  return *this;
}

bool sqlite_statement::run::step() {
  const int rc = sqlite3_step(statement_.stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  throw_sqlite_error(statement_.db_, rc, statement_.operation_);
}

void sqlite_statement::run::execute() {
  while (step()) {
  }
}

bool sqlite_statement::run::is_null(int column) const {
  return sqlite3_column_type(statement_.stmt_, column) == SQLITE_NULL;
}

std::int64_t sqlite_statement::run::int64(int column) const {
  return sqlite3_column_int64(statement_.stmt_, column);
}

std::optional<std::int64_t> sqlite_statement::run::optional_int64(int column) const {
  if (is_null(column)) return std::nullopt;
  return int64(column);
}

std::string sqlite_statement::run::text(int column) const {
  return std::string(text_view(column));
}

std::string_view sqlite_statement::run::text_view(int column) const {
  const auto* data = sqlite3_column_text(statement_.stmt_, column);
  const int size = sqlite3_column_bytes(statement_.stmt_, column);
  if (data == nullptr) return {};
  return std::string_view(reinterpret_cast<const char*>(data), static_cast<std::size_t>(size));
}

}  // namespace connector::store

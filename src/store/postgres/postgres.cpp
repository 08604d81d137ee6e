#include "connector/store/postgres.hpp"

#include <libpq-fe.h>

#include <memory>

namespace connector::store {
namespace {

// Text in an array literal: always quoted, so commas, braces, spaces and "NULL" stay text.
void append_array_element(std::string& out, std::string_view text) {
  out += '"';
  for (const char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  out += '"';
}

template <typename Values, typename Append>
std::string array_literal(const Values& values, Append append) {
  std::string out = "{";
  bool first = true;
  for (const auto& value : values) {
    if (!first) out += ',';
    first = false;
    append(out, value);
  }
  out += '}';
  return out;
}

}  // namespace

postgres_params& postgres_params::add(std::string_view text) {
  values_.emplace_back(std::string(text));
  return *this;
}
postgres_params& postgres_params::add(std::int64_t value) {
  values_.emplace_back(std::to_string(value));
  return *this;
}
postgres_params& postgres_params::add(bool value) {
  values_.emplace_back(value ? "true" : "false");
  return *this;
}
postgres_params& postgres_params::add(const std::optional<std::int64_t>& value) {
  return value ? add(*value) : add_null();
}
postgres_params& postgres_params::add(const std::optional<std::string>& value) {
  return value ? add(std::string_view(*value)) : add_null();
}
postgres_params& postgres_params::add_null() {
  values_.emplace_back(std::nullopt);
  return *this;
}
postgres_params& postgres_params::add_array(const std::vector<std::string>& values) {
  values_.emplace_back(array_literal(values, append_array_element));
  return *this;
}
postgres_params& postgres_params::add_array(const std::vector<std::int64_t>& values) {
  values_.emplace_back(
      array_literal(values, [](std::string& out, std::int64_t v) { out += std::to_string(v); }));
  return *this;
}
postgres_params& postgres_params::add_array(
    const std::vector<std::optional<std::int64_t>>& values) {
  values_.emplace_back(array_literal(
      values, [](std::string& out, const auto& v) { out += v ? std::to_string(*v) : "NULL"; }));
  return *this;
}
postgres_params& postgres_params::add_array(const std::vector<bool>& values) {
  values_.emplace_back(
      array_literal(values, [](std::string& out, bool v) { out += v ? "t" : "f"; }));
  return *this;
}

std::vector<const char*> postgres_params::pointers() const {
  std::vector<const char*> out;
  out.reserve(values_.size());
  for (const auto& value : values_) out.push_back(value ? value->c_str() : nullptr);
  return out;
}

postgres_result::~postgres_result() {
  if (result_ != nullptr) PQclear(result_);
}

postgres_result& postgres_result::operator=(postgres_result&& other) noexcept {
  if (this != &other) {
    if (result_ != nullptr) PQclear(result_);
    result_ = other.result_;
    other.result_ = nullptr;
  }
  return *this;
}

int postgres_result::rows() const noexcept {
  return result_ ? PQntuples(result_) : 0;
}

std::int64_t postgres_result::affected() const {
  const char* text = result_ ? PQcmdTuples(result_) : "";
  return *text == '\0' ? 0 : std::stoll(text);
}

bool postgres_result::is_null(int row, int column) const {
  return PQgetisnull(result_, row, column) != 0;
}

std::string postgres_result::text(int row, int column) const {
  return std::string(PQgetvalue(result_, row, column),
                     static_cast<std::size_t>(PQgetlength(result_, row, column)));
}

std::int64_t postgres_result::int64(int row, int column) const {
  return is_null(row, column) ? 0 : std::stoll(PQgetvalue(result_, row, column));
}

std::optional<std::int64_t> postgres_result::optional_int64(int row, int column) const {
  if (is_null(row, column)) return std::nullopt;
  return int64(row, column);
}

bool postgres_result::boolean(int row, int column) const {
  return !is_null(row, column) && PQgetvalue(result_, row, column)[0] == 't';
}

std::string postgres_result::command_tag() const {
  return result_ ? PQcmdStatus(result_) : "";
}

std::string scrub_secret(std::string text, const std::string& secret) {
  if (secret.empty()) return text;
  for (auto at = text.find(secret); at != std::string::npos; at = text.find(secret, at + 3))
    text.replace(at, secret.size(), "***");
  return text;
}

namespace {

using conninfo_ptr = std::unique_ptr<PQconninfoOption, decltype(&PQconninfoFree)>;

// Parsed options of a URL, or null with libpq's complaint in `error`.
conninfo_ptr parse_url(const std::string& url, std::string& error) {
  char* message = nullptr;
  conninfo_ptr options(PQconninfoParse(url.c_str(), &message), &PQconninfoFree);
  if (message != nullptr) {
    error = message;
    PQfreemem(message);
  }
  return options;
}

std::string option(const PQconninfoOption* options, std::string_view name) {
  for (auto* o = options; o != nullptr && o->keyword != nullptr; ++o)
    if (name == o->keyword && o->val != nullptr) return o->val;
  return {};
}

std::string trimmed(std::string message) {
  while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
  return message;
}

}  // namespace

std::string postgres_url_password(const std::string& url) {
  std::string error;
  const auto options = parse_url(url, error);
  return options ? option(options.get(), "password") : std::string();
}

std::string postgres_url_problem(const std::string& url) {
  if (url.rfind("postgresql://", 0) != 0 && url.rfind("postgres://", 0) != 0)
    return "must be a postgresql:// URL (postgresql://user:password@host:port/database)";
  std::string error;
  const auto options = parse_url(url, error);
  if (!options)
    return "is not a URL libpq can read: " +
           scrub_secret(trimmed(error), postgres_url_password(url));
  if (option(options.get(), "host").empty() && option(options.get(), "hostaddr").empty())
    return "names no host (postgresql://user:password@host:port/database)";
  if (option(options.get(), "dbname").empty())
    return "names no database (postgresql://user:password@host:port/database)";
  return {};
}

postgres_connection::postgres_connection(const std::string& url)
    : password_(postgres_url_password(url)) {
  // Defaults first: what the URL sets overrides them (expand_dbname).
  const char* keywords[] = {"connect_timeout", "application_name", "dbname", nullptr};
  const char* values[] = {"10", "connector", url.c_str(), nullptr};
  conn_ = PQconnectdbParams(keywords, values, 1);
  if (conn_ == nullptr) throw postgres_error("postgresql: connect: out of memory", "", true);
  if (PQstatus(conn_) != CONNECTION_OK) {
    const std::string message =
        "postgresql: connect: " + scrub_secret(trimmed(PQerrorMessage(conn_)), password_);
    PQfinish(conn_);
    conn_ = nullptr;
    throw postgres_error(message, "", true);
  }
  // Our messages are read by the operator; the server's notices are not ours to log.
  PQsetNoticeProcessor(
      conn_, [](void*, const char*) {}, nullptr);
}

postgres_connection::~postgres_connection() {
  if (conn_ != nullptr) PQfinish(conn_);
}

bool postgres_connection::usable() const noexcept {
  return conn_ != nullptr && PQstatus(conn_) == CONNECTION_OK;
}

bool postgres_connection::in_transaction() const noexcept {
  const auto status = PQtransactionStatus(conn_);
  return status == PQTRANS_INTRANS || status == PQTRANS_INERROR || status == PQTRANS_ACTIVE;
}

void postgres_connection::fail(std::string_view operation, pg_result* result) {
  std::string sqlstate;
  std::string message;
  if (result != nullptr) {
    if (const char* state = PQresultErrorField(result, PG_DIAG_SQLSTATE)) sqlstate = state;
    message = PQresultErrorMessage(result);
    PQclear(result);
  }
  if (message.empty()) message = PQerrorMessage(conn_);
  // Class 08 (connection exception) and 57P01–57P03 (the server shutting down or gone) are
  // lost connections too, even before libpq noticed.
  const bool lost = PQstatus(conn_) != CONNECTION_OK || sqlstate.rfind("08", 0) == 0 ||
                    sqlstate == "57P01" || sqlstate == "57P02" || sqlstate == "57P03";
  std::string text = "postgresql: " + std::string(operation) + ": " + trimmed(message);
  throw postgres_error(scrub_secret(std::move(text), password_), sqlstate, lost);
}

postgres_result postgres_connection::check(pg_result* result, std::string_view operation) {
  const auto status = result ? PQresultStatus(result) : PGRES_FATAL_ERROR;
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) fail(operation, result);
  return postgres_result(result);
}

postgres_result postgres_connection::exec(std::string_view sql, const postgres_params& params,
                                          std::string_view operation) {
  const auto pointers = params.pointers();
  const std::string statement(sql);
  return check(PQexecParams(conn_, statement.c_str(), params.size(), nullptr, pointers.data(),
                            nullptr, nullptr, 0),
               operation);
}

postgres_result postgres_connection::exec(std::string_view sql, std::string_view operation) {
  const std::string statement(sql);
  return check(PQexec(conn_, statement.c_str()), operation);
}

postgres_transaction::postgres_transaction(postgres_connection& connection,
                                           std::string_view begin_sql)
    : connection_(connection) {
  connection_.exec(begin_sql, "begin transaction");
}

postgres_transaction::~postgres_transaction() {
  if (!open_ || !connection_.usable() || !connection_.in_transaction()) return;
  try {
    connection_.exec("ROLLBACK", "roll back transaction");
  } catch (const postgres_error&) {
    // Nothing more to undo: the server drops a transaction whose connection is gone.
  }
}

void postgres_transaction::commit() {
  open_ = false;
  // A transaction that failed earlier answers COMMIT with ROLLBACK, and no error.
  if (connection_.exec("COMMIT", "commit transaction").command_tag() != "COMMIT")
    throw postgres_error("postgresql: commit transaction: the transaction was rolled back", "",
                         false);
}

}  // namespace connector::store

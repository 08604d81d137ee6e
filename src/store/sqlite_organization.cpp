// The organization binding on SQLite (organization_binding.hpp): a connection of its own
// beside the store's writer. A reset is one IMMEDIATE transaction: it waits for the file's
// write lock (busy_timeout) like any other writer, and the writer waits for it.
#include <stdexcept>

#include "connector/store/organization_binding.hpp"
#include "connector/store/sqlite.hpp"
#include "organization_sql.hpp"
#include "sqlite_statements.hpp"

namespace connector::store {
namespace {

class sqlite_organization_binding final : public organization_binding {
 public:
  sqlite_organization_binding(const std::string& path, int busy_timeout_ms)
      : db_(path, SQLITE_OPEN_READWRITE) {
    sqlite3_busy_timeout(db_.handle(), busy_timeout_ms);
  }

  std::optional<organization_bond> bound() override {
    sqlite_statement statement(db_, organization_sql::bound, "read the organization binding");
    sqlite_statement::run row(statement);
    if (!row.step()) return std::nullopt;
    return organization_bond{row.text(0), row.int64(1)};
  }

  organization_state state() override {
    sqlite_statement statement(db_, organization_sql::state, "count the organization's links");
    sqlite_statement::run row(statement);
    row.step();
    return {row.int64(0), row.int64(1), row.int64(2), row.int64(3), row.int64(4)};
  }

  bool bind_if_unbound(const std::string& identity, epoch_ms now) override {
    sqlite_statement statement(db_, organization_sql::bind_if_unbound, "bind the organization");
    sqlite_statement::run row(statement);
    row.bind(1, identity).bind(2, now);
    return row.step();
  }

  void rebind(const std::string& identity, epoch_ms now) override {
    sqlite_statement statement(db_, organization_sql::rebind, "rebind the organization");
    sqlite_statement::run(statement).bind(1, identity).bind(2, now).execute();
  }

  reset_outcome reset(const std::string& identity, epoch_ms now) override {
    db_.exec("BEGIN IMMEDIATE", "begin the organization reset");
    try {
      reset_outcome out;
      out.forgotten = state();
      {
        sqlite_statement statement(db_, organization_sql::links, "read the links to forget");
        sqlite_statement::run rows(statement);
        while (rows.step()) out.links.push_back({rows.text(0), rows.text(1), rows.text(2)});
      }
      for (const char* sql : organization_sql::forget) db_.exec(sql, "forget the organization");
      {
        sqlite_statement statement(db_, organization_sql::requeue, "requeue held and dead");
        sqlite_statement::run(statement).bind(1, now).execute();
      }
      rebind(identity, now);
      db_.exec("COMMIT", "commit the organization reset");
      return out;
    } catch (...) {
      if (db_.in_transaction()) db_.exec("ROLLBACK", "roll back the organization reset");
      throw;
    }
  }

 private:
  sqlite_connection db_;
};

}  // namespace

std::unique_ptr<organization_binding> open_sqlite_organization_binding(
    const store_settings& settings) {
  try {
    return std::make_unique<sqlite_organization_binding>(settings.sqlite_path,
                                                         settings.busy_timeout_ms);
  } catch (const sqlite_error& e) {
    throw std::runtime_error("store: cannot open the organization binding of " +
                             settings.sqlite_path + ": " + e.what());
  }
}

}  // namespace connector::store

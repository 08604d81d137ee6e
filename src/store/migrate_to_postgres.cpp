#include "connector/store/migrate.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <optional>
#include <stdexcept>
#include <thread>

#include "connector/store/postgres.hpp"
#include "connector/store/sqlite.hpp"
#include "postgres/postgres_store.hpp"
#include "sqlite_store.hpp"

namespace connector::store {
namespace {

// Parents before children (run_plans refers to runs). The settings saved in the page move
// too, numbered as they were: without them the service on PostgreSQL would run on defaults. The
// cluster's own tables (instances, leases, schedule slots) describe running processes, not data:
// not copied; nor are the group claims (leases and back-off), which waiting additions get afresh
// (claimable_groups).
constexpr const char* tables[] = {"notifications",     "records",
                                  "counters",          "links",
                                  "department_links",  "runs",
                                  "run_plans",         "user_history",
                                  "user_keys",         "worker_retirements",
                                  "group_additions",   "organization_binding",
                                  "settings_revisions"};
// Rows per INSERT: far below PostgreSQL's 65,535 parameters for the widest table.
constexpr std::size_t rows_per_insert = 500;

std::vector<std::string> sqlite_columns(sqlite_connection& db, const std::string& table) {
  std::vector<std::string> columns;
  sqlite_statement info(db, "SELECT name FROM pragma_table_info(?1)", "read table columns");
  sqlite_statement::run rows(info);
  rows.bind(1, table);
  while (rows.step()) columns.push_back(rows.text(0));
  return columns;
}

// The target's columns the source has too, in the target's order; `identity`: those
// PostgreSQL generates (they are copied as they are, so ids stay what runs and history say).
std::vector<std::string> shared_columns(postgres_connection& pg, sqlite_connection& db,
                                        const std::string& table, bool& identity) {
  const auto source = sqlite_columns(db, table);
  const auto target = pg.exec(R"sql(
SELECT column_name, is_identity = 'YES' FROM information_schema.columns
WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position)sql",
                              postgres_params().add(table), "read table columns");
  std::vector<std::string> shared;
  identity = false;
  for (int i = 0; i < target.rows(); ++i) {
    const auto name = target.text(i, 0);
    if (std::find(source.begin(), source.end(), name) == source.end()) continue;
    shared.push_back(name);
    identity = identity || target.boolean(i, 1);
  }
  return shared;
}

std::string joined(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

void insert_rows(postgres_connection& pg, const std::string& insert_head, std::size_t width,
                 const std::vector<std::optional<std::string>>& values) {
  if (values.empty()) return;
  std::string sql = insert_head;
  postgres_params params;
  const std::size_t rows = values.size() / width;
  for (std::size_t r = 0; r < rows; ++r) {
    sql += r == 0 ? "(" : ", (";
    for (std::size_t c = 0; c < width; ++c) {
      sql += (c == 0 ? "$" : ", $") + std::to_string(r * width + c + 1);
      params.add(values[r * width + c]);
    }
    sql += ")";
  }
  pg.exec(sql, params, "copy rows");
}

std::int64_t copy_table(postgres_connection& pg, sqlite_connection& db, const std::string& table) {
  bool identity = false;
  const auto columns = shared_columns(pg, db, table, identity);
  if (columns.empty()) return 0;
  const std::string head = "INSERT INTO " + table + " (" + joined(columns) + ")" +
                           (identity ? " OVERRIDING SYSTEM VALUE" : "") + " VALUES ";
  sqlite_statement select(db, "SELECT " + joined(columns) + " FROM " + table, "read " + table);
  sqlite_statement::run rows(select);
  std::vector<std::optional<std::string>> batch;
  std::int64_t copied = 0;
  while (rows.step()) {
    for (std::size_t c = 0; c < columns.size(); ++c) {
      const int column = static_cast<int>(c);
      batch.push_back(rows.is_null(column) ? std::nullopt
                                           : std::optional<std::string>(rows.text(column)));
    }
    if (++copied % rows_per_insert == 0) {
      insert_rows(pg, head, columns.size(), batch);
      batch.clear();
    }
  }
  insert_rows(pg, head, columns.size(), batch);
  // Ids given on insert leave the identity's sequence behind: the next run or event would
  // collide with a copied one.
  if (identity && copied > 0) {
    pg.exec("SELECT setval(pg_get_serial_sequence('" + table + "', 'id'), max(id)) FROM " + table,
            "move the id sequence of " + table);
  }
  return copied;
}

void refuse_unless_empty(postgres_connection& pg) {
  const auto rows = pg.exec(R"sql(
SELECT (SELECT count(*) FROM notifications) + (SELECT count(*) FROM records)
     + (SELECT count(*) FROM links) + (SELECT count(*) FROM runs)
     + (SELECT count(*) FROM user_history))sql",
                            "look at the target");
  if (rows.int64(0, 0) != 0) {
    throw std::runtime_error(
        "the PostgreSQL database already holds connector data; migrate into an empty database "
        "(nothing was copied)");
  }
}

// The SQLite store moves intake's staged history into user_history while idle: opened and
// left alone a moment, nothing stays staged, and its schema is this binary's.
void settle_sqlite(const store_settings& from) {
  auto settings = from;
  settings.postgresql_url.clear();
  auto store = open_sqlite_store(settings);
  sqlite_connection db(from.sqlite_path, SQLITE_OPEN_READONLY);
  for (int i = 0; i < 600; ++i) {
    if (db.query_int("SELECT count(*) FROM user_history_new", "count staged history") == 0) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  throw std::runtime_error(
      "the SQLite store's staged history did not settle; is the service "
      "still running on it?");
}

}  // namespace

migration_counts migrate_to_postgresql(const store_settings& from, const store_settings& to) {
  if (from.sqlite_path.empty()) throw std::runtime_error("no SQLite store to migrate from");
  if (to.postgresql_url.empty()) throw std::runtime_error("no PostgreSQL URL to migrate to");
  settle_sqlite(from);
  open_postgres_store(to).reset();  // creates or migrates the schema
  try {
    sqlite_connection db(from.sqlite_path, SQLITE_OPEN_READONLY);
    postgres_connection pg(to.postgresql_url);
    postgres_transaction transaction(pg);
    refuse_unless_empty(pg);
    migration_counts counts;
    for (const char* table : tables) counts.emplace_back(table, copy_table(pg, db, table));
    // On PostgreSQL a group users wait for has its claims row (postgres_group_queue.hpp).
    pg.exec(
        "INSERT INTO group_claims (group_id) SELECT DISTINCT group_id FROM group_additions "
        "ON CONFLICT (group_id) DO NOTHING",
        "make the waiting groups claimable");
    transaction.commit();
    return counts;
  } catch (const postgres_error& e) {
    throw std::runtime_error(std::string("PostgreSQL: ") + e.what());
  } catch (const sqlite_error& e) {
    throw std::runtime_error("SQLite " + from.sqlite_path + ": " + e.what());
  }
}

}  // namespace connector::store

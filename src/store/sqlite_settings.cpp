// The settings log on SQLite (settings_log.hpp): a connection of its own beside the store's
// writer. A save waits for the file's write lock (busy_timeout) like any other writer; the
// compare-and-set is one INSERT that only writes while the expected revision is the newest.
#include <stdexcept>

#include "connector/store/settings_log.hpp"
#include "connector/store/sqlite.hpp"
#include "row_values.hpp"
#include "settings_logs.hpp"
#include "sqlite_schema.hpp"
#include "sqlite_statements.hpp"

namespace connector::store {
namespace {

constexpr const char* revision_columns = "revision, saved_at, saved_by, sections";

settings_revision read_revision_row(const run& row, bool with_content) {
  settings_revision r;
  r.revision = row.int64(0);
  r.saved_at = row.int64(1);
  r.saved_by = row.text(2);
  r.sections = sections_from_text(row.text(3));
  if (with_content) r.settings_json = row.text(4);
  return r;
}

class sqlite_settings_log final : public settings_log {
 public:
  sqlite_settings_log(const std::string& path, int busy_timeout_ms)
      : db_(path, SQLITE_OPEN_READWRITE),
        newest_(db_, "SELECT coalesce(max(revision), 0) FROM settings_revisions",
                "read settings revision"),
        read_one_(db_,
                  std::string("SELECT ") + revision_columns +
                      ", settings_json FROM settings_revisions WHERE revision = ?1",
                  "read settings revision"),
        list_(db_,
              std::string("SELECT ") + revision_columns +
                  " FROM settings_revisions ORDER BY revision DESC LIMIT ?1",
              "list settings revisions"),
        // Revisions are dense from 1: ?1 + 1 is free exactly while ?1 is the newest.
        insert_(db_, R"sql(
INSERT INTO settings_revisions (revision, saved_at, saved_by, sections, settings_json)
SELECT ?1 + 1, ?2, ?3, ?4, ?5
WHERE ?1 = (SELECT coalesce(max(revision), 0) FROM settings_revisions)
ON CONFLICT (revision) DO NOTHING
RETURNING revision)sql",
                "save settings revision") {
    sqlite3_busy_timeout(db_.handle(), busy_timeout_ms);
  }

  std::int64_t current_revision() override {
    run row(newest_);
    return row.step() ? row.int64(0) : 0;
  }

  std::optional<settings_revision> read_revision(std::int64_t revision) override {
    run row(read_one_);
    row.bind(1, revision);
    if (!row.step()) return std::nullopt;
    return read_revision_row(row, true);
  }

  std::vector<settings_revision> list_revisions(std::size_t limit) override {
    run rows(list_);
    rows.bind(1, as_limit(limit));
    std::vector<settings_revision> list;
    while (rows.step()) list.push_back(read_revision_row(rows, false));
    return list;
  }

  std::optional<std::int64_t> save_revision(std::int64_t expected,
                                            const settings_revision& next) override {
    const auto sections = sections_to_text(next.sections);
    run row(insert_);
    row.bind(1, expected)
        .bind(2, next.saved_at)
        .bind(3, next.saved_by)
        .bind(4, sections)
        .bind(5, next.settings_json);
    if (!row.step()) return std::nullopt;
    return row.int64(0);
  }

 private:
  sqlite_connection db_;
  sqlite_statement newest_, read_one_, list_, insert_;
};

}  // namespace

std::unique_ptr<settings_log> open_sqlite_settings_log(const store_settings& settings) {
  try {
    return std::make_unique<sqlite_settings_log>(settings.sqlite_path, settings.busy_timeout_ms);
  } catch (const sqlite_error& e) {
    throw std::runtime_error("store: cannot open the settings of " + settings.sqlite_path + ": " +
                             e.what());
  }
}

}  // namespace connector::store

// The settings log on PostgreSQL (settings_log.hpp), on a session of its own. The
// compare-and-set is one INSERT of revision R+1 that only writes while R is the newest;
// two instances saving from R at once both try R+1, and the primary key lets one in (the
// other, waiting on the key, then inserts nothing): exactly one wins, the other is stale.
#include <stdexcept>

#include "../row_values.hpp"
#include "../settings_logs.hpp"
#include "connector/store/postgres.hpp"
#include "postgres_session.hpp"

namespace connector::store {
namespace {

constexpr const char* revision_columns = "revision, saved_at, saved_by, sections";

settings_revision read_revision_row(const postgres_result& rows, int i, bool with_content) {
  settings_revision r;
  r.revision = rows.int64(i, 0);
  r.saved_at = rows.int64(i, 1);
  r.saved_by = rows.text(i, 2);
  r.sections = sections_from_text(rows.text(i, 3));
  if (with_content) r.settings_json = rows.text(i, 4);
  return r;
}

class postgres_settings_log final : public settings_log {
 public:
  explicit postgres_settings_log(const std::string& url) : session_(url) { session_.get(); }

  std::int64_t current_revision() override {
    return session_.retrying([](postgres_connection& db) {
      return db
          .exec("SELECT coalesce(max(revision), 0) FROM settings_revisions",
                "read settings revision")
          .int64(0, 0);
    });
  }

  std::optional<settings_revision> read_revision(std::int64_t revision) override {
    return session_.retrying([&](postgres_connection& db) -> std::optional<settings_revision> {
      const auto rows = db.exec(std::string("SELECT ") + revision_columns +
                                    ", settings_json FROM settings_revisions WHERE revision = $1",
                                postgres_params().add(revision), "read settings revision");
      if (rows.rows() == 0) return std::nullopt;
      return read_revision_row(rows, 0, true);
    });
  }

  std::vector<settings_revision> list_revisions(std::size_t limit) override {
    return session_.retrying([&](postgres_connection& db) {
      const auto rows = db.exec(std::string("SELECT ") + revision_columns +
                                    " FROM settings_revisions ORDER BY revision DESC LIMIT $1",
                                postgres_params().add(as_limit(limit)), "list settings revisions");
      std::vector<settings_revision> list;
      for (int i = 0; i < rows.rows(); ++i) list.push_back(read_revision_row(rows, i, false));
      return list;
    });
  }

  // Not retried after a lost connection: the save may have committed, and a second try would
  // then call it stale.
  std::optional<std::int64_t> save_revision(std::int64_t expected,
                                            const settings_revision& next) override {
    try {
      const auto rows = session_.get().exec(
          R"sql(
INSERT INTO settings_revisions (revision, saved_at, saved_by, sections, settings_json)
SELECT $1::bigint + 1, $2, $3, $4, $5
WHERE $1::bigint = (SELECT coalesce(max(revision), 0) FROM settings_revisions)
ON CONFLICT (revision) DO NOTHING
RETURNING revision)sql",
          postgres_params()
              .add(expected)
              .add(next.saved_at)
              .add(next.saved_by)
              .add(sections_to_text(next.sections))
              .add(next.settings_json),
          "save settings revision");
      if (rows.rows() == 0) return std::nullopt;
      return rows.int64(0, 0);
    } catch (const postgres_error& e) {
      session_.after_failure(e);
      throw;
    }
  }

 private:
  postgres_session session_;
};

}  // namespace

std::unique_ptr<settings_log> open_postgres_settings_log(const store_settings& settings) {
  const std::string problem = postgres_url_problem(settings.postgresql_url);
  if (!problem.empty()) throw std::runtime_error("store: store.postgresql_url " + problem);
  try {
    return std::make_unique<postgres_settings_log>(settings.postgresql_url);
  } catch (const postgres_error& e) {
    throw std::runtime_error(std::string("store: cannot open the PostgreSQL settings: ") +
                             e.what());
  }
}

}  // namespace connector::store

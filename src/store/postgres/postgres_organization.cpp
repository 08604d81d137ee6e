// The organization binding on PostgreSQL (organization_binding.hpp), on a session of its own.
// A reset is one transaction; the worker's writes to the rows it deletes wait for it.
#include <stdexcept>

#include "../organization_sql.hpp"
#include "connector/store/organization_binding.hpp"
#include "connector/store/postgres.hpp"
#include "postgres_session.hpp"
#include "postgres_sql.hpp"

namespace connector::store {
namespace {

organization_state state_of(postgres_connection& db) {
  const auto row = db.exec(organization_sql::state, "count the organization's links");
  return {row.int64(0, 0), row.int64(0, 1), row.int64(0, 2), row.int64(0, 3), row.int64(0, 4)};
}

class postgres_organization_binding final : public organization_binding {
 public:
  explicit postgres_organization_binding(const std::string& url) : session_(url) { session_.get(); }

  std::optional<organization_bond> bound() override {
    return session_.retrying([](postgres_connection& db) -> std::optional<organization_bond> {
      const auto rows = db.exec(organization_sql::bound, "read the organization binding");
      if (rows.rows() == 0) return std::nullopt;
      return organization_bond{rows.text(0, 0), rows.int64(0, 1)};
    });
  }

  organization_state state() override {
    return session_.retrying([](postgres_connection& db) { return state_of(db); });
  }

  bool bind_if_unbound(const std::string& identity, epoch_ms now) override {
    return session_.retrying([&](postgres_connection& db) {
      return db.exec(postgres_sql(organization_sql::bind_if_unbound),
                     postgres_params().add(identity).add(now), "bind the organization")
                 .rows() > 0;
    });
  }

  void rebind(const std::string& identity, epoch_ms now) override {
    session_.retrying([&](postgres_connection& db) {
      db.exec(postgres_sql(organization_sql::rebind), postgres_params().add(identity).add(now),
              "rebind the organization");
      return 0;
    });
  }

  // Not retried after a lost connection: it may have committed.
  reset_outcome reset(const std::string& identity, epoch_ms now) override {
    try {
      auto& db = session_.get();
      postgres_transaction transaction(db);
      reset_outcome out;
      out.forgotten = state_of(db);
      const auto rows = db.exec(organization_sql::links, "read the links to forget");
      for (int i = 0; i < rows.rows(); ++i)
        out.links.push_back({rows.text(i, 0), rows.text(i, 1), rows.text(i, 2)});
      for (const char* sql : organization_sql::forget) db.exec(sql, "forget the organization");
      db.exec(postgres_sql(organization_sql::requeue), postgres_params().add(now),
              "requeue held and dead");
      db.exec(postgres_sql(organization_sql::rebind), postgres_params().add(identity).add(now),
              "rebind the organization");
      transaction.commit();
      return out;
    } catch (const postgres_error& e) {
      session_.after_failure(e);
      throw;
    }
  }

 private:
  postgres_session session_;
};

}  // namespace

std::unique_ptr<organization_binding> open_postgres_organization_binding(
    const store_settings& settings) {
  const std::string problem = postgres_url_problem(settings.postgresql_url);
  if (!problem.empty()) throw std::runtime_error("store: store.postgresql_url " + problem);
  try {
    return std::make_unique<postgres_organization_binding>(settings.postgresql_url);
  } catch (const postgres_error& e) {
    throw std::runtime_error(std::string("store: cannot open the PostgreSQL organization "
                                         "binding: ") +
                             e.what());
  }
}

}  // namespace connector::store

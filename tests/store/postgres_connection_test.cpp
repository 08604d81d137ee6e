// The libpq layer and the PostgreSQL schema against a real PostgreSQL 15
// (support/postgres_server): parameters and arrays as typed, errors that name the operation
// and never the password, migrations that run once however many instances start together,
// and a connection that comes back after the server dropped it.
#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "connector/store/postgres.hpp"
#include "store/postgres/postgres_schema.hpp"
#include "store/postgres/postgres_session.hpp"
#include "store/postgres/postgres_sql.hpp"
#include "support/postgres_server.hpp"

namespace connector::store {
namespace {

using testing::postgres_server;

std::string database_of(const std::string& url) {
  return url.substr(url.rfind('/') + 1);
}

TEST(postgres_connection, shared_statements_read_in_postgres_placeholders) {
  EXPECT_EQ(postgres_sql("UPDATE t SET a = ?1 WHERE b = ?12 AND c >= ?3"),
            "UPDATE t SET a = $1 WHERE b = $12 AND c >= $3");
  // Only a number after it makes a placeholder.
  EXPECT_EQ(postgres_sql("SELECT '?' WHERE x ? 'k' AND y = ?2"),
            "SELECT '?' WHERE x ? 'k' AND y = $2");
}

TEST(postgres_connection, text_and_arrays_reach_the_server_as_written) {
  postgres_connection db(postgres_server::shared().create_database());
  const std::vector<std::string> awkward = {"a,b",  "{braces}", "quote \" and \\ backslash",
                                            "NULL", "",         "ünïcødé"};
  const auto rows = db.exec(
      "SELECT value FROM unnest($1::text[]) WITH ORDINALITY AS t (value, n) "
      "ORDER BY n",
      postgres_params().add_array(awkward), "round trip");
  ASSERT_EQ(rows.rows(), static_cast<int>(awkward.size()));
  for (int i = 0; i < rows.rows(); ++i) EXPECT_EQ(rows.text(i, 0), awkward[i]);

  const auto numbers = db.exec("SELECT $1::bigint[]",
                               postgres_params().add_array(std::vector<std::optional<std::int64_t>>{
                                   1, std::nullopt, -9007199254740993}),
                               "numbers");
  EXPECT_EQ(numbers.text(0, 0), "{1,NULL,-9007199254740993}");
  const auto nulls =
      db.exec("SELECT $1::text IS NULL, $2::bigint",
              postgres_params().add_null().add(std::optional<std::int64_t>{}), "nulls");
  EXPECT_TRUE(nulls.boolean(0, 0));
  EXPECT_TRUE(nulls.is_null(0, 1));
}

TEST(postgres_connection, an_error_names_the_operation_and_the_cause) {
  postgres_connection db(postgres_server::shared().create_database());
  try {
    db.exec("SELECT * FROM no_such_table", "look at nothing");
    FAIL() << "a missing table must throw";
  } catch (const postgres_error& e) {
    EXPECT_NE(std::string(e.what()).find("look at nothing"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("no_such_table"), std::string::npos) << e.what();
    EXPECT_EQ(e.sqlstate(), "42P01");
    EXPECT_FALSE(e.connection_lost());
  }
  EXPECT_TRUE(db.usable()) << "a failed statement leaves the connection usable";
}

TEST(postgres_connection, a_wrong_password_is_refused_without_repeating_either_password) {
  auto& server = postgres_server::shared();
  const std::string url = server.create_database();
  const std::string wrong = "Wr0ngPassw0rd-" + server.password().substr(3);
  std::string bad_url = url;
  bad_url.replace(bad_url.find(server.password()), server.password().size(), wrong);
  try {
    postgres_connection db(bad_url);
    FAIL() << "a wrong password must be refused";
  } catch (const postgres_error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("password authentication failed"), std::string::npos) << message;
    EXPECT_EQ(message.find(wrong), std::string::npos) << message;
    EXPECT_EQ(message.find(server.password()), std::string::npos) << message;
    EXPECT_TRUE(e.connection_lost());
  }
}

TEST(postgres_connection, a_url_of_the_wrong_shape_is_named_without_its_password) {
  EXPECT_NE(postgres_url_problem("mysql://u:secret@h/db"), "");
  EXPECT_NE(postgres_url_problem("postgresql://u:secret@h/db?bogus_option=1"), "");
  EXPECT_EQ(postgres_url_problem("postgresql://u:secret@h/db?bogus_option=1").find("secret"),
            std::string::npos);
  EXPECT_NE(postgres_url_problem("postgresql://u:secret@h"), "") << "no database";
  EXPECT_EQ(postgres_url_problem("postgresql://u:secret@db.example.com:5433/connector"), "");
  EXPECT_EQ(postgres_url_password("postgresql://u:s%40cret@h/db"), "s@cret");
}

TEST(postgres_schema, migrating_creates_every_table_and_migrating_again_changes_nothing) {
  auto& server = postgres_server::shared();
  const std::string url = server.create_database();
  postgres_connection db(url);
  EXPECT_EQ(postgres_schema_version(db), 0);
  migrate_postgres(db);
  EXPECT_EQ(postgres_schema_version(db), latest_postgres_schema_version());
  migrate_postgres(db);
  EXPECT_EQ(server.admin_sql(database_of(url), "SELECT count(*) FROM schema_migrations"),
            std::to_string(latest_postgres_schema_version()));
  for (const char* table :
       {"notifications", "records", "counters", "links", "department_links", "runs", "run_plans",
        "user_history", "user_keys", "worker_retirements"}) {
    EXPECT_EQ(server.admin_sql(database_of(url),
                               std::string("SELECT to_regclass('") + table + "') IS NOT NULL"),
              "t")
        << table;
  }
  // Ready for leases (several instances, a later step): the columns exist from the start.
  EXPECT_EQ(server.admin_sql(database_of(url),
                             "SELECT count(*) FROM information_schema.columns WHERE table_name = "
                             "'records' AND column_name IN ('claimed_by', 'lease_until')"),
            "2");
}

TEST(postgres_schema, instances_starting_at_once_migrate_once) {
  auto& server = postgres_server::shared();
  const std::string url = server.create_database();
  constexpr int instances = 8;
  std::vector<std::thread> threads;
  std::vector<std::string> errors(instances);
  for (int i = 0; i < instances; ++i) {
    threads.emplace_back([&, i] {
      try {
        postgres_connection db(url);
        migrate_postgres(db);
      } catch (const std::exception& e) {
        errors[i] = e.what();
      }
    });
  }
  for (auto& t : threads) t.join();
  for (const auto& error : errors) EXPECT_EQ(error, "");
  EXPECT_EQ(server.admin_sql(database_of(url), "SELECT count(*) FROM schema_migrations"),
            std::to_string(latest_postgres_schema_version()));
}

TEST(postgres_schema, a_database_from_a_newer_connector_is_refused) {
  auto& server = postgres_server::shared();
  const std::string url = server.create_database();
  postgres_connection db(url);
  migrate_postgres(db);
  db.exec("INSERT INTO schema_migrations (version) VALUES (" +
              std::to_string(latest_postgres_schema_version() + 1) + ")",
          "pretend a newer connector");
  try {
    migrate_postgres(db);
    FAIL() << "a newer schema must not be migrated";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("newer connector"), std::string::npos) << e.what();
  }
}

TEST(postgres_session, a_terminated_connection_is_replaced_on_next_use) {
  auto& server = postgres_server::shared();
  const std::string url = server.create_database();
  postgres_session session(url);
  const auto pid = session.get().exec("SELECT pg_backend_pid()", "pid").text(0, 0);
  server.admin_sql(database_of(url), "SELECT pg_terminate_backend(" + pid + ")");
  try {
    session.get().exec("SELECT 1", "after terminate");
    FAIL() << "the terminated connection must fail";
  } catch (const postgres_error& e) {
    EXPECT_TRUE(e.connection_lost()) << e.what();
    session.after_failure(e);
  }
  const auto again = session.get().exec("SELECT pg_backend_pid()", "pid again").text(0, 0);
  EXPECT_NE(again, pid);
  // retrying() does the same for reads in one call.
  server.admin_sql(database_of(url), "SELECT pg_terminate_backend(" + again + ")");
  EXPECT_EQ(session.retrying(
                [](postgres_connection& db) { return db.exec("SELECT 42", "answer").text(0, 0); }),
            "42");
}

}  // namespace
}  // namespace connector::store

#pragma once
// A real PostgreSQL 15 for the tests: Debian's postgresql-15 binaries, initdb into a
// temporary folder, a free port on 127.0.0.1 and a unix socket in the folder, fsync on; as
// the `postgres` user when the tests run as root (initdb and postgres refuse root). One
// server per test process, started on first use and removed at exit; a fresh database per
// test.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "connector/store/open.hpp"

namespace connector::testing {

class postgres_server {
 public:
  // The process's server, started on first use. Throws std::runtime_error (with initdb's or
  // the server's output) when it cannot start.
  static postgres_server& shared();

  ~postgres_server();
  postgres_server(const postgres_server&) = delete;
  postgres_server& operator=(const postgres_server&) = delete;

  // A new empty database; returns its URL.
  std::string create_database();
  // postgresql://connector:PASSWORD@127.0.0.1:PORT/database (a role with a password, so the
  // tests can check that the password never reaches an error).
  std::string url(const std::string& database) const;
  const std::string& password() const { return password_; }
  std::uint16_t port() const { return port_; }

  // Runs `sql` as the superuser on `database`; the first column of the first row ("" when
  // none). For the fault tests (pg_terminate_backend) and to look at what the engine wrote.
  std::string admin_sql(const std::string& database, const std::string& sql);
  // A superuser connection string to `database` (over the unix socket), for a session the
  // test keeps open (a lock held against the engine).
  std::string admin_conninfo(const std::string& database) const;

  // Fast shutdown (SIGINT) and wait; start() again on the same folder and port.
  void stop();
  void start();
  void restart();
  // SIGKILL to the postmaster, as a crash; start() recovers from the WAL.
  void kill();

 private:
  postgres_server();
  void initdb();
  void spawn_and_wait();

  std::unique_ptr<class child_process> process_;
  std::filesystem::path folder_;
  std::uint16_t port_ = 0;
  std::string password_;
  int next_database_ = 0;
};

// The engine factory of the store tests: the PostgreSQL engine opened with `settings` on a
// fresh database of the shared server (sqlite_path cleared). A caller that wants the same
// database again (a reader, a second instance) sets postgresql_url from create_database()
// first, and it is kept.
std::unique_ptr<store::store> open_postgres_test_store(store::store_settings settings);

}  // namespace connector::testing

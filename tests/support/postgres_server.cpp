#include "support/postgres_server.hpp"

#include <arpa/inet.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <random>
#include <stdexcept>
#include <thread>

#include "connector/store/postgres.hpp"
#include "store/postgres/postgres_store.hpp"
#include "support/process.hpp"

namespace connector::testing {
namespace {

const std::filesystem::path bin_dir = "/usr/lib/postgresql/15/bin";

std::uint16_t free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t size = sizeof address;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size) != 0) {
    if (fd >= 0) ::close(fd);
    throw std::runtime_error("postgres_server: no free port");
  }
  ::close(fd);
  return ntohs(address.sin_port);
}

std::string random_password() {
  static constexpr char letters[] = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
  std::random_device random;
  std::string password = "pw-";
  for (int i = 0; i < 24; ++i) password += letters[random() % (sizeof letters - 1)];
  return password;
}

// initdb and postgres refuse to run as root: then they run as `postgres`, which owns the
// folder. --pdeathsig: the server goes with the test process, however that ends.
std::vector<std::string> as_server_user(std::vector<std::string> argv) {
  std::vector<std::string> wrapped = {"/usr/bin/setpriv", "--pdeathsig", "SIGQUIT"};
  if (::geteuid() == 0) {
    for (const char* arg : {"--reuid=postgres", "--regid=postgres", "--init-groups"})
      wrapped.emplace_back(arg);
  }
  wrapped.emplace_back("--");
  wrapped.insert(wrapped.end(), argv.begin(), argv.end());
  return wrapped;
}

void give_to_server_user(const std::filesystem::path& path) {
  if (::geteuid() != 0) return;
  const passwd* user = ::getpwnam("postgres");
  if (user == nullptr) throw std::runtime_error("postgres_server: no `postgres` user to run as");
  if (::chown(path.c_str(), user->pw_uid, user->pw_gid) != 0)
    throw std::runtime_error("postgres_server: cannot give " + path.string() + " to postgres");
}

std::string superuser_conninfo(const std::filesystem::path& folder, std::uint16_t port,
                               const std::string& database) {
  // Over the unix socket in the folder, trusted locally: the admin needs no password.
  return "host=" + folder.string() + " port=" + std::to_string(port) +
         " user=postgres dbname=" + database;
}

}  // namespace

postgres_server& postgres_server::shared() {
  static std::unique_ptr<postgres_server> server(new postgres_server());
  return *server;
}

postgres_server::postgres_server() : password_(random_password()) {
  char folder_template[] = "/tmp/connector-pg-XXXXXX";
  if (::mkdtemp(folder_template) == nullptr)
    throw std::runtime_error("postgres_server: cannot create a temporary folder");
  folder_ = folder_template;
  give_to_server_user(folder_);
  port_ = free_port();
  initdb();
  start();
  admin_sql("postgres", "CREATE ROLE connector LOGIN PASSWORD '" + password_ + "'");
}

postgres_server::~postgres_server() {
  if (process_) {
    process_->signal(SIGQUIT);  // immediate: the data goes with the folder
    process_->wait(std::chrono::seconds(30));
    process_.reset();
  }
  // A backend still exiting may write a last file while the folder goes: try again.
  // Never throws: this runs at exit.
  std::error_code ec;
  for (int attempt = 0; attempt < 50 && std::filesystem::exists(folder_, ec); ++attempt) {
    std::filesystem::remove_all(folder_, ec);
    if (std::filesystem::exists(folder_, ec))
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

void postgres_server::initdb() {
  const auto data = folder_ / "data";
  const auto result = run_command(as_server_user(
      {(bin_dir / "initdb").string(), "-D", data.string(), "-U", "postgres", "-E", "UTF8",
       "--locale=C.UTF-8", "--auth-local=trust", "--auth-host=scram-sha-256", "--no-sync"}));
  if (result.exit_code != 0)
    throw std::runtime_error("postgres_server: initdb failed: " + result.out + result.err);
}

void postgres_server::spawn_and_wait() {
  process_ = std::make_unique<child_process>(
      as_server_user({(bin_dir / "postgres").string(), "-D", (folder_ / "data").string(), "-p",
                      std::to_string(port_), "-k", folder_.string(), "-c",
                      "listen_addresses=127.0.0.1", "-c", "fsync=on", "-c", "synchronous_commit=on",
                      "-c", "max_connections=300"}),
      folder_);
  const std::string conninfo = superuser_conninfo(folder_, port_, "postgres");
  while (PQping(conninfo.c_str()) != PQPING_OK) {
    if (!process_->running()) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

void postgres_server::start() {
  // After kill(), the old server's backends may hold its shared memory for a moment: the new
  // postmaster then refuses to start, and is started again.
  for (int attempt = 0; attempt < 250; ++attempt) {
    spawn_and_wait();
    if (process_->running()) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  throw std::runtime_error("postgres_server: the server does not start: " +
                           process_->stderr_text());
}

void postgres_server::stop() {
  if (!process_) return;
  process_->signal(SIGINT);
  process_->wait(std::chrono::seconds(60));
  process_.reset();
}

void postgres_server::restart() {
  stop();
  start();
}

void postgres_server::kill() {
  if (!process_) return;
  process_->signal(SIGKILL);
  process_->wait(std::chrono::seconds(60));
  process_.reset();
}

std::string postgres_server::url(const std::string& database) const {
  return "postgresql://connector:" + password_ + "@127.0.0.1:" + std::to_string(port_) + "/" +
         database;
}

std::string postgres_server::create_database() {
  const std::string name =
      "test_" + std::to_string(::getpid()) + "_" + std::to_string(next_database_++);
  admin_sql("postgres", "CREATE DATABASE " + name + " OWNER connector");
  return url(name);
}

std::string postgres_server::admin_conninfo(const std::string& database) const {
  return superuser_conninfo(folder_, port_, database);
}

std::string postgres_server::admin_sql(const std::string& database, const std::string& sql) {
  store::postgres_connection connection(admin_conninfo(database));
  const auto result = connection.exec(sql, "test admin SQL");
  return result.rows() > 0 && result.is_null(0, 0) == false ? result.text(0, 0) : std::string();
}

std::unique_ptr<store::store> open_postgres_test_store(store::store_settings settings) {
  settings.sqlite_path.clear();
  if (settings.postgresql_url.empty())
    settings.postgresql_url = postgres_server::shared().create_database();
  return store::open_postgres_store(settings);
}

}  // namespace connector::testing

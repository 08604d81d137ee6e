// The real binary under a stand-in for systemd: NOTIFY_SOCKET names a Unix datagram socket
// this test reads, as systemd reads it for a Type=notify unit. READY=1 comes once both
// listeners listen, RELOADING=1 and READY=1 around SIGHUP, STOPPING=1 on SIGTERM, and
// WATCHDOG=1 pings with WATCHDOG_USEC set, paused while the store's writer is stuck.
#include <gtest/gtest.h>
#include <poll.h>
#include <sqlite3.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <optional>

#include "support/service.hpp"

namespace connector::testing {
namespace {

// Bound at `path`; what the service sends arrives one datagram per notification.
class notify_socket {
 public:
  explicit notify_socket(const std::filesystem::path& path) : path_(path) {
    fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) throw std::runtime_error("socket failed");
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    const auto text = path.string();
    if (text.size() >= sizeof(address.sun_path)) throw std::runtime_error("path too long");
    std::copy(text.begin(), text.end(), address.sun_path);
    if (bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
      throw std::runtime_error("bind failed");
    }
  }
  ~notify_socket() { close(fd_); }
  notify_socket(const notify_socket&) = delete;
  notify_socket& operator=(const notify_socket&) = delete;

  // The next notification; nullopt if none comes within a generous bound (a hung service).
  std::optional<std::string> next() {
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, 60'000) != 1) return std::nullopt;
    char buffer[4096];
    const auto n = recv(fd_, buffer, sizeof(buffer), 0);
    if (n < 0) return std::nullopt;
    return std::string(buffer, static_cast<std::size_t>(n));
  }

  // Reads up to the first notification containing `needle`; the ones before it are
  // appended to `skipped` when given.
  std::optional<std::string> next_with(const std::string& needle,
                                       std::vector<std::string>* skipped = nullptr) {
    while (auto message = next()) {
      if (message->find(needle) != std::string::npos) return message;
      if (skipped) skipped->push_back(*message);
    }
    return std::nullopt;
  }

 private:
  std::filesystem::path path_;
  int fd_ = -1;
};

bool is_ping(const std::string& message) {
  return message == "WATCHDOG=1";
}

class systemd_notify : public ::testing::Test {
 protected:
  // WATCHDOG_USEC of 200 ms: a ping every 100 ms.
  void start(const std::map<std::string, std::string>& extra_env = {}) {
    write_text(config_, test_config(dir_.path()).dump(2));
    std::map<std::string, std::string> env{{"NOTIFY_SOCKET", socket_path_.string()}};
    env.insert(extra_env.begin(), extra_env.end());
    process_ = std::make_unique<child_process>(
        std::vector<std::string>{CONNECTOR_BINARY, "serve", "--config", config_.string(),
                                 "--ready-file", ready_file_.string()},
        dir_.path(), env);
  }

  temp_dir dir_;
  std::filesystem::path config_ = dir_.path() / "config.json";
  std::filesystem::path ready_file_ = dir_.path() / "ready.json";
  std::filesystem::path socket_path_ = dir_.path() / "notify.sock";
  notify_socket systemd_{socket_path_};
  std::unique_ptr<child_process> process_;
};

TEST_F(systemd_notify, ready_once_listening_reloading_around_sighup_stopping_on_sigterm) {
  start();
  const auto ready = systemd_.next_with("READY=1");
  ASSERT_TRUE(ready) << process_->stderr_text();
  // Both listeners accept by the time READY=1 is sent, and the status says where.
  const auto ports = nlohmann::json::parse(read_text(ready_file_));
  const auto public_port = ports.at("public_port").get<std::uint16_t>();
  const auto admin_port = ports.at("admin_port").get<std::uint16_t>();
  EXPECT_NE(ready->find("STATUS=listening on 127.0.0.1:" + std::to_string(public_port) +
                        ", admin on 127.0.0.1:" + std::to_string(admin_port)),
            std::string::npos)
      << *ready;
  client_options public_options, admin_options;
  public_options.port = public_port;
  public_options.ca_file = admin_options.ca_file = test_certs::get().ca_crt.string();
  admin_options.port = admin_port;
  EXPECT_EQ(https_client(public_options).get("/healthz").status, 200);
  EXPECT_EQ(
      https_client(admin_options)
          .get("/admin/status", {{"Authorization", std::string("Bearer ") + test_admin_token}})
          .status,
      200);

  ::kill(process_->pid(), SIGHUP);
  std::vector<std::string> between;  // without WATCHDOG_USEC, no pings among them
  const auto reloading = systemd_.next_with("RELOADING=1", &between);
  ASSERT_TRUE(reloading);
  EXPECT_NE(reloading->find("MONOTONIC_USEC="), std::string::npos) << *reloading;
  const auto reloaded = systemd_.next_with("READY=1", &between);
  ASSERT_TRUE(reloaded);
  EXPECT_NE(reloaded->find("reloaded"), std::string::npos) << *reloaded;

  // A broken file is refused, and systemd hears so; the service stays ready.
  write_text(config_, R"({"server": {"listn": "x"}})");
  ::kill(process_->pid(), SIGHUP);
  ASSERT_TRUE(systemd_.next_with("RELOADING=1", &between));
  const auto refused = systemd_.next_with("READY=1", &between);
  ASSERT_TRUE(refused);
  EXPECT_NE(refused->find("configuration not reloaded: server.listn"), std::string::npos)
      << *refused;

  process_->signal(SIGTERM);
  const auto stopping = systemd_.next_with("STOPPING=1", &between);
  ASSERT_TRUE(stopping);
  EXPECT_EQ(process_->wait(), 0) << process_->stderr_text();
  EXPECT_EQ(std::count_if(between.begin(), between.end(), is_ping), 0);
}

TEST_F(systemd_notify, pings_the_watchdog_and_pauses_while_the_store_writer_is_stuck) {
  start({{"WATCHDOG_USEC", "200000"}});
  ASSERT_TRUE(systemd_.next_with("READY=1")) << process_->stderr_text();
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(systemd_.next_with("WATCHDOG=1"));

  // Another connection holds the write lock: the writer waits in SQLite's busy handler,
  // so the probe cannot answer.
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir_.path() / "connector.db").c_str(), &db), SQLITE_OK);
  sqlite3_busy_timeout(db, 60'000);  // the probe's own empty transactions come and go
  ASSERT_EQ(sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), SQLITE_OK);
  const auto paused = systemd_.next_with("watchdog pings paused");
  ASSERT_TRUE(paused);
  EXPECT_EQ(*paused, "STATUS=the store writer has not answered for 100 ms; watchdog pings paused");

  // The writer answers once SQLite's busy timeout (5 s) gives up on the lock: about fifty
  // intervals without a ping, then the status is back and pings go on.
  std::vector<std::string> while_stuck;
  ASSERT_TRUE(systemd_.next_with("STATUS=listening on", &while_stuck));
  EXPECT_EQ(std::count_if(while_stuck.begin(), while_stuck.end(), is_ping), 0);
  ASSERT_TRUE(systemd_.next_with("WATCHDOG=1"));

  // Still locked, so the next probe is stuck again; the lock released, pings resume.
  ASSERT_TRUE(systemd_.next_with("watchdog pings paused"));
  sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
  sqlite3_close(db);
  ASSERT_TRUE(systemd_.next_with("STATUS=listening on"));
  ASSERT_TRUE(systemd_.next_with("WATCHDOG=1"));

  process_->signal(SIGTERM);
  ASSERT_TRUE(systemd_.next_with("STOPPING=1"));
  EXPECT_EQ(process_->wait(), 0) << process_->stderr_text();
}

}  // namespace
}  // namespace connector::testing

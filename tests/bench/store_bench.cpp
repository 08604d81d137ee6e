// Intake throughput of the store engines, SQLite then PostgreSQL in the same run:
// notifications stored per second with concurrent submitters (as HTTP requests in flight),
// each waiting for its durable ack. Besides wall time it reports the writer thread's CPU time,
// which other load on the machine disturbs less.
//
//   store_bench [directory [scale]] [--postgresql-url URL | --no-postgresql]
//
// directory: where the SQLite database goes (default: the system temp directory; use the disk
// you deploy on). scale multiplies the number of requests (default 1). PostgreSQL: the
// database at URL (emptied of nothing: use a fresh one), else a PostgreSQL 15 the benchmark
// starts itself (tests/support/postgres_server: initdb in /tmp, fsync on).
//
// Scenarios: 100-notification requests for new users, for known users with every field
// (outbound messages), for known users with one changed field (change events: a real merge),
// and 1-notification requests (with 16, then 64 in flight: a commit costs one fsync however
// many requests share it, so small requests scale with concurrency).
#include <sqlite3.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "connector/store/open.hpp"
#include "support/postgres_server.hpp"

namespace {

using namespace connector;
using namespace connector::store;
namespace fs = std::filesystem;

// Salesforce-shaped 18-character ids: a key prefix and a growing number.
std::string sf_id(const char* prefix, long number) {
  char text[32];
  std::snprintf(text, sizeof text, "%s%013ld", prefix, number);
  return text;
}

std::string full_fields(long user, long revision) {
  return R"({"Username":"user)" + std::to_string(user) + R"(@acme.com.prod","Email":"user)" +
         std::to_string(user) +
         R"(@acme.com","FirstName":"Jane","LastName":"Doe","Department":"Sales","Title":"Rep )" +
         std::to_string(revision) + R"(","IsActive":true,"iSpring_Groups__c":"Onboarding;Sales"})";
}

// CPU seconds the inbox's writer thread has used (user + system), from /proc: unlike wall
// time it does not depend on what else the machine is running.
double writer_cpu_seconds() {
  for (const auto& task : fs::directory_iterator("/proc/self/task")) {
    std::ifstream comm(task.path() / "comm");
    std::string name;
    std::getline(comm, name);
    if (name != "inbox-writer" && name != "store-writer") continue;
    std::ifstream stat(task.path() / "stat");
    std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
    // Fields after the parenthesised name: state is field 3, utime 14, stime 15.
    std::istringstream fields(text.substr(text.rfind(')') + 2));
    std::string field;
    double ticks = 0;
    for (int i = 3; i <= 15 && fields >> field; ++i) {
      if (i >= 14) ticks += std::stod(field);
    }
    return ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
  }
  return 0;
}

enum class shape { new_users, known_users_all_fields, known_users_one_field };

struct scenario {
  const char* name;
  shape kind;
  int submitters;
  int requests_per_submitter;
  int notifications_per_request;
};

// Requests are built before the clock starts: this measures the store, not string building.
std::vector<std::vector<intake_request>> build(const scenario& s, long& next_notification,
                                               long known_users) {
  std::vector<std::vector<intake_request>> work(static_cast<std::size_t>(s.submitters));
  long next_new_user = 1'000'000'000L + next_notification;
  for (int t = 0; t < s.submitters; ++t) {
    for (int r = 0; r < s.requests_per_submitter; ++r) {
      intake_request request;
      request.organization_id = "00D5g000004XyZaEAK";
      request.source = "outbound_message";
      request.received_at = 1'700'000'000'000 + next_notification;
      for (int n = 0; n < s.notifications_per_request; ++n) {
        const long id = next_notification++;
        incoming_change change;
        change.notification_id = sf_id("04l5g", id);
        change.object_type = "User";
        change.modstamp = 1'700'000'000'000 + id;
        long user = 0;
        switch (s.kind) {
          case shape::new_users:
            user = next_new_user++;
            change.fields_json = full_fields(user, id);
            break;
          case shape::known_users_all_fields:
            user = (id * 7919) % known_users;
            change.fields_json = full_fields(user, id);
            break;
          case shape::known_users_one_field:
            user = (id * 7919) % known_users;
            change.fields_json = R"({"Title":"Rep )" + std::to_string(id) + R"("})";
            break;
        }
        change.record_id = sf_id("0055g", user);
        request.changes.push_back(std::move(change));
      }
      work[static_cast<std::size_t>(t)].push_back(std::move(request));
    }
  }
  return work;
}

void run(connector::store::store& box, const scenario& s, long& next_notification,
         long known_users) {
  auto work = build(s, next_notification, known_users);
  const std::size_t commits_before = box.commits_so_far();
  const double cpu_before = writer_cpu_seconds();
  std::atomic<long> stored{0};
  std::atomic<long> failed{0};
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  threads.reserve(static_cast<std::size_t>(s.submitters));
  for (int t = 0; t < s.submitters; ++t) {
    threads.emplace_back([&, t] {
      for (auto& request : work[static_cast<std::size_t>(t)]) {
        auto outcome = box.submit_and_wait(std::move(request));
        if (!outcome.committed) ++failed;
        stored += static_cast<long>(outcome.stored);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const long requests = static_cast<long>(s.submitters) * s.requests_per_submitter;
  const auto commits = box.commits_so_far() - commits_before;
  const double cpu = writer_cpu_seconds() - cpu_before;
  std::printf(
      "%-34s %7ld notif %6.2f s %8.0f notif/s %7.0f req/s | writer CPU %5.2f us/notif "
      "(%7.0f notif/CPU-s) | %5zu commits, %5.1f req/commit, %6.2f ms/commit%s\n",
      s.name, stored.load(), seconds, static_cast<double>(stored) / seconds,
      static_cast<double>(requests) / seconds, cpu * 1e6 / static_cast<double>(stored),
      static_cast<double>(stored) / cpu, commits,
      static_cast<double>(requests) / static_cast<double>(commits),
      seconds * 1e3 / static_cast<double>(commits), failed != 0 ? "  FAILURES" : "");
}

constexpr long known_users = 20'000;

void run_all(connector::store::store& box, double scale) {
  const auto scaled = [scale](int requests) {
    return std::max(1, static_cast<int>(requests * scale));
  };
  long next_notification = 1;
  const scenario scenarios[] = {
      {"16x100, new users", shape::new_users, 16, scaled(200), 100},
      {"16x100, known users, all fields", shape::known_users_all_fields, 16, scaled(200), 100},
      {"16x100, known users, one field", shape::known_users_one_field, 16, scaled(200), 100},
      {"16x1, known users", shape::known_users_all_fields, 16, scaled(1000), 1},
      {"64x1, known users", shape::known_users_all_fields, 64, scaled(500), 1},
  };
  // Seed the known users so the update scenarios merge instead of insert.
  long seed_id = 0;
  for (long user = 0; user < known_users; user += 100) {
    intake_request request;
    request.organization_id = "00D5g000004XyZaEAK";
    request.source = "event";
    for (long u = user; u < user + 100; ++u) {
      incoming_change change;
      change.notification_id = sf_id("seed0", seed_id++);
      change.record_id = sf_id("0055g", u);
      change.object_type = "User";
      change.modstamp = 1;
      change.fields_json = full_fields(u, 0);
      request.changes.push_back(std::move(change));
    }
    box.submit_and_wait(std::move(request));
  }
  std::printf("scenario: concurrent submitters x notifications per request\n");
  for (const auto& s : scenarios) run(box, s, next_notification, known_users);
  const auto stats = box.stats();
  std::printf("stored %lld notifications, %lld records pending\n",
              static_cast<long long>(stats.notifications_received),
              static_cast<long long>(stats.pending));
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> positional;
  std::string postgresql_url;
  bool postgresql = true;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--postgresql-url" && i + 1 < argc) {
      postgresql_url = argv[++i];
    } else if (arg == "--no-postgresql") {
      postgresql = false;
    } else {
      positional.push_back(arg);
    }
  }
  const fs::path base = positional.size() > 0 ? fs::path(positional[0]) : fs::temp_directory_path();
  const double scale = positional.size() > 1 ? std::atof(positional[1].c_str()) : 1.0;
  std::string pattern = (base / "store_bench_XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) {
    std::perror("mkdtemp");
    return 1;
  }
  const fs::path dir = pattern;
  std::printf("%u hardware threads\n", std::thread::hardware_concurrency());
  {
    store_settings options;
    options.sqlite_path = (dir / "bench.db").string();
    auto box = open_store(options);
    std::printf("== SQLite %s, file %s\n", sqlite3_libversion(), options.sqlite_path.c_str());
    run_all(*box, scale);
    std::error_code no_wal;
    std::printf("file %.1f MiB, WAL %.1f MiB\n",
                static_cast<double>(fs::file_size(options.sqlite_path)) / (1024.0 * 1024.0),
                static_cast<double>(fs::file_size(options.sqlite_path + "-wal", no_wal)) /
                    (1024.0 * 1024.0));
  }
  std::error_code ec;
  fs::remove_all(dir, ec);
  if (postgresql) {
    store_settings settings;
    settings.postgresql_url = !postgresql_url.empty()
                                  ? postgresql_url
                                  : connector::testing::postgres_server::shared().create_database();
    auto box = open_store(settings);
    std::printf("== PostgreSQL%s\n",
                postgresql_url.empty() ? " 15 (started by the benchmark)" : "");
    run_all(*box, scale);
  }
  return 0;
}

// Reconciliation benchmark: the real `connector reconcile` binary against both sandboxes
// over real TLS, with --users Salesforce users that already exist in iSpring.
//
//   reconcile_bench [--users N] [--change-percent P] [--latency-ms N] [--concurrency N]
//
// Runs, each a child process timed from exec to exit, with its peak RSS from wait4():
//   1. first match: no links yet, every user is matched by login and the links are stored;
//   2. no change:   links known, nothing differs (the steady state of a scheduled run);
//   3. no change, with --latency-ms on every sandbox call;
//   4. P% changed:  FirstName changed for P% of the users in Salesforce, with the latency.
// Afterwards it checks that iSpring holds exactly the changed names and no duplicates.
#include <fcntl.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "support/ispring_sandbox_server.hpp"
#include "support/salesforce_sandbox_server.hpp"
#include "support/sandbox_config.hpp"
#include "support/service.hpp"

extern char** environ;

namespace {

using namespace connector::testing;
using nlohmann::json;

constexpr double target_no_change_s = 5;
constexpr double target_no_change_rss_mb = 300;
constexpr double target_changed_s = 10;

struct options {
  std::size_t users = 100'000;
  double change_percent = 1;
  int latency_ms = 20;
  int concurrency = 8;
};

options parse(int argc, char** argv) {
  options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string key = argv[i], value = argv[i + 1];
    if (key == "--users")
      o.users = std::stoul(value);
    else if (key == "--change-percent")
      o.change_percent = std::stod(value);
    else if (key == "--latency-ms")
      o.latency_ms = std::stoi(value);
    else if (key == "--concurrency")
      o.concurrency = std::stoi(value);
    else
      throw std::invalid_argument("unknown option " + key);
  }
  return o;
}

struct measured {
  double seconds = 0;
  double peak_rss_mb = 0;
  double cpu_s = 0;  // user + system time of the connector process
  int exit_code = -1;
  json report;
};

// Runs `connector reconcile --json --config PATH`, timing it and reading its peak RSS.
measured run_reconcile(const std::string& config_path, const std::string& out_path) {
  std::vector<std::string> args = {CONNECTOR_BINARY, "reconcile", "--json", "--config",
                                   config_path};
  // RECONCILE_BENCH_WRAP="heaptrack -o /tmp/h" profiles the connector (the figures then
  // measure the wrapper too).
  if (const char* wrap = std::getenv("RECONCILE_BENCH_WRAP")) {
    std::vector<std::string> prefix;
    std::istringstream words(wrap);
    for (std::string w; words >> w;) prefix.push_back(w);
    args.insert(args.begin(), prefix.begin(), prefix.end());
  }
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0600);
  const auto start = std::chrono::steady_clock::now();
  pid_t pid = 0;
  if (posix_spawnp(&pid, argv[0], &actions, nullptr, argv.data(), environ) != 0)
    throw std::runtime_error("cannot start connector");
  int status = 0;
  rusage usage{};
  wait4(pid, &status, 0, &usage);
  measured m;
  m.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  m.peak_rss_mb = static_cast<double>(usage.ru_maxrss) / 1024.0;
  m.cpu_s = static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
            static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
  m.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  posix_spawn_file_actions_destroy(&actions);
  m.report = json::parse(read_text(out_path), nullptr, false);
  return m;
}

void print(const char* name, const measured& m, const char* target) {
  const auto& counts = m.report.is_object() ? m.report.value("counts", json::object()) : json();
  std::printf(
      "%-28s %6.2f s (cpu %5.2f s)  peak RSS %6.1f MB  %-10s applied %5lld failed %lld  %s\n", name,
      m.seconds, m.cpu_s, m.peak_rss_mb,
      m.report.is_object() ? m.report.value("status", "?").c_str() : "?",
      static_cast<long long>(counts.value("applied", 0)),
      static_cast<long long>(counts.value("failed", 0)), target);
  if (m.exit_code != 0)
    std::printf("    exit %d: %s\n", m.exit_code, m.report.dump().substr(0, 400).c_str());
}

}  // namespace

int main(int argc, char** argv) try {
  const options o = parse(argc, argv);
  temp_dir dir;
  salesforce_sandbox_server salesforce(jwt_salesforce_sandbox_options(),
                                       {"127.0.0.1", 0, {}, {}, 4});
  ispring_sandbox_server ispring({}, {"127.0.0.1", 0, {}, {}, 4});

  // The same people on both sides (generated the way the Salesforce sandbox names them).
  const auto seed_start = std::chrono::steady_clock::now();
  const auto ids = salesforce.sandbox().add_generated_users(o.users);
  std::vector<std::string> departments;
  for (int d = 0; d < 10; ++d)
    departments.push_back(ispring.sandbox().add_department("Department " + std::to_string(d)));
  std::vector<ispring_sandbox::seed_user> seeds;
  seeds.reserve(o.users);
  for (std::size_t n = 0; n < o.users; ++n) {
    const std::string name = "user" + std::to_string(n) + "@sandbox.example.com";
    seeds.push_back({name,
                     name,
                     departments[n % 10],
                     {{"first_name", "User"}, {"last_name", "Number " + std::to_string(n)}}});
  }
  ispring.sandbox().add_users(seeds);
  std::printf("seeded %zu users on both sides in %.1f s\n", o.users,
              std::chrono::duration<double>(std::chrono::steady_clock::now() - seed_start).count());

  json ispring_section = ispring_sandbox_config(ispring);
  ispring_section["max_concurrency"] = o.concurrency;
  const json config =
      test_config(dir.path(), {{"ispring", ispring_section},
                               {"salesforce", salesforce_sandbox_config(salesforce)},
                               {"logging", {{"level", "info"}}}});
  const auto config_path = (dir.path() / "config.json").string();
  write_text(config_path, config.dump(2));
  const auto out_path = (dir.path() / "out.json").string();

  std::printf("%zu users, concurrency %d\n", o.users, o.concurrency);
  print("1. first match (links)", run_reconcile(config_path, out_path), "");
  const auto no_change = run_reconcile(config_path, out_path);
  print("2. no change", no_change, "(target <= 5 s, <= 300 MB)");

  salesforce.sandbox().set_latency_ms(o.latency_ms);
  ispring.sandbox().set_latency_ms(o.latency_ms);
  const auto no_change_latency = run_reconcile(config_path, out_path);
  char label[64];
  std::snprintf(label, sizeof label, "3. no change, %d ms", o.latency_ms);
  print(label, no_change_latency, "(target <= 5 s, <= 300 MB)");

  const auto changed =
      static_cast<std::size_t>(static_cast<double>(o.users) * o.change_percent / 100);
  std::set<std::size_t> changed_users;
  for (std::size_t i = 0; i < changed; ++i) {
    const std::size_t n = i * (o.users / std::max<std::size_t>(changed, 1));
    changed_users.insert(n);
    salesforce.sandbox().update_user(ids[n], {{"FirstName", "Changed"}});
  }
  const auto with_changes = run_reconcile(config_path, out_path);
  std::snprintf(label, sizeof label, "4. %.3g%% changed, %d ms", o.change_percent, o.latency_ms);
  print(label, with_changes, "(target <= 10 s)");

  // Exactly the changed users changed, nobody was created twice.
  std::size_t renamed = 0;
  std::set<std::string> logins;
  bool duplicates = false;
  for (const auto& u : ispring.sandbox().users()) {
    if (!logins.insert(u.login()).second) duplicates = true;
    if (u.fields.count("first_name") && u.fields.at("first_name") == "Changed") ++renamed;
  }
  std::printf("check: %zu of %zu changed users hold the new name, %zu iSpring users, %s\n", renamed,
              changed_users.size(), logins.size(), duplicates ? "DUPLICATES" : "no duplicates");
  const bool ok = renamed == changed_users.size() && !duplicates && logins.size() == o.users;
  std::printf("targets: no change %s, RSS %s, changed %s\n",
              no_change_latency.seconds <= target_no_change_s ? "met" : "MISSED",
              no_change_latency.peak_rss_mb <= target_no_change_rss_mb ? "met" : "MISSED",
              with_changes.seconds <= target_changed_s ? "met" : "MISSED");
  return ok ? 0 : 1;
} catch (const std::exception& e) {
  std::cerr << "reconcile_bench: " << e.what() << "\n";
  return 2;
}

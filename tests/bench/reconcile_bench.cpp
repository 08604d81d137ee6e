// Reconciliation benchmark: the real `connector reconcile` binary against both sandboxes
// over real TLS, with --users Salesforce users that already exist in iSpring.
//
//   reconcile_bench [--users N] [--change-percent P] [--latency-ms N] [--concurrency N]
//
// Runs, each a child process timed from exec to exit, with its peak RSS from wait4():
//   0. bare paging: a client that only pages both sandboxes, as the connector reads them (the
//      Salesforce query page by page; iSpring's departments a few at once, page by page), with the
//      connector's own clients, and drops what it reads: the floor a run cannot beat;
//   1. first match: no links yet, every user is matched by login and the links are stored;
//   2. no change:   links known, nothing differs (the steady state of a scheduled run), run
//      twice between two bare pagings (ABAB), the ratio from the means;
//   3. no change, with --latency-ms on every sandbox call;
//   4. P% changed:  FirstName changed for P% of the users in Salesforce, with the latency.
// Afterwards it checks that iSpring holds exactly the changed names and no duplicates.
// Targets (issue 18): no change <= 1.3x bare paging; peak RSS <= 200 MB at 100,000 users and
// <= 1.2 GB at 1,000,000.
#include <fcntl.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "connector/app/reconcile_runs.hpp"
#include "connector/clock.hpp"
#include "connector/config/config.hpp"
#include "connector/ispring/client.hpp"
#include "support/ispring_sandbox_server.hpp"
#include "support/salesforce_sandbox_server.hpp"
#include "support/sandbox_config.hpp"
#include "support/service.hpp"

extern char** environ;

namespace {

using namespace connector::testing;
using nlohmann::json;

constexpr double target_ratio = 1.3;  // no-change run / bare paging
// The 1% changed run's target holds at the default size only (1,000 changes, 20 ms a call);
// at 1,000,000 users the run must read everything before its 10,000 changes, and no issue set
// a figure for it.
constexpr double target_changed_s = 10;
constexpr std::size_t target_changed_users = 100'000;

double target_rss_mb(std::size_t users) {
  return users > 100'000 ? 1200 : 200;
}

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

// VmHWM of a running process (its own peak RSS since exec), in kB; 0 once it has ended.
long high_water_kb(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(status, line);)
    if (line.rfind("VmHWM:", 0) == 0) return std::atol(line.c_str() + 6);
  return 0;
}

// Runs `args` with its output in `out_path` (JSON), timing it and sampling its peak RSS.
measured run_child(std::vector<std::string> args, const std::string& out_path) {
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
  // wait4's ru_maxrss would not do: Linux carries the high-water mark of the memory a process
  // leaves at exec into it, and posix_spawn leaves the bench's own (the sandboxes: GBs).
  std::atomic<bool> ended{false};
  std::atomic<long> peak_kb{0};
  std::thread sampler([&] {
    while (!ended) {
      peak_kb = std::max(peak_kb.load(), high_water_kb(pid));
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  });
  int status = 0;
  rusage usage{};
  wait4(pid, &status, 0, &usage);
  ended = true;
  sampler.join();
  measured m;
  m.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  m.peak_rss_mb = static_cast<double>(peak_kb.load()) / 1024.0;
  m.cpu_s = static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
            static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
  m.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  posix_spawn_file_actions_destroy(&actions);
  m.report = json::parse(read_text(out_path), nullptr, false);
  return m;
}

// Runs `connector reconcile --json --config PATH`.
measured run_reconcile(const std::string& config_path, const std::string& out_path) {
  return run_child({CONNECTOR_BINARY, "reconcile", "--json", "--config", config_path}, out_path);
}

std::string self_path;  // this program, for the bare pager

measured run_bare_paging(const std::string& config_path, const std::string& out_path) {
  // Not wrapped in RECONCILE_BENCH_WRAP, which measures the connector only;
  // RECONCILE_BENCH_WRAP_BARE wraps the bare pager instead (to profile both the same way).
  const char* wrap = std::getenv("RECONCILE_BENCH_WRAP");
  const std::string saved = wrap ? wrap : "";
  const char* bare_wrap = std::getenv("RECONCILE_BENCH_WRAP_BARE");
  if (bare_wrap)
    setenv("RECONCILE_BENCH_WRAP", bare_wrap, 1);
  else
    unsetenv("RECONCILE_BENCH_WRAP");
  auto m = run_child({self_path, "--page-only", config_path}, out_path);
  if (wrap)
    setenv("RECONCILE_BENCH_WRAP", saved.c_str(), 1);
  else
    unsetenv("RECONCILE_BENCH_WRAP");
  return m;
}

// The bare pager (a child of the bench): reads both sides at once the way the connector does,
// with its clients, and prints how many users it read.
int page_only(const std::string& config_path) {
  auto settings = connector::config::load_file(config_path);
  if (!settings) throw std::runtime_error(settings.error().to_string());
  connector::system_clock clock;
  auto salesforce = connector::app::make_salesforce_access(*settings, clock);
  if (!salesforce) throw std::runtime_error(salesforce.error());
  connector::ispring::https_api api(*settings->ispring);
  std::atomic<std::size_t> ispring_users{0};
  std::string ispring_error;
  std::thread ispring_reader([&] {
    auto departments = api.list_departments();
    if (!departments) {
      ispring_error = departments.error().to_string();
      return;
    }
    std::atomic<std::size_t> next{0};
    const auto read = [&] {
      for (std::size_t i = next++; i < departments->size(); i = next++) {
        connector::ispring::user_filter filter;
        filter.department_ids = {(*departments)[i].id};
        (void)api.list_users_paged(filter, [&](std::vector<connector::ispring::user>& users) {
          ispring_users += users.size();
          return true;
        });
      }
    };
    std::vector<std::thread> readers;
    for (int t = 1; t < settings->ispring->max_concurrency; ++t) readers.emplace_back(read);
    read();
    for (auto& t : readers) t.join();
  });
  std::size_t salesforce_users = 0;
  const auto read = salesforce->read_users([&](std::vector<json>& records) {
    salesforce_users += records.size();
    records.clear();
    return true;
  });
  ispring_reader.join();
  if (!read) throw std::runtime_error(read.error());
  if (!ispring_error.empty()) throw std::runtime_error(ispring_error);
  std::cout << json{{"status", "paged"},
                    {"counts",
                     {{"salesforce_users", salesforce_users},
                      {"ispring_users", ispring_users.load()}}}}
            << "\n";
  return 0;
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

// The bench's own peak RSS: the two sandboxes holding every user.
double own_peak_rss_mb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;
}

// The same people on both sides: the Salesforce sandbox generates user<n>@… for n from 1, in
// "Department <n % 10>"; iSpring gets them in chunks, so the seeds never hold them all.
void seed(salesforce_sandbox& salesforce, ispring_sandbox& ispring, std::size_t users,
          std::vector<std::string>& salesforce_ids) {
  salesforce_ids = salesforce.add_generated_users(users);
  std::vector<std::string> departments;
  for (int d = 0; d < 10; ++d)
    departments.push_back(ispring.add_department("Department " + std::to_string(d)));
  constexpr std::size_t chunk = 50'000;
  std::vector<ispring_sandbox::seed_user> seeds;
  for (std::size_t n = 1; n <= users; ++n) {
    const std::string name = "user" + std::to_string(n) + "@sandbox.example.com";
    seeds.push_back({name,
                     name,
                     departments[n % 10],
                     {{"first_name", "User"}, {"last_name", "Number " + std::to_string(n)}}});
    if (seeds.size() == chunk || n == users) {
      ispring.add_users(seeds);
      seeds.clear();
    }
  }
}

double mean(const measured& a, const measured& b) {
  return (a.seconds + b.seconds) / 2;
}

}  // namespace

int main(int argc, char** argv) try {
  self_path = argv[0];
  if (argc == 3 && std::string(argv[1]) == "--page-only") return page_only(argv[2]);
  const options o = parse(argc, argv);
  temp_dir dir;
  salesforce_sandbox_server salesforce(jwt_salesforce_sandbox_options(),
                                       {"127.0.0.1", 0, {}, {}, 4});
  ispring_sandbox_server ispring({}, {"127.0.0.1", 0, {}, {}, 4});

  const auto seed_start = std::chrono::steady_clock::now();
  std::vector<std::string> ids;
  seed(salesforce.sandbox(), ispring.sandbox(), o.users, ids);
  std::printf("seeded %zu users on both sides in %.1f s; the sandboxes hold them in %.0f MB\n",
              o.users,
              std::chrono::duration<double>(std::chrono::steady_clock::now() - seed_start).count(),
              own_peak_rss_mb());

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
  // ABAB: the box's load drifts; the means of two of each compare fairly.
  const auto bare_a = run_bare_paging(config_path, out_path);
  print("0. bare paging", bare_a, "");
  const auto no_change_a = run_reconcile(config_path, out_path);
  print("2. no change", no_change_a, "");
  const auto bare_b = run_bare_paging(config_path, out_path);
  print("0. bare paging", bare_b, "");
  const auto no_change_b = run_reconcile(config_path, out_path);
  print("2. no change", no_change_b, "");
  const double ratio = mean(no_change_a, no_change_b) / mean(bare_a, bare_b);
  const double rss = std::max(no_change_a.peak_rss_mb, no_change_b.peak_rss_mb);
  std::printf("no change: %.2f s against %.2f s of bare paging (%.2fx), peak RSS %.0f MB\n",
              mean(no_change_a, no_change_b), mean(bare_a, bare_b), ratio, rss);

  salesforce.sandbox().set_latency_ms(o.latency_ms);
  ispring.sandbox().set_latency_ms(o.latency_ms);
  const auto no_change_latency = run_reconcile(config_path, out_path);
  char label[64];
  std::snprintf(label, sizeof label, "3. no change, %d ms", o.latency_ms);
  print(label, no_change_latency, "");

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
  const bool changed_target = o.users == target_changed_users;
  print(label, with_changes, changed_target ? "(target <= 10 s)" : "(no target at this size)");

  // Exactly the changed users changed (ids[n] is user<n + 1>), nobody was created twice (the
  // sandbox refuses a second user of a login, so the count tells).
  std::size_t renamed = 0;
  for (const auto n : changed_users) {
    const auto u = ispring.sandbox().find_user_by_login("user" + std::to_string(n + 1) +
                                                        "@sandbox.example.com");
    if (u && u->fields.count("first_name") && u->fields.at("first_name") == "Changed") ++renamed;
  }
  const std::size_t ispring_users = ispring.sandbox().user_count();
  std::printf("check: %zu of %zu changed users hold the new name, %zu iSpring users for %zu\n",
              renamed, changed_users.size(), ispring_users, o.users);
  const bool ok = renamed == changed_users.size() && ispring_users == o.users;
  std::printf(
      "targets: no change %.2fx bare paging (<= %.1fx) %s, peak RSS %.0f MB (<= %.0f MB) %s", ratio,
      target_ratio, ratio <= target_ratio ? "met" : "MISSED", rss, target_rss_mb(o.users),
      rss <= target_rss_mb(o.users) ? "met" : "MISSED");
  if (changed_target)
    std::printf(", changed %.1f s (<= %.0f s) %s", with_changes.seconds, target_changed_s,
                with_changes.seconds <= target_changed_s ? "met" : "MISSED");
  std::printf("\n");
  return ok ? 0 : 1;
} catch (const std::exception& e) {
  std::cerr << "reconcile_bench: " << e.what() << "\n";
  return 2;
}

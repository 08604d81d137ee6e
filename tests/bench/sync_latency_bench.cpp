// Sync latency benchmark: how long a change takes from the Salesforce POST to the iSpring
// Learn sandbox holding it, through the real `connector serve` binary over real TLS both
// ways.
//
//   sync_latency_bench [--rate N] [--seconds N] [--latency-ms N] [--users N] [--senders N]
//                      [--poll-us N] [--log-level LEVEL] [--verify]
//
// --verify: sync.verify_notifications on, against the Salesforce sandbox (in-process, over
// real TLS, no added latency): each sender first sets the user's Title and SystemModstamp
// in Salesforce, then posts the notification, so every change is read back through REST
// before it reaches iSpring. Without it, no salesforce credentials, so no verification.
//
// The load is open-loop: message i (one notification) is due at start + i/rate and goes out
// on one of a few sender threads, each with its own keep-alive connection. Each message
// picks a user at random among --users (its first message creates the user, later ones
// update it) and sets Title to "t<i>" with an increasing SystemModstamp.
//
// Arrival is observed in-process: a checker thread polls the sandbox every --poll-us for
// each user with changes in flight (by id once known, which is a map lookup). A change has
// arrived when the sandbox first shows its user with that title or a newer one. Latency is
// that moment minus the start of the POST (the schedule's lag is reported separately).
//
// At the end it waits for the backlog to drain and checks that every user's title in the
// sandbox is the last one sent and that no login exists twice.
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "connector/app/status_report.hpp"
#include "support/bench_stats.hpp"
#include "support/command_line.hpp"
#include "support/ispring_sandbox_server.hpp"
#include "support/outbound_builder.hpp"
#include "support/salesforce_sandbox_server.hpp"
#include "support/sandbox_config.hpp"
#include "support/service.hpp"

namespace {

using namespace connector::testing;
using steady = std::chrono::steady_clock;

const std::string outbound_path = "/salesforce/outbound";
const std::string ack_marker = "<Ack>true</Ack>";

// Targets of the product owner (2-core box, zero-latency sandboxes), and with every
// notification verified by a Salesforce read.
constexpr double target_p50_ms = 20;
constexpr double target_p99_ms = 100;
constexpr double verified_target_p50_ms = 25;
constexpr double verified_target_p99_ms = 120;

struct bench_options {
  double rate = 200;
  double seconds = 60;
  int latency_ms = 0;
  std::uint64_t users = 2000;
  int senders = 2;
  int poll_us = 1000;
  std::string log_level = "info";
  bool verify = false;
};

[[noreturn]] void usage(const std::string& problem) {
  std::fprintf(stderr,
               "sync_latency_bench: %s\n"
               "usage: sync_latency_bench [--rate N] [--seconds N] [--latency-ms N] [--users N]\n"
               "                          [--senders N] [--poll-us N] [--log-level LEVEL]\n"
               "                          [--verify]\n",
               problem.c_str());
  std::exit(2);
}

bench_options parse_options(int argc, char** argv) {
  bench_options o;
  read_command_line(argc, argv, usage, [&](const std::string& arg, const option_value& value) {
    if (arg == "--rate") {
      o.rate = std::stod(value());
    } else if (arg == "--seconds") {
      o.seconds = std::stod(value());
    } else if (arg == "--latency-ms") {
      o.latency_ms = std::stoi(value());
    } else if (arg == "--users") {
      o.users = std::stoull(value());
    } else if (arg == "--senders") {
      o.senders = std::stoi(value());
    } else if (arg == "--poll-us") {
      o.poll_us = std::stoi(value());
    } else if (arg == "--log-level") {
      o.log_level = value();
    } else if (arg == "--verify") {
      o.verify = true;
    } else {
      return false;
    }
    return true;
  });
  if (o.rate <= 0 || o.seconds <= 0) usage("--rate and --seconds must be positive");
  if (o.latency_ms < 0) usage("--latency-ms must not be negative");
  if (o.users < 1) usage("--users must be at least 1");
  if (o.senders < 1) usage("--senders must be at least 1");
  if (o.poll_us < 0) usage("--poll-us must not be negative");
  return o;
}

// 2026-11-01T10:00:00.000Z plus `ms`.
std::string modstamp(std::uint64_t ms) {
  constexpr connector::epoch_ms base = 1'793'527'200'000;  // 2026-11-01T10:00:00Z
  return connector::app::format_utc(base + static_cast<connector::epoch_ms>(ms));
}

std::string login_of(std::uint64_t user) {
  return "user" + std::to_string(user) + "@acme.example.prod";
}

// The sandbox's n-th id (ispring_sandbox::next_id).
std::string sandbox_id(std::uint64_t n) {
  char text[40];
  std::snprintf(text, sizeof text, "00000000-0000-1000-8000-%012llx",
                static_cast<unsigned long long>(n));
  return text;
}

// The sequence number in a "t<seq>" title, or nullopt.
std::optional<std::uint64_t> title_seq(const std::string& title) {
  if (title.size() < 2 || title[0] != 't') return std::nullopt;
  try {
    return std::stoull(title.substr(1));
  } catch (const std::logic_error&) {
    return std::nullopt;
  }
}

std::optional<std::uint64_t> title_seq(const sandbox_user& u) {
  const auto it = u.fields.find("job_title");
  if (it == u.fields.end()) return std::nullopt;
  return title_seq(it->second);
}

double ms_between(steady::time_point from, steady::time_point to) {
  return std::chrono::duration<double, std::milli>(to - from).count();
}

struct message_record {
  std::uint64_t user = 0;
  steady::time_point due, sent, acked, arrived;
  bool ok = false;
  bool has_arrived = false;
};

// Changes of one user that the sandbox does not show yet.
struct outstanding_user {
  std::vector<std::uint64_t> seqs;  // message indices, in the order they were sent
  std::string ispring_id;           // once seen
};

int run(const bench_options& options) {
  const auto total = static_cast<std::uint64_t>(options.rate * options.seconds + 0.5);
  std::printf(
      "sync_latency_bench: %llu messages (1 notification each) at %.0f/s for %.0f s over %llu "
      "users, %d sender(s), sandbox latency %d ms, poll every %d us, verification %s\n",
      static_cast<unsigned long long>(total), options.rate, options.seconds,
      static_cast<unsigned long long>(options.users), options.senders, options.latency_ms,
      options.poll_us, options.verify ? "on (Salesforce sandbox, 0 ms)" : "off");

  // The schedule and the message bodies, built before the clock starts.
  std::vector<message_record> records(total);
  std::vector<std::string> bodies(total);
  std::map<std::uint64_t, std::uint64_t> last_seq_of_user;
  {
    std::mt19937_64 random(20261101);
    std::uniform_int_distribution<std::uint64_t> pick(1, options.users);
    for (std::uint64_t i = 0; i < total; ++i) {
      const auto user = pick(random);
      records[i].user = user;
      last_seq_of_user[user] = i;
      auto n = sample_user(user, i + 1, modstamp(i));
      n.fields["Title"] = "t" + std::to_string(i);
      bodies[i] = build_user_message(test_org_id, {n});
    }
  }
  std::set<std::uint64_t> seen_users;
  std::uint64_t creates = 0;
  for (const auto& r : records) creates += seen_users.insert(r.user).second ? 1 : 0;

  temp_dir dir;
  ispring_sandbox_server sandbox_server({}, {"127.0.0.1", 0, test_certs::get().server_crt.string(),
                                             test_certs::get().server_key.string(), 2});
  auto& sandbox = sandbox_server.sandbox();
  sandbox.set_latency_ms(options.latency_ms);
  nlohmann::json config = {
      {"ispring", ispring_sandbox_config(sandbox_server)},
      {"mapping",
       {{"groups", "iSpring_Groups__c"},
        {"fields", {{"first_name", "FirstName"}, {"job_title", "Title"}}}}},
      {"sync", {{"retry_base_ms", 20}, {"retry_max_ms", 200}, {"max_attempts", 50}}},
      {"logging", {{"level", options.log_level}}}};
  // With --verify, Salesforce holds every user the messages name (as sample_user describes
  // them); the senders keep its Title and SystemModstamp a step ahead of each message.
  std::unique_ptr<salesforce_sandbox_server> salesforce_server;
  std::vector<std::string> salesforce_ids;  // by user number
  if (options.verify) {
    salesforce_server = std::make_unique<salesforce_sandbox_server>(
        jwt_salesforce_sandbox_options(),
        sandbox_server_options{"127.0.0.1", 0, test_certs::get().server_crt.string(),
                               test_certs::get().server_key.string(), 2});
    std::vector<nlohmann::json> users;
    for (std::uint64_t u = 1; u <= options.users; ++u)
      users.push_back(salesforce_user_of(sample_user(u, 0)));
    salesforce_ids = salesforce_server->sandbox().add_users(users);
    config["salesforce"] = salesforce_sandbox_config(*salesforce_server);
    config["sync"]["verify_notifications"] = true;
  }
  std::mutex salesforce_mutex;
  std::map<std::uint64_t, std::uint64_t> salesforce_seq;  // user → newest message set there
  running_service service(dir.path(), config);
  const int pid = service.process().pid();
  const auto calls_before = sandbox.call_counts();

  // Warm the connections (TLS handshakes) outside the measurement.
  std::vector<std::unique_ptr<https_client>> clients;
  for (int k = 0; k < options.senders; ++k) {
    clients.push_back(std::make_unique<https_client>(service.public_client()));
    clients.back()->connect();
  }

  std::mutex outstanding_mutex;
  std::map<std::uint64_t, outstanding_user> outstanding;  // by user number
  std::map<std::uint64_t, std::string> ispring_ids;       // user number → sandbox id
  std::atomic<bool> checker_stop{false};
  std::atomic<std::uint64_t> errors{0};
  std::uint64_t polls = 0;
  std::uint64_t lookups = 0;

  const double cpu_before = process_cpu_seconds(pid);
  const auto start = steady::now() + std::chrono::milliseconds(50);
  for (std::uint64_t i = 0; i < total; ++i) {
    records[i].due = start + std::chrono::nanoseconds(static_cast<std::int64_t>(
                                 static_cast<double>(i) * 1e9 / options.rate));
  }

  // The sandbox counts a request and applies it under one lock, so while the counts of the
  // user-writing endpoints stay the same no user changed: the checker looks users up only
  // after they moved (read before the look-ups, so a change during a pass is seen next time).
  const auto user_writes = [&sandbox] {
    const auto counts = sandbox.call_counts();
    const auto count = [&counts](const char* endpoint) {
      const auto it = counts.find(endpoint);
      return it == counts.end() ? 0 : it->second;
    };
    return std::pair<int, int>(count("POST /user"), count("POST /user/{id}"));
  };
  double checker_cpu_s = 0;
  std::thread checker([&] {
    std::vector<std::pair<std::uint64_t, std::string>> users_to_check;  // number, sandbox id
    std::pair<int, int> last_writes{-1, -1};
    // find_user_by_login scans every user under the sandbox's lock; the sandbox hands out
    // ids from one counter instead, so new users are found by probing the next ids.
    std::uint64_t next_probe = 1;
    std::map<std::string, std::string> id_of_login;
    const auto probe_new_users = [&] {
      int misses = 0;
      for (std::uint64_t id = next_probe; misses < 32; ++id) {
        const auto user = sandbox.find_user(sandbox_id(id));
        ++lookups;
        if (!user) {
          ++misses;
          continue;
        }
        misses = 0;
        next_probe = id + 1;  // ids below a user's are never users later
        std::string login = user->login();
        std::transform(login.begin(), login.end(), login.begin(),
                       [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
        id_of_login[login] = user->id;
      }
    };
    while (!checker_stop.load()) {
      ++polls;
      const auto writes = user_writes();
      if (writes != last_writes) {
        if (writes.first != last_writes.first) probe_new_users();
        last_writes = writes;
        users_to_check.clear();
        {
          std::lock_guard lock(outstanding_mutex);
          for (auto& entry : outstanding) {
            if (entry.second.ispring_id.empty()) {
              const auto known = id_of_login.find(login_of(entry.first));
              if (known == id_of_login.end()) continue;  // not created yet
              entry.second.ispring_id = known->second;
              ispring_ids[entry.first] = known->second;
            }
            users_to_check.emplace_back(entry.first, entry.second.ispring_id);
          }
        }
        for (const auto& check : users_to_check) {
          const auto user = sandbox.find_user(check.second);
          ++lookups;
          if (!user) continue;
          const auto now = steady::now();
          const auto seq = title_seq(*user);
          if (!seq) continue;
          std::lock_guard lock(outstanding_mutex);
          auto it = outstanding.find(check.first);
          if (it == outstanding.end()) continue;
          auto& seqs = it->second.seqs;
          // Everything of this user up to the title shown has arrived ("or newer").
          seqs.erase(std::remove_if(seqs.begin(), seqs.end(),
                                    [&](std::uint64_t s) {
                                      if (s > *seq) return false;
                                      records[s].arrived = now;
                                      records[s].has_arrived = true;
                                      return true;
                                    }),
                     seqs.end());
          if (seqs.empty()) outstanding.erase(it);
        }
      }
      if (options.poll_us > 0) {
        std::this_thread::sleep_for(std::chrono::microseconds(options.poll_us));
      }
    }
    timespec cpu{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu);
    checker_cpu_s = static_cast<double>(cpu.tv_sec) + static_cast<double>(cpu.tv_nsec) / 1e9;
  });

  std::vector<std::thread> senders;
  for (int k = 0; k < options.senders; ++k) {
    senders.emplace_back([&, k] {
      auto& client = *clients[static_cast<std::size_t>(k)];
      for (std::uint64_t i = static_cast<std::uint64_t>(k); i < total;
           i += static_cast<std::uint64_t>(options.senders)) {
        auto& r = records[i];
        std::this_thread::sleep_until(r.due);
        {
          std::lock_guard lock(outstanding_mutex);
          auto& o = outstanding[r.user];
          if (o.ispring_id.empty()) {
            const auto known = ispring_ids.find(r.user);
            if (known != ispring_ids.end()) o.ispring_id = known->second;
          }
          o.seqs.push_back(i);
        }
        if (options.verify) {
          // Salesforce changes first, then says so. Never backwards: two senders may race
          // on one user, and Salesforce must end with the newest title sent.
          std::lock_guard lock(salesforce_mutex);
          auto& newest = salesforce_seq[r.user];
          if (i >= newest) {
            newest = i;
            salesforce_server->sandbox().update_user(
                salesforce_ids[r.user - 1],
                {{"Title", "t" + std::to_string(i)}, {"SystemModstamp", modstamp(i)}});
          }
        }
        r.sent = steady::now();
        try {
          const auto reply = client.post_xml(outbound_path, bodies[i]);
          r.acked = steady::now();
          r.ok = reply.status == 200 && reply.body.find(ack_marker) != std::string::npos;
        } catch (const std::exception& e) {
          r.acked = steady::now();
          std::fprintf(stderr, "message %llu: %s\n", static_cast<unsigned long long>(i), e.what());
          try {
            client.close();
            client.connect();
          } catch (const std::exception&) {
          }
        }
        if (!r.ok) {
          ++errors;
          // A refused message never arrives: stop waiting for it.
          std::lock_guard lock(outstanding_mutex);
          auto it = outstanding.find(r.user);
          if (it != outstanding.end()) {
            auto& seqs = it->second.seqs;
            seqs.erase(std::remove(seqs.begin(), seqs.end(), i), seqs.end());
          }
        }
      }
    });
  }
  for (auto& t : senders) t.join();
  const auto send_end = steady::now();

  // Drain: wait until nothing is outstanding (bounded).
  const auto give_up = steady::now() + std::chrono::seconds(60);
  for (;;) {
    bool empty = false;
    {
      std::lock_guard lock(outstanding_mutex);
      empty = std::all_of(outstanding.begin(), outstanding.end(),
                          [](const auto& entry) { return entry.second.seqs.empty(); });
    }
    if (empty || steady::now() > give_up) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  const auto drain_end = steady::now();
  checker_stop = true;
  checker.join();
  const double cpu_after = process_cpu_seconds(pid);
  const double elapsed_s = ms_between(start, drain_end) / 1000;
  const double poll_interval_ms =
      polls ? ms_between(start, drain_end) / static_cast<double>(polls) : 0;

  // Latencies.
  std::vector<double> propagation, from_schedule, ack, ack_to_sandbox, send_lag;
  std::uint64_t sent = 0, applied = 0;
  for (const auto& r : records) {
    ++sent;
    if (!r.ok) continue;
    ack.push_back(ms_between(r.sent, r.acked));
    send_lag.push_back(ms_between(r.due, r.sent));
    if (!r.has_arrived) continue;
    ++applied;
    propagation.push_back(ms_between(r.sent, r.arrived));
    from_schedule.push_back(ms_between(r.due, r.arrived));
    ack_to_sandbox.push_back(std::max(0.0, ms_between(r.acked, r.arrived)));
  }
  const auto latency = summarize(propagation);

  // Calls the sync made in the sandbox during the run.
  // Where the service's time went: mean request time to each API, from its /metrics.
  std::string request_times;
  try {
    auto admin = service.admin_client();
    const auto reply =
        admin.get("/metrics", {{"Authorization", std::string("Bearer ") + test_admin_token}});
    std::map<std::string, std::pair<double, double>> by_api;  // sum, count
    std::istringstream lines(reply.body);
    for (std::string line; std::getline(lines, line);) {
      for (const char* api : {"ispring", "salesforce"}) {
        const std::string family = std::string("connector_") + api + "_request_duration_seconds_";
        if (line.rfind(family, 0) != 0) continue;
        const double v = std::stod(line.substr(line.rfind(' ') + 1));
        if (line.rfind(family + "sum", 0) == 0) by_api[api].first += v;
        if (line.rfind(family + "count", 0) == 0) by_api[api].second += v;
      }
    }
    for (const auto& [api, totals] : by_api) {
      request_times += "  " + api + ": " + std::to_string(static_cast<long long>(totals.second)) +
                       " requests, mean " +
                       std::to_string(totals.second ? 1000 * totals.first / totals.second : 0) +
                       " ms\n";
    }
  } catch (const std::exception& e) {
    request_times = std::string("  (metrics unavailable: ") + e.what() + ")\n";
  }
  const auto calls_after = sandbox.call_counts();
  std::map<std::string, int> calls;
  int total_calls = 0;
  for (const auto& entry : calls_after) {
    const auto before = calls_before.find(entry.first);
    const int n = entry.second - (before == calls_before.end() ? 0 : before->second);
    if (n > 0) {
      calls[entry.first] = n;
      total_calls += n;
    }
  }

  // Users join their groups after their records are done (the group drainer): the final
  // state is read once nobody waits for a group (bounded).
  const auto groups_give_up = steady::now() + std::chrono::seconds(60);
  for (;;) {
    const auto s = nlohmann::json::parse(
        run_connector({"status", "--json", "--config", service.config_path().string()}).out,
        nullptr, false);
    if (s.is_discarded() || s.value("/group_additions/waiting"_json_pointer, 0) == 0 ||
        steady::now() > groups_give_up)
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }

  // Final state: the last title of each user, no duplicates.
  std::uint64_t wrong_title = 0, missing = 0, duplicates = 0, missing_members = 0;
  {
    std::map<std::string, int> login_count;
    std::map<std::string, std::optional<std::uint64_t>> title_of_login;
    for (const auto& u : sandbox.users()) {
      std::string login = u.login();
      std::transform(login.begin(), login.end(), login.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      ++login_count[login];
      title_of_login[login] = title_seq(u);
    }
    // Every user carries "Onboarding;Compliance": both groups must list all of them.
    for (const char* name : {"Onboarding", "Compliance"}) {
      const auto group = sandbox.find_group_by_name(name);
      const std::set<std::string> members =
          group ? std::set<std::string>(group->user_ids.begin(), group->user_ids.end())
                : std::set<std::string>();
      for (const auto& u : sandbox.users()) missing_members += members.count(u.id) ? 0 : 1;
    }
    for (const auto& entry : login_count) duplicates += entry.second > 1 ? entry.second - 1 : 0;
    for (const auto& entry : last_seq_of_user) {
      const auto it = title_of_login.find(login_of(entry.first));
      if (it == title_of_login.end()) {
        ++missing;
      } else if (it->second != entry.second) {
        ++wrong_title;
      }
    }
  }
  nlohmann::json status;
  try {
    status = nlohmann::json::parse(
        run_connector({"status", "--json", "--config", service.config_path().string()}).out);
  } catch (const std::exception& e) {
    status = {{"error", e.what()}};
  }
  const std::string peak_rss = proc_status_field(pid, "VmHWM");
  const std::string threads = proc_status_field(pid, "Threads");

  std::printf(
      "\nsent %llu (%llu creates, %llu updates), applied %llu, errors %llu, "
      "not arrived %llu\n",
      static_cast<unsigned long long>(sent), static_cast<unsigned long long>(creates),
      static_cast<unsigned long long>(sent - creates), static_cast<unsigned long long>(applied),
      static_cast<unsigned long long>(errors.load()),
      static_cast<unsigned long long>(sent - errors.load() - applied));
  std::printf("sending took %.2f s (scheduled %.2f s), drained %.0f ms after the last send\n",
              ms_between(start, send_end) / 1000, options.seconds, ms_between(send_end, drain_end));
  {
    // Where the tail sits: share of changes per latency band.
    const double bands[] = {5, 10, 20, 50, 100, 250, 500, 1000, 2000};
    std::printf("latency bands (POST start -> sandbox):");
    double lower = 0;
    for (double upper : bands) {
      const auto n = std::count_if(propagation.begin(), propagation.end(),
                                   [&](double v) { return v >= lower && v < upper; });
      std::printf(" <%.0f: %.1f%%", upper,
                  propagation.empty()
                      ? 0.0
                      : 100.0 * static_cast<double>(n) / static_cast<double>(propagation.size()));
      lower = upper;
    }
    const auto rest =
        std::count_if(propagation.begin(), propagation.end(), [&](double v) { return v >= lower; });
    std::printf(" >=%.0f: %ld\n", lower, static_cast<long>(rest));
  }
  std::printf("latency (ms):\n");
  print_line("POST start -> sandbox", latency);
  print_line("schedule -> sandbox", summarize(from_schedule));
  print_line("POST start -> ack", summarize(ack));
  print_line("ack -> sandbox", summarize(ack_to_sandbox));
  print_line("send lag (schedule -> POST)", summarize(send_lag));
  std::printf("checker: %llu polls, one every %.3f ms on average, %llu user look-ups, %.2f s CPU\n",
              static_cast<unsigned long long>(polls), poll_interval_ms,
              static_cast<unsigned long long>(lookups), checker_cpu_s);
  std::printf("sandbox calls during the run: %d, %.2f per change\n", total_calls,
              sent ? static_cast<double>(total_calls) / static_cast<double>(sent) : 0.0);
  for (const auto& entry : calls) {
    std::printf("  %-36s %7d  %.3f per change\n", entry.first.c_str(), entry.second,
                static_cast<double>(entry.second) / static_cast<double>(sent));
  }
  std::printf("service's requests (its /metrics):\n%s", request_times.c_str());
  std::printf("service: peak RSS (VmHWM) %s, threads %s, CPU %.2f s (%.1f%% of one core)\n",
              peak_rss.c_str(), threads.c_str(), cpu_after - cpu_before,
              100 * (cpu_after - cpu_before) / elapsed_s);
  std::printf("service status: pending %s, retrying %s, dead letters %s\n",
              status.value("pending", nlohmann::json()).dump().c_str(),
              status.value("retrying", nlohmann::json()).dump().c_str(),
              status.value("dead_letters", nlohmann::json()).dump().c_str());
  std::printf(
      "final state: %zu users expected, %llu missing, %llu with a wrong title, "
      "%llu duplicates, %llu group memberships missing\n",
      last_seq_of_user.size(), static_cast<unsigned long long>(missing),
      static_cast<unsigned long long>(wrong_title), static_cast<unsigned long long>(duplicates),
      static_cast<unsigned long long>(missing_members));
  rusage self{};
  getrusage(RUSAGE_SELF, &self);
  const auto seconds_of = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
  };
  std::printf("bench process (senders, checker, in-process sandbox server): CPU %.2f s\n",
              seconds_of(self.ru_utime) + seconds_of(self.ru_stime));

  const bool consistent = missing == 0 && wrong_title == 0 && duplicates == 0 &&
                          missing_members == 0 && errors == 0 && applied + errors.load() == sent;
  const double p50_target = options.verify ? verified_target_p50_ms : target_p50_ms;
  const double p99_target = options.verify ? verified_target_p99_ms : target_p99_ms;
  const bool p50_ok = latency.p50 <= p50_target;
  const bool p99_ok = latency.p99 <= p99_target;
  if (salesforce_server) {
    int queries = 0;
    for (const auto& e : salesforce_server->sandbox().request_log())
      if (e.soql.find(" Id IN (") != std::string::npos) ++queries;
    std::printf("Salesforce reads (queries by id): %d, %.3f per change\n", queries,
                sent ? static_cast<double>(queries) / static_cast<double>(sent) : 0.0);
  }
  std::printf("targets%s%s: p50 %.2f <= %.0f ms %s, p99 %.2f <= %.0f ms %s; consistency %s\n",
              options.verify ? " (verified)" : "",
              options.latency_ms == 0 ? "" : " (defined for a zero-latency sandbox)", latency.p50,
              p50_target, p50_ok ? "PASS" : "FAIL", latency.p99, p99_target,
              p99_ok ? "PASS" : "FAIL", consistent ? "PASS" : "FAIL");
  for (auto& client : clients) client->close();
  service.stop();
  return consistent ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(parse_options(argc, argv));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "sync_latency_bench: %s\n", e.what());
    return 1;
  }
}

// Large group benchmark (issue 18 §3): 20,000 users already synced, all in one group "All";
// then, at 200 notifications/s for 30 s, half are updates of them and half are new users
// joining "All". Through the real `connector serve` over real TLS against the zero-latency
// sandboxes, it reports ack → iSpring latency for updates (the user's new title shows) and
// for creates (the user exists AND is a member of "All"), and how many changes had not
// reached iSpring 60 s after the last ack.
//
//   large_group_bench [--rate N] [--seconds N] [--existing N] [--senders N] [--verify]
//                     [--group-additions replace|user_update] [--log-level LEVEL]
//
// --verify: sync.verify_notifications on: Salesforce (in-process sandbox) holds every user,
// and each sender sets the Title there before posting, as in sync_latency_bench.
// --group-additions user_update: groupIds on the user's update, with a sandbox that adds.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "connector/app/status_report.hpp"
#include "connector/store/open.hpp"
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

// Targets of issue 18 §3 (zero-latency sandboxes), and with every notification verified.
constexpr double update_p50_target = 20, update_p99_target = 100, create_p99_target = 250;
constexpr double verified_update_p50_target = 25, verified_update_p99_target = 120;

struct bench_options {
  double rate = 200;
  double seconds = 30;
  std::uint64_t existing = 20'000;
  int senders = 2;
  bool verify = false;
  std::string group_additions = "replace";
  std::string log_level = "warn";
};

[[noreturn]] void usage(const std::string& problem) {
  std::fprintf(stderr,
               "large_group_bench: %s\n"
               "usage: large_group_bench [--rate N] [--seconds N] [--existing N] [--senders N]\n"
               "                         [--verify] [--group-additions replace|user_update]\n"
               "                         [--log-level LEVEL]\n",
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
    } else if (arg == "--existing") {
      o.existing = std::stoull(value());
    } else if (arg == "--senders") {
      o.senders = std::stoi(value());
    } else if (arg == "--verify") {
      o.verify = true;
    } else if (arg == "--group-additions") {
      o.group_additions = value();
    } else if (arg == "--log-level") {
      o.log_level = value();
    } else {
      return false;
    }
    return true;
  });
  if (o.rate <= 0 || o.seconds <= 0) usage("--rate and --seconds must be positive");
  if (o.existing < 1 || o.senders < 1) usage("--existing and --senders must be at least 1");
  if (o.group_additions != "replace" && o.group_additions != "user_update")
    usage("--group-additions is replace or user_update");
  return o;
}

std::string modstamp(std::uint64_t ms) {
  constexpr connector::epoch_ms base = 1'793'527'200'000;  // 2026-11-01T10:00:00Z
  return connector::app::format_utc(base + static_cast<connector::epoch_ms>(ms));
}

double ms_between(steady::time_point from, steady::time_point to) {
  return std::chrono::duration<double, std::milli>(to - from).count();
}

// Every user of the bench: department Engineering, group All, as sample_user describes it.
user_notification user_in_all(std::uint64_t user, std::uint64_t seq) {
  auto n = sample_user(user, seq + 1, modstamp(seq));
  n.fields["iSpring_Groups__c"] = "All";
  n.fields["Title"] = "t" + std::to_string(seq);
  return n;
}

struct message {
  std::uint64_t user = 0;
  bool create = false;
  std::string body;
  steady::time_point due, acked, arrived;
  bool ok = false, has_arrived = false;
};

// The sandbox as the bench found it: 20,000 users in Engineering and in All.
std::vector<std::string> seed_ispring(ispring_sandbox& sandbox, std::uint64_t existing) {
  const auto engineering = sandbox.add_department("Engineering");
  std::vector<ispring_sandbox::seed_user> seeds;
  for (std::uint64_t u = 1; u <= existing; ++u) {
    const auto n = std::to_string(u);
    seeds.push_back(
        {"user" + n + "@acme.example.prod",
         "user" + n + "@acme.example",
         engineering,
         {{"first_name", "First" + n}, {"last_name", "Last" + n}, {"job_title", "Engineer"}},
         1});
  }
  auto ids = sandbox.add_users(seeds);
  sandbox.add_group("All", ids);
  return ids;
}

// "Already synced": the store links every one of them before the service starts.
void seed_links(const std::filesystem::path& db, const std::vector<std::string>& ids) {
  auto inbox = connector::store::open_store({db.string()});
  std::vector<std::pair<std::string, std::string>> links;
  for (std::size_t i = 0; i < ids.size(); ++i) links.emplace_back(make_id("005", i + 1), ids[i]);
  inbox->set_links(test_org_id, links);
}

// Watches the sandbox: a message has arrived when its user shows its title or a newer one,
// and, for a create, the user is a member of All. Only users written since the last look are
// read (the sandbox's journal), and after a replace only the users whose create waits are
// looked up in All's member set, so the checker does not hold the sandbox's lock against the
// service (copying All's 23,000 ids after each of ~300 replaces did, and cost CPU besides).
class arrival_checker {
 public:
  arrival_checker(ispring_sandbox& sandbox, std::vector<message>& messages)
      : sandbox_(sandbox), messages_(messages) {
    sandbox_.user_writes_since(cursor_);  // the seeded users
    thread_ = std::thread([this] { loop(); });
  }
  ~arrival_checker() { stop(); }
  void stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  void sent(std::size_t index) {
    std::lock_guard lock(mutex_);
    outstanding_[messages_[index].user].push_back(index);
  }
  void refused(std::size_t index) {
    std::lock_guard lock(mutex_);
    auto& list = outstanding_[messages_[index].user];
    list.erase(std::remove(list.begin(), list.end(), index), list.end());
  }
  std::size_t outstanding() {
    std::lock_guard lock(mutex_);
    std::size_t n = 0;
    for (const auto& [user, list] : outstanding_) n += list.size();
    return n;
  }

 private:
  struct seen_user {
    std::string id;
    std::optional<std::uint64_t> title;  // the newest "t<seq>" shown
  };

  void loop() {
    int replaces = 0;
    while (!stop_) {
      const int now_replaces = sandbox_.calls("POST /group/{id}/members") +
                               sandbox_.calls("POST /user/{id}");  // user_update adds too
      const bool members_changed = now_replaces != replaces;
      if (members_changed) replaces = now_replaces;
      const auto fields = sandbox_.user_fields(sandbox_.user_writes_since(cursor_));
      if (members_changed || !fields.empty()) check(fields, members_changed);
      std::this_thread::sleep_for(std::chrono::microseconds(500));
    }
  }

  void check(const std::map<std::string, std::map<std::string, std::string>>& fields,
             bool members_changed) {
    const auto now = steady::now();
    std::lock_guard lock(mutex_);
    std::vector<std::uint64_t> changed;
    for (const auto& [id, f] : fields) {
      const auto login = f.find("login");
      const auto title = f.find("job_title");
      if (login == f.end() || login->second.rfind("user", 0) != 0) continue;
      const auto user = std::stoull(login->second.substr(4));
      auto& seen = users_[user];
      seen.id = id;
      if (title != f.end() && title->second.size() > 1 && title->second[0] == 't')
        seen.title = std::stoull(title->second.substr(1));
      changed.push_back(user);
    }
    if (members_changed) {
      std::vector<std::string> waiting;  // users seen in iSpring whose create waits for All
      for (const auto& [user, list] : outstanding_) {
        if (list.empty()) continue;
        changed.push_back(user);
        const auto seen = users_.find(user);
        if (seen != users_.end() && !seen->second.id.empty() && !members_.contains(seen->second.id))
          waiting.push_back(seen->second.id);
      }
      // Members only join All here, so what was found once stays found.
      for (auto& id : sandbox_.members_among("All", waiting)) members_.insert(std::move(id));
    }
    for (const auto user : changed) {
      auto& list = outstanding_[user];
      const auto& seen = users_[user];
      if (list.empty() || !seen.title) continue;
      const bool member = members_.contains(seen.id);
      std::erase_if(list, [&](std::size_t i) {
        if (i > *seen.title || (messages_[i].create && !member)) return false;
        messages_[i].arrived = now;
        messages_[i].has_arrived = true;
        return true;
      });
    }
  }

  ispring_sandbox& sandbox_;
  std::vector<message>& messages_;
  std::size_t cursor_ = 0;         // in the sandbox's journal of user writes
  std::set<std::string> members_;  // of All: the ids found there so far
  std::mutex mutex_;
  std::map<std::uint64_t, std::vector<std::size_t>> outstanding_;  // user → messages
  std::map<std::uint64_t, seen_user> users_;                       // as the sandbox shows them
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// Where the service's time went: its iSpring requests by endpoint, count and mean, from
// its /metrics.
void print_request_times(running_service& service) {
  auto admin = service.admin_client();
  const auto reply =
      admin.get("/metrics", {{"Authorization", std::string("Bearer ") + test_admin_token}});
  std::map<std::string, std::pair<double, double>> by_endpoint;  // sum, count
  std::istringstream lines(reply.body);
  const std::string family = "connector_ispring_request_duration_seconds_";
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind(family, 0) != 0) continue;
    const auto labels = line.substr(line.find('{'), line.find('}') - line.find('{') + 1);
    const double v = std::stod(line.substr(line.rfind(' ') + 1));
    if (line.rfind(family + "sum", 0) == 0) by_endpoint[labels].first += v;
    if (line.rfind(family + "count", 0) == 0) by_endpoint[labels].second += v;
  }
  std::printf("service's iSpring requests:\n");
  for (const auto& [labels, totals] : by_endpoint)
    std::printf("  %-48s %6.0f, mean %7.2f ms\n", labels.c_str(), totals.second,
                totals.second ? 1000 * totals.first / totals.second : 0.0);
}

std::vector<message> schedule(const bench_options& o) {
  const auto total = static_cast<std::uint64_t>(o.rate * o.seconds + 0.5);
  std::vector<message> messages(total);
  std::mt19937_64 random(20261206);
  std::uniform_int_distribution<std::uint64_t> existing(1, o.existing);
  std::uint64_t next_new = o.existing + 1;
  for (std::uint64_t i = 0; i < total; ++i) {
    auto& m = messages[i];
    m.create = i % 2 == 1;
    m.user = m.create ? next_new++ : existing(random);
    m.body = build_user_message(test_org_id, {user_in_all(m.user, i)});
  }
  return messages;
}

int run(const bench_options& o) {
  auto messages = schedule(o);
  const std::uint64_t last_user = o.existing + messages.size() / 2 + 1;
  std::printf(
      "large_group_bench: %zu notifications at %.0f/s for %.0f s, half updates of %llu "
      "users in \"All\", half new users joining it; verification %s, "
      "ispring.group_additions %s\n",
      messages.size(), o.rate, o.seconds, static_cast<unsigned long long>(o.existing),
      o.verify ? "on" : "off", o.group_additions.c_str());

  sandbox_options ispring_options;
  if (o.group_additions == "user_update")
    ispring_options.group_ids_on_update = sandbox_group_ids_on_update::add_only;
  const sandbox_server_options server{"127.0.0.1", 0, test_certs::get().server_crt.string(),
                                      test_certs::get().server_key.string(), 2};
  ispring_sandbox_server ispring_server(ispring_options, server);
  auto& sandbox = ispring_server.sandbox();
  const auto existing_ids = seed_ispring(sandbox, o.existing);
  temp_dir dir;
  seed_links(dir.path() / "connector.db", existing_ids);

  nlohmann::json config = {
      {"ispring", ispring_sandbox_config(ispring_server)},
      {"mapping",
       {{"groups", "iSpring_Groups__c"},
        {"fields", {{"first_name", "FirstName"}, {"job_title", "Title"}}}}},
      {"sync", {{"retry_base_ms", 20}, {"retry_max_ms", 200}, {"max_attempts", 50}}},
      {"logging", {{"level", o.log_level}}}};
  config["ispring"]["group_additions"] = o.group_additions;
  std::unique_ptr<salesforce_sandbox_server> salesforce;
  std::mutex salesforce_mutex;
  if (o.verify) {
    salesforce =
        std::make_unique<salesforce_sandbox_server>(jwt_salesforce_sandbox_options(), server);
    std::vector<nlohmann::json> users;
    for (std::uint64_t u = 1; u <= last_user; ++u)
      users.push_back(salesforce_user_of(user_in_all(u, 0)));
    salesforce->sandbox().add_users(users);
    config["salesforce"] = salesforce_sandbox_config(*salesforce);
    config["sync"]["verify_notifications"] = true;
  }
  running_service service(dir.path(), config);
  const int pid = service.process().pid();
  std::vector<std::unique_ptr<https_client>> clients;
  for (int k = 0; k < o.senders; ++k) {
    clients.push_back(std::make_unique<https_client>(service.public_client()));
    clients.back()->connect();
  }

  arrival_checker checker(sandbox, messages);
  const auto start = steady::now() + std::chrono::milliseconds(50);
  std::vector<std::thread> senders;
  std::atomic<std::uint64_t> errors{0};
  std::map<std::uint64_t, std::uint64_t> salesforce_seq;
  for (int k = 0; k < o.senders; ++k)
    senders.emplace_back([&, k] {
      for (std::size_t i = static_cast<std::size_t>(k); i < messages.size();
           i += static_cast<std::size_t>(o.senders)) {
        auto& m = messages[i];
        m.due = start + std::chrono::nanoseconds(
                            static_cast<std::int64_t>(static_cast<double>(i) * 1e9 / o.rate));
        std::this_thread::sleep_until(m.due);
        if (salesforce) {
          std::lock_guard lock(salesforce_mutex);
          if (auto& newest = salesforce_seq[m.user]; i >= newest) {
            newest = i;
            salesforce->sandbox().update_user(
                make_id("005", m.user),
                {{"Title", "t" + std::to_string(i)}, {"SystemModstamp", modstamp(i)}});
          }
        }
        checker.sent(i);
        try {
          const auto reply =
              clients[static_cast<std::size_t>(k)]->post_xml("/salesforce/outbound", m.body);
          m.ok = reply.status == 200 && reply.body.find("<Ack>true</Ack>") != std::string::npos;
        } catch (const std::exception& e) {
          std::fprintf(stderr, "message %zu: %s\n", i, e.what());
        }
        m.acked = steady::now();
        if (!m.ok) {
          ++errors;
          checker.refused(i);
        }
      }
    });
  for (auto& t : senders) t.join();
  const auto last_ack = steady::now();
  const auto give_up = last_ack + std::chrono::seconds(60);
  while (checker.outstanding() > 0 && steady::now() < give_up)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  const auto drained = steady::now();
  checker.stop();
  const std::size_t left_behind = checker.outstanding();

  std::vector<double> updates, creates;
  for (const auto& m : messages)
    if (m.ok && m.has_arrived)
      (m.create ? creates : updates).push_back(std::max(0.0, ms_between(m.acked, m.arrived)));
  const auto u = summarize(updates), c = summarize(creates);
  std::printf("\nack -> iSpring (ms):\n");
  print_line("updates", u);
  print_line("creates (and member of All)", c);
  std::printf(
      "left behind 60 s after the last ack: %zu of %zu; errors %llu; drained %.0f ms "
      "after the last ack\n",
      left_behind, messages.size(), static_cast<unsigned long long>(errors.load()),
      ms_between(last_ack, drained));
  const auto group = sandbox.find_group_by_name("All");
  std::map<std::string, int> times;
  for (const auto& id : group->user_ids) ++times[id];
  const auto twice =
      std::count_if(times.begin(), times.end(), [](auto& e) { return e.second > 1; });
  const std::size_t expected_members = o.existing + messages.size() / 2;
  std::printf("group All: %zu members (expected %zu), %ld listed twice; iSpring users %zu\n",
              group->user_ids.size(), expected_members, static_cast<long>(twice),
              sandbox.users().size());
  for (const auto& [endpoint, n] : sandbox.call_counts())
    if (endpoint.find("group") != std::string::npos || endpoint.find("POST /user") == 0)
      std::printf("  %-32s %d\n", endpoint.c_str(), n);
  print_request_times(service);
  std::printf("service: peak RSS %s\n", proc_status_field(pid, "VmHWM").c_str());
  const double p50_target = o.verify ? verified_update_p50_target : update_p50_target;
  const double p99_target = o.verify ? verified_update_p99_target : update_p99_target;
  const bool ok = u.p50 <= p50_target && u.p99 <= p99_target && c.p99 <= create_p99_target &&
                  left_behind == 0 && errors == 0 && twice == 0 &&
                  group->user_ids.size() == expected_members;
  std::printf(
      "targets%s: updates p50 %.2f <= %.0f, p99 %.2f <= %.0f; creates p99 %.2f <= %.0f; "
      "nothing left behind: %s\n",
      o.verify ? " (verified)" : "", u.p50, p50_target, u.p99, p99_target, c.p99, create_p99_target,
      ok ? "PASS" : "FAIL");
  for (auto& client : clients) client->close();
  service.stop();
  return ok ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(parse_options(argc, argv));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "large_group_bench: %s\n", e.what());
    return 1;
  }
}

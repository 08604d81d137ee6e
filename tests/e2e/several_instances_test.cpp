// End to end, under faults: two real `connector serve` instances on one real PostgreSQL,
// behind no balancer but the test's own, which spreads Salesforce's Outbound Messages over
// both; the iSpring Learn and Salesforce sandboxes over real TLS. What must never happen: a
// user created twice, an acked notification lost, a member dropped from a shared group, two
// reconciliations at once. One instance is killed with SIGKILL mid-load, PostgreSQL is
// restarted mid-load, two runs are asked for at the same instant.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <latch>
#include <map>
#include <set>
#include <thread>

#include "support/eventually.hpp"
#include "support/ispring_sandbox_server.hpp"
#include "support/outbound_builder.hpp"
#include "support/postgres_server.hpp"
#include "support/salesforce_sandbox_server.hpp"
#include "support/sandbox_config.hpp"
#include "support/service.hpp"
#include "support/service_cluster.hpp"
#include "support/service_status.hpp"

namespace connector::testing {
namespace {

using nlohmann::json;

// Every user carries these, so many users share each group.
const std::vector<std::string> shared_groups = {"Onboarding", "Compliance"};

std::string login_of(int user) {
  return "user" + std::to_string(user) + "@acme.example.prod";
}

// Version `v` of user `n`: each newer one a later stamp and a first name that tells it.
user_notification version_of(int n, int v) {
  char stamp[32];
  std::snprintf(stamp, sizeof stamp, "2026-11-01T%02d:00:00.000Z", 1 + v);
  auto u = sample_user(n, static_cast<std::uint64_t>(n) * 100 + v, stamp);
  u.fields["FirstName"] = "First" + std::to_string(n) + "-v" + std::to_string(v);
  return u;
}

int version_in(const std::string& first_name) {
  const auto at = first_name.rfind("-v");
  return at == std::string::npos ? -1 : std::stoi(first_name.substr(at + 2));
}

// A message: ten users [first, first + 10) at one version.
struct message {
  int first = 0, version = 0;
};
constexpr int users_per_message = 10;

class several_instances_e2e : public ::testing::Test {
 protected:
  several_instances_e2e()
      : ispring_({}, {"127.0.0.1", 0, test_certs::get().server_crt.string(),
                      test_certs::get().server_key.string(), 8}) {}

  json config() const {
    return {{"ispring", ispring_sandbox_config(ispring_)},
            {"mapping", {{"groups", "iSpring_Groups__c"}}},
            {"sync", {{"retry_base_ms", 20}, {"retry_max_ms", 200}, {"max_attempts", 1000}}}};
  }

  void start(const json& overrides = json::object()) {
    auto c = config();
    c.merge_patch(overrides);
    cluster_ = std::make_unique<service_cluster>(2, c);
  }

  // Users [0, users) at versions [0, versions), each user's versions in the order `order`:
  // consecutive messages carry one block of users at different versions, so the two
  // instances take the same users at once, newest not last.
  static std::vector<message> messages(int users, const std::vector<int>& order) {
    std::vector<message> out;
    for (int first = 0; first < users; first += users_per_message)
      for (const int v : order) out.push_back({first, v});
    return out;
  }
  static std::vector<std::string> bodies(const std::vector<message>& list) {
    std::vector<std::string> out;
    for (const auto& m : list) {
      std::vector<user_notification> batch;
      for (int n = m.first; n < m.first + users_per_message; ++n)
        batch.push_back(version_of(n, m.version));
      out.push_back(build_user_message(test_org_id, batch));
    }
    return out;
  }

  ispring_sandbox& sandbox() { return ispring_.sandbox(); }
  std::string stderr_of_all() {
    std::string text;
    for (auto* s : cluster_->services()) text += s->process().stderr_text() + "\n----\n";
    return text;
  }
  // Nothing waits anywhere in the shared store (status reads the database, not one process).
  bool drained() { return connector::testing::drained((*cluster_)[cluster_->size() - 1]); }

  // Every user in `expected` (user -> the oldest version iSpring may show) exists exactly
  // once, at that version or newer, and is a member of each shared group exactly once; no
  // login anywhere twice, and no user was created beyond the logins there are.
  void expect_applied_once(const std::map<int, int>& expected) {
    const auto users = sandbox().users();
    std::map<std::string, int> logins;
    for (const auto& u : users) ++logins[u.login()];
    for (const auto& [login, times] : logins) EXPECT_EQ(times, 1) << login << " created twice";
    EXPECT_EQ(sandbox().calls("POST /user"), static_cast<int>(users.size()))
        << "a create beyond one per user";
    std::map<std::string, std::map<std::string, int>> membership;
    for (const auto& name : shared_groups) {
      const auto group = sandbox().find_group_by_name(name);
      ASSERT_TRUE(group) << name;
      for (const auto& id : group->user_ids) ++membership[name][id];
    }
    int missing = 0, stale = 0, not_member = 0;
    for (const auto& [n, oldest] : expected) {
      const auto u = sandbox().find_user_by_login(login_of(n));
      if (!u) {
        ++missing;
        ADD_FAILURE() << login_of(n) << " acked but never reached iSpring";
        continue;
      }
      if (version_in(u->fields.at("first_name")) < oldest) {
        ++stale;
        ADD_FAILURE() << login_of(n) << " shows " << u->fields.at("first_name")
                      << ", older than the acked version " << oldest;
      }
      for (const auto& name : shared_groups) {
        const auto times = membership[name].count(u->id) ? membership[name][u->id] : 0;
        if (times != 1) {
          ++not_member;
          ADD_FAILURE() << login_of(n) << " is in '" << name << "' " << times << " times";
        }
      }
    }
    EXPECT_EQ(missing + stale + not_member, 0) << "of " << expected.size() << " users";
  }

  // The newest acked version of each user among `list`, by their deliveries.
  static std::map<int, int> newest_acked(const std::vector<message>& list,
                                         const std::vector<delivery>& deliveries) {
    std::map<int, int> newest;
    for (std::size_t i = 0; i < list.size(); ++i) {
      if (deliveries[i].status != 200) continue;
      for (int n = list[i].first; n < list[i].first + users_per_message; ++n)
        newest[n] = std::max(newest.count(n) ? newest[n] : -1, list[i].version);
    }
    return newest;
  }

  ispring_sandbox_server ispring_;
  std::unique_ptr<salesforce_sandbox_server> salesforce_;  // for the reconciliation runs
  std::unique_ptr<service_cluster> cluster_;               // last: stopped before the sandboxes go
};

// --- 1. Two instances, notifications to both -------------------------------------------------

TEST_F(several_instances_e2e, both_take_notifications_and_each_user_is_created_once_newest) {
  start();
  // 400 users × 5 versions: 2,000 notifications in 200 messages, newest in the middle.
  const auto list = messages(400, {2, 0, 4, 1, 3});
  const auto deliveries = post_spread(cluster_->services(), bodies(list));
  for (std::size_t i = 0; i < deliveries.size(); ++i)
    ASSERT_EQ(deliveries[i].status, 200) << "message " << i << ": " << deliveries[i].body << "\n"
                                         << stderr_of_all();
  ASSERT_TRUE(eventually([&] { return drained(); }, std::chrono::seconds(120))) << stderr_of_all();

  std::map<int, int> every_user_newest;
  for (int n = 0; n < 400; ++n) every_user_newest[n] = 4;
  expect_applied_once(every_user_newest);
  EXPECT_EQ(sandbox().users().size(), 400u);
  // Both were live and known to the store all along.
  EXPECT_EQ(status_of((*cluster_)[0])["instances"].size(), 2u);
}

// --- 2. SIGKILL mid-load ---------------------------------------------------------------------

TEST_F(several_instances_e2e,
       a_killed_instance_loses_no_acked_user_and_the_survivor_takes_its_claims) {
  // Creates as slow as a busy iSpring's: records stay claimed, their creates in flight.
  sandbox().set_latency_ms(40, "POST /user");
  start();
  auto& doomed = (*cluster_)[0];
  auto& survivor = (*cluster_)[1];
  // 300 users × 3 versions, every block's versions on both instances.
  const auto list = messages(300, {0, 2, 1});
  const auto texts = bodies(list);
  std::vector<delivery> deliveries;
  std::thread poster([&] { deliveries = post_spread(cluster_->services(), texts); });

  // The doomed instance's claims still waiting to be applied (its id ends with its pid).
  const auto claims_of_doomed = [&, pid = std::to_string(doomed.process().pid())] {
    return postgres_server::shared().admin_sql(
        cluster_->database(),
        "SELECT string_agg(record_id, ',') FROM records WHERE state IN ('pending', 'retrying') "
        "AND claimed_by LIKE '%/" +
            pid + "'");
  };
  const bool mid_load = eventually(
      [&] { return sandbox().calls("POST /user") >= 30 && !claims_of_doomed().empty(); });
  doomed.kill_hard();
  const auto orphaned = claims_of_doomed();
  poster.join();
  ASSERT_TRUE(mid_load) << "no claims in flight to kill: " << stderr_of_all();
  ASSERT_FALSE(orphaned.empty());

  // The dead instance's claims pass once three heartbeats are missed: the survivor's clock
  // moves past that instead of the test waiting 15 s.
  survivor.advance_clock(2 * 60'000);
  ASSERT_TRUE(eventually([&] { return drained(); }, std::chrono::seconds(120))) << stderr_of_all();

  const auto acked = newest_acked(list, deliveries);
  ASSERT_GT(acked.size(), 100u) << "most messages must have been acked";
  expect_applied_once(acked);
  // Every record the dead instance held was finished by the survivor.
  const auto still_claimed = postgres_server::shared().admin_sql(
      cluster_->database(),
      "SELECT count(*) FROM records WHERE state <> 'done' AND record_id = ANY(string_to_array('" +
          orphaned + "', ','))");
  EXPECT_EQ(still_claimed, "0") << "of the claims " << orphaned;
}

// --- 3. PostgreSQL restarted under load -------------------------------------------------------

TEST_F(several_instances_e2e,
       postgres_restarted_under_load_faults_posts_meanwhile_and_loses_no_ack) {
  sandbox().set_latency_ms(20, "POST /user");
  start();
  auto& server = postgres_server::shared();
  // 300 users × 4 versions; the first two versions before the outage, while the workers are
  // busy with them, the newer two during it and after.
  const auto before = messages(300, {1, 0});
  const auto during = messages(300, {3, 2});
  const auto acked_before = post_spread(cluster_->services(), bodies(before));
  for (const auto& d : acked_before) ASSERT_EQ(d.status, 200) << d.body;
  ASSERT_TRUE(eventually([&] { return sandbox().calls("POST /user") >= 30; }));
  ASSERT_FALSE(drained()) << "the outage must come under load";

  server.stop();
  // Every message during the outage gets a SOAP fault, never an ack (Salesforce retries).
  const auto texts = bodies(during);
  const auto refused = post_spread(cluster_->services(), texts);
  for (const auto& d : refused) {
    EXPECT_NE(d.status, 200) << "an ack while the database is down";
    EXPECT_NE(d.status, 0) << "the instance did not answer";
    EXPECT_NE(d.body.find("Fault"), std::string::npos) << d.status << " " << d.body;
  }
  server.start();

  // Salesforce delivers again until acked: the engine reconnects on its own.
  std::vector<std::string> pending = texts;
  ASSERT_TRUE(eventually([&] {
    const auto again = post_spread(cluster_->services(), pending);
    std::vector<std::string> still;
    for (std::size_t i = 0; i < again.size(); ++i)
      if (again[i].status != 200) still.push_back(pending[i]);
    pending = std::move(still);
    return pending.empty();
  })) << pending.size()
      << " messages never acked after the restart: " << stderr_of_all();
  // A group drainer whose store write failed in the outage keeps its group's claim until the
  // claim's lease (a minute) runs out, so this may wait that long. The clocks are not moved
  // past it: each instance would take the other for dead until its next heartbeat.
  ASSERT_TRUE(eventually([&] { return drained(); }, std::chrono::seconds(120))) << stderr_of_all();

  std::map<int, int> every_user_newest;
  for (int n = 0; n < 300; ++n) every_user_newest[n] = 3;
  expect_applied_once(every_user_newest);
  EXPECT_EQ(sandbox().users().size(), 300u);
}

// --- 4. Two manual runs at the same instant ----------------------------------------------------

// A run as the admin API and `connector runs` show it; the times are ISO 8601 to the
// millisecond, UTC, so they compare as text.
struct run_view {
  std::int64_t id = 0;
  std::string status, started, ended, message;
};

std::vector<run_view> runs_of(const running_service& service) {
  const auto listed = run_connector({"runs", "--json", "--config", service.config_path().string()});
  const auto parsed = json::parse(listed.out);
  std::vector<run_view> runs;
  for (const auto& r : parsed["runs"])
    runs.push_back({r["id"].get<std::int64_t>(), r["status"].get<std::string>(),
                    r["started_at"].is_string() ? r["started_at"].get<std::string>() : "",
                    r["ended_at"].is_string() ? r["ended_at"].get<std::string>() : "",
                    r["message"].get<std::string>()});
  return runs;
}

json admin(const running_service& service, const std::string& method, const std::string& target) {
  auto client = service.admin_client();
  const auto reply = client.request(method, target, {},
                                    {{"Authorization", std::string("Bearer ") + test_admin_token}});
  return reply.body.empty() ? json::object() : json::parse(reply.body);
}

bool run_finished(const running_service& service, std::int64_t id) {
  const auto status = admin(service, "GET", "/admin/runs/" + std::to_string(id))["status"];
  return status.is_string() && status != "queued" && status != "running";
}

TEST_F(several_instances_e2e, two_runs_asked_on_both_instances_at_once_never_overlap) {
  salesforce_ = std::make_unique<salesforce_sandbox_server>(jwt_salesforce_sandbox_options());
  salesforce_->sandbox().add_generated_users(300, {{"iSpring_Groups__c", "Onboarding"}});
  // Slow enough that a run lasts seconds: a second one beside it could not go unseen.
  salesforce_->sandbox().set_latency_ms(300);
  sandbox().set_latency_ms(20, "POST /user");
  auto salesforce = salesforce_sandbox_config(*salesforce_);
  salesforce["query_batch_size"] = 200;
  start({{"salesforce", salesforce}});

  std::latch ready(3);
  std::int64_t ids[2] = {0, 0};
  std::vector<std::thread> askers;
  for (int i = 0; i < 2; ++i)
    askers.emplace_back([&, i] {
      auto client = (*cluster_)[i].admin_client();
      client.connect();
      ready.arrive_and_wait();
      const auto reply =
          client.request("POST", "/admin/reconcile", {},
                         {{"Authorization", std::string("Bearer ") + test_admin_token}});
      if (reply.status == 202) ids[i] = json::parse(reply.body)["id"].get<std::int64_t>();
    });
  ready.arrive_and_wait();
  for (auto& t : askers) t.join();
  ASSERT_NE(ids[0], 0);
  ASSERT_NE(ids[1], 0);
  ASSERT_TRUE(eventually(
      [&] { return run_finished((*cluster_)[0], ids[0]) && run_finished((*cluster_)[1], ids[1]); },
      std::chrono::seconds(180)))
      << stderr_of_all();

  auto runs = runs_of((*cluster_)[0]);
  ASSERT_EQ(runs.size(), 2u);
  for (const auto& r : runs) {
    EXPECT_EQ(r.status, "succeeded") << r.id << ": " << r.message;
    ASSERT_FALSE(r.started.empty() || r.ended.empty()) << r.id;
  }
  std::sort(runs.begin(), runs.end(), [](auto& a, auto& b) { return a.started < b.started; });
  // The second began only after the first ended (to the millisecond both are written in).
  EXPECT_GE(runs[1].started, runs[0].ended)
      << "run " << runs[0].id << " [" << runs[0].started << ", " << runs[0].ended << "] and run "
      << runs[1].id << " [" << runs[1].started << ", " << runs[1].ended << "] overlap";
  EXPECT_EQ(sandbox().users().size(), 300u);
  EXPECT_EQ(sandbox().calls("POST /user"), 300) << "the second run created nobody again";

  // The loser was told, in its log, that the other instance runs one, and waited queued.
  const int loser = runs[1].id == ids[0] ? 0 : 1;
  EXPECT_NE((*cluster_)[loser].process().stderr_text().find(
                "reconciliation run " + std::to_string(runs[1].id) + " waits: instance "),
            std::string::npos)
      << (*cluster_)[loser].process().stderr_text();

  // `connector reconcile` asked while a run goes is refused, saying so, and starts nothing.
  // Each Salesforce page now takes 1.5 s: the run is still going when the command asks.
  salesforce_->sandbox().set_latency_ms(1500);
  const auto third = admin((*cluster_)[1], "POST", "/admin/reconcile")["id"].get<std::int64_t>();
  ASSERT_TRUE(eventually([&] {
    return admin((*cluster_)[1], "GET", "/admin/runs/" + std::to_string(third))["status"] ==
           "running";
  }));
  const auto refused =
      run_connector({"reconcile", "--config", (*cluster_)[0].config_path().string()});
  EXPECT_EQ(refused.exit_code, 1) << refused.out << refused.err;
  EXPECT_NE(refused.err.find("run " + std::to_string(third) + " (admin) is running"),
            std::string::npos)
      << refused.err;
  ASSERT_TRUE(eventually([&] { return run_finished((*cluster_)[1], third); }));
  EXPECT_EQ(runs_of((*cluster_)[0]).size(), 3u) << "the refused request made a run";
}

}  // namespace
}  // namespace connector::testing

// End to end: many new users joining one shared group through the real binary. Their own
// fields are applied at once; the group drainer adds them with one replace per batch; every
// one ends a member exactly once, and the members the connector does not manage stay. A kill
// -9 between the apply and the drain loses nobody's membership.
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <set>
#include <thread>

#include "connector/store/open.hpp"
#include "support/eventually.hpp"
#include "support/ispring_sandbox_server.hpp"
#include "support/outbound_builder.hpp"
#include "support/postgres_server.hpp"
#include "support/sandbox_config.hpp"
#include "support/service.hpp"
#include "support/service_status.hpp"

namespace connector::testing {
namespace {

constexpr int foreign_members = 300;

class group_additions_e2e : public ::testing::Test {
 protected:
  group_additions_e2e()
      : sandbox_server_({}, {"127.0.0.1", 0, test_certs::get().server_crt.string(),
                             test_certs::get().server_key.string(), 4}) {
    // Staff the connector does not manage, already in the shared group.
    const auto staff = sandbox().add_department("Staff");
    for (int i = 0; i < foreign_members; ++i)
      foreign_.push_back(sandbox().add_user("staff" + std::to_string(i) + "@acme.example",
                                            "staff" + std::to_string(i) + "@acme.example", staff));
    sandbox().add_group("All", foreign_);
  }

  nlohmann::json config() {
    return {{"ispring", ispring_sandbox_config(sandbox_server_)},
            {"mapping", {{"groups", "iSpring_Groups__c"}}},
            {"sync", {{"retry_base_ms", 20}, {"retry_max_ms", 200}}}};
  }
  void start() { service_ = std::make_unique<running_service>(dir_.path(), config()); }
  // An instance on the PostgreSQL database `url` (several may share it), in `dir`.
  std::unique_ptr<running_service> start_on_postgresql(const std::filesystem::path& dir,
                                                       const std::string& url) {
    auto overrides = config();
    overrides["store"] = {{"sqlite_path", nullptr}, {"postgresql_url", url}};
    return std::make_unique<running_service>(dir, overrides);
  }

  static user_notification joining_all(int n) {
    auto u = sample_user(n, n);
    u.fields["iSpring_Groups__c"] = "All";
    return u;
  }

  // Posts users [first, last) from four connections, ten to a message; all must be acked.
  // Connections take turns over `to` (none: the one service).
  void post_users(int first, int last, std::vector<running_service*> to = {}) {
    if (to.empty()) to.push_back(service_.get());
    std::vector<std::thread> threads;
    std::atomic<int> next{first};
    std::atomic<int> refused{0};
    for (int t = 0; t < 4; ++t)
      threads.emplace_back([&, t] {
        auto client = to[static_cast<std::size_t>(t) % to.size()]->public_client();
        for (int n = next.fetch_add(10); n < last; n = next.fetch_add(10)) {
          std::vector<user_notification> batch;
          for (int i = n; i < std::min(n + 10, last); ++i) batch.push_back(joining_all(i));
          if (client.post_xml("/salesforce/outbound", build_user_message(test_org_id, batch))
                  .status != 200)
            ++refused;
        }
      });
    for (auto& t : threads) t.join();
    ASSERT_EQ(refused.load(), 0);
  }

  ispring_sandbox& sandbox() { return sandbox_server_.sandbox(); }
  std::vector<std::string> members() { return sandbox().find_group_by_name("All")->user_ids; }

  // Every user [first, last) exists once and is a member once; every foreign member stays.
  void expect_all_members(int first, int last) {
    const auto list = members();
    std::map<std::string, int> times;
    for (const auto& id : list) ++times[id];
    for (const auto& [id, count] : times) EXPECT_EQ(count, 1) << id << " listed twice";
    for (const auto& id : foreign_) EXPECT_EQ(times.count(id), 1u) << "staff " << id << " dropped";
    int missing = 0;
    for (int n = first; n < last; ++n) {
      const auto u =
          sandbox().find_user_by_login("user" + std::to_string(n) + "@acme.example.prod");
      if (!u || !times.contains(u->id)) ++missing;
    }
    EXPECT_EQ(missing, 0) << "of " << last - first << " users";
    EXPECT_EQ(list.size(), static_cast<std::size_t>(foreign_members + last - first));
    EXPECT_EQ(sandbox().users().size(), static_cast<std::size_t>(foreign_members + last - first))
        << "a user created twice";
  }

  temp_dir dir_;
  ispring_sandbox_server sandbox_server_;
  std::vector<std::string> foreign_;
  std::unique_ptr<running_service> service_;
};

TEST_F(group_additions_e2e, many_creates_join_one_group_once_each_in_few_replaces) {
  // A replace as slow as one of a large group: users arriving meanwhile share the next.
  sandbox().set_latency_ms(40, "POST /group/{id}/members");
  start();
  post_users(1, 201);
  ASSERT_TRUE(eventually([&] { return drained(*service_); })) << service_->process().stderr_text();
  expect_all_members(1, 201);
  const int replaces = sandbox().calls("POST /group/{id}/members");
  EXPECT_LT(replaces, 100) << "one replace per user would be 200";
  EXPECT_GE(replaces, 1);

  // The user's history tells it: queued to join, then the replace and its answer.
  const auto explained = run_connector(
      {"explain", "--offline", "--config", service_->config_path().string(), make_id("005", 7)});
  EXPECT_NE(explained.out.find("queued to join 'All'"), std::string::npos) << explained.out;
  EXPECT_NE(explained.out.find("added to 'All' by one replace of its members"), std::string::npos)
      << explained.out;
}

// On PostgreSQL, two instances on one database, each taking half of the notifications: their
// drainers share one queue and one of them at a time replaces the group's members, so no
// replace drops a member another added (read, union and replace per user at once would).
TEST_F(group_additions_e2e, two_instances_on_postgresql_add_everyone_once_and_drop_no_member) {
  sandbox().set_latency_ms(40, "POST /group/{id}/members");
  const std::string url = postgres_server::shared().create_database();
  temp_dir second_dir;
  service_ = start_on_postgresql(dir_.path(), url);
  auto second = start_on_postgresql(second_dir.path(), url);
  post_users(1, 301, {service_.get(), second.get()});
  ASSERT_TRUE(eventually([&] { return drained(*service_) && drained(*second); }))
      << service_->process().stderr_text() << second->process().stderr_text();
  expect_all_members(1, 301);
  const int replaces = sandbox().calls("POST /group/{id}/members");
  EXPECT_LT(replaces, 150) << "one replace per user would be 300";
  EXPECT_GE(replaces, 1);
  // The history, in the shared database, tells it as on SQLite.
  const auto explained = run_connector(
      {"explain", "--offline", "--config", service_->config_path().string(), make_id("005", 7)});
  EXPECT_NE(explained.out.find("added to 'All' by one replace of its members"), std::string::npos)
      << explained.out << explained.err;
}

TEST_F(group_additions_e2e, an_update_goes_through_while_a_replace_of_the_group_hangs) {
  start();
  post_users(1, 2);
  ASSERT_TRUE(eventually([&] { return drained(*service_); })) << service_->process().stderr_text();
  // The next replace of All answers only after 20 s (the client waits up to 30 s).
  sandbox().set_latency_ms(20'000, "POST /group/{id}/members");
  post_users(2, 3);
  ASSERT_TRUE(eventually([&] { return sandbox().calls("POST /group/{id}/members") == 2; }));
  auto update = joining_all(1);
  update.notification_id = make_id("04l", 1001);
  update.fields["FirstName"] = "Renamed";
  update.fields["SystemModstamp"] = update.fields["LastModifiedDate"] = "2026-11-01T11:00:00.000Z";
  auto client = service_->public_client();
  ASSERT_EQ(
      client.post_xml("/salesforce/outbound", build_user_message(test_org_id, {update})).status,
      200);
  ASSERT_TRUE(eventually([&] {
    const auto u = sandbox().find_user_by_login("user1@acme.example.prod");
    return u && u->fields.count("first_name") && u->fields.at("first_name") == "Renamed";
  }));
  // Applied while the replace still hangs: no worker slot waited for it.
  EXPECT_EQ(status_of(*service_)["group_additions"]["waiting"], 1);
  service_->kill_hard();
}

TEST_F(group_additions_e2e, a_kill_between_apply_and_drain_still_ends_with_everyone_in_the_group) {
  // The drainer hangs on reading the group: users are created and done, their additions wait.
  sandbox().set_latency_ms(10 * 60'000, "GET /group/{id}");
  start();
  post_users(1, 61);
  ASSERT_TRUE(eventually([&] {
    const auto s = status_of(*service_);
    return s["pending"] == 0 && s["retrying"] == 0 && s["group_additions"]["waiting"] == 60;
  })) << service_->process().stderr_text();
  EXPECT_EQ(members().size(), static_cast<std::size_t>(foreign_members)) << "nobody added yet";

  service_->kill_hard();
  sandbox().set_latency_ms(0, "GET /group/{id}");
  service_->start();
  // The killed drainer's claim passes on once its lease (a minute) has expired.
  service_->advance_clock(2 * 60'000);
  ASSERT_TRUE(eventually([&] { return drained(*service_); })) << service_->process().stderr_text();
  expect_all_members(1, 61);
}

// A user deleted in iSpring after its addition was queued: iSpring refuses the whole replace
// naming it (400), which used to hold every other user of the batch, retried forever. The
// batch is read back by id, the one iSpring no longer has is left out and its history says
// so, and the other 49 join in the next replace; nothing waits or retries.
TEST_F(group_additions_e2e, a_user_deleted_in_ispring_meanwhile_is_left_out_and_the_rest_join) {
  sandbox().set_latency_ms(10 * 60'000, "GET /group/{id}");  // additions wait, as above
  start();
  post_users(1, 51);
  ASSERT_TRUE(eventually([&] {
    const auto s = status_of(*service_);
    return s["pending"] == 0 && s["retrying"] == 0 && s["group_additions"]["waiting"] == 50;
  })) << service_->process().stderr_text();
  service_->kill_hard();
  // An iSpring administrator deletes one of them meanwhile.
  const auto gone = sandbox().find_user_by_login("user17@acme.example.prod");
  ASSERT_TRUE(gone);
  const auto deleted = sandbox().handle(
      {"DELETE",
       "/user/" + gone->id,
       {{"accept", "application/json"}, {"authorization", "Bearer " + sandbox().issue_token()}},
       {}});
  ASSERT_EQ(deleted.status, 204) << deleted.body;
  sandbox().set_latency_ms(0, "GET /group/{id}");
  const int replaces_before = sandbox().calls("POST /group/{id}/members");
  service_->start();
  service_->advance_clock(2 * 60'000);  // the killed drainer's lease
  ASSERT_TRUE(eventually([&] { return drained(*service_); })) << service_->process().stderr_text();

  const auto list = members();
  const std::set<std::string> in_group(list.begin(), list.end());
  EXPECT_EQ(list.size(), in_group.size()) << "a member listed twice";
  EXPECT_EQ(list.size(), static_cast<std::size_t>(foreign_members + 49));
  EXPECT_FALSE(in_group.contains(gone->id));
  for (const auto& id : foreign_) EXPECT_TRUE(in_group.contains(id)) << "staff " << id;
  for (int n = 1; n < 51; ++n) {
    if (n == 17) continue;
    const auto u = sandbox().find_user_by_login("user" + std::to_string(n) + "@acme.example.prod");
    ASSERT_TRUE(u) << n;
    EXPECT_TRUE(in_group.contains(u->id)) << "user " << n << " left out";
  }
  // One replace refused, one that took the 49; nobody retrying.
  EXPECT_EQ(sandbox().calls("POST /group/{id}/members") - replaces_before, 2);
  const auto s = status_of(*service_);
  EXPECT_EQ(s["group_additions"]["waiting"], 0) << s;
  EXPECT_EQ(s["group_additions"]["retrying_groups"], 0) << s;
  EXPECT_EQ(sandbox().users().size(), static_cast<std::size_t>(foreign_members + 49))
      << "the deleted user is not created again by the drainer";

  const auto explain = [&](int n) {
    return run_connector({"explain", "--offline", "--config", service_->config_path().string(),
                          make_id("005", static_cast<std::uint64_t>(n))})
        .out;
  };
  const auto left_out = explain(17);
  EXPECT_NE(left_out.find("not added to 'All': iSpring no longer has user " + gone->id),
            std::string::npos)
      << left_out;
  EXPECT_EQ(left_out.find("added to 'All' by one replace"), std::string::npos) << left_out;
  const auto joined = explain(18);
  EXPECT_NE(joined.find("added to 'All' by one replace of its members for 49 user(s)"),
            std::string::npos)
      << joined;
}

// `connector sync-user` adds groups as the worker does: queued, then replaced under the
// group's claim, so it never races the service's drainer (or a reconciliation, or another
// instance) and drops nobody. While another owner holds the group it replaces nothing and
// leaves the user queued; once the group is free, the user joins, once.
TEST_F(group_additions_e2e, sync_user_adds_groups_under_the_group_claim) {
  auto intake_only = config();
  intake_only.erase("ispring");  // the users wait in the queue for sync-user
  service_ = std::make_unique<running_service>(dir_.path(), intake_only);
  post_users(1, 3);
  ASSERT_EQ(service_->stop(), 0);
  const auto config_path = dir_.path() / "with-ispring.json";
  write_text(config_path, test_config(dir_.path(), config()).dump());
  const auto sync_user = [&](int n) {
    return run_connector({"sync-user", "--config", config_path.string(),
                          make_id("005", static_cast<std::uint64_t>(n))});
  };
  const auto is_member = [&](int n) {
    const auto u = sandbox().find_user_by_login("user" + std::to_string(n) + "@acme.example.prod");
    const auto list = members();
    return u && std::count(list.begin(), list.end(), u->id) == 1;
  };

  // Nobody else holds the group: added at once, by one replace under the claim.
  const auto first = sync_user(1);
  ASSERT_EQ(first.exit_code, 0) << first.out << first.err;
  EXPECT_NE(first.out.find("groups: added to 'All' by one replace of its members for 1 user(s)"),
            std::string::npos)
      << first.out;
  EXPECT_TRUE(is_member(1));
  EXPECT_EQ(members().size(), static_cast<std::size_t>(foreign_members + 1));

  // Another drainer holds it (an instance replacing its members right now).
  const auto all = sandbox().find_group_by_name("All")->id;
  store::store_settings location;
  location.sqlite_path = service_->db_path().string();
  const auto wall_now = [] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  };
  {
    auto store = store::open_store(location);
    ASSERT_TRUE(store->claim_group(all, "another-instance", wall_now(), wall_now() + 600'000));
  }
  const int replaces = sandbox().calls("POST /group/{id}/members");
  const auto held = sync_user(2);
  ASSERT_EQ(held.exit_code, 0) << held.out << held.err;
  EXPECT_NE(held.out.find("groups: queued; another drainer holds the group"), std::string::npos)
      << held.out;
  EXPECT_EQ(sandbox().calls("POST /group/{id}/members"), replaces) << "replaced beside its holder";
  EXPECT_FALSE(is_member(2));
  EXPECT_EQ(status_of(*service_)["group_additions"]["waiting"], 1);

  {
    auto store = store::open_store(location);
    store->finish_group(all, "another-instance", 0);  // lets go, removes nothing
  }
  const auto again = sync_user(2);
  ASSERT_EQ(again.exit_code, 0) << again.out << again.err;
  EXPECT_NE(again.out.find("groups: added to 'All'"), std::string::npos) << again.out;
  EXPECT_TRUE(is_member(1));
  EXPECT_TRUE(is_member(2));
  EXPECT_EQ(members().size(), static_cast<std::size_t>(foreign_members + 2));
  EXPECT_EQ(status_of(*service_)["group_additions"]["waiting"], 0);
  EXPECT_EQ(sandbox().users().size(), static_cast<std::size_t>(foreign_members + 2));
}

}  // namespace
}  // namespace connector::testing

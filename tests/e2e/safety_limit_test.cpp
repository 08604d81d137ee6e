// End to end: the worker's safety limit (sync.max_deactivations_per_hour) in the real binary,
// over real TLS, against the iSpring and Salesforce sandboxes. A flood of deactivation
// notifications for active linked users deactivates only the hour's cap; the rest wait as
// "held" (status, explain), across a restart and past the hour, until the operator releases
// them with `connector release` or POST /admin/release. The users are really inactive in
// the Salesforce sandbox, so a worker that re-reads notified users agrees.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "support/eventually.hpp"
#include "support/ispring_sandbox_server.hpp"
#include "support/outbound_builder.hpp"
#include "support/salesforce_sandbox_server.hpp"
#include "support/sandbox_config.hpp"
#include "support/service.hpp"
#include "support/service_status.hpp"

namespace connector::testing {
namespace {

using nlohmann::json;

constexpr std::int64_t hour_ms = 60LL * 60 * 1000;

class safety_limit_e2e : public ::testing::Test {
 protected:
  safety_limit_e2e() : salesforce_(jwt_salesforce_sandbox_options()) {}

  void start(int users) {
    json config = {
        {"ispring", ispring_sandbox_config(ispring_)},
        {"salesforce", salesforce_sandbox_config(salesforce_)},
        {"mapping", {{"fields", {{"first_name", "FirstName"}, {"job_title", "Title"}}}}},
        {"sync",
         {{"max_deactivations_per_hour", 2}, {"retry_base_ms", 20}, {"retry_max_ms", 200}}}};
    service_ = std::make_unique<running_service>(dir_.path(), config);
    for (int n = 1; n <= users; ++n) {
      ids_.push_back(salesforce_.sandbox().add_user({{"Username", login(n)},
                                                     {"Email", email(n)},
                                                     {"FirstName", "First" + std::to_string(n)},
                                                     {"LastName", "Last" + std::to_string(n)},
                                                     {"Title", "Engineer"},
                                                     {"Department", "Engineering"},
                                                     {"IsActive", true}}));
    }
    std::vector<int> all;
    for (int n = 1; n <= users; ++n) all.push_back(n);
    notify(all);
    ASSERT_TRUE(eventually([&] { return ispring_.sandbox().users().size() == ids_.size(); }))
        << service_->process().stderr_text();
    ASSERT_TRUE(eventually([&] { return drained(); }));
  }

  static std::string login(int n) { return "safe" + std::to_string(n) + "@acme.example.prod"; }
  static std::string email(int n) { return "safe" + std::to_string(n) + "@acme.example"; }
  const std::string& id(int n) const { return ids_.at(static_cast<std::size_t>(n - 1)); }

  // Each user as the Salesforce sandbox has it now, in one outbound message.
  void notify(const std::vector<int>& users) {
    std::vector<user_notification> notifications;
    for (const int n : users) {
      const auto user = *salesforce_.sandbox().find_user(id(n));
      user_notification u;
      u.notification_id = make_id("04l", static_cast<std::uint64_t>(++notifications_));
      u.user_id = id(n);
      for (const char* field :
           {"Username", "Email", "FirstName", "LastName", "Title", "Department"})
        u.fields[field] = user[field].get<std::string>();
      // Stamped as Salesforce stamps it: the record's SystemModstamp (REST writes "+0000",
      // an outbound message "Z"). A made-up older stamp would be stale against the state the
      // worker read back from Salesforce for the user's previous notification.
      auto stamp = user["SystemModstamp"].get<std::string>();
      if (stamp.size() > 5 && stamp.compare(stamp.size() - 5, 5, "+0000") == 0)
        stamp.replace(stamp.size() - 5, 5, "Z");
      u.fields["SystemModstamp"] = stamp;
      u.fields["IsActive"] = user["IsActive"].get<bool>() ? "true" : "false";
      notifications.push_back(std::move(u));
    }
    auto client = service_->public_client();
    const auto reply =
        client.post_xml("/salesforce/outbound", build_user_message(test_org_id, notifications));
    ASSERT_EQ(reply.status, 200) << reply.body;
  }
  // Deactivated in Salesforce, then notified.
  void leave(const std::vector<int>& users) {
    for (const int n : users) salesforce_.sandbox().update_user(id(n), {{"IsActive", false}});
    notify(users);
  }

  command_result connector(std::vector<std::string> args) {
    args.push_back("--config");
    args.push_back(service_->config_path().string());
    return run_connector(args);
  }
  json status() { return status_of(*service_); }
  bool drained() { return connector::testing::drained(*service_); }
  int ispring_status(int n) { return ispring_.sandbox().find_user_by_login(login(n))->status; }
  int inactive(const std::vector<int>& users) {
    int count = 0;
    for (const int n : users) count += ispring_status(n) == 3 ? 1 : 0;
    return count;
  }
  // Requests that change something in iSpring.
  int ispring_writes() {
    int writes = 0;
    for (const auto& entry : ispring_.sandbox().request_log())
      if (entry.method != "GET" && entry.endpoint.find("token") == std::string::npos) ++writes;
    return writes;
  }
  std::vector<std::string> held_ids() {
    std::vector<std::string> held;
    const auto s = status();
    for (const auto& r : s["held_records"]) held.push_back(r["record_id"]);
    std::sort(held.begin(), held.end());
    return held;
  }
  http_reply admin_post(const std::string& target, bool with_token = true) {
    auto client = service_->admin_client();
    std::vector<std::pair<std::string, std::string>> headers;
    if (with_token)
      headers.emplace_back("Authorization", std::string("Bearer ") + test_admin_token);
    return client.request("POST", target, {}, headers);
  }

  temp_dir dir_;
  ispring_sandbox_server ispring_;
  salesforce_sandbox_server salesforce_;
  std::unique_ptr<running_service> service_;
  std::vector<std::string> ids_;
  int notifications_ = 0;
};

TEST_F(safety_limit_e2e, a_flood_deactivates_the_cap_and_holds_the_rest_until_released) {
  start(6);
  const int writes_before = ispring_writes();
  leave({1, 2, 3, 4, 5});
  ASSERT_TRUE(eventually([&] {
    const auto s = status();
    return s["held"] == 3 && s["pending"] == 0 && s["retrying"] == 0;
  })) << service_->process().stderr_text();

  // Exactly two deactivated; three held and still active; nothing else changed.
  EXPECT_EQ(inactive({1, 2, 3, 4, 5}), 2);
  EXPECT_EQ(ispring_status(6), 1);
  EXPECT_EQ(ispring_.sandbox().users().size(), 6u);
  EXPECT_EQ(ispring_writes() - writes_before, 2);
  const auto s = status();
  EXPECT_EQ(s["dead_letters"], 0);
  const auto held = held_ids();
  ASSERT_EQ(held.size(), 3u);
  for (const auto& record : s["held_records"]) {
    EXPECT_EQ(record["reason"].get<std::string>().rfind("held by the safety limit: ", 0), 0u)
        << record;
  }
  for (int n = 1; n <= 5; ++n) {
    const bool is_held = std::find(held.begin(), held.end(), id(n)) != held.end();
    EXPECT_EQ(ispring_status(n), is_held ? 1 : 3) << n;
  }
  const auto text = connector({"status"}).out;
  EXPECT_NE(text.find("Held (safety limit):    3"), std::string::npos) << text;
  EXPECT_NE(text.find("connector release"), std::string::npos) << text;

  // explain says why, in JSON and in words.
  const auto explained = connector({"explain", "--offline", "--json", held[0]});
  ASSERT_EQ(explained.exit_code, 0) << explained.err;
  const auto answer = json::parse(explained.out);
  EXPECT_EQ(answer["salesforce"]["queue"]["state"], "held");
  const auto queue = answer["now"]["queue"].get<std::string>();
  EXPECT_EQ(queue.rfind("held by the safety limit", 0), 0u) << queue;
  EXPECT_NE(queue.find("connector release " + held[0]), std::string::npos) << queue;
  const auto words = connector({"explain", "--offline", held[0]}).out;
  EXPECT_NE(words.find("held by the safety limit"), std::string::npos) << words;

  // With the hour full, an update that is not a deactivation is applied, never held.
  salesforce_.sandbox().update_user(id(6), {{"Title", "Lead Engineer"}});
  notify({6});
  ASSERT_TRUE(eventually([&] {
    return ispring_.sandbox().find_user_by_login(login(6))->fields.at("job_title") ==
           "Lead Engineer";
  }));
  EXPECT_EQ(status()["held"], 3);

  // Releasing what is not held says so and changes nothing.
  const auto wrong = connector({"release", id(6)});
  EXPECT_EQ(wrong.exit_code, 1);
  EXPECT_NE(wrong.err.find("is not held by the safety limit"), std::string::npos) << wrong.err;

  // The operator lets them through: deactivated even though the hour is full.
  const auto released = connector({"release", "--all"});
  EXPECT_EQ(released.exit_code, 0) << released.err;
  EXPECT_NE(released.out.find("released 3 held record(s)"), std::string::npos) << released.out;
  ASSERT_TRUE(eventually([&] {
    return inactive({1, 2, 3, 4, 5}) == 5;
  })) << service_->process().stderr_text();
  ASSERT_TRUE(eventually([&] { return drained(); }));
  EXPECT_EQ(status()["held"], 0);
  EXPECT_EQ(ispring_status(6), 1);
  EXPECT_EQ(ispring_.sandbox().users().size(), 6u);
  const auto history = connector({"explain", "--offline", held[0]}).out;
  EXPECT_NE(history.find("released from the safety limit by the operator"), std::string::npos)
      << history;
}

TEST_F(safety_limit_e2e, held_ones_survive_a_restart_and_the_hour_and_the_page_route_releases) {
  start(7);
  leave({1, 2, 3});
  ASSERT_TRUE(eventually([&] {
    const auto s = status();
    return s["held"] == 1 && s["pending"] == 0 && s["retrying"] == 0;
  })) << service_->process().stderr_text();
  const auto first_held = held_ids();

  // The hour's count is in the store: after a restart the cap is still reached.
  ASSERT_EQ(service_->stop(), 0);
  service_->start();
  leave({4});
  ASSERT_TRUE(eventually([&] { return status()["held"] == 2 && drained(); }))
      << service_->process().stderr_text();
  EXPECT_EQ(ispring_status(4), 1);
  EXPECT_EQ(inactive({1, 2, 3}), 2);

  // An hour later the cap counts afresh, but held ones wait for the operator.
  service_->advance_clock(hour_ms + 60'000);
  leave({5});
  ASSERT_TRUE(eventually([&] { return ispring_status(5) == 3; }))
      << service_->process().stderr_text();
  ASSERT_TRUE(eventually([&] { return drained(); }));
  EXPECT_EQ(status()["held"], 2);
  EXPECT_EQ(ispring_status(4), 1);
  EXPECT_EQ(inactive({1, 2, 3}), 2);

  // The page's button: the admin token is required, an unknown record is a 404.
  EXPECT_EQ(admin_post("/admin/release?record_id=" + id(4), false).status, 401);
  EXPECT_EQ(status()["held"], 2);
  const auto not_held = admin_post("/admin/release?record_id=" + id(7));
  EXPECT_EQ(not_held.status, 404) << not_held.body;
  const auto one = admin_post("/admin/release?record_id=" + id(4));
  ASSERT_EQ(one.status, 200) << one.body;
  EXPECT_EQ(json::parse(one.body)["released"], 1);
  ASSERT_TRUE(eventually([&] { return ispring_status(4) == 3; }))
      << service_->process().stderr_text();
  EXPECT_EQ(status()["held"], 1);
  EXPECT_EQ(held_ids(), first_held);

  const auto rest = admin_post("/admin/release");
  ASSERT_EQ(rest.status, 200) << rest.body;
  EXPECT_EQ(json::parse(rest.body)["released"], 1);
  ASSERT_TRUE(eventually([&] { return inactive({1, 2, 3, 4, 5}) == 5 && drained(); }));
  EXPECT_EQ(status()["held"], 0);
  EXPECT_EQ(ispring_status(6), 1);
  EXPECT_EQ(ispring_status(7), 1);
}

}  // namespace
}  // namespace connector::testing

// End to end: the rest of the `sync` section applied live (issue 16 §3). A revision saved
// through the admin API of the running binary changes, with no restart, how the next failure
// is retried (sync.max_attempts, the retry delays: a retry already scheduled keeps its time),
// the hourly cap on deactivations (sync.max_deactivations_per_hour), and whether
// notifications are verified with Salesforce (sync.verify_notifications).
#include <gtest/gtest.h>

#include <algorithm>
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

class sync_settings_live_e2e : public ::testing::Test {
 protected:
  sync_settings_live_e2e() : salesforce_(jwt_salesforce_sandbox_options()) {}

  // The sync section is left to the page, so revisions can change it.
  void start() {
    const json config = {
        {"ispring", ispring_sandbox_config(ispring_)},
        {"salesforce", salesforce_sandbox_config(salesforce_)},
        {"mapping", {{"fields", {{"first_name", "FirstName"}, {"job_title", "Title"}}}}}};
    service_ = std::make_unique<running_service>(dir_.path(), config);
    pid_ = service_->process().pid();
  }

  // Saves `sync` as the newest revision, from the one in force (applied at once here).
  void save_sync(const json& sync) {
    auto client = service_->admin_client();
    std::vector<std::pair<std::string, std::string>> headers{
        {"Authorization", std::string("Bearer ") + test_admin_token},
        {"Content-Type", "application/json"}};
    const auto current = client.request("GET", "/admin/settings", "", headers);
    ASSERT_EQ(current.status, 200) << current.body;
    const auto revision = json::parse(current.body)["revision"].get<std::int64_t>();
    headers.emplace_back("If-Match", "\"" + std::to_string(revision) + "\"");
    const auto saved = client.request("PUT", "/admin/settings/sync", sync.dump(), headers);
    ASSERT_EQ(saved.status, 200) << saved.body;
    ASSERT_TRUE(json::parse(saved.body)["saved"].get<bool>()) << saved.body;
  }

  static std::string login(int n) { return "live" + std::to_string(n) + "@acme.example.prod"; }
  std::string add_user(int n) {
    const auto id =
        salesforce_.sandbox().add_user({{"Username", login(n)},
                                        {"Email", "live" + std::to_string(n) + "@acme.example"},
                                        {"FirstName", "First" + std::to_string(n)},
                                        {"LastName", "Last" + std::to_string(n)},
                                        {"Title", "Engineer"},
                                        {"Department", "Engineering"},
                                        {"IsActive", true}});
    ids_.push_back(id);
    return id;
  }
  const std::string& id(int n) const { return ids_.at(static_cast<std::size_t>(n - 1)); }

  // User n as the Salesforce sandbox has it now, stamped as Salesforce stamps it, with
  // `forged` fields put over it (what a notification claims, not what Salesforce holds).
  void notify(int n, const std::map<std::string, std::string>& forged = {}) {
    const auto user = *salesforce_.sandbox().find_user(id(n));
    user_notification u;
    u.notification_id = make_id("04l", static_cast<std::uint64_t>(++notifications_));
    u.user_id = id(n);
    for (const char* field : {"Username", "Email", "FirstName", "LastName", "Title", "Department"})
      u.fields[field] = user[field].get<std::string>();
    auto stamp = user["SystemModstamp"].get<std::string>();
    if (stamp.size() > 5 && stamp.compare(stamp.size() - 5, 5, "+0000") == 0)
      stamp.replace(stamp.size() - 5, 5, "Z");
    u.fields["SystemModstamp"] = stamp;
    u.fields["IsActive"] = user["IsActive"].get<bool>() ? "true" : "false";
    for (const auto& [field, value] : forged) u.fields[field] = value;
    const auto reply = service_->public_client().post_xml("/salesforce/outbound",
                                                          build_user_message(test_org_id, {u}));
    ASSERT_EQ(reply.status, 200) << reply.body;
  }

  std::optional<sandbox_user> in_ispring(int n) {
    return ispring_.sandbox().find_user_by_login(login(n));
  }
  json status() { return status_of(*service_); }
  bool drained() { return connector::testing::drained(*service_); }

  // The user's history as `connector explain` tells it, newest first.
  std::vector<json> timeline(int n) {
    const auto run = run_connector(
        {"explain", "--json", "--offline", "--config", service_->config_path().string(), id(n)});
    EXPECT_EQ(run.exit_code, 0) << run.out << run.err;
    if (run.exit_code != 0) return {};
    const auto answer = json::parse(run.out);
    return {answer["timeline"].begin(), answer["timeline"].end()};
  }
  std::size_t count_of(int n, const std::string& kind) {
    const auto events = timeline(n);
    return static_cast<std::size_t>(std::count_if(
        events.begin(), events.end(), [&](const json& e) { return e["kind"] == kind; }));
  }
  json newest(int n, const std::string& kind) {
    for (const auto& e : timeline(n))
      if (e["kind"] == kind) return e;
    return json::object();
  }
  void expect_no_restart() {
    EXPECT_EQ(service_->process().pid(), pid_) << "no restart";
    EXPECT_TRUE(service_->process().running());
  }

  temp_dir dir_;
  ispring_sandbox_server ispring_;
  salesforce_sandbox_server salesforce_;
  std::unique_ptr<running_service> service_;
  int pid_ = 0;
  std::vector<std::string> ids_;
  int notifications_ = 0;
};

TEST_F(sync_settings_live_e2e, ALoweredMaxAttemptsTurnsTheNextFailureIntoADeadLetter) {
  start();
  save_sync({{"max_attempts", 10}, {"retry_base_ms", 60'000}, {"retry_max_ms", 60'000}});
  add_user(1);
  ispring_.sandbox().set_outage(true);
  notify(1);
  ASSERT_TRUE(eventually([&] { return count_of(1, "failed") == 1; }))
      << service_->process().stderr_text();
  const auto first = newest(1, "failed");
  EXPECT_EQ(first["details"]["attempt"], 1);
  const auto scheduled = first["details"]["next_attempt_at"].get<std::int64_t>();
  EXPECT_GE(scheduled - first["time"].get<std::int64_t>(), 30'000);  // revision 1's delay

  save_sync({{"max_attempts", 2}, {"retry_base_ms", 60'000}, {"retry_max_ms", 60'000}});
  // The retry scheduled on revision 1 keeps its time: the record still waits for it.
  auto now = status();
  EXPECT_EQ(now["retrying"], 1) << now;
  EXPECT_EQ(now["dead_letters"], 0) << now;
  service_->advance_clock(61'000);
  ASSERT_TRUE(eventually([&] { return status()["dead_letters"] == 1; }))
      << service_->process().stderr_text();
  // The second failure, on revision 2: its last attempt, not a retry out of ten.
  const auto dead = newest(1, "dead_letter");
  EXPECT_EQ(dead["details"]["attempt"], 2) << dead;
  EXPECT_EQ(count_of(1, "failed"), 1u);
  EXPECT_EQ(status()["retrying"], 0);

  // Shorter delays apply to the next failure: a new user retried within 20 ms, and once
  // iSpring is back, applied.
  save_sync({{"max_attempts", 1000}, {"retry_base_ms", 20}, {"retry_max_ms", 20}});
  add_user(2);
  notify(2);
  ASSERT_TRUE(eventually([&] { return count_of(2, "failed") >= 1; }));
  const auto quick = newest(2, "failed");
  EXPECT_LE(
      quick["details"]["next_attempt_at"].get<std::int64_t>() - quick["time"].get<std::int64_t>(),
      20)
      << quick;
  ispring_.sandbox().set_outage(false);
  ASSERT_TRUE(eventually([&] { return in_ispring(2).has_value(); }))
      << service_->process().stderr_text();
  EXPECT_FALSE(in_ispring(1).has_value());  // a dead letter waits for `connector retry`
  expect_no_restart();
}

TEST_F(sync_settings_live_e2e, ALoweredHourlyCapHoldsTheNextDeactivation) {
  start();
  save_sync({{"max_deactivations_per_hour", "5"}});
  for (int n = 1; n <= 3; ++n) {
    add_user(n);
    notify(n);
  }
  ASSERT_TRUE(eventually([&] { return ispring_.sandbox().users().size() == 3u && drained(); }))
      << service_->process().stderr_text();
  const auto leave = [&](int n) {
    salesforce_.sandbox().update_user(id(n), {{"IsActive", false}});
    notify(n);
  };
  leave(1);
  ASSERT_TRUE(eventually([&] { return in_ispring(1)->status == 3; }))
      << service_->process().stderr_text();

  // One deactivation made this hour, and the cap is now one.
  save_sync({{"max_deactivations_per_hour", "1"}});
  leave(2);
  ASSERT_TRUE(eventually([&] { return status()["held"] == 1 && drained(); }))
      << service_->process().stderr_text();
  EXPECT_EQ(in_ispring(2)->status, 1);
  const auto held = status()["held_records"];
  ASSERT_EQ(held.size(), 1u) << held;
  EXPECT_EQ(held[0]["record_id"], id(2));
  EXPECT_NE(held[0]["reason"].get<std::string>().find("allows 1"), std::string::npos) << held;
  EXPECT_EQ(in_ispring(3)->status, 1);
  expect_no_restart();
}

TEST_F(sync_settings_live_e2e, VerificationTurnedOffThenOnAppliesToTheNextNotification) {
  start();  // REST credentials: verified unless a revision says otherwise
  save_sync({{"verify_notifications", false}});
  add_user(1);
  notify(1, {{"Title", "Claimed Title"}});
  ASSERT_TRUE(eventually([&] { return in_ispring(1).has_value() && drained(); }))
      << service_->process().stderr_text();
  // Off: the notification's fields, as sent, and no read of Salesforce.
  EXPECT_EQ(in_ispring(1)->fields.at("job_title"), "Claimed Title");
  EXPECT_EQ(count_of(1, "read"), 0u);

  save_sync({{"verify_notifications", true}});
  add_user(2);
  notify(2, {{"Title", "Claimed Title"}});
  ASSERT_TRUE(eventually([&] { return in_ispring(2).has_value() && drained(); }))
      << service_->process().stderr_text();
  // On: what Salesforce holds, read before the apply.
  EXPECT_EQ(in_ispring(2)->fields.at("job_title"), "Engineer");
  const auto read = newest(2, "read");
  EXPECT_EQ(read["details"]["purpose"], "verify") << read;
  expect_no_restart();
}

}  // namespace
}  // namespace connector::testing

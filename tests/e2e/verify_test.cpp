// End to end: sync.verify_notifications through the real binary, against both sandboxes over
// real TLS. A notification is a hint, Salesforce is the truth: forged outbound messages
// (anyone who knows the organization id can send one) change nothing in the iSpring sandbox
// and are noted in the user's history, a genuine change still arrives, a burst is verified
// in a handful of queries, and a partial change event is completed by a read.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <ctime>

#include "connector/app/status_report.hpp"
#include "support/eventually.hpp"
#include "support/ispring_sandbox_server.hpp"
#include "support/outbound_builder.hpp"
#include "support/salesforce_sandbox_server.hpp"
#include "support/sandbox_config.hpp"
#include "support/service.hpp"
#include "support/service_status.hpp"
#include "support/signed_events.hpp"

namespace connector::testing {
namespace {

using nlohmann::json;

const std::string outbound_path = "/salesforce/outbound";

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// An xsd:dateTime as outbound messages carry it.
std::string iso(std::int64_t ms) {
  return app::format_utc(ms);
}

class verify_e2e : public ::testing::Test {
 protected:
  verify_e2e() : salesforce_(jwt_salesforce_sandbox_options()) {}

  json config(const json& overrides) const {
    json c = {{"server", {{"events_signing_secrets", {test_events_secret}}}},
              {"ispring", ispring_sandbox_config(ispring_)},
              {"salesforce", salesforce_sandbox_config(salesforce_)},
              {"mapping",
               {{"groups", "iSpring_Groups__c"},
                {"fields", {{"first_name", "FirstName"}, {"job_title", "Title"}}}}},
              {"sync", {{"retry_base_ms", 20}, {"retry_max_ms", 200}, {"max_attempts", 50}}}};
    c.merge_patch(overrides);
    return c;
  }

  void start(const json& overrides = json::object()) {
    service_ = std::make_unique<running_service>(dir_.path(), config(overrides));
    public_ = std::make_unique<https_client>(service_->public_client());
  }

  void post(const std::vector<user_notification>& users) {
    const auto reply = public_->post_xml(outbound_path, build_user_message(test_org_id, users));
    ASSERT_EQ(reply.status, 200) << reply.body;
  }

  std::optional<sandbox_user> ispring_user(std::uint64_t n) {
    return ispring_.sandbox().find_user_by_login("user" + std::to_string(n) + "@acme.example.prod");
  }
  json status() { return status_of(*service_); }
  bool drained() { return connector::testing::drained(*service_); }
  // Requests that change something in iSpring.
  int ispring_writes() {
    int writes = 0;
    for (const auto& entry : ispring_.sandbox().request_log())
      if (entry.method != "GET" && entry.endpoint.find("token") == std::string::npos) ++writes;
    return writes;
  }
  // Queries by record id: the worker's reads (the reconciliation reads without ids).
  int reads_by_id() {
    int reads = 0;
    for (const auto& e : salesforce_.sandbox().request_log())
      if (e.soql.find(" Id IN (") != std::string::npos) ++reads;
    return reads;
  }
  // The user's history as `connector explain` tells it, newest first.
  std::vector<json> timeline(const std::string& record_id) {
    const auto run = run_connector({"explain", "--json", "--offline", "--config",
                                    service_->config_path().string(), record_id});
    EXPECT_EQ(run.exit_code, 0) << run.out << run.err;
    if (run.exit_code != 0) return {};
    const auto answer = json::parse(run.out);
    return {answer["timeline"].begin(), answer["timeline"].end()};
  }
  // The text of the newest event of that kind ("" when none).
  std::string newest_text(const std::string& record_id, const std::string& kind) {
    for (const auto& e : timeline(record_id))
      if (e["kind"] == kind) return e["text"];
    return {};
  }
  std::size_t count_of(const std::string& record_id, const std::string& kind) {
    const auto events = timeline(record_id);
    return static_cast<std::size_t>(std::count_if(
        events.begin(), events.end(), [&](const json& e) { return e["kind"] == kind; }));
  }

  temp_dir dir_;
  ispring_sandbox_server ispring_;
  salesforce_sandbox_server salesforce_;
  std::unique_ptr<running_service> service_;
  std::unique_ptr<https_client> public_;
};

TEST_F(verify_e2e, ForgedNotificationsChangeNothingInIspringAndAGenuineChangeStillArrives) {
  const auto genuine = sample_user(1, 1, iso(now_ms()));
  salesforce_.sandbox().add_user(salesforce_user_of(genuine));
  start();
  post({genuine});
  ASSERT_TRUE(eventually([&] { return ispring_user(1) && drained(); }))
      << service_->process().stderr_text();
  const auto before = *ispring_user(1);
  ASSERT_EQ(before.email(), "user1@acme.example");
  ASSERT_EQ(before.status, 1);
  const int writes = ispring_writes();

  // Each forgery carries a near-future stamp, 4 minutes ahead (intake refuses more than 5):
  // were it kept, the genuine change below (stamped by Salesforce now) would be ignored as
  // stale.
  const std::string future = iso(now_ms() + 240'000);
  struct forgery {
    std::string field, value;
  };
  std::uint64_t notification = 10;
  for (const auto& [field, value] : std::vector<forgery>{{"Email", "attacker@evil.example"},
                                                         {"LastName", "Mallory"},
                                                         {"FirstName", "Eve"},
                                                         {"IsActive", "false"}}) {
    auto forged = sample_user(1, ++notification, future);
    forged.fields[field] = value;
    const auto reads = count_of(genuine.user_id, "read");
    post({forged});
    ASSERT_TRUE(eventually([&] { return drained(); })) << field;
    const auto now = ispring_user(1);
    ASSERT_TRUE(now) << field;
    EXPECT_EQ(now->email(), before.email()) << field;
    EXPECT_EQ(now->fields, before.fields) << field;
    EXPECT_EQ(now->status, 1) << field << ": Salesforce says active";
    EXPECT_EQ(ispring_writes(), writes) << field << ": nothing written to iSpring";
    // Noted in plain words: read from Salesforce, the forged field not used.
    EXPECT_EQ(count_of(genuine.user_id, "read"), reads + 1) << field;
    const auto read = newest_text(genuine.user_id, "read");
    EXPECT_NE(read.find("verified with Salesforce"), std::string::npos) << read;
    EXPECT_NE(read.find(field), std::string::npos) << read;
    EXPECT_NE(read.find("differed from Salesforce and were not used"), std::string::npos) << read;
  }

  // A user Salesforce does not have: nobody created, and the history says why.
  const auto unknown = sample_user(77, 30, future);
  post({unknown});
  ASSERT_TRUE(eventually([&] { return drained(); }));
  EXPECT_FALSE(ispring_user(77));
  EXPECT_EQ(ispring_writes(), writes);
  const auto unknown_read = newest_text(unknown.user_id, "read");
  EXPECT_NE(unknown_read.find("Salesforce does not return the user"), std::string::npos)
      << unknown_read;
  EXPECT_NE(newest_text(unknown.user_id, "skipped").find("nothing changed in iSpring"),
            std::string::npos);

  // The genuine change: Salesforce changed, then said so (its stamp below the forged ones).
  salesforce_.sandbox().update_user(genuine.user_id, {{"Title", "Staff Engineer"}});
  auto change = sample_user(1, 40, iso(now_ms()));
  change.fields["Title"] = "Staff Engineer";
  post({change});
  ASSERT_TRUE(eventually([&] {
    const auto u = ispring_user(1);
    return u && u->fields.at("job_title") == "Staff Engineer";
  })) << service_->process().stderr_text();
  EXPECT_EQ(ispring_user(1)->email(), "user1@acme.example");
  EXPECT_NE(newest_text(genuine.user_id, "read").find("Salesforce confirms the notification"),
            std::string::npos);
}

TEST_F(verify_e2e, ABurstOfNotificationsIsVerifiedInAHandfulOfQueries) {
  constexpr std::uint64_t users = 500;
  std::vector<json> records;
  for (std::uint64_t n = 1; n <= users; ++n)
    records.push_back(salesforce_user_of(sample_user(n, n)));
  salesforce_.sandbox().add_users(records);
  start();
  // As Salesforce sends a burst: messages of up to 100 notifications, one after the other.
  for (std::uint64_t from = 1; from <= users; from += 100) {
    std::vector<user_notification> message;
    for (std::uint64_t n = from; n < from + 100; ++n) message.push_back(sample_user(n, n));
    post(message);
  }
  ASSERT_TRUE(eventually([&] { return ispring_.sandbox().users().size() == users && drained(); }))
      << service_->process().stderr_text();
  const int reads = reads_by_id();
  std::printf("[ burst    ] %llu notifications verified in %d queries\n",
              static_cast<unsigned long long>(users), reads);
  EXPECT_GE(reads, 2) << "at most 300 ids a query";
  EXPECT_LE(reads, 8) << "a few queries, not one per notification";
  const auto status = json::parse(
      run_connector({"status", "--json", "--config", service_->config_path().string()}).out);
  EXPECT_EQ(status["dead_letters"], 0);
}

TEST_F(verify_e2e, APartialChangeEventForAUserFirstSeenIsCompletedByARead) {
  // Verification off: the notification's fields would be applied, but an UPDATE change
  // event holds only what changed, so the user is read first and applied whole.
  auto kim = sample_user(5, 1);
  const auto id = salesforce_.sandbox().add_user(salesforce_user_of(kim));
  salesforce_.sandbox().update_user(id, {{"Title", "Staff Engineer"}});
  start({{"sync", {{"verify_notifications", false}}}});
  const auto reply =
      post_signed_event(*public_, title_change_event(id, "Staff Engineer", now_ms()), "msg_1");
  ASSERT_EQ(reply.status, 200) << reply.body;
  ASSERT_TRUE(eventually([&] { return ispring_user(5) && drained(); }))
      << service_->process().stderr_text();
  const auto user = *ispring_user(5);
  EXPECT_EQ(user.fields.at("job_title"), "Staff Engineer");
  EXPECT_EQ(user.email(), "user5@acme.example");
  EXPECT_EQ(user.fields.at("last_name"), "Last5");
  EXPECT_EQ(reads_by_id(), 1);
  const auto read = newest_text(id, "read");
  EXPECT_NE(read.find("to complete the notification, which lacked"), std::string::npos) << read;
  EXPECT_NE(read.find("Department"), std::string::npos) << read;

  // Verification off and the stored state complete: a notification is applied as it came,
  // without a read (today's behaviour).
  auto rename = sample_user(5, 2, iso(now_ms() + 1000));
  rename.fields["Title"] = "Principal";
  post({rename});
  ASSERT_TRUE(eventually([&] {
    const auto u = ispring_user(5);
    return u && u->fields.at("job_title") == "Principal" && drained();
  }));
  EXPECT_EQ(reads_by_id(), 1);
}

TEST_F(verify_e2e, VerificationAskedForWithoutRestCredentialsStopsStartUpNamingTheKey) {
  auto c = test_config(dir_.path(), config({{"sync", {{"verify_notifications", true}}}}));
  c["salesforce"] = {{"organization_ids", {test_org_id}}};  // no REST credentials
  const auto path = dir_.path() / "no-rest.json";
  write_text(path, c.dump(2));
  // (`status` loads the configuration like `serve` does, and would not stay up if it passed.)
  for (const char* command : {"check", "status"}) {
    const auto refused = run_connector({command, "--config", path.string()});
    EXPECT_NE(refused.exit_code, 0) << command;
    EXPECT_NE(refused.err.find("sync.verify_notifications"), std::string::npos)
        << command << ": " << refused.out << refused.err;
  }
}

}  // namespace
}  // namespace connector::testing

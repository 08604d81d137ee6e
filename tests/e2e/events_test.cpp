// End to end: signed JSON change events into the real binary over TLS. A signed event is
// stored and answered only after the commit; a replayed, stale, unsigned, tampered or
// malformed one is refused and stores nothing.
#include <gtest/gtest.h>

#include "connector/store/open.hpp"
#include "support/service.hpp"
#include "support/signed_events.hpp"
#include "support/store_engines.hpp"

namespace connector::testing {
namespace {

using nlohmann::json;

class events_e2e : public ::testing::Test {
 protected:
  events_e2e()
      : service_(dir_.path(), {{"server", {{"events_signing_secrets", {test_events_secret}}}}}),
        client_(service_.public_client()) {}

  http_reply post(const std::string& body, const std::string& id, std::int64_t timestamp,
                  const std::string& key = test_events_secret,
                  const std::string& signed_body = {}) {
    return post_signed_event(client_, body, id, timestamp, key, signed_body);
  }

  json status() {
    return json::parse(
        run_connector({"status", "--json", "--config", service_.config_path().string()}).out);
  }

  temp_dir dir_;
  running_service service_;
  https_client client_;
};

TEST_F(events_e2e, ASignedEventIsStoredOnceAndRefusalsStoreNothing) {
  const std::string record = "005000000000002AAA";
  const auto body = title_change_event(record, "Lead Engineer", 1'764'000'000'000);

  // Refused: unsigned, tampered, stale, signed with another key, wrong content type.
  auto unsigned_reply =
      client_.request("POST", events_path, body, {{"Content-Type", "application/json"}});
  EXPECT_EQ(unsigned_reply.status, 401) << unsigned_reply.body;
  EXPECT_EQ(post(title_change_event(record, "Hacker", 1'764'000'000'001), "msg_1", now_seconds(),
                 test_events_secret, body)
                .status,
            401);
  EXPECT_EQ(post(body, "msg_2", now_seconds() - 301).status, 401);
  EXPECT_EQ(post(body, "msg_3", now_seconds(), "whsec_" + std::string(32, 'A')).status, 401);
  EXPECT_EQ(client_
                .request("POST", events_path, body,
                         {{"Content-Type", "text/plain"}, {"webhook-id", "msg_4"}})
                .status,
            415);
  EXPECT_EQ(post("{\"a\":1,\"a\":2}", "msg_5", now_seconds()).status, 400);
  EXPECT_EQ(status()["notifications_received"], 0);
  EXPECT_EQ(status()["pending"], 0);

  // Stored, answered after the commit.
  const auto stored = post(body, "msg_ok", now_seconds());
  ASSERT_EQ(stored.status, 200) << stored.body;
  EXPECT_EQ(json::parse(stored.body)["stored"], 1);
  EXPECT_EQ(status()["pending"], 1);

  // The same webhook-id again: answered, not stored twice.
  const auto again = post(body, "msg_ok", now_seconds());
  ASSERT_EQ(again.status, 200) << again.body;
  EXPECT_EQ(json::parse(again.body)["status"], "duplicate");
  const auto s = status();
  EXPECT_EQ(s["pending"], 1);
  EXPECT_EQ(s["notifications_received"], 2);  // the event and its webhook-id
}

// A platform event (`…__e`) is refused until salesforce.platform_events maps it; mapped,
// it is stored under the record it names with the configured fields only.
class platform_events_e2e : public events_e2e {};

std::string employee_changed(const std::string& event_name, const std::string& record_id) {
  return json{{"channel", "/event/" + event_name},
              {"data",
               {{"event", {{"replayId", 11}, {"EventUuid", "0b6b0d6e-1c4e-4c4e-9e5e-7d3b2f1a"}}},
                {"payload",
                 {{"CreatedDate", "2026-11-29T09:00:00.000Z"},
                  {"CreatedById", "005000000000001AAA"},
                  {"User_Id__c", record_id},
                  {"Work_Email__c", "ada@example.com"},
                  {"Job__c", "Chief Engineer"},
                  {"Salary__c", 100000}}}}}}
      .dump();
}

TEST_F(events_e2e, APlatformEventIsRefusedWhenNoneIsConfigured) {
  const auto reply =
      post(employee_changed("Employee_Changed__e", "005000000000002AAA"), "pe_1", now_seconds());
  EXPECT_EQ(reply.status, 400) << reply.body;
  EXPECT_NE(reply.body.find("no record id field is configured"), std::string::npos) << reply.body;
  EXPECT_EQ(status()["notifications_received"], 0);
}

TEST(platform_events_config_e2e, AMappedPlatformEventIsStoredWithTheMappedFieldsOnly) {
  temp_dir dir;
  running_service service(dir.path(),
                          {{"server", {{"events_signing_secrets", {test_events_secret}}}},
                           {"salesforce",
                            {{"platform_events",
                              {{"names", {"Employee_Changed__e"}},
                               {"record_id_field", "User_Id__c"},
                               {"fields", {{"Work_Email__c", "Email"}, {"Job__c", "Title"}}}}}}}});
  auto client = service.public_client();

  // Another event name than the configured one: refused, nothing stored.
  const auto other = post_signed_event(
      client, employee_changed("Payroll_Changed__e", "005000000000002AAA"), "pe_0");
  EXPECT_EQ(other.status, 400) << other.body;
  EXPECT_NE(other.body.find("not one of the configured events"), std::string::npos) << other.body;

  const auto reply =
      post_signed_event(client, employee_changed("Employee_Changed__e", "005000000000002"), "pe_1");
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(json::parse(reply.body)["stored"], 1);

  const auto records = testing::sqlite_reader_of(service.db_path().string())
                           ->list_records(store::record_state::pending, 10);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].record_id, "005000000000002AAA") << "the 15-character id, widened";
  EXPECT_EQ(json::parse(records[0].fields_json),
            (json{{"Email", "ada@example.com"}, {"Title", "Chief Engineer"}}))
      << "Salary__c is not mapped, so it never reaches the store";
}

}  // namespace
}  // namespace connector::testing

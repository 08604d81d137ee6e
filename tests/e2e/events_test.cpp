// End to end: signed JSON change events into the real binary over TLS. A signed event is
// stored and answered only after the commit; a replayed, stale, unsigned, tampered or
// malformed one is refused and stores nothing.
#include <gtest/gtest.h>

#include <chrono>

#include "connector/salesforce/webhook_signature.hpp"
#include "support/service.hpp"

namespace connector::testing {
namespace {

using nlohmann::json;

const std::string secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const std::string events_path = "/salesforce/events";

std::string user_update(const std::string& record_id, const std::string& title,
                        std::int64_t commit_ms) {
  return json{{"channel", "/data/UserChangeEvent"},
              {"data",
               {{"event", {{"replayId", commit_ms}}},
                {"payload",
                 {{"ChangeEventHeader",
                   {{"entityName", "User"},
                    {"recordIds", {record_id}},
                    {"changeType", "UPDATE"},
                    {"changedFields", {"Title"}},
                    {"transactionKey", "tx-" + std::to_string(commit_ms)},
                    {"sequenceNumber", 1},
                    {"commitTimestamp", commit_ms},
                    {"commitUser", "005000000000001AAA"}}},
                  {"Title", title}}}}}}
      .dump();
}

std::int64_t now_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

class events_e2e : public ::testing::Test {
 protected:
  events_e2e()
      : service_(dir_.path(), {{"server", {{"events_signing_secrets", {secret}}}}}),
        client_(service_.public_client()) {}

  http_reply post(const std::string& body, const std::string& id, std::int64_t timestamp,
                  const std::string& key = secret, const std::string& signed_body = {}) {
    const auto k = *salesforce::parse_webhook_key(key);
    const auto headers = salesforce::sign_webhook_headers(std::span(&k, 1), id, timestamp,
                                                          signed_body.empty() ? body : signed_body);
    return client_.request("POST", events_path, body,
                           {{"Content-Type", "application/json"},
                            {"webhook-id", headers.id},
                            {"webhook-timestamp", headers.timestamp},
                            {"webhook-signature", headers.signature}});
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
  const auto body = user_update(record, "Lead Engineer", 1'764'000'000'000);

  // Refused: unsigned, tampered, stale, signed with another key, wrong content type.
  auto unsigned_reply =
      client_.request("POST", events_path, body, {{"Content-Type", "application/json"}});
  EXPECT_EQ(unsigned_reply.status, 401) << unsigned_reply.body;
  EXPECT_EQ(
      post(user_update(record, "Hacker", 1'764'000'000'001), "msg_1", now_seconds(), secret, body)
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

}  // namespace
}  // namespace connector::testing

#include "support/signed_events.hpp"

#include <chrono>
#include <span>
#include <stdexcept>

#include "connector/salesforce/webhook_signature.hpp"

namespace connector::testing {

std::int64_t now_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

nlohmann::json user_change_header(const std::string& record_id, const std::string& change_type,
                                  const std::string& transaction_key, std::int64_t commit_ms) {
  return {{"entityName", "User"},
          {"recordIds", {record_id}},
          {"changeType", change_type},
          {"transactionKey", transaction_key},
          {"sequenceNumber", 1},
          {"commitTimestamp", commit_ms},
          {"commitUser", "005000000000001AAA"}};
}

std::string title_change_event(const std::string& record_id, const std::string& title,
                               std::int64_t commit_ms) {
  auto header =
      user_change_header(record_id, "UPDATE", "tx-" + std::to_string(commit_ms), commit_ms);
  header["changedFields"] = {"Title"};
  return nlohmann::json{{"channel", "/data/UserChangeEvent"},
                        {"data",
                         {{"event", {{"replayId", commit_ms}}},
                          {"payload", {{"ChangeEventHeader", header}, {"Title", title}}}}}}
      .dump();
}

http_reply post_signed_event(https_client& client, const std::string& body,
                             const std::string& webhook_id, std::int64_t timestamp,
                             const std::string& key, const std::string& signed_body) {
  const auto parsed_key = salesforce::parse_webhook_key(key);
  if (!parsed_key) throw std::invalid_argument("not a webhook signing key: " + parsed_key.error());
  const auto headers = salesforce::sign_webhook_headers(
      std::span(&*parsed_key, 1), webhook_id, timestamp, signed_body.empty() ? body : signed_body);
  return client.request("POST", events_path, body,
                        {{"Content-Type", "application/json"},
                         {"webhook-id", headers.id},
                         {"webhook-timestamp", headers.timestamp},
                         {"webhook-signature", headers.signature}});
}

}  // namespace connector::testing

#pragma once
// Salesforce change events for the JSON intake (POST /salesforce/events), in the shape the
// webhook relay sends them and signed with the webhook-* headers it adds, for end-to-end
// tests against the real binary.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "support/https_client.hpp"

namespace connector::testing {

inline constexpr const char* events_path = "/salesforce/events";
// The signing secret test services are configured with (server.events_signing_secrets).
inline constexpr const char* test_events_secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

// Seconds since the epoch by the wall clock: the service checks webhook-timestamp against
// its own wall clock, so a signed event has to carry this time.
std::int64_t now_seconds();

// The ChangeEventHeader of one User change by the integration user, sequence number 1.
nlohmann::json user_change_header(const std::string& record_id, const std::string& change_type,
                                  const std::string& transaction_key, std::int64_t commit_ms);

// A UserChangeEvent that sets the Title of `record_id`, wrapped as the relay delivers it
// (channel, replayId = commit_ms).
std::string title_change_event(const std::string& record_id, const std::string& title,
                               std::int64_t commit_ms);

// POSTs `body` as JSON to /salesforce/events, signed with `key` for `webhook_id` and
// `timestamp`. A non-empty `signed_body` is what the signature covers instead of `body`
// (a tampered request).
http_reply post_signed_event(https_client& client, const std::string& body,
                             const std::string& webhook_id, std::int64_t timestamp,
                             const std::string& key = test_events_secret,
                             const std::string& signed_body = {});
inline http_reply post_signed_event(https_client& client, const std::string& body,
                                    const std::string& webhook_id) {
  return post_signed_event(client, body, webhook_id, now_seconds());
}

}  // namespace connector::testing

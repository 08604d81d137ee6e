#pragma once
// Standard Webhooks signatures (reference peers.md §4): HMAC-SHA256 over
// "{webhook-id}.{webhook-timestamp}.{body}", sent as `webhook-signature: v1,<base64> …`
// (several values while a secret rotates). Pure: the clock is a parameter.
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "connector/expected.hpp"

namespace connector::salesforce {

// Svix and the Standard Webhooks libraries accept five minutes each way.
inline constexpr std::int64_t webhook_tolerance_seconds = 300;

// A signing key, decoded. The bytes are a secret: never log them.
struct webhook_key {
  std::string bytes;
};

// "whsec_" + base64 (the spec's form). Without the prefix the text is base64-decoded like
// the reference libraries do, and used as raw bytes when it is not base64. Fails only for a
// "whsec_" secret whose rest is not base64, or an empty key; the message never quotes it.
expected<webhook_key, std::string> parse_webhook_key(std::string_view configured);

// The three headers as received; an empty value counts as missing.
struct webhook_headers {
  std::string_view id;         // webhook-id: also the idempotency key
  std::string_view timestamp;  // webhook-timestamp: Unix seconds
  std::string_view signature;  // webhook-signature: "v1,<base64>" values, space-separated
};

enum class webhook_errc {
  no_key,  // nothing configured to verify with
  missing_id,
  missing_timestamp,
  missing_signature,
  bad_timestamp,  // not a plain number of seconds
  stale,          // older than the tolerance
  future,         // newer than the tolerance
  no_valid_signature,
};

struct webhook_error {
  webhook_errc code;
  std::string message;  // safe to log and to answer with: no secret, no expected signature
};

struct verified_webhook {
  std::string id;
  std::int64_t timestamp = 0;
};

// Checks the headers against every key (rotation); any one matching v1 signature suffices.
// Comparison is constant-time. Unknown versions ("v1a,…") are skipped.
expected<verified_webhook, webhook_error> verify_webhook(
    const webhook_headers& headers, std::string_view body, std::span<const webhook_key> keys,
    std::int64_t now_seconds, std::int64_t tolerance_seconds = webhook_tolerance_seconds);

// "v1,<base64>" for one key.
std::string sign_webhook(const webhook_key& key, std::string_view id, std::int64_t timestamp,
                         std::string_view body);

// The header values a sender attaches (for tests and the sandbox); one signature per key.
struct signed_webhook_headers {
  std::string id;
  std::string timestamp;
  std::string signature;
};
signed_webhook_headers sign_webhook_headers(std::span<const webhook_key> keys, std::string id,
                                            std::int64_t timestamp, std::string_view body);

const char* to_string(webhook_errc code);

}  // namespace connector::salesforce

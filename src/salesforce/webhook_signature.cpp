#include "connector/salesforce/webhook_signature.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "connector/text/base64.hpp"

namespace connector::salesforce {
namespace {

constexpr std::string_view secret_prefix = "whsec_";
constexpr std::size_t digest_size = 32;     // SHA-256
constexpr std::size_t max_signatures = 16;  // more is not rotation but a search
constexpr std::size_t max_id_bytes = 255;

using digest = std::array<unsigned char, digest_size>;

digest hmac(const webhook_key& key, std::string_view id, std::string_view timestamp,
            std::string_view body) {
  std::string content;
  content.reserve(id.size() + timestamp.size() + body.size() + 2);
  content.append(id).append(1, '.').append(timestamp).append(1, '.').append(body);
  digest out{};
  unsigned int size = 0;
  HMAC(EVP_sha256(), key.bytes.data(), static_cast<int>(key.bytes.size()),
       reinterpret_cast<const unsigned char*>(content.data()), content.size(), out.data(), &size);
  return out;
}

unexpected<webhook_error> fail(webhook_errc code, std::string message) {
  return unexpected{webhook_error{code, std::move(message)}};
}

// Seconds as the spec writes them: decimal digits only, no sign, no fraction.
std::optional<std::int64_t> parse_seconds(std::string_view text) {
  if (text.empty() || text.size() > 12) return std::nullopt;
  std::int64_t value = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + (c - '0');
  }
  return value;
}

}  // namespace

expected<webhook_key, std::string> parse_webhook_key(std::string_view configured) {
  const bool prefixed = configured.starts_with(secret_prefix);
  if (prefixed) configured.remove_prefix(secret_prefix.size());
  auto decoded = text::base64_decode(configured);
  if (!decoded) {
    if (prefixed) return unexpected{std::string("the secret after \"whsec_\" is not base64")};
    decoded = std::string(configured);
  }
  if (decoded->empty()) return unexpected{std::string("the secret is empty")};
  return webhook_key{std::move(*decoded)};
}

expected<verified_webhook, webhook_error> verify_webhook(const webhook_headers& headers,
                                                         std::string_view body,
                                                         std::span<const webhook_key> keys,
                                                         std::int64_t now_seconds,
                                                         std::int64_t tolerance_seconds) {
  if (keys.empty()) return fail(webhook_errc::no_key, "no signing secret is configured");
  if (headers.id.empty()) return fail(webhook_errc::missing_id, "webhook-id header missing");
  if (headers.id.size() > max_id_bytes) {
    return fail(webhook_errc::missing_id, "webhook-id header longer than 255 bytes");
  }
  if (headers.timestamp.empty()) {
    return fail(webhook_errc::missing_timestamp, "webhook-timestamp header missing");
  }
  if (headers.signature.empty()) {
    return fail(webhook_errc::missing_signature, "webhook-signature header missing");
  }
  const auto timestamp = parse_seconds(headers.timestamp);
  if (!timestamp) {
    return fail(webhook_errc::bad_timestamp,
                "webhook-timestamp is not a whole number of Unix seconds");
  }
  if (*timestamp < now_seconds - tolerance_seconds) {
    return fail(webhook_errc::stale,
                "webhook-timestamp is " + std::to_string(now_seconds - *timestamp) +
                    " s old; at most " + std::to_string(tolerance_seconds) + " s are accepted");
  }
  if (*timestamp > now_seconds + tolerance_seconds) {
    return fail(webhook_errc::future, "webhook-timestamp is " +
                                          std::to_string(*timestamp - now_seconds) +
                                          " s in the future; at most " +
                                          std::to_string(tolerance_seconds) + " s are accepted");
  }

  std::vector<digest> candidates;
  std::string_view rest = headers.signature;
  while (!rest.empty() && candidates.size() < max_signatures) {
    const auto space = rest.find(' ');
    const std::string_view token = rest.substr(0, space);
    rest = space == std::string_view::npos ? std::string_view{} : rest.substr(space + 1);
    if (!token.starts_with("v1,")) continue;  // another scheme, or an empty token
    const auto bytes = text::base64_decode(token.substr(3));
    if (!bytes || bytes->size() != digest_size) continue;
    digest value{};
    std::copy(bytes->begin(), bytes->end(), value.begin());
    candidates.push_back(value);
  }

  bool matched = false;
  for (const auto& key : keys) {
    const digest expected_mac = hmac(key, headers.id, headers.timestamp, body);
    for (const auto& candidate : candidates) {
      // Every pair is compared, so the time taken says nothing about which one matched.
      matched |= CRYPTO_memcmp(expected_mac.data(), candidate.data(), digest_size) == 0;
    }
  }
  if (!matched) {
    return fail(webhook_errc::no_valid_signature,
                candidates.empty() ? "webhook-signature holds no v1 signature"
                                   : "no webhook-signature value matches a configured secret");
  }
  return verified_webhook{std::string(headers.id), *timestamp};
}

std::string sign_webhook(const webhook_key& key, std::string_view id, std::int64_t timestamp,
                         std::string_view body) {
  const digest mac = hmac(key, id, std::to_string(timestamp), body);
  return "v1," + text::base64_encode(
                     std::string_view(reinterpret_cast<const char*>(mac.data()), mac.size()));
}

signed_webhook_headers sign_webhook_headers(std::span<const webhook_key> keys, std::string id,
                                            std::int64_t timestamp, std::string_view body) {
  signed_webhook_headers out{std::move(id), std::to_string(timestamp), {}};
  for (const auto& key : keys) {
    if (!out.signature.empty()) out.signature += ' ';
    out.signature += sign_webhook(key, out.id, timestamp, body);
  }
  return out;
}

const char* to_string(webhook_errc code) {
  switch (code) {
    case webhook_errc::no_key:
      return "no_key";
    case webhook_errc::missing_id:
      return "missing_id";
    case webhook_errc::missing_timestamp:
      return "missing_timestamp";
    case webhook_errc::missing_signature:
      return "missing_signature";
    case webhook_errc::bad_timestamp:
      return "bad_timestamp";
    case webhook_errc::stale:
      return "stale";
    case webhook_errc::future:
      return "future";
    case webhook_errc::no_valid_signature:
      return "no_valid_signature";
  }
  return "?";
}

}  // namespace connector::salesforce

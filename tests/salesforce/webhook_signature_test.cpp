// Specification of Standard Webhooks verification (peers.md §4): the published test vector,
// key rotation, the five-minute window, tampering, missing headers, and secrecy of messages.
#include "connector/salesforce/webhook_signature.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace connector::salesforce {
namespace {

// The Standard Webhooks / Svix reference libraries' test vector.
constexpr const char* vector_secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
constexpr const char* vector_id = "msg_p5jXN8AQM9LWM0D4loKWxJek";
constexpr std::int64_t vector_timestamp = 1614265330;
constexpr const char* vector_body = R"({"test": 2432232314})";
constexpr const char* vector_signature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

webhook_key key(const char* configured) {
  auto parsed = parse_webhook_key(configured);
  EXPECT_TRUE(parsed) << (parsed ? "" : parsed.error());
  return parsed ? *parsed : webhook_key{"x"};
}

webhook_headers headers_of(const signed_webhook_headers& signed_headers) {
  return {signed_headers.id, signed_headers.timestamp, signed_headers.signature};
}

TEST(WebhookSignature, PublishedTestVector) {
  const std::vector<webhook_key> keys = {key(vector_secret)};
  EXPECT_EQ(sign_webhook(keys[0], vector_id, vector_timestamp, vector_body), vector_signature);
  const auto result = verify_webhook({vector_id, "1614265330", vector_signature}, vector_body, keys,
                                     vector_timestamp);
  ASSERT_TRUE(result) << result.error().message;
  EXPECT_EQ(result->id, vector_id);
  EXPECT_EQ(result->timestamp, vector_timestamp);
}

TEST(WebhookSignature, SecretWithoutPrefixIsBase64LikeTheReferenceLibraries) {
  const std::vector<webhook_key> keys = {key("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")};
  EXPECT_TRUE(verify_webhook({vector_id, "1614265330", vector_signature}, vector_body, keys,
                             vector_timestamp));
  // Not base64: the raw bytes are the key, and sign/verify agree on it.
  const std::vector<webhook_key> raw = {key("plain text secret!")};
  EXPECT_EQ(raw[0].bytes, "plain text secret!");
  const auto signed_headers = sign_webhook_headers(raw, "msg_1", 1000, "{}");
  EXPECT_TRUE(verify_webhook(headers_of(signed_headers), "{}", raw, 1000));
}

TEST(WebhookSignature, BadSecretsRefusedWithoutQuotingThem) {
  const auto bad = parse_webhook_key("whsec_not*base64");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().find("not*base64"), std::string::npos);
  EXPECT_FALSE(parse_webhook_key("whsec_"));
  EXPECT_FALSE(parse_webhook_key(""));
}

TEST(WebhookSignature, RotationAcceptsAnyConfiguredKeyAndAnySentSignature) {
  const std::vector<webhook_key> old_key = {key("whsec_b2xkIHNlY3JldCBvbGQgc2VjcmV0")};
  const std::vector<webhook_key> new_key = {key(vector_secret)};
  const std::vector<webhook_key> both = {old_key[0], new_key[0]};
  // Sender signs with both while rotating; receiver knows either.
  const auto signed_both = sign_webhook_headers(both, "msg_1", 1000, "{}");
  EXPECT_NE(signed_both.signature.find(' '), std::string::npos);
  EXPECT_TRUE(verify_webhook(headers_of(signed_both), "{}", old_key, 1000));
  EXPECT_TRUE(verify_webhook(headers_of(signed_both), "{}", new_key, 1000));
  // Sender signs with the new one only; receiver knows both.
  const auto signed_new = sign_webhook_headers(new_key, "msg_1", 1000, "{}");
  EXPECT_TRUE(verify_webhook(headers_of(signed_new), "{}", both, 1000));
  EXPECT_FALSE(verify_webhook(headers_of(signed_new), "{}", old_key, 1000));
  // Other schemes and junk beside a valid v1 are skipped.
  auto mixed = signed_new;
  mixed.signature = "v1a,AAAA v1,bm9wZQ== garbage " + signed_new.signature;
  EXPECT_TRUE(verify_webhook(headers_of(mixed), "{}", new_key, 1000));
}

TEST(WebhookSignature, ToleranceIsFiveMinutesEachWay) {
  const std::vector<webhook_key> keys = {key(vector_secret)};
  const auto signed_headers = sign_webhook_headers(keys, "msg_1", 10000, "{}");
  const auto h = headers_of(signed_headers);
  EXPECT_TRUE(verify_webhook(h, "{}", keys, 10000 + 300));
  EXPECT_TRUE(verify_webhook(h, "{}", keys, 10000 - 300));
  const auto stale = verify_webhook(h, "{}", keys, 10000 + 301);
  ASSERT_FALSE(stale);
  EXPECT_EQ(stale.error().code, webhook_errc::stale);
  const auto future = verify_webhook(h, "{}", keys, 10000 - 301);
  ASSERT_FALSE(future);
  EXPECT_EQ(future.error().code, webhook_errc::future);
  EXPECT_TRUE(verify_webhook(h, "{}", keys, 10000 + 600, 600));
}

TEST(WebhookSignature, TamperedBodyIdOrTimestampRefused) {
  const std::vector<webhook_key> keys = {key(vector_secret)};
  const auto signed_headers = sign_webhook_headers(keys, "msg_1", 1000, R"({"a":1})");
  auto h = headers_of(signed_headers);
  EXPECT_TRUE(verify_webhook(h, R"({"a":1})", keys, 1000));
  EXPECT_EQ(verify_webhook(h, R"({"a":2})", keys, 1000).error().code,
            webhook_errc::no_valid_signature);
  h.id = "msg_2";
  EXPECT_EQ(verify_webhook(h, R"({"a":1})", keys, 1000).error().code,
            webhook_errc::no_valid_signature);
  h = headers_of(signed_headers);
  h.timestamp = "1001";
  EXPECT_EQ(verify_webhook(h, R"({"a":1})", keys, 1000).error().code,
            webhook_errc::no_valid_signature);
  const std::vector<webhook_key> other = {key("whsec_b3RoZXIgc2VjcmV0")};
  EXPECT_EQ(verify_webhook(headers_of(signed_headers), R"({"a":1})", other, 1000).error().code,
            webhook_errc::no_valid_signature);
}

TEST(WebhookSignature, MissingOrMalformedHeadersRefused) {
  const std::vector<webhook_key> keys = {key(vector_secret)};
  const auto s = sign_webhook_headers(keys, "msg_1", 1000, "{}");
  EXPECT_EQ(verify_webhook({"", s.timestamp, s.signature}, "{}", keys, 1000).error().code,
            webhook_errc::missing_id);
  EXPECT_EQ(verify_webhook({s.id, "", s.signature}, "{}", keys, 1000).error().code,
            webhook_errc::missing_timestamp);
  EXPECT_EQ(verify_webhook({s.id, s.timestamp, ""}, "{}", keys, 1000).error().code,
            webhook_errc::missing_signature);
  for (const char* bad : {"-1000", "1000.5", "1e3", " 1000", "99999999999999999999"}) {
    EXPECT_EQ(verify_webhook({s.id, bad, s.signature}, "{}", keys, 1000).error().code,
              webhook_errc::bad_timestamp)
        << bad;
  }
  EXPECT_EQ(verify_webhook({s.id, s.timestamp, "v2,abc"}, "{}", keys, 1000).error().code,
            webhook_errc::no_valid_signature);
  EXPECT_EQ(verify_webhook(headers_of(s), "{}", {}, 1000).error().code, webhook_errc::no_key);
}

TEST(WebhookSignature, MessagesNeverRevealSecretOrExpectedSignature) {
  const std::vector<webhook_key> keys = {key(vector_secret)};
  const auto result =
      verify_webhook({vector_id, "1614265330", "v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="},
                     vector_body, keys, vector_timestamp);
  ASSERT_FALSE(result);
  const std::string& message = result.error().message;
  EXPECT_EQ(message.find("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"), std::string::npos);
  EXPECT_EQ(message.find("g0hM9SsE"), std::string::npos);
  EXPECT_EQ(message.find(keys[0].bytes), std::string::npos);
}

}  // namespace
}  // namespace connector::salesforce

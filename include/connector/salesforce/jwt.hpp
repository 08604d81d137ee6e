#pragma once
// The JWT bearer assertion of the Salesforce OAuth flow (reference salesforce.md §D.1):
// header {"alg":"RS256"}, claims iss/sub/aud/exp, signed SHA256withRSA, each part base64url
// without padding. OpenSSL does the signing; no secret ever reaches an error message.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "connector/expected.hpp"

namespace connector::salesforce {

struct jwt_claims {
  std::string issuer;             // iss: the connected app's consumer key
  std::string subject;            // sub: the integration user's username
  std::string audience;           // aud: the login URL (https://login.salesforce.com, …)
  std::int64_t expires_at_s = 0;  // exp: seconds since the epoch, within 3 minutes from now
};

class jwt_signer {
 public:
  // Reads an RSA private key in PEM (PKCS#8 or PKCS#1, unencrypted). The error says what is
  // wrong without quoting the key.
  static expected<jwt_signer, std::string> from_pem(std::string_view private_key_pem);

  // header.claims.signature, ready for the assertion= form field.
  expected<std::string, std::string> sign(const jwt_claims& claims) const;

 private:
  struct key;
  explicit jwt_signer(std::shared_ptr<const key> k) : key_(std::move(k)) {}
  std::shared_ptr<const key> key_;  // shared: copies sign with the same key, thread-safe
};

}  // namespace connector::salesforce

#include "connector/salesforce/jwt.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <nlohmann/json.hpp>

#include "connector/text/base64.hpp"

namespace connector::salesforce {
namespace {

struct pkey_deleter {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct bio_deleter {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct md_ctx_deleter {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};

// OpenSSL's reason for the last failure (never key material), and the queue cleared.
std::string openssl_reason() {
  const unsigned long code = ERR_peek_last_error();
  ERR_clear_error();
  if (code == 0) return "unknown OpenSSL error";
  const char* reason = ERR_reason_error_string(code);
  return reason ? reason : "OpenSSL error " + std::to_string(code);
}

}  // namespace

struct jwt_signer::key {
  std::unique_ptr<EVP_PKEY, pkey_deleter> pkey;
};

expected<jwt_signer, std::string> jwt_signer::from_pem(std::string_view private_key_pem) {
  ERR_clear_error();
  std::unique_ptr<BIO, bio_deleter> bio(
      BIO_new_mem_buf(private_key_pem.data(), static_cast<int>(private_key_pem.size())));
  if (!bio) return unexpected{std::string("cannot read the private key: out of memory")};
  // An empty passphrase callback: an encrypted key fails instead of prompting on a terminal.
  auto no_passphrase = [](char*, int, int, void*) { return 0; };
  std::unique_ptr<EVP_PKEY, pkey_deleter> pkey(
      PEM_read_bio_PrivateKey(bio.get(), nullptr, no_passphrase, nullptr));
  if (!pkey) {
    return unexpected{"cannot read the private key as an unencrypted PEM key (" + openssl_reason() +
                      ")"};
  }
  if (EVP_PKEY_base_id(pkey.get()) != EVP_PKEY_RSA) {
    return unexpected{std::string("the private key is not an RSA key (RS256 needs RSA)")};
  }
  if (EVP_PKEY_get_bits(pkey.get()) < 2048) {
    return unexpected{"the RSA private key has " + std::to_string(EVP_PKEY_get_bits(pkey.get())) +
                      " bits; use at least 2048"};
  }
  auto k = std::make_shared<key>();
  k->pkey = std::move(pkey);
  return jwt_signer(std::move(k));
}

expected<std::string, std::string> jwt_signer::sign(const jwt_claims& claims) const {
  // Member order as Salesforce's own example; ordered_json keeps it.
  nlohmann::ordered_json body;
  body["iss"] = claims.issuer;
  body["sub"] = claims.subject;
  body["aud"] = claims.audience;
  body["exp"] = claims.expires_at_s;
  const std::string signing_input =
      text::base64url_encode(R"({"alg":"RS256"})") + "." +
      text::base64url_encode(
          body.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace));

  ERR_clear_error();
  std::unique_ptr<EVP_MD_CTX, md_ctx_deleter> ctx(EVP_MD_CTX_new());
  std::size_t length = 0;
  if (!ctx ||
      EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key_->pkey.get()) != 1 ||
      EVP_DigestSignUpdate(ctx.get(), signing_input.data(), signing_input.size()) != 1 ||
      EVP_DigestSignFinal(ctx.get(), nullptr, &length) != 1) {
    return unexpected{"cannot sign the JWT assertion (" + openssl_reason() + ")"};
  }
  std::string signature(length, '\0');
  if (EVP_DigestSignFinal(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &length) !=
      1) {
    return unexpected{"cannot sign the JWT assertion (" + openssl_reason() + ")"};
  }
  signature.resize(length);
  return signing_input + "." + text::base64url_encode(signature);
}

}  // namespace connector::salesforce

#include "connector/salesforce/jwt.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <nlohmann/json.hpp>

namespace connector::salesforce {
namespace {

constexpr char base64url_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

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
      base64url_encode(R"({"alg":"RS256"})") + "." +
      base64url_encode(body.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace));

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
  return signing_input + "." + base64url_encode(signature);
}

std::string base64url_encode(std::string_view in) {
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  std::size_t i = 0;
  const auto byte = [&in](std::size_t k) {
    return static_cast<unsigned>(static_cast<unsigned char>(in[k]));
  };
  for (; i + 2 < in.size(); i += 3) {
    const unsigned n = (byte(i) << 16) | (byte(i + 1) << 8) | byte(i + 2);
    for (const int shift : {18, 12, 6, 0}) out += base64url_alphabet[(n >> shift) & 63];
  }
  if (i + 1 == in.size()) {
    const unsigned n = byte(i) << 16;
    out += base64url_alphabet[(n >> 18) & 63];
    out += base64url_alphabet[(n >> 12) & 63];
  } else if (i + 2 == in.size()) {
    const unsigned n = (byte(i) << 16) | (byte(i + 1) << 8);
    out += base64url_alphabet[(n >> 18) & 63];
    out += base64url_alphabet[(n >> 12) & 63];
    out += base64url_alphabet[(n >> 6) & 63];
  }
  return out;
}

std::optional<std::string> base64url_decode(std::string_view in) {
  if (in.size() % 4 == 1) return std::nullopt;  // no byte count leaves one character over
  std::string out;
  out.reserve(in.size() * 3 / 4);
  unsigned n = 0;
  int bits = 0;
  for (const char c : in) {
    int value = -1;
    if (c >= 'A' && c <= 'Z')
      value = c - 'A';
    else if (c >= 'a' && c <= 'z')
      value = c - 'a' + 26;
    else if (c >= '0' && c <= '9')
      value = c - '0' + 52;
    else if (c == '-')
      value = 62;
    else if (c == '_')
      value = 63;
    if (value < 0) return std::nullopt;
    n = (n << 6) | static_cast<unsigned>(value);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((n >> bits) & 0xFF);
    }
  }
  if ((n & ((1u << bits) - 1)) != 0) return std::nullopt;  // non-canonical trailing bits
  return out;
}

}  // namespace connector::salesforce

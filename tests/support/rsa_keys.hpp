#pragma once
// RSA key pairs made in-process with OpenSSL, for the JWT bearer flow in tests: no openssl
// command line needed.
#include <filesystem>
#include <string>

namespace connector::testing {

struct rsa_key_pair {
  std::string private_key_pem;             // PKCS#8 "BEGIN PRIVATE KEY"
  std::string public_key_pem;              // SubjectPublicKeyInfo "BEGIN PUBLIC KEY"
  std::filesystem::path private_key_file;  // dir/<name>.key, mode 0600
  std::filesystem::path public_key_file;   // dir/<name>.pub
};

// A fresh key pair, written to `dir` (which must exist). Throws std::runtime_error on failure.
rsa_key_pair make_rsa_key_pair(const std::filesystem::path& dir,
                               const std::string& name = "salesforce-jwt", int bits = 2048);

// Key pairs made once per test process and kept for its life (files in a temporary folder):
// index 0 is usually "the connected app's key", 1 "some other key". Thread-safe.
const rsa_key_pair& test_rsa_key(int index);

}  // namespace connector::testing

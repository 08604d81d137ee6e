#include "support/rsa_keys.hpp"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>

#include "support/service.hpp"

namespace connector::testing {
namespace {

struct pkey_deleter {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct bio_deleter {
  void operator()(BIO* b) const { BIO_free(b); }
};

template <class Write>
std::string pem_of(Write write) {
  std::unique_ptr<BIO, bio_deleter> bio(BIO_new(BIO_s_mem()));
  if (!bio || write(bio.get()) != 1) throw std::runtime_error("cannot write a PEM key");
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(size));
}

}  // namespace

rsa_key_pair make_rsa_key_pair(const std::filesystem::path& dir, const std::string& name,
                               int bits) {
  std::unique_ptr<EVP_PKEY, pkey_deleter> key(EVP_RSA_gen(static_cast<unsigned int>(bits)));
  if (!key) throw std::runtime_error("cannot generate an RSA key");
  rsa_key_pair out;
  out.private_key_pem = pem_of([&](BIO* bio) {
    return PEM_write_bio_PrivateKey(bio, key.get(), nullptr, nullptr, 0, nullptr, nullptr);
  });
  out.public_key_pem = pem_of([&](BIO* bio) { return PEM_write_bio_PUBKEY(bio, key.get()); });
  out.private_key_file = dir / (name + ".key");
  out.public_key_file = dir / (name + ".pub");
  write_text(out.private_key_file, out.private_key_pem);
  std::filesystem::permissions(out.private_key_file, std::filesystem::perms::owner_read |
                                                         std::filesystem::perms::owner_write);
  write_text(out.public_key_file, out.public_key_pem);
  return out;
}

const rsa_key_pair& test_rsa_key(int index) {
  static std::mutex mutex;
  static temp_dir dir;
  static std::map<int, rsa_key_pair> keys;
  std::lock_guard lock(mutex);
  auto it = keys.find(index);
  if (it == keys.end()) {
    it = keys.emplace(index, make_rsa_key_pair(dir.path(), "test-" + std::to_string(index))).first;
  }
  return it->second;
}

}  // namespace connector::testing

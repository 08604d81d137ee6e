#include "tls_context.hpp"

#include <openssl/err.h>
#include <openssl/x509.h>

#include <algorithm>
#include <stdexcept>
#include <vector>

#include "connector/log.hpp"
#include "connector/text/utf8.hpp"

namespace connector::http {
namespace {

namespace ssl = boost::asio::ssl;

// Forward secrecy and AEAD only, for TLS 1.2 (TLS 1.3 suites are all fine as they are).
constexpr const char* tls12_ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

std::string openssl_error() {
  const unsigned long code = ERR_get_error();
  if (code == 0) return "unknown OpenSSL error";
  char text[256];
  ERR_error_string_n(code, text, sizeof text);
  return text;
}

void restrict_protocols(ssl::context& context) {
  context.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                      ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                      ssl::context::single_dh_use);
  SSL_CTX_set_min_proto_version(context.native_handle(), TLS1_2_VERSION);
  SSL_CTX_set_cipher_list(context.native_handle(), tls12_ciphers);
}

}  // namespace

ssl::context make_server_tls_context(const tls_options& options) {
  ssl::context context(ssl::context::tls_server);
  restrict_protocols(context);
  SSL_CTX_set_options(context.native_handle(), SSL_OP_CIPHER_SERVER_PREFERENCE);
  if (SSL_CTX_use_certificate_chain_file(context.native_handle(),
                                         options.certificate_chain_file.c_str()) != 1) {
    throw std::runtime_error("cannot load certificate chain " + options.certificate_chain_file +
                             ": " + openssl_error());
  }
  if (SSL_CTX_use_PrivateKey_file(context.native_handle(), options.private_key_file.c_str(),
                                  SSL_FILETYPE_PEM) != 1) {
    throw std::runtime_error("cannot load private key " + options.private_key_file + ": " +
                             openssl_error());
  }
  if (SSL_CTX_check_private_key(context.native_handle()) != 1) {
    throw std::runtime_error("private key " + options.private_key_file +
                             " does not match certificate " + options.certificate_chain_file);
  }
  if (options.client_ca_file) {
    if (SSL_CTX_load_verify_locations(context.native_handle(), options.client_ca_file->c_str(),
                                      nullptr) != 1) {
      throw std::runtime_error("cannot load client CA bundle " + *options.client_ca_file + ": " +
                               openssl_error());
    }
    // Refused during the handshake: a client without an acceptable certificate never
    // reaches HTTP.
    context.set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert);
  }
  return context;
}

ssl::context make_client_tls_context(const std::string* extra_ca_file) {
  ssl::context context(ssl::context::tls_client);
  restrict_protocols(context);
  context.set_default_verify_paths();
  if (extra_ca_file != nullptr && !extra_ca_file->empty()) {
    if (SSL_CTX_load_verify_locations(context.native_handle(), extra_ca_file->c_str(), nullptr) !=
        1) {
      throw std::runtime_error("cannot load CA file " + *extra_ca_file + ": " + openssl_error());
    }
  }
  context.set_verify_mode(ssl::verify_peer);
  return context;
}

std::string subject_of(X509* certificate) {
  BIO* bio = BIO_new(BIO_s_mem());
  X509_NAME_print_ex(bio, X509_get_subject_name(certificate), 0, XN_FLAG_RFC2253);
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio, &data);
  std::string subject(data, static_cast<std::size_t>(size));
  BIO_free(bio);
  return subject;
}

bool verify_client_certificate(bool preverified, X509_STORE_CTX* ctx, const tls_options& options) {
  if (!preverified) return false;
  if (options.client_subjects.empty()) return true;
  if (X509_STORE_CTX_get_error_depth(ctx) != 0) return true;  // only the leaf is named
  X509* leaf = X509_STORE_CTX_get_current_cert(ctx);
  if (leaf == nullptr) return false;
  const std::string subject = subject_of(leaf);
  // An allowed entry matches the whole subject, or exactly one of its parts
  // ("CN=proxy.salesforce.com"); never a substring, so "CN=proxy.salesforce.com.evil"
  // does not pass.
  std::vector<std::string> parts;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= subject.size(); ++i) {
    const bool escaped = i > 0 && subject[i - 1] == '\\';
    if (i == subject.size() || (subject[i] == ',' && !escaped)) {
      parts.push_back(subject.substr(start, i - start));
      start = i + 1;
    }
  }
  const bool allowed = std::any_of(
      options.client_subjects.begin(), options.client_subjects.end(),
      [&](const std::string& entry) {
        return subject == entry || std::find(parts.begin(), parts.end(), entry) != parts.end();
      });
  if (!allowed) {
    // A trusted certificate for someone else: say so, or the operator only sees a failed
    // handshake, the same as for an unknown CA.
    X509_STORE_CTX_set_error(ctx, X509_V_ERR_APPLICATION_VERIFICATION);
    log::warn("tls.client_refused",
              "refused a client certificate: its subject '{}' is not in server.tls.client_subjects",
              text::printable_text(subject, 200));
  }
  return allowed;
}

}  // namespace connector::http

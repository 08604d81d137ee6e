#pragma once
// TLS settings shared by the server and the client: TLS 1.2 and 1.3 only, modern ciphers.
#include <openssl/ssl.h>

#include <boost/asio/ssl/context.hpp>

#include "connector/http/server.hpp"

namespace connector::http {

// Server context: the full certificate chain from one PEM file (Salesforce rejects
// incomplete chains), the key, and — when a client CA is configured — mutual TLS.
boost::asio::ssl::context make_server_tls_context(const tls_options& options);

// Client context trusting the system store, plus `extra_ca_file` when given.
boost::asio::ssl::context make_client_tls_context(const std::string* extra_ca_file);

// Mutual TLS: accept the chain OpenSSL verified, and at the leaf also require one of the
// allowed subjects (trusting CA + subject survives Salesforce rotating its certificate).
bool verify_client_certificate(bool preverified, X509_STORE_CTX* ctx, const tls_options& options);

// "CN=proxy.salesforce.com,O=…" in RFC 2253 form.
std::string subject_of(X509* certificate);

}  // namespace connector::http

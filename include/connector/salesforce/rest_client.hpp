#pragma once
// The Salesforce REST client the reconciliation reads users with (reference salesforce.md
// §D): OAuth 2.0 JWT bearer (preferred when a private key is configured) or client
// credentials, the token cached and renewed once on a 401, SOQL queries paged through
// nextRecordsUrl on the token's instance_url. Transient failures are returned, not retried
// here: the reconciliation decides (rest_failure::retryable()).
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "connector/clock.hpp"
#include "connector/config/config.hpp"
#include "connector/credentials_state.hpp"
#include "connector/expected.hpp"
#include "connector/metrics/registry.hpp"
#include "connector/salesforce/rest_wire.hpp"  // build_query, build_query_for_ids

namespace connector::salesforce {

enum class rest_failure_kind {
  network,       // DNS, connect, TLS, timeout, reset
  auth,          // sign-in refused, or 401/403 after one token renewal
  rate_limited,  // 403 REQUEST_LIMIT_EXCEEDED (the org's API request limit)
  server,        // 5xx
  rejected,      // other 4xx: the request is wrong (MALFORMED_QUERY, INVALID_FIELD, …)
  bad_response,  // a 2xx we could not read, or an unusable instance_url / nextRecordsUrl
};

struct rest_failure {
  rest_failure_kind kind = rest_failure_kind::network;
  int http_status = 0;
  std::string error_code;  // Salesforce errorCode / OAuth "error", e.g. INVALID_SESSION_ID
  std::string message;     // readable, never a secret or a token
  std::string operation = "request";  // what failed: "query", "sign-in (JWT bearer)", …

  bool retryable() const;  // network, rate_limited, server
  // "Salesforce query failed: HTTP 400 INVALID_FIELD: No such column 'Foo' on entity 'User'…"
  std::string to_string() const;
};

template <class T>
using rest_result = expected<T, rest_failure>;

// What the connector asks of Salesforce, as an interface so tests can replace it.
// Implementations are thread-safe.
class rest_api {
 public:
  virtual ~rest_api() = default;
  // Runs a SOQL query and follows nextRecordsUrl until done. on_page receives each page's
  // records as JSON objects (fields only; the "attributes" member removed; relationship
  // fields stay nested as Salesforce returns them) and returns false to stop early.
  // Returns the number of records delivered. A page without records is not delivered.
  virtual rest_result<std::size_t> query(
      const std::string& soql,
      const std::function<bool(std::vector<nlohmann::json>& records)>& on_page) = 0;
  // GET …/sobjects/{object}/describe: the object's metadata as Salesforce sends it
  // ({"name", "fields": [{"name", "label", "type", …}], …}). `object` must be a plain API
  // name (letters, digits, '_'); anything else is refused as rejected without a request.
  virtual rest_result<nlohmann::json> describe(const std::string& object) = 0;
  // Obtains (or reuses) a token: proves the credentials, for `connector check`.
  virtual rest_result<std::monostate> verify() = 0;
  // 18-character organization id from the token response's identity URL
  // ("id": ".../id/<orgId>/<userId>").
  virtual rest_result<std::string> organization_id() = 0;
};

struct rest_client_options {
  int batch_size = 2000;  // Sforce-Query-Options: batchSize (200..2000, clamped)
  int connect_timeout_ms = 5000;
  int request_timeout_ms = 60000;
};
// The options the configuration sets (salesforce.query_batch_size); the rest default.
rest_client_options client_options_for(const config::salesforce_settings& settings);

class rest_client final : public rest_api {
 public:
  // Throws std::invalid_argument on an unusable login_url and std::runtime_error on an
  // unreadable tls_ca_file (configuration mistakes, found at start-up). No request is made
  // here; an unreadable private key is reported by the first call, as an auth failure.
  // `metrics` (optional) receives connector_salesforce_* (metrics/remote_api.hpp).
  rest_client(const config::salesforce_settings& settings, const connector::clock& clock,
              rest_client_options options = {}, metrics::registry* metrics = nullptr);
  ~rest_client() override;
  rest_client(const rest_client&) = delete;
  rest_client& operator=(const rest_client&) = delete;

  rest_result<std::size_t> query(
      const std::string& soql,
      const std::function<bool(std::vector<nlohmann::json>& records)>& on_page) override;
  rest_result<nlohmann::json> describe(const std::string& object) override;
  rest_result<std::monostate> verify() override;
  rest_result<std::string> organization_id() override;

  struct stats_snapshot {
    std::int64_t requests;  // API requests (query pages, describes), retries after renewal included
    std::int64_t token_requests;  // POSTs to the token endpoint
    std::int64_t token_renewals;  // tokens dropped after a 401 and fetched again
    std::int64_t failures;        // calls that returned a rest_failure
  };
  stats_snapshot stats() const;
  // Whether Salesforce accepted the credentials at the last sign-in or API call (alerts).
  const credentials_state& credentials() const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace connector::salesforce

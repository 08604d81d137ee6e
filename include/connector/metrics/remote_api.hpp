#pragma once
// What the clients of a remote API (iSpring Learn, Salesforce) record: requests by endpoint
// and status code, their latency by endpoint, and access tokens obtained or refused.
#include <chrono>
#include <string>
#include <string_view>

#include "connector/metrics/registry.hpp"

namespace connector::metrics {

class remote_api_metrics {
 public:
  // Families named `prefix`_requests_total{method,endpoint,code},
  // `prefix`_request_duration_seconds{method,endpoint} and
  // `prefix`_token_renewals_total{result}; `api` names the service in help texts.
  remote_api_metrics(registry& registry, const std::string& prefix, const std::string& api);

  // `endpoint` is a route template ("POST /user/{id}"), never a path with ids in it, so the
  // label sets stay few; `status` 0 means no answer arrived (network failure, timeout).
  // Takes the families' locks: one per HTTP exchange, nothing beside a network round trip.
  void request(std::string_view endpoint, int status, std::chrono::steady_clock::duration took);
  // A token fetch that gave a token (`obtained`) or did not.
  void token(bool obtained);

 private:
  counter_family& requests_;
  histogram_family& durations_;
  counter_family& tokens_;
};

}  // namespace connector::metrics

#pragma once
// What `connector status --json` says of a running service, as end-to-end tests wait on it.
#include <nlohmann/json.hpp>

#include "support/service.hpp"

namespace connector::testing {

// `connector status --json` on the service's config.
nlohmann::json status_of(const running_service& service);
// Nothing waits for the worker: no pending or retrying record.
bool drained(const running_service& service);

}  // namespace connector::testing

#include "support/service_status.hpp"

namespace connector::testing {

nlohmann::json status_of(const running_service& service) {
  return nlohmann::json::parse(
      run_connector({"status", "--json", "--config", service.config_path().string()}).out);
}

bool drained(const running_service& service) {
  const auto s = status_of(service);
  // Users wait for their groups after their records are done (the group drainer).
  return s["pending"] == 0 && s["retrying"] == 0 &&
         (!s.contains("group_additions") || s["group_additions"]["waiting"] == 0);
}

}  // namespace connector::testing

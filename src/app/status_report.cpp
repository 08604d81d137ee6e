#include "connector/app/status_report.hpp"

#include <ctime>
#include <sstream>

namespace connector::app {

std::string format_utc(epoch_ms t) {
  const std::time_t seconds = static_cast<std::time_t>(t / 1000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[40];
  const auto n = std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &utc);
  char millis[8];
  std::snprintf(millis, sizeof millis, ".%03dZ", static_cast<int>(t % 1000));
  return std::string(text, n) + millis;
}

nlohmann::json status_to_json(const store::inbox_stats& stats) {
  nlohmann::json j;
  j["notifications_received"] = stats.notifications_received;
  j["duplicates_ignored"] = stats.duplicates_ignored;
  j["pending"] = stats.pending;
  j["retrying"] = stats.retrying;
  j["dead_letters"] = stats.dead_letters;
  j["last_received_at"] =
      stats.last_received_at ? nlohmann::json(format_utc(*stats.last_received_at)) : nullptr;
  // Filled in by the reconciliation (issue "Full reconciliation…"); null until a first run.
  j["last_sync_start"] = nullptr;
  j["last_sync_status"] = nullptr;
  return j;
}

std::string status_to_text(const store::inbox_stats& stats) {
  std::ostringstream out;
  out << "Notifications received: " << stats.notifications_received << "\n"
      << "Duplicates ignored:     " << stats.duplicates_ignored << "\n"
      << "Pending users:          " << stats.pending << "\n"
      << "Retrying users:         " << stats.retrying << "\n"
      << "Dead letters:           " << stats.dead_letters << "\n"
      << "Last received:          "
      << (stats.last_received_at ? format_utc(*stats.last_received_at) : "never") << "\n"
      << "Last sync start:        never\n"
      << "Last sync status:       none\n";
  return out.str();
}

}  // namespace connector::app

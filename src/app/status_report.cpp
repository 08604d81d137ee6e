#include "connector/app/status_report.hpp"

#include <ctime>
#include <sstream>

namespace connector::app {
namespace {

nlohmann::json record_to_json(const store::pending_record& r) {
  return {{"record_id", r.record_id},
          {"attempts", r.attempts},
          {"last_error", r.last_error},
          {"next_attempt_at", format_utc(r.due_at)}};
}

std::string last_sync_start(const std::optional<store::run_record>& sync) {
  return sync && sync->started_at ? format_utc(*sync->started_at) : "never";
}

// "failed (run 12): Salesforce login failed: invalid_grant"
std::string last_sync_status(const std::optional<store::run_record>& sync) {
  if (!sync) return "none";
  std::string text = sync->status + " (run " + std::to_string(sync->id) + ")";
  if (!sync->message.empty()) text += ": " + sync->message;
  return text;
}

}  // namespace

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

nlohmann::json status_to_json(const status_snapshot& status) {
  const auto& stats = status.stats;
  nlohmann::json j;
  j["notifications_received"] = stats.notifications_received;
  j["duplicates_ignored"] = stats.duplicates_ignored;
  j["pending"] = stats.pending;
  j["retrying"] = stats.retrying;
  j["dead_letters"] = stats.dead_letters;
  j["held"] = stats.held;
  j["skipped"] = stats.skipped;
  j["last_received_at"] =
      stats.last_received_at ? nlohmann::json(format_utc(*stats.last_received_at)) : nullptr;
  j["oldest_waiting_since"] = stats.oldest_waiting_since
                                  ? nlohmann::json(format_utc(*stats.oldest_waiting_since))
                                  : nullptr;
  const auto& sync = status.last_sync;
  // A run in last_sync has started (inbox::last_sync), so started_at is there.
  j["last_sync_start"] =
      sync && sync->started_at ? nlohmann::json(format_utc(*sync->started_at)) : nullptr;
  j["last_sync_status"] = sync ? nlohmann::json(sync->status) : nullptr;
  j["last_sync_message"] = sync ? nlohmann::json(sync->message) : nullptr;
  j["last_run_id"] = sync ? nlohmann::json(sync->id) : nullptr;
  j["dead_letter_records"] = nlohmann::json::array();
  for (const auto& r : status.dead_letters) j["dead_letter_records"].push_back(record_to_json(r));
  j["retrying_records"] = nlohmann::json::array();
  for (const auto& r : status.retrying) j["retrying_records"].push_back(record_to_json(r));
  j["instances"] = nlohmann::json::array();
  for (const auto& i : status.instances) {
    j["instances"].push_back({{"id", i.id},
                              {"host", i.host},
                              {"pid", i.pid},
                              {"role", i.role},
                              {"version", i.version},
                              {"started_at", format_utc(i.started_at)},
                              {"last_seen", format_utc(i.last_seen)}});
  }
  j["held_records"] = nlohmann::json::array();
  for (const auto& r : status.held)
    j["held_records"].push_back({{"record_id", r.record_id}, {"reason", r.last_outcome}});
  const auto& g = status.groups;
  j["group_additions"] = {
      {"waiting", g.additions},
      {"groups", g.groups},
      {"retrying_groups", g.retrying},
      {"oldest_queued_at", g.oldest_queued_at ? nlohmann::json(format_utc(*g.oldest_queued_at))
                                              : nlohmann::json(nullptr)},
      {"last_error", g.retrying > 0 ? nlohmann::json(g.last_error) : nlohmann::json(nullptr)}};
  return j;
}

status_snapshot read_status(store::store_reader& reader, epoch_ms now) {
  return {reader.stats(),
          reader.list_records(store::record_state::dead, 50),
          reader.list_records(store::record_state::retrying, 50),
          reader.last_sync(),
          reader.list_records(store::record_state::held, 50),
          reader.group_stats(),
          reader.live_instances(now)};
}

std::string status_to_text(const status_snapshot& status) {
  const auto& stats = status.stats;
  std::ostringstream out;
  out << "Notifications received: " << stats.notifications_received << "\n"
      << "Duplicates ignored:     " << stats.duplicates_ignored << "\n"
      << "Pending users:          " << stats.pending << "\n"
      << "Retrying users:         " << stats.retrying << "\n"
      << "Dead letters:           " << stats.dead_letters << "\n"
      << "Held (safety limit):    " << stats.held << "\n"
      << "Skipped users:          " << stats.skipped << " (e.g. no department; see the logs)\n"
      << "Last received:          "
      << (stats.last_received_at ? format_utc(*stats.last_received_at) : "never") << "\n"
      << "Oldest waiting since:   "
      << (stats.oldest_waiting_since ? format_utc(*stats.oldest_waiting_since) : "nothing waits")
      << "\n"
      << "Waiting to join groups: " << status.groups.additions << " user(s) for "
      << status.groups.groups << " group(s)";
  if (status.groups.retrying > 0)
    out << ", " << status.groups.retrying
        << " group(s) retrying; last error: " << status.groups.last_error;
  out << "\n"
      << "Last sync start:        " << last_sync_start(status.last_sync) << "\n"
      << "Last sync status:       " << last_sync_status(status.last_sync) << "\n"
      << "Live instances:         " << status.instances.size() << "\n";
  for (const auto& i : status.instances) {
    out << "  " << i.id << "  " << i.role << " " << i.version << ", since "
        << format_utc(i.started_at) << ", last seen " << format_utc(i.last_seen) << "\n";
  }
  if (!status.dead_letters.empty()) {
    out << "\nDead letters (re-queue with `connector retry RECORD_ID` or `--all`):\n";
    for (const auto& r : status.dead_letters) {
      out << "  " << r.record_id << "  after " << r.attempts << " attempt(s): " << r.last_error
          << "\n";
    }
  }
  if (!status.held.empty()) {
    out << "\nHeld by the safety limit (let through with `connector release RECORD_ID` or "
           "`--all`):\n";
    for (const auto& r : status.held) out << "  " << r.record_id << "  " << r.last_outcome << "\n";
  }
  if (!status.retrying.empty()) {
    out << "\nRetrying:\n";
    for (const auto& r : status.retrying) {
      out << "  " << r.record_id << "  attempt " << r.attempts << ", next at "
          << format_utc(r.due_at) << ": " << r.last_error << "\n";
    }
  }
  return out.str();
}

}  // namespace connector::app

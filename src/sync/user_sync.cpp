#include "connector/sync/user_sync.hpp"

#include <nlohmann/json.hpp>

#include "connector/sync/mapping.hpp"
#include "connector/sync/plan.hpp"
#include "connector/sync/scope.hpp"

namespace connector::sync {

user_sync::user_sync(const config::settings& settings, ispring::api& api)
    : settings_(settings), directory_(api), applier_(api, directory_) {}

user_sync_report user_sync::run(const store::pending_record& record,
                                const std::optional<std::string>& link) {
  user_sync_report report;
  // The store validated fields_json on intake; a broken one is treated as empty (nothing
  // known), never as a crash.
  auto fields = nlohmann::json::parse(record.fields_json, nullptr, false);
  if (!fields.is_object()) fields = nlohmann::json::object();
  const auto mapped = map_user(fields, record.record_id, settings_.mapping);
  const auto desired = make_desired_user(mapped, settings_.sync);
  report.scope_reason = desired.reason;
  if (desired.action == sync_action::ignore) {
    report.result = record_result::skipped(desired.reason);
    return report;
  }
  auto applied = applier_(desired, link);
  report.steps = applied.steps;
  if (!applied.ok) {
    const auto& error = applied.error;
    report.result =
        record_result::failed(error ? error->to_string() : std::string("failed without a reason"),
                              error ? error->retryable() : true);
    return report;
  }
  std::string outcome = std::string("applied (") + to_string(desired.action) + ")";
  std::size_t changed = 0;
  for (const auto& step : applied.steps) {
    if (step.outcome == step_outcome::changed) {
      outcome += changed++ == 0 ? ": " : "; ";
      outcome += step.to_string();
    }
  }
  if (changed == 0) outcome += ": nothing to change";
  report.result = record_result::applied(std::move(outcome),
                                         applied.ispring_user_id.empty()
                                             ? std::nullopt
                                             : std::optional<std::string>(applied.ispring_user_id));
  return report;
}

record_processor user_sync::processor() {
  return [this](const store::pending_record& record, const std::optional<std::string>& link) {
    return run(record, link).result;
  };
}

}  // namespace connector::sync

#include "connector/sync/user_sync.hpp"

#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include "connector/salesforce/change_order.hpp"
#include "connector/sync/mapping.hpp"
#include "connector/sync/plan.hpp"
#include "connector/sync/scope.hpp"
#include "connector/log.hpp"

namespace connector::sync {

user_sync::user_sync(const config::settings& settings, ispring::api& api, record_reader reread)
    : settings_(settings), reread_(std::move(reread)), directory_(api), applier_(api, directory_) {}

user_sync_report user_sync::run(const store::pending_record& record,
                                const std::optional<std::string>& link) {
  user_sync_report report;
  // The store validated fields_json on intake; a broken one is treated as empty (nothing
  // known), never as a crash.
  auto fields = nlohmann::json::parse(record.fields_json, nullptr, false);
  if (!fields.is_object()) fields = nlohmann::json::object();
  std::optional<record_result::reread_data> reread;
  if (record.needs_reread && !reread_) {
    log::warn(
        "user.gap_without_rest",
        "user {}: Salesforce sent a change without data (GAP event) and no Salesforce REST "
        "credentials are configured to read it; applying the last state received",
        record.record_id);
  }
  if (record.needs_reread && reread_) {
    auto read = reread_(record.record_id);
    if (!read) {
      report.result = record_result::failed(
          "Salesforce sent this change without data (GAP event), and reading the user over "
          "REST failed: " + read.error(),
          true);
      return report;
    }
    if (!*read) {
      // Saved as read, so the record no longer waits for a re-read.
      report.result = record_result::skipped(
          "Salesforce sent this change without data (GAP event), and the user query "
          "no longer returns the record (deleted, or outside salesforce.query_filter)");
      report.result.reread = record_result::reread_data{"{}", std::nullopt};
      return report;
    }
    for (const auto& [name, value] : (*read)->items()) fields[name] = value;
    std::optional<epoch_ms> modstamp;
    if (const auto stamp = (*read)->find("SystemModstamp");
        stamp != (*read)->end() && stamp->is_string()) {
      modstamp = salesforce::parse_datetime_ms(stamp->get_ref<const std::string&>());
    }
    reread = record_result::reread_data{(*read)->dump(), modstamp};
  }
  report = run_with_fields(record, fields, link);
  report.result.reread = std::move(reread);
  return report;
}

user_sync_report user_sync::run_with_fields(const store::pending_record& record,
                                            const nlohmann::json& fields,
                                            const std::optional<std::string>& link) {
  user_sync_report report;
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

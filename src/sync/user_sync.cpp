#include "connector/sync/user_sync.hpp"

#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include "connector/salesforce/change_order.hpp"
#include "connector/sync/mapping.hpp"
#include "connector/sync/plan.hpp"
#include "connector/sync/scope.hpp"
#include "connector/log.hpp"

namespace connector::sync {

nlohmann::json mapping_details(const mapped_user& user) {
  nlohmann::json details = nlohmann::json::object();
  const auto put = [&](const char* key, const std::optional<std::string>& value) {
    if (value) details[key] = *value;
  };
  put("login", user.login);
  put("email", user.email);
  put("last_name", user.last_name);
  put("department", user.department);
  if (user.active) details["active"] = *user.active;
  if (user.groups) details["groups"] = *user.groups;
  if (!user.fields.empty()) details["fields"] = user.fields;
  return details;
}

nlohmann::json scope_details(const desired_user& user) {
  nlohmann::json details = {{"in_scope", user.action == sync_action::upsert},
                            {"action", to_string(user.action)},
                            {"reason", user.reason}};
  if (!user.department.empty()) details["department"] = user.department;
  return details;
}

nlohmann::json call_details(const ispring_call& call) {
  nlohmann::json details = {{"call", call.call}, {"ok", call.ok}};
  if (!call.ok) {
    if (call.http_status != 0) details["status"] = call.http_status;
    details["error"] = call.error;
  }
  return details;
}
namespace {

// The store validated fields_json on intake; a broken one is treated as empty (nothing
// known), never as a crash.
nlohmann::json fields_of(const store::pending_record& record) {
  auto fields = nlohmann::json::parse(record.fields_json, nullptr, false);
  if (!fields.is_object()) fields = nlohmann::json::object();
  return fields;
}

desired_user desired_from_fields(const nlohmann::json& fields, const std::string& record_id,
                                 const config::settings& settings, mapped_user* mapped) {
  auto user = map_user(fields, record_id, settings.mapping);
  auto desired = make_desired_user(user, settings.sync);
  if (mapped) *mapped = std::move(user);
  return desired;
}

store::history_event event(const char* kind, const nlohmann::json& details) {
  store::history_event e;
  e.kind = kind;
  e.details_json = details.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return e;
}

}  // namespace

desired_user desired_from_record(const store::pending_record& record,
                                 const config::settings& settings, mapped_user* mapped) {
  return desired_from_fields(fields_of(record), record.record_id, settings, mapped);
}

user_sync::user_sync(const config::settings& settings, ispring::api& api, record_reader reread)
    : settings_(settings),
      reread_(std::move(reread)),
      calls_(api),
      directory_(calls_),
      applier_(calls_, directory_) {}

user_sync_report user_sync::run(const store::pending_record& record,
                                const std::optional<std::string>& link) {
  user_sync_report report;
  auto fields = fields_of(record);
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
  mapped_user mapped;
  const auto desired = desired_from_fields(fields, record.record_id, settings_, &mapped);
  std::vector<store::history_event> history{
      event(store::history_kinds::mapped, mapping_details(mapped)),
      event(store::history_kinds::scope, scope_details(desired))};
  report.scope_reason = desired.reason;
  if (desired.action == sync_action::ignore) {
    report.result = record_result::skipped(desired.reason);
    report.result.history = std::move(history);
    return report;
  }
  apply_result applied;
  {
    call_recorder::recording recording;
    applied = applier_(desired, link);
    for (const auto& call : recording.calls())
      history.push_back(event(store::history_kinds::ispring_call, call_details(call)));
  }
  report.steps = applied.steps;
  const auto with_history = [&] { report.result.history = std::move(history); };
  if (!applied.ok) {
    const auto& error = applied.error;
    report.result =
        record_result::failed(error ? error->to_string() : std::string("failed without a reason"),
                              error ? error->retryable() : true);
    with_history();
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
  with_history();
  return report;
}

record_processor user_sync::processor() {
  return [this](const store::pending_record& record, const std::optional<std::string>& link) {
    return run(record, link).result;
  };
}

}  // namespace connector::sync

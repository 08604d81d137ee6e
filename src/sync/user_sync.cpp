#include "connector/sync/user_sync.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

#include <nlohmann/json.hpp>

#include "connector/salesforce/change_order.hpp"
#include "connector/salesforce/rest_wire.hpp"
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

user_sync::user_sync(const config::settings& settings, ispring::api& api, reread_options reread)
    : settings_(settings),
      reread_(std::move(reread)),
      calls_(api),
      directory_(calls_),
      applier_(calls_, directory_) {}

expected<std::optional<nlohmann::json>, std::string> user_sync::read_again(
    const store::pending_record& record) {
  // One thread reads at a time: the others wait, then mostly find their record read.
  std::lock_guard lock(reread_mutex_);
  if (const auto ahead = read_ahead_.find(record.record_id); ahead != read_ahead_.end()) {
    auto kept = std::move(ahead->second);
    read_ahead_.erase(ahead);
    // Read after this state arrived (due_at is its arrival, or a later retry time): as
    // good as a read now. Older, a newer change may have come since: read again.
    if (reread_.time && kept.read_at >= record.due_at) return std::move(kept.record);
  }
  std::vector<std::string> ids{record.record_id};
  if (reread_.others_due && reread_.time) {
    for (auto& id : reread_.others_due(record)) {
      if (ids.size() >= salesforce::max_ids_per_query) break;
      if (id != record.record_id) ids.push_back(std::move(id));
    }
  }
  const epoch_ms read_at = reread_.time ? reread_.time->now() : 0;  // before: conservative
  auto read = reread_.read(ids);
  if (!read) return unexpected{read.error()};
  read_ahead_.clear();
  std::optional<nlohmann::json> mine;
  for (std::size_t i = 0; i < ids.size(); ++i) {
    std::optional<nlohmann::json> found;
    if (auto it = read->find(ids[i]); it != read->end()) found = std::move(it->second);
    if (i == 0) {
      mine = std::move(found);
    } else {
      read_ahead_[ids[i]] = read_ahead{std::move(found), read_at};
    }
  }
  return mine;
}

user_sync_report user_sync::run(const store::pending_record& record,
                                const std::optional<std::string>& link) {
  user_sync_report report;
  auto fields = fields_of(record);
  std::optional<record_result::reread_data> reread;
  if (record.needs_reread && !reread_.read) {
    log::warn(
        "user.gap_without_rest",
        "user {}: Salesforce sent a change without data (GAP event) and no Salesforce REST "
        "credentials are configured to read it; applying the last state received",
        record.record_id);
  }
  if (record.needs_reread && reread_.read) {
    auto read = read_again(record);
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
  std::optional<deactivation_limiter::verdict> limit;
  {
    call_recorder::recording recording;
    apply_options options;
    if (limiter_) {
      options.may_retire = [&] {
        limit = limiter_->reserve(record.organization_id, record.released);
        return limit->allowed;
      };
    }
    applied = applier_(desired, link, std::move(options));
    for (const auto& call : recording.calls())
      history.push_back(event(store::history_kinds::ispring_call, call_details(call)));
  }
  if (limit && limit->allowed) {
    // The place reserved counts only if iSpring made the change.
    const bool retired =
        applied.ok && std::any_of(applied.steps.begin(), applied.steps.end(), [](const auto& s) {
          return (s.stage == "status" || s.stage == "delete") &&
                 s.outcome == step_outcome::changed;
        });
    if (retired) {
      limiter_->confirm(record.organization_id, record.record_id, limit->at);
    } else {
      limiter_->cancel(record.organization_id, limit->at);
    }
  }
  report.steps = applied.steps;
  const auto with_history = [&] { report.result.history = std::move(history); };
  if (applied.held && limit) {
    report.result = record_result::held(limit->reason);
    if (!applied.ispring_user_id.empty()) report.result.ispring_user_id = applied.ispring_user_id;
    with_history();
    return report;
  }
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

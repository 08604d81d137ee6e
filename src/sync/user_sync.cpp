#include "connector/sync/user_sync.hpp"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "connector/log.hpp"
#include "connector/salesforce/change_order.hpp"
#include "connector/salesforce/rest_wire.hpp"
#include "connector/sync/mapping.hpp"
#include "connector/sync/plan.hpp"
#include "connector/sync/scope.hpp"

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

std::string join(const std::vector<std::string>& names) {
  std::string text;
  for (const auto& name : names) text += (text.empty() ? "" : ", ") + name;
  return text;
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

user_sync::user_sync(const config::settings& settings, ispring::api& api, reread_options reread,
                     store::department_links* links)
    : settings_(settings),
      reread_(std::move(reread)),
      links_(links),
      calls_(api),
      directory_(calls_),
      applier_(calls_, directory_) {
  if (reread_.metrics && reread_.read) {
    auto& queries = reread_.metrics->counter(
        "connector_verification_queries_total",
        "Salesforce REST queries the sync worker made to read notified users before applying "
        "them (sync.verify_notifications, GAP events, partial change events), by result: "
        "succeeded or failed",
        {"result"});
    queries_ok_ = &queries.with({"succeeded"});
    queries_failed_ = &queries.with({"failed"});
    auto& records = reread_.metrics->counter(
        "connector_verification_records_total",
        "Users asked for by those queries, by result: returned, or not_returned (unknown id, "
        "deleted, or outside salesforce.query_filter)",
        {"result"});
    records_returned_ = &records.with({"returned"});
    records_not_returned_ = &records.with({"not_returned"});
  }
}

expected<std::optional<nlohmann::json>, std::string> user_sync::read_again(
    const store::pending_record& record) {
  std::unique_lock lock(reread_mutex_);
  for (bool waited = false;; waited = true) {
    if (const auto ahead = read_ahead_.find(record.record_id); ahead != read_ahead_.end()) {
      auto kept = std::move(ahead->second);
      read_ahead_.erase(ahead);
      // Read after this state arrived (due_at is its arrival, or a later retry time): as
      // good as a read now. Older, a newer change may have come since: read again.
      if (reread_.time && kept.read_at >= record.due_at) return std::move(kept.record);
    }
    if (waited || !reread_.time) break;
    // A read in progress asks for this record, after its state arrived: wait for it rather
    // than ask again (a burst costs a few queries, not one per worker thread).
    const auto covering =
        std::find_if(reads_in_progress_.begin(), reads_in_progress_.end(), [&](const auto& read) {
          return read->read_at >= record.due_at && read->ids.contains(record.record_id);
        });
    if (covering == reads_in_progress_.end()) break;
    const auto awaited = *covering;
    read_done_.wait(lock, [&] { return awaited->done; });
    if (awaited->error) return unexpected{*awaited->error};
  }
  std::vector<std::string> ids{record.record_id};
  if (reread_.others_due && reread_.time) {
    // Not again what a read in progress asks for or an earlier read keeps: asking for every
    // due record each time makes queries grow with the backlog, and slower queries grow the
    // backlog. A record changed since its kept read is read on its own turn.
    const auto asked = [&](const std::string& id) {
      return read_ahead_.contains(id) ||
             std::any_of(reads_in_progress_.begin(), reads_in_progress_.end(),
                         [&](const auto& read) { return read->ids.contains(id); });
    };
    for (auto& id : reread_.others_due(record)) {
      if (ids.size() >= salesforce::max_ids_per_query) break;
      if (id != record.record_id && !asked(id)) ids.push_back(std::move(id));
    }
  }
  auto mine = std::make_shared<read_in_progress>();
  mine->ids = {ids.begin(), ids.end()};
  mine->read_at = reread_.time ? reread_.time->now() : 0;  // before the read: conservative
  reads_in_progress_.push_back(mine);

  lock.unlock();
  auto read = reread_.read(ids);
  lock.lock();

  // Those waiting for this read look again once this thread lets go of the lock, with what
  // it kept below (or its error).
  std::erase(reads_in_progress_, mine);
  mine->done = true;
  read_done_.notify_all();
  if (!read) {
    mine->error = read.error();
    if (queries_failed_) queries_failed_->inc();
    return unexpected{read.error()};
  }
  if (queries_ok_) {
    queries_ok_->inc();
    const auto returned = static_cast<std::uint64_t>(
        std::count_if(ids.begin(), ids.end(), [&](const auto& id) { return read->contains(id); }));
    records_returned_->inc(returned);
    records_not_returned_->inc(ids.size() - returned);
  }
  // Reads kept for records that were never taken (applied another way) must not pile up.
  if (read_ahead_.size() > 10 * salesforce::max_ids_per_query) read_ahead_.clear();
  std::optional<nlohmann::json> found_mine;
  for (std::size_t i = 0; i < ids.size(); ++i) {
    std::optional<nlohmann::json> found;
    if (auto it = read->find(ids[i]); it != read->end()) found = std::move(it->second);
    if (i == 0) {
      found_mine = std::move(found);
    } else if (auto& kept = read_ahead_[ids[i]]; kept.read_at <= mine->read_at) {
      kept = read_ahead{std::move(found), mine->read_at};
    }
  }
  return found_mine;
}

settings_snapshot user_sync::settings_now() const {
  if (source_)
    if (auto snapshot = source_(); snapshot.settings) return snapshot;
  // Not owned: the settings given at construction outlive this.
  return {0, std::shared_ptr<const config::settings>(&settings_, [](const config::settings*) {})};
}

user_sync_report user_sync::run(const store::pending_record& record,
                                const std::optional<std::string>& link) {
  // One revision for the whole record, however long its read takes.
  const auto settings = settings_now();
  auto fields = fields_of(record);
  const bool can_read = static_cast<bool>(reread_.read);
  // Following the page's settings, sync.verify_notifications is the revision's too.
  const bool verify =
      can_read && (source_ ? config::verifies_notifications(*settings.settings) : reread_.verify);
  // A partial change event holds only what changed: without the rest, the user would be
  // applied as if those fields were unknown (no department: set aside).
  std::vector<std::string> missing;
  if (!record.needs_reread && !verify)
    missing = missing_mapped_fields(fields, settings.settings->mapping);
  if (!verify && !record.needs_reread && missing.empty())
    return run_with_fields(settings, record, fields, link);

  // Why the record is read, in the words of the history and the errors.
  const std::string why =
      record.needs_reread ? "Salesforce sent this change without data (GAP event)"
      : verify ? "every notification is verified with Salesforce (sync.verify_notifications)"
               : "the notification lacks " + join(missing) + ", which the mapping reads";
  nlohmann::json read_details = {{"purpose", record.needs_reread ? "gap"
                                             : verify            ? "verify"
                                                                 : "incomplete"}};
  if (!missing.empty()) read_details["missing"] = missing;

  if (!can_read) {
    log::warn(record.needs_reread ? "user.gap_without_rest" : "user.incomplete_without_rest",
              "user {}: {}, and no Salesforce REST credentials are configured to read the user; "
              "applying the last state received",
              record.record_id, why);
    read_details["without_rest"] = true;
    auto report = run_with_fields(settings, record, fields, link);
    report.result.history.insert(report.result.history.begin(),
                                 event(store::history_kinds::read, read_details));
    return report;
  }
  user_sync_report report;
  auto read = read_again(record);
  if (!read) {
    report.result = record_result::failed(
        why + ", and reading the user over REST failed: " + read.error(), true);
    return report;
  }
  read_details["returned"] = read->has_value();
  if (!*read) {
    // Saved as read, so the record no longer waits for a re-read; verified, nothing the
    // notification said is kept.
    report.result = record_result::skipped(
        why +
        ", and the user query does not return the record (unknown id, deleted, or "
        "outside salesforce.query_filter): nothing changed in iSpring");
    report.result.reread = record_result::reread_data{"{}", std::nullopt, verify};
    report.result.history.push_back(event(store::history_kinds::read, read_details));
    return report;
  }
  if (verify) {
    // What Salesforce returns is applied, the notification's fields never: a field it
    // claimed and Salesforce left out (or null) must not survive either.
    if (auto differing = differing_mapped_fields(fields, **read, settings.settings->mapping);
        !differing.empty() && !record.needs_reread)
      read_details["differing"] = std::move(differing);
    fields = **read;
  } else {
    for (const auto& [name, value] : (*read)->items()) fields[name] = value;
  }
  std::optional<epoch_ms> modstamp;
  if (const auto stamp = (*read)->find("SystemModstamp");
      stamp != (*read)->end() && stamp->is_string()) {
    modstamp = salesforce::parse_rest_datetime_ms(stamp->get_ref<const std::string&>());
  }
  record_result::reread_data reread{(*read)->dump(), modstamp, verify};
  report = run_with_fields(settings, record, fields, link);
  report.result.history.insert(report.result.history.begin(),
                               event(store::history_kinds::read, read_details));
  report.result.reread = std::move(reread);
  return report;
}

namespace {

// Settles the place the limiter reserved for a deactivation: confirmed or given back.
void settle_reservation(deactivation_limiter& limiter, const deactivation_limiter::verdict& limit,
                        const apply_result& applied, const store::pending_record& record) {
  // The place reserved counts only if iSpring made the change.
  const bool retired =
      applied.ok && std::any_of(applied.steps.begin(), applied.steps.end(), [](const auto& s) {
        return (s.stage == "status" || s.stage == "delete") && s.outcome == step_outcome::changed;
      });
  if (retired) {
    limiter.confirm(record.organization_id, record.record_id, limit.at);
  } else {
    limiter.cancel(record.organization_id, limit.at);
  }
}

// "applied (upsert): <each step that changed>", or ": nothing to change".
std::string applied_outcome(sync_action action, const apply_result& applied) {
  std::string outcome = std::string("applied (") + to_string(action) + ")";
  std::size_t changed = 0;
  for (const auto& step : applied.steps) {
    if (step.outcome == step_outcome::changed) {
      outcome += changed++ == 0 ? ": " : "; ";
      outcome += step.to_string();
    }
  }
  if (changed == 0) outcome += ": nothing to change";
  return outcome;
}

}  // namespace

user_sync_report user_sync::run_with_fields(const settings_snapshot& settings,
                                            const store::pending_record& record,
                                            const nlohmann::json& fields,
                                            const std::optional<std::string>& link) {
  user_sync_report report;
  mapped_user mapped;
  auto desired = desired_from_fields(fields, record.record_id, *settings.settings, &mapped);
  auto scope = scope_details(desired);
  // Which settings decided: `explain` shows it beside the scope.
  if (settings.revision > 0) scope["settings_revision"] = settings.revision;
  std::vector<store::history_event> history{
      event(store::history_kinds::mapped, mapping_details(mapped)),
      event(store::history_kinds::scope, std::move(scope))};
  report.scope_reason = desired.reason;
  if (desired.action == sync_action::ignore) {
    report.result = record_result::skipped(desired.reason);
    report.result.history = std::move(history);
    return report;
  }
  const bool keyed =
      links_ && desired.action == sync_action::upsert && !desired.department_key.empty();
  if (keyed)
    if (auto found = links_->find_department_link(record.organization_id, desired.department_key))
      desired.department_link = linked_department{found->department_id, found->name};
  apply_result applied;
  std::optional<deactivation_limiter::verdict> limit;
  {
    call_recorder::recording recording;
    apply_options options;
    options.join_groups = join_groups_;
    if (limiter_) {
      options.may_retire = [&] {
        // Following the page's settings, the cap is the revision's; else the limiter's own.
        limit = source_ ? limiter_->reserve(record.organization_id, record.released,
                                            settings.settings->sync.max_deactivations_per_hour)
                        : limiter_->reserve(record.organization_id, record.released);
        return limit->allowed;
      };
    }
    applied = applier_(desired, link, std::move(options));
    for (const auto& call : recording.calls())
      history.push_back(event(store::history_kinds::ispring_call, call_details(call)));
  }
  // Owned from now on, whatever happened after (design.md "Trust").
  if (keyed && applied.department_link)
    links_->set_department_links(
        record.organization_id,
        {{desired.department_key, applied.department_link->id, applied.department_link->name}});
  if (limit && limit->allowed) settle_reservation(*limiter_, *limit, applied, record);
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
  std::string outcome = applied_outcome(desired.action, applied);
  report.result = record_result::applied(std::move(outcome),
                                         applied.ispring_user_id.empty()
                                             ? std::nullopt
                                             : std::optional<std::string>(applied.ispring_user_id));
  for (auto& g : applied.deferred_group_additions)
    report.result.group_additions.push_back(
        {std::move(g.id), std::move(g.name), applied.ispring_user_id, {}, {}, 0, 0});
  with_history();
  return report;
}

record_processor user_sync::processor() {
  return [this](const store::pending_record& record, const std::optional<std::string>& link) {
    return run(record, link).result;
  };
}

}  // namespace connector::sync

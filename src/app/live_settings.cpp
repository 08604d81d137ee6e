#include "connector/app/live_settings.hpp"

#include <algorithm>
#include <stdexcept>

#include "connector/log.hpp"

namespace connector::app {
namespace {

using nlohmann::json;

json mapping_to_json(const config::mapping_settings& m) {
  json j = {{"login", m.login},
            {"email", m.email},
            {"last_name", m.last_name},
            {"department", m.department},
            {"fields", m.fields}};
  if (!m.groups.empty()) j["groups"] = m.groups;  // empty: no group field (the key is left out)
  return j;
}

json schedule_to_json(const config::schedule_settings& s) {
  json j = {{"run_type", s.run_type},
            {"run_interval_minutes", s.run_interval_minutes},
            {"time_zone", s.time_zone},
            {"check_sync_status_after_seconds", s.check_sync_status_after_seconds},
            {"check_sync_status_duration_minutes", s.check_sync_status_duration_minutes},
            {"interval_after_expire_duration_minutes", s.interval_after_expire_duration_minutes}};
  if (s.start_work_time) j["start_work_time"] = *s.start_work_time;
  if (s.stop_work_time) j["stop_work_time"] = *s.stop_work_time;
  return j;
}

json departments_to_json(const std::map<std::string, config::department_rule>& departments) {
  json j = json::object();
  for (const auto& [name, rule] : departments) {
    // A custom department refuses sync_all_users: it holds exactly its users.
    json d = rule.custom ? json{{"custom", true}} : json{{"sync_all_users", rule.sync_all_users}};
    if (rule.ispring_name) d["ispring_name"] = *rule.ispring_name;
    // The reader refuses users beside sync_all_users: true ("has no effect").
    if (!rule.sync_all_users) d["users"] = rule.users;
    j[name] = std::move(d);
  }
  return j;
}

json sync_to_json(const config::sync_settings& s) {
  json j = {{"departments", departments_to_json(s.departments)},
            {"groups", s.groups ? json(*s.groups) : json("all")},
            {"select_by", s.select_by},
            {"inactive_users", config::to_string(s.inactive_users)},
            {"out_of_scope_users", config::to_string(s.out_of_scope_users)},
            {"delete_empty_departments", s.delete_empty_departments},
            {"max_deactivations_per_hour",
             s.max_deactivations_per_hour ? *s.max_deactivations_per_hour : "off"},
            {"max_attempts", s.max_attempts},
            {"retry_base_ms", s.retry_base_ms},
            {"retry_max_ms", s.retry_max_ms}};
  if (s.parent_department) j["parent_department"] = *s.parent_department;
  if (s.max_deactivations) j["max_deactivations"] = *s.max_deactivations;
  if (s.verify_notifications) j["verify_notifications"] = *s.verify_notifications;
  return j;
}

bool is_file_managed(const config::settings& file, const std::string& section) {
  return std::find(file.file_managed.begin(), file.file_managed.end(), section) !=
         file.file_managed.end();
}

json parse_stored(const std::string& text) {
  if (text.empty()) return json::object();
  auto parsed = json::parse(text, nullptr, false);
  return parsed.is_object() ? parsed : json::object();
}

save_outcome refused(int status, std::string error, std::string key = {}) {
  save_outcome out;
  out.status = status;
  out.error = std::move(error);
  out.key = std::move(key);
  return out;
}

// The page-managed sections whose stored values differ between two sets.
std::vector<std::string> changed_sections(const config::settings& file, const json& before,
                                          const json& after) {
  std::vector<std::string> changed;
  for (const char* name : config::editable_sections) {
    if (is_file_managed(file, name)) continue;
    const auto a = before.find(name);
    const auto b = after.find(name);
    const bool same = (a == before.end() && b == after.end()) ||
                      (a != before.end() && b != after.end() && *a == *b);
    if (!same) changed.emplace_back(name);
  }
  return changed;
}

}  // namespace

bool is_editable_section(const std::string& name) {
  return std::find(std::begin(config::editable_sections), std::end(config::editable_sections),
                   name) != std::end(config::editable_sections);
}

json section_to_json(const config::settings& settings, const std::string& section) {
  if (section == "mapping") return mapping_to_json(settings.mapping);
  if (section == "schedule") return schedule_to_json(settings.schedule);
  if (section == "sync") return sync_to_json(settings.sync);
  if (section == "alerts.email_to")
    return settings.alerts ? json(settings.alerts->email_to) : json::array();
  return json();
}

json editable_to_json(const config::settings& settings) {
  json j = json::object();
  for (const char* name : config::editable_sections) j[name] = section_to_json(settings, name);
  return j;
}

live_settings::live_settings(config::settings file, store::settings_log& log, const clock& time,
                             bool lenient)
    : file_(std::move(file)), log_(log), time_(time) {
  const auto revision = log_.current_revision();
  current_.settings = std::make_shared<const config::settings>(file_);
  if (revision == 0) return;
  const auto newest = log_.read_revision(revision);
  auto stored = parse_stored(newest ? newest->settings_json : std::string());
  auto effective = config::with_stored_sections(file_, stored.dump());
  if (!effective) {
    const auto why = "settings revision " + std::to_string(revision) +
                     " does not fit this configuration: " + effective.error().to_string() +
                     " (restore an earlier revision, or set the section in the file)";
    if (!lenient) throw std::runtime_error(why);
    log::warn("settings.revision_not_applied", "{}", why);
    current_.revision = revision;  // saves start from it; the file and defaults apply
    stored_ = std::move(stored);
    return;
  }
  current_ = {revision, std::make_shared<const config::settings>(std::move(*effective))};
  stored_ = std::move(stored);
}

live_settings::~live_settings() {
  stop_polling();
}

sync::settings_snapshot live_settings::current() const {
  std::lock_guard lock(mutex_);
  return current_;
}

sync::settings_source live_settings::source() const {
  return [this] { return current(); };
}

json live_settings::stored() const {
  std::lock_guard lock(mutex_);
  return stored_;
}

void live_settings::on_change(std::function<void(const sync::settings_snapshot&)> listener) {
  std::lock_guard lock(mutex_);
  listeners_.push_back(std::move(listener));
}

void live_settings::apply(std::int64_t revision, json stored,
                          std::shared_ptr<const config::settings> effective) {
  std::vector<std::function<void(const sync::settings_snapshot&)>> listeners;
  sync::settings_snapshot snapshot{revision, std::move(effective)};
  {
    std::lock_guard lock(mutex_);
    if (revision <= current_.revision) return;  // a poll and a save both saw it
    current_ = snapshot;
    stored_ = std::move(stored);
    listeners = listeners_;
  }
  log::info("settings.applied", "settings revision {} applies now", revision);
  for (const auto& listener : listeners) listener(snapshot);
}

bool live_settings::refresh() {
  std::unique_lock log_lock(log_mutex_);
  const auto revision = log_.current_revision();
  if (revision <= current().revision) return false;
  const auto newest = log_.read_revision(revision);
  log_lock.unlock();
  auto stored = parse_stored(newest ? newest->settings_json : std::string());
  auto effective = config::with_stored_sections(file_, stored.dump());
  if (!effective) {
    if (refused_revision_.exchange(revision) != revision) {
      log::error("settings.refused", "settings revision {} is not applied: {}", revision,
                 effective.error().to_string());
    }
    return false;
  }
  apply(revision, std::move(stored),
        std::make_shared<const config::settings>(std::move(*effective)));
  return true;
}

save_outcome live_settings::save_set(json next, const std::vector<std::string>& changed,
                                     std::int64_t from, const std::string& who) {
  auto effective = config::with_stored_sections(file_, next.dump());
  if (!effective) {
    return refused(400, effective.error().to_string(), effective.error().key);
  }
  if (changed.empty()) {
    save_outcome same;
    same.revision = from;
    return same;
  }
  store::settings_revision revision;
  revision.saved_at = time_.now();
  revision.saved_by = who;
  revision.sections = changed;
  revision.settings_json = next.dump();
  const auto saved = log_.save_revision(from, revision);
  if (!saved) {
    return refused(409, "revision " + std::to_string(from) +
                            " is stale: another change was saved meanwhile; reload and edit the "
                            "newest revision");
  }
  apply(*saved, std::move(next), std::make_shared<const config::settings>(std::move(*effective)));
  save_outcome out;
  out.revision = *saved;
  out.saved = true;
  return out;
}

namespace {

// The common checks of every save: the editor's revision must be the newest.
std::optional<save_outcome> precondition(std::optional<std::int64_t> if_match,
                                         std::int64_t newest) {
  if (!if_match) {
    return refused(428,
                   "If-Match is required: send the revision the change starts from, "
                   "If-Match: \"" +
                       std::to_string(newest) + "\" (GET /admin/settings)");
  }
  if (*if_match != newest) {
    return refused(409, "revision " + std::to_string(*if_match) + " is stale: the newest is " +
                            std::to_string(newest) + "; reload and edit that one");
  }
  return std::nullopt;
}

}  // namespace

std::optional<save_outcome> live_settings::section_refusal(const std::string& section) const {
  if (!is_editable_section(section)) {
    return refused(404, "no such section: " + section +
                            " (the page edits mapping, schedule, sync and alerts.email_to)");
  }
  if (is_file_managed(file_, section)) {
    return refused(409,
                   section + " is set in the config file (" + file_.config_path +
                       "), so it is read-only here: change it there",
                   section);
  }
  if (section == "alerts.email_to" && !file_.alerts) {
    return refused(409,
                   "alerts.email_to needs the alerts section (alerts.smtp) in the config file: "
                   "without it there is nothing to send with",
                   "alerts.smtp");
  }
  return std::nullopt;
}

save_outcome live_settings::save_section(const std::string& section, const json& value,
                                         std::optional<std::int64_t> if_match,
                                         const std::string& who) {
  if (auto refusal = section_refusal(section)) return *refusal;
  std::unique_lock log_lock(log_mutex_);
  const auto newest = log_.current_revision();
  if (auto refusal = precondition(if_match, newest)) return *refusal;
  const auto stored_revision = log_.read_revision(newest);
  auto before = parse_stored(stored_revision ? stored_revision->settings_json : std::string());
  auto next = before;
  next[section] = value;
  const auto changed = changed_sections(file_, before, next);
  return save_set(std::move(next), changed, newest, who);
}

expected<sync::settings_snapshot, save_outcome> live_settings::candidate(const json& sections) {
  if (!sections.is_object() || sections.empty())
    return unexpected{refused(400,
                              "expected a JSON object of one or more sections, e.g. "
                              "{\"sync\": {...}}")};
  for (const auto& item : sections.items()) {
    if (auto refusal = section_refusal(item.key())) {
      if (refusal->status == 404) refusal->key = item.key();  // a key of the body, not a path
      if (refusal->status == 404) refusal->status = 400;
      return unexpected{std::move(*refusal)};
    }
  }
  std::unique_lock log_lock(log_mutex_);
  const auto newest = log_.current_revision();
  const auto stored_revision = log_.read_revision(newest);
  log_lock.unlock();
  auto next = parse_stored(stored_revision ? stored_revision->settings_json : std::string());
  for (const auto& item : sections.items()) next[item.key()] = item.value();
  auto effective = config::with_stored_sections(file_, next.dump());
  if (!effective)
    return unexpected{refused(400, effective.error().to_string(), effective.error().key)};
  return sync::settings_snapshot{newest,
                                 std::make_shared<const config::settings>(std::move(*effective))};
}

save_outcome live_settings::restore(std::int64_t old, std::optional<std::int64_t> if_match,
                                    const std::string& who) {
  std::unique_lock log_lock(log_mutex_);
  const auto newest = log_.current_revision();
  const auto earlier = log_.read_revision(old);
  if (!earlier) return refused(404, "no settings revision " + std::to_string(old));
  if (auto refusal = precondition(if_match, newest)) return *refusal;
  // The page-managed sections as they were.
  return replace_page_sections(parse_stored(earlier->settings_json), newest, who);
}

save_outcome live_settings::save_all(const json& sections, std::optional<std::int64_t> if_match,
                                     const std::string& who) {
  if (!sections.is_object()) return refused(400, "expected a JSON object of sections");
  for (const auto& item : sections.items()) {
    if (!is_editable_section(item.key()))
      return refused(400, "not a section edited in the admin page: " + item.key(), item.key());
    if (is_file_managed(file_, item.key()))
      return refused(409,
                     item.key() + " is set in the config file (" + file_.config_path +
                         "), so it cannot be imported: leave it out of the import or out "
                         "of the file",
                     item.key());
  }
  std::unique_lock log_lock(log_mutex_);
  const auto newest = log_.current_revision();
  if (auto refusal = precondition(if_match.value_or(newest), newest)) return *refusal;
  return replace_page_sections(sections, newest, who);
}

// Under log_mutex_: revision `newest` with every page-managed section replaced by `content`'s
// (one `content` lacks is removed, so its defaults apply); what the file manages stays as it is.
save_outcome live_settings::replace_page_sections(const json& content, std::int64_t newest,
                                                  const std::string& who) {
  const auto stored_revision = log_.read_revision(newest);
  const auto before =
      parse_stored(stored_revision ? stored_revision->settings_json : std::string());
  auto next = before;
  for (const char* name : config::editable_sections) {
    if (is_file_managed(file_, name)) continue;
    if (content.contains(name)) {
      next[name] = content[name];
    } else {
      next.erase(name);
    }
  }
  const auto changed = changed_sections(file_, before, next);
  return save_set(std::move(next), changed, newest, who);
}

std::vector<store::settings_revision> live_settings::list_revisions(std::size_t limit) {
  std::lock_guard lock(log_mutex_);
  return log_.list_revisions(limit);
}

std::optional<store::settings_revision> live_settings::read_revision(std::int64_t revision) {
  std::lock_guard lock(log_mutex_);
  return log_.read_revision(revision);
}

void live_settings::start_polling(int interval_ms) {
  poller_ = std::thread([this, interval_ms] {
    std::unique_lock lock(poll_mutex_);
    while (!poll_wake_.wait_for(lock, std::chrono::milliseconds(interval_ms),
                                [this] { return polling_stop_; })) {
      lock.unlock();
      try {
        refresh();
      } catch (const std::exception& e) {
        // The database away for a moment: the revision in force stays, the next poll retries.
        log::warn("settings.read_failed", "settings: reading the newest revision failed: {}",
                  e.what());
      }
      lock.lock();
    }
  });
}

void live_settings::stop_polling() {
  {
    std::lock_guard lock(poll_mutex_);
    polling_stop_ = true;
  }
  poll_wake_.notify_all();
  if (poller_.joinable()) poller_.join();
}

}  // namespace connector::app

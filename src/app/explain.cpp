#include "connector/app/explain.hpp"

#include <algorithm>
#include <sstream>

#include "connector/app/commands.hpp"
#include "connector/app/organization.hpp"
#include "connector/app/status_report.hpp"
#include "connector/salesforce/ids.hpp"
#include "connector/store/group_queue.hpp"
#include "connector/sync/group_drainer.hpp"
#include "connector/sync/plan.hpp"
#include "connector/sync/user_sync.hpp"

namespace connector::app {
namespace {

std::vector<std::string> organizations(const config::settings& settings) {
  std::vector<std::string> ids;
  for (const auto& id : settings.salesforce.organization_ids)
    ids.push_back(salesforce::to_18_char_id(id).value_or(id));
  return ids;
}

std::string quoted(const std::string& text) {
  return "'" + text + "'";
}

std::string text_of(const nlohmann::json& details, const char* key) {
  const auto it = details.find(key);
  if (it == details.end()) return {};
  return it->is_string() ? it->get<std::string>() : it->dump();
}

std::optional<std::int64_t> int_of(const nlohmann::json& details, const char* key) {
  const auto it = details.find(key);
  if (it == details.end() || !it->is_number_integer()) return std::nullopt;
  return it->get<std::int64_t>();
}

// Which record USER names; several matches are an error that lists them.
expected<std::pair<std::string, std::string>, explain_error> resolve(
    const std::string& user, const config::settings& settings, const user_facts& facts) {
  const auto orgs = organizations(settings);
  std::vector<std::pair<std::string, std::string>> found;
  const auto add = [&](std::string org, std::string id) {
    const std::pair<std::string, std::string> key{std::move(org), std::move(id)};
    if (std::find(found.begin(), found.end(), key) == found.end()) found.push_back(key);
  };
  // A record id: its record, else the history of a user only reconciliations touched.
  if (salesforce::is_valid_id(user)) {
    const auto id = *salesforce::to_18_char_id(user);
    for (const auto& org : orgs)
      if (facts.record(org, id) || !facts.history(org, id, 1).empty()) add(org, id);
  }
  if (found.empty()) {
    store::user_query query;
    query.organization_ids = orgs;
    query.text = user;
    query.limit = 10;
    for (const auto& m : facts.search(query)) add(m.organization_id, m.record_id);
  }
  if (found.empty())
    if (auto linked = facts.linked_record(user)) add(linked->first, linked->second);
  if (found.empty()) {
    return unexpected{explain_error{
        404, "no Salesforce user known as '" + user +
                 "': not a record id, username or e-mail the connector has received, nor a "
                 "linked iSpring user id"}};
  }
  if (found.size() > 1) {
    std::string ids;
    for (const auto& [org, id] : found) ids += (ids.empty() ? "" : ", ") + id;
    return unexpected{explain_error{409, "'" + user + "' matches several Salesforce users: " + ids +
                                             "; name one by its record id"}};
  }
  return found.front();
}

nlohmann::json user_to_json(const ispring::user& u, const sync::directory_snapshot* directory) {
  nlohmann::json out = {{"id", u.id},
                        {"login", u.login},
                        {"email", u.email},
                        {"status", u.status == ispring::user_status_active ? "active" : "inactive"},
                        {"department_id", u.department_id},
                        {"fields", u.fields},
                        {"group_ids", u.group_ids}};
  if (directory) {
    if (const auto* d = directory->department_by_id(u.department_id)) out["department"] = d->name;
    nlohmann::json groups = nlohmann::json::array();
    for (const auto& id : u.group_ids)
      if (const auto* g = directory->group_by_id(id)) groups.push_back(g->name);
    out["groups"] = std::move(groups);
  }
  return out;
}

// What iSpring has now, read live, and the plan against it. Reads only.
void read_ispring(ispring::api& api, const std::optional<std::string>& link,
                  const std::optional<sync::desired_user>& desired, nlohmann::json& answer) {
  nlohmann::json& out = answer["ispring"];
  const auto fail = [&](const std::string& what, const ispring::failure& f) {
    out = {{"checked", false}, {"error", what + ": " + f.to_string()}};
  };
  std::optional<ispring::user> actual;
  std::string matched_by;
  if (link && !link->empty()) {
    auto u = api.get_user(*link);
    if (u) {
      actual = std::move(*u);
      matched_by = "the stored link";
    } else if (u.error().kind != ispring::failure_kind::not_found) {
      return fail("read linked user " + *link, u.error());
    }
  }
  if (!actual && desired) {
    for (const bool by_login : {true, false}) {
      const auto& key = by_login ? desired->login : desired->email;
      if (!key || key->empty()) continue;
      ispring::user_filter filter;
      (by_login ? filter.logins : filter.emails) = {*key};
      auto users = api.list_users(filter);
      if (!users)
        return fail(by_login ? "find user by login" : "find user by e-mail", users.error());
      if (!users->empty()) {
        actual = std::move(users->front());
        matched_by = by_login ? "login" : "e-mail";
        break;
      }
    }
  }
  sync::directory_snapshot directory;
  auto departments = api.list_departments();
  if (!departments) return fail("list departments", departments.error());
  directory.departments = std::move(*departments);
  auto groups = api.list_groups();
  if (!groups) return fail("list groups", groups.error());
  directory.groups = std::move(*groups);

  out = {{"checked", true}};
  if (actual) {
    out["user"] = user_to_json(*actual, &directory);
    out["matched_by"] = matched_by;
  } else {
    out["user"] = nullptr;
    if (link) out["note"] = "the linked user " + *link + " no longer exists";
  }
  if (desired) {
    const auto plan = sync::plan_user(*desired, actual, directory);
    auto& now = answer["now"];
    now["plan"] = plan.describe();
    if (!plan.problem.empty()) now["problem"] = plan.problem;
    now["summary"] = plan.has_changes() ? "iSpring differs from the Salesforce state last seen"
                                        : "iSpring already matches the Salesforce state last seen";
  }
}

std::string time_text(epoch_ms t) {
  return format_utc(t);
}

}  // namespace

store::store_settings store_settings_for(const config::settings& settings) {
  store::store_settings options;
  options.sqlite_path = settings.store.sqlite_path;
  if (settings.store.postgresql_url)
    options.postgresql_url = settings.store.postgresql_url->reveal();
  options.history_retention_ms =
      static_cast<std::int64_t>(settings.store.history_retention_days) * 24 * 60 * 60 * 1000;
  options.history_max_events_per_user = settings.store.history_max_events_per_user;
  options.notification_retention_ms =
      static_cast<std::int64_t>(settings.store.notification_retention_hours) * 60 * 60 * 1000;
  options.login_field = settings.mapping.login;
  options.email_field = settings.mapping.email;
  // Whenever verification may be on: a settings revision can turn it on while the store is
  // open (requeueing a waiting record with verification off only applies it again).
  options.requeue_stale_while_waiting = config::has_rest_credentials(settings.salesforce);
  return options;
}

user_facts facts_of(store::store_reader& inbox) {
  user_facts f;
  f.search = [&inbox](const store::user_query& q) { return inbox.search_users(q); };
  f.linked_record = [&inbox](const std::string& id) { return inbox.find_linked_record(id); };
  f.record = [&inbox](const std::string& org, const std::string& id) {
    return inbox.find_record(org, id);
  };
  f.link = [&inbox](const std::string& org, const std::string& id) {
    return inbox.find_link(org, id);
  };
  f.history = [&inbox](const std::string& org, const std::string& id, std::size_t limit) {
    return inbox.read_history(org, id, limit);
  };
  f.department_link = [&inbox](const std::string& org, const std::string& key) {
    return inbox.find_department_link(org, key);
  };
  return f;
}

namespace {

// Where the user's latest notification stands in the sync queue, and what the operator can do.
std::string queue_text(const store::pending_record& record, const std::string& record_id) {
  switch (record.state) {
    case store::record_state::pending:
      return "waiting for the worker";
    case store::record_state::retrying:
      return "retrying at " + time_text(record.due_at) + " after " +
             std::to_string(record.attempts) + " failed attempt(s)";
    case store::record_state::dead:
      return "dead letter: `connector retry " + record_id + "` applies it again";
    case store::record_state::done:
      return "applied; nothing waits";
    case store::record_state::held:
      return record.last_outcome + " (`connector release " + record_id + "`)";
  }
  return {};
}

}  // namespace

expected<nlohmann::json, explain_error> explain_user(const std::string& user,
                                                     const config::settings& settings,
                                                     const user_facts& facts, ispring::api* ispring,
                                                     const explain_options& options) {
  auto target = resolve(user, settings, facts);
  if (!target) return unexpected{target.error()};
  const auto& [org, record_id] = *target;
  nlohmann::json answer = {{"query", user}, {"organization_id", org}, {"record_id", record_id}};

  const auto link = facts.link(org, record_id);
  answer["link"] = link ? nlohmann::json{{"ispring_user_id", *link}} : nlohmann::json(nullptr);

  const auto record = facts.record(org, record_id);
  std::optional<sync::desired_user> desired;
  auto& now = answer["now"];
  if (record) {
    nlohmann::json fields = nlohmann::json::parse(record->fields_json, nullptr, false);
    if (!fields.is_object()) fields = nlohmann::json::object();
    answer["salesforce"] = {{"object_type", record->object_type},
                            {"fields", fields},
                            {"modstamp", record->modstamp ? nlohmann::json(*record->modstamp)
                                                          : nlohmann::json(nullptr)},
                            {"queue",
                             {{"state", store::to_string(record->state)},
                              {"version", record->version},
                              {"attempts", record->attempts},
                              {"last_error", record->last_error},
                              {"last_outcome", record->last_outcome},
                              {"due_at", record->due_at}}}};
    sync::mapped_user mapped;
    desired = sync::desired_from_record(*record, settings, &mapped);
    now["mapped"] = sync::mapping_details(mapped);
    now["scope"] = sync::scope_details(*desired);
    // The user goes to its key's linked department, whatever it is called now.
    if (desired->action == sync::sync_action::upsert && facts.department_link)
      if (auto l = facts.department_link(org, desired->department_key)) {
        desired->department_link = sync::linked_department{l->department_id, l->name};
        now["department_link"] = {
            {"key", l->key}, {"ispring_department_id", l->department_id}, {"name", l->name}};
      }
    now["queue"] = queue_text(*record, record_id);
  } else {
    answer["salesforce"] = nullptr;
    now["note"] = "no notification about this user was stored; only reconciliation runs touched it";
  }

  if (ispring) {
    read_ispring(*ispring, link, desired, answer);
  } else {
    answer["ispring"] = {{"checked", false}, {"reason", "offline: iSpring was not asked"}};
  }

  nlohmann::json timeline = nlohmann::json::array();
  auto history = facts.history(org, record_id, options.limit);
  note_merges(history);
  for (const auto& e : history) {
    nlohmann::json details = nlohmann::json::parse(e.details_json, nullptr, false);
    if (!details.is_object()) details = nlohmann::json::object();
    timeline.push_back({{"time", e.time},
                        {"at", time_text(e.time)},
                        {"kind", e.kind},
                        {"text", describe_event(e)},
                        {"details", std::move(details)}});
  }
  answer["timeline"] = std::move(timeline);
  return answer;
}

void note_merges(std::vector<store::history_event>& newest_first) {
  namespace kinds = store::history_kinds;
  // A flag and a time, not an optional: GCC's -Wmaybe-uninitialized misreads that one at -O2.
  bool waiting = false;
  epoch_ms waiting_since = 0;
  for (auto e = newest_first.rbegin(); e != newest_first.rend(); ++e) {
    if (e->kind == kinds::received) {
      if (waiting && waiting_since < e->time) {
        auto d = nlohmann::json::parse(e->details_json, nullptr, false);
        if (!d.is_object()) d = nlohmann::json::object();
        if (!d.contains("coalesced_since")) {
          d["coalesced_since"] = waiting_since;
          e->details_json = d.dump();
        }
      }
      if (!waiting) {
        waiting = true;
        waiting_since = e->time;
      }
    } else if (e->kind == kinds::requeued || e->kind == kinds::released) {
      if (!waiting) {
        waiting = true;
        waiting_since = e->time;
      }
    } else if (e->kind == kinds::applied || e->kind == kinds::skipped ||
               e->kind == kinds::dead_letter || e->kind == kinds::held) {
      waiting = false;
    }
  }
}

namespace {

// The group drainer's events (group_queue.hpp): queued, then the replace and its answer.
std::optional<std::string> describe_group_event(const std::string& kind, const nlohmann::json& d) {
  namespace kinds = store::group_history_kinds;
  const std::string group = quoted(text_of(d, "group"));
  if (kind == kinds::queued)
    return "queued to join " + group + " (added with everyone queued for it meanwhile)";
  if (kind == kinds::added)
    return "added to " + group + " by one replace of its members for " + text_of(d, "batch") +
           " user(s): " + text_of(d, "answer");
  if (kind == sync::group_dropped_kind)
    return "not added to " + group + ": iSpring no longer has user " +
           text_of(d, "ispring_user_id") +
           " (deleted there since it was queued), so the replace went on without it for " +
           text_of(d, "batch") +
           " other user(s); the user's next change or the next reconciliation creates it "
           "again while it is in scope";
  if (kind != kinds::failed) return std::nullopt;
  std::string text = "adding to " + group + " failed (attempt " + text_of(d, "attempt") +
                     "): " + text_of(d, "error");
  if (const auto next = int_of(d, "next_attempt_at"))
    text += "; next attempt at " + time_text(*next);
  return text;
}

// Where a notification came from, for the intake's events: "outbound message 04l…".
std::string source_text(const nlohmann::json& d) {
  const std::string s = text_of(d, "source");
  std::string text = s == "outbound_message" ? "outbound message" : s == "event" ? "event" : s;
  if (const auto id = text_of(d, "notification_id"); !id.empty()) text += " " + id;
  return text;
}

// The intake's events: a notification received, a duplicate, a stale or superseded state.
std::optional<std::string> describe_intake_event(const std::string& kind, const nlohmann::json& d) {
  namespace kinds = store::history_kinds;
  std::string text;
  if (kind == kinds::received) {
    text = "notification received (" + source_text(d);
    if (const auto m = int_of(d, "modstamp")) text += ", modstamp " + time_text(*m);
    text += ")";
    if (d.value("no_data", false)) text += "; the record was deleted before delivery";
    if (d.value("reread", false))
      text += "; Salesforce sent it without data (GAP event): the user is read over REST first";
    if (const auto since = int_of(d, "coalesced_since"))
      text += "; merged into the change waiting since " + time_text(*since);
  } else if (kind == kinds::duplicate) {
    text = "duplicate notification ignored (" + source_text(d) + " was received before)";
  } else if (kind == kinds::stale) {
    text = "notification ignored (" + source_text(d) + "): older than the state already held";
    if (const auto m = int_of(d, "modstamp")) text += " (its modstamp " + time_text(*m) + ")";
    if (d.value("read_again", false))
      text += "; the waiting user is read from Salesforce again all the same";
  } else if (kind == kinds::superseded) {
    text = "a newer state arrived while version " + text_of(d, "applied_version") +
           " was applied; the newer one is applied next";
  } else {
    return std::nullopt;
  }
  return text;
}

// A read of the user over Salesforce REST: why, and what it changed.
std::string describe_read_event(const nlohmann::json& d) {
  std::string text;
  const auto purpose = text_of(d, "purpose");
  const auto names = [&](const char* key) {
    std::string list;
    if (d.contains(key) && d[key].is_array())
      for (const auto& n : d[key]) list += (list.empty() ? "" : ", ") + n.get<std::string>();
    return list;
  };
  text = purpose == "verify" ? "verified with Salesforce: read over REST"
         : purpose == "gap"
             ? "read over REST (Salesforce sent the change without data)"
             : "read over REST to complete the notification, which lacked " + names("missing");
  if (d.value("without_rest", false)) {
    text = (purpose == "gap" ? std::string("Salesforce sent the change without data")
                             : "the notification lacked " + names("missing")) +
           ", and no Salesforce REST credentials are configured to read the user: the last "
           "state received is applied";
  } else if (!d.value("returned", true)) {
    text +=
        "; Salesforce does not return the user (unknown id, deleted, or outside "
        "salesforce.query_filter), so nothing is applied";
  } else if (const auto differing = names("differing"); !differing.empty()) {
    text += "; the notification's " + differing +
            " differed from Salesforce and were not used: Salesforce's values are applied";
  } else if (purpose == "verify") {
    text += "; Salesforce confirms the notification";
  }
  return text;
}

// What the mapping took from the record.
std::string describe_mapped_event(const nlohmann::json& d) {
  std::string text;
  std::vector<std::string> parts;
  if (d.contains("login")) parts.push_back("login " + quoted(text_of(d, "login")));
  if (d.contains("email")) parts.push_back("e-mail " + quoted(text_of(d, "email")));
  if (d.contains("department")) {
    const auto dep = text_of(d, "department");
    parts.push_back(dep.empty() ? std::string("no department") : "department " + quoted(dep));
  }
  if (d.contains("active")) parts.push_back(d["active"].get<bool>() ? "active" : "inactive");
  if (d.contains("groups") && d["groups"].is_array()) {
    std::string groups;
    for (const auto& g : d["groups"])
      groups += (groups.empty() ? "" : ", ") + quoted(g.get<std::string>());
    parts.push_back("groups " + (groups.empty() ? std::string("none") : groups));
  }
  text = "mapped:";
  for (std::size_t i = 0; i < parts.size(); ++i) text += (i == 0 ? " " : ", ") + parts[i];
  if (parts.empty()) text += " nothing the mapping reads was in the record";
  return text;
}

// The worker's and the reconciliation's events: scope, iSpring calls, outcomes, failures,
// the operator's retries and releases.
std::optional<std::string> describe_outcome_event(const std::string& kind,
                                                  const nlohmann::json& d) {
  namespace kinds = store::history_kinds;
  std::string text;
  if (kind == kinds::scope) {
    text = std::string(d.value("in_scope", false) ? "in scope: " : "out of scope: ") +
           text_of(d, "reason") + " → " + text_of(d, "action");
    if (const auto revision = int_of(d, "settings_revision"))
      text += " (settings revision " + std::to_string(*revision) + ")";
  } else if (kind == kinds::ispring_call) {
    text = "iSpring " + text_of(d, "call") + ": " +
           (d.value("ok", false) ? std::string("ok") : text_of(d, "error"));
  } else if (kind == kinds::applied) {
    text = text_of(d, "outcome");
  } else if (kind == kinds::skipped) {
    text = text_of(d, "outcome");
  } else if (kind == kinds::failed) {
    text = "attempt " + text_of(d, "attempt") + " failed: " + text_of(d, "error");
    if (const auto next = int_of(d, "next_attempt_at"))
      text += "; next attempt at " + time_text(*next);
  } else if (kind == kinds::dead_letter) {
    text = "dead letter after attempt " + text_of(d, "attempt") + ": " + text_of(d, "error");
    if (!d.value("retryable", true)) text += " (not worth retrying)";
  } else if (kind == kinds::requeued) {
    text = "dead letter re-queued by the operator";
  } else if (kind == kinds::held) {
    text = text_of(d, "reason");
  } else if (kind == kinds::released) {
    text = "released from the safety limit by the operator: applied even over the cap";
  } else if (kind == organization_reset_kind) {
    text = "link to iSpring user " + text_of(d, "ispring_user_id") + " forgotten by " +
           text_of(d, "by") + ": the store was reset from iSpring organization " +
           text_of(d, "from") + " to " + text_of(d, "to") +
           "; the next change or reconciliation matches or creates the user there";
  } else if (kind == kinds::reconciled) {
    text = "reconciliation run " + text_of(d, "run_id") + ": " + text_of(d, "action") + " (" +
           text_of(d, "reason") + ")";
    if (d.contains("changes") && d["changes"].is_array())
      for (const auto& c : d["changes"]) text += "; " + c.get<std::string>();
    if (!d.value("ok", true)) text += "; failed: " + text_of(d, "error");
  } else {
    return std::nullopt;
  }
  return text;
}

}  // namespace

std::string describe_event(const store::history_event& event) {
  namespace kinds = store::history_kinds;
  nlohmann::json d = nlohmann::json::parse(event.details_json, nullptr, false);
  if (!d.is_object()) d = nlohmann::json::object();
  const std::string& kind = event.kind;
  if (auto group = describe_group_event(kind, d)) return *group;
  if (auto intake = describe_intake_event(kind, d)) return *intake;
  if (kind == kinds::read) return describe_read_event(d);
  if (kind == kinds::mapped) return describe_mapped_event(d);
  if (auto outcome = describe_outcome_event(kind, d)) return *outcome;
  return kind + " " + d.dump();
}

std::string explain_to_text(const nlohmann::json& a) {
  std::ostringstream out;
  out << "Salesforce user " << a.value("record_id", "") << " (organization "
      << a.value("organization_id", "") << ")\n";
  const auto& link = a["link"];
  out << "  iSpring link:   "
      << (link.is_object() ? link.value("ispring_user_id", "") : std::string("none yet")) << "\n";

  const auto& sf = a["salesforce"];
  out << "\nSalesforce, as last seen\n";
  if (!sf.is_object()) {
    out << "  no notification stored\n";
  } else {
    for (const auto& [key, value] : sf["fields"].items())
      out << "  " << key << ": " << (value.is_string() ? value.get<std::string>() : value.dump())
          << "\n";
    const auto& q = sf["queue"];
    out << "  queue: " << q.value("state", "") << ", version " << q.value("version", 0);
    if (const auto e = q.value("last_error", std::string()); !e.empty())
      out << ", last error: " << e;
    if (const auto o = q.value("last_outcome", std::string()); !o.empty())
      out << ", last outcome: " << o;
    out << "\n";
  }

  const auto& is = a["ispring"];
  out << "\niSpring Learn, now\n";
  if (!is.value("checked", false)) {
    out << "  not read: " << (is.contains("error") ? is.value("error", "") : is.value("reason", ""))
        << "\n";
  } else if (!is["user"].is_object()) {
    out << "  no such user" << (is.contains("note") ? " (" + is.value("note", "") + ")" : "")
        << "\n";
  } else {
    const auto& u = is["user"];
    out << "  user " << u.value("id", "") << " (matched by " << is.value("matched_by", "") << "), "
        << u.value("status", "") << ", department "
        << u.value("department", u.value("department_id", "")) << "\n";
    for (const auto& [key, value] : u["fields"].items())
      out << "  " << key << ": " << value.get<std::string>() << "\n";
    if (u.contains("groups")) {
      std::string groups;
      for (const auto& g : u["groups"])
        groups += (groups.empty() ? "" : ", ") + g.get<std::string>();
      out << "  groups: " << (groups.empty() ? "none" : groups) << "\n";
    }
  }

  const auto& now = a["now"];
  out << "\nWhat the connector would do now\n";
  if (now.contains("note")) out << "  " << now.value("note", "") << "\n";
  if (now.contains("scope")) {
    const auto& s = now["scope"];
    out << "  " << (s.value("in_scope", false) ? "in scope: " : "out of scope: ")
        << s.value("reason", "") << " → " << s.value("action", "") << "\n";
  }
  if (now.contains("queue")) out << "  queue: " << now.value("queue", "") << "\n";
  if (now.contains("summary")) out << "  " << now.value("summary", "") << "\n";
  if (now.contains("plan"))
    for (const auto& line : now["plan"]) out << "    " << line.get<std::string>() << "\n";
  if (now.contains("problem")) out << "  cannot be applied: " << now.value("problem", "") << "\n";

  out << "\nHistory, newest first\n";
  if (a["timeline"].empty()) out << "  nothing recorded (or pruned)\n";
  for (const auto& e : a["timeline"])
    out << "  " << e.value("at", "") << "  " << e.value("text", "") << "\n";
  return out.str();
}

nlohmann::json matches_to_json(const std::vector<store::user_match>& matches) {
  nlohmann::json users = nlohmann::json::array();
  for (const auto& m : matches)
    users.push_back({{"organization_id", m.organization_id},
                     {"record_id", m.record_id},
                     {"login", m.login},
                     {"email", m.email},
                     {"state", store::to_string(m.state)},
                     {"url", "/admin/users/" + m.record_id}});
  return users;
}

}  // namespace connector::app

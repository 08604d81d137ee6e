#include "connector/app/pickers.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <system_error>
#include <thread>

#include "connector/app/admin_api.hpp"
#include "connector/ispring/client.hpp"
#include "connector/log.hpp"
#include "connector/salesforce/ids.hpp"
#include "connector/salesforce/rest_client.hpp"
#include "connector/sync/mapping.hpp"
#include "connector/sync/scope.hpp"
#include "connector/text/ascii.hpp"

namespace connector::app {
namespace {

using nlohmann::json;

constexpr int remote_timeout_ms = 15'000;  // a picker waits no longer for a remote answer

std::string dump(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

// The field's name in a query result: the last part of a relationship path.
std::string result_name(const std::string& path) {
  const auto dot = path.rfind('.');
  return dot == std::string::npos ? path : path.substr(dot + 1);
}

// " AND (filter)" when salesforce.query_filter is set: the pickers count and list the users
// the reconciliation reads, not integration or portal users it never syncs.
std::string and_filter(const config::salesforce_settings& salesforce) {
  return salesforce.query_filter.empty() ? std::string() : " AND (" + salesforce.query_filter + ")";
}

bool less_ignoring_case(const std::string& a, const std::string& b) {
  return text::ascii_lower(a) < text::ascii_lower(b);
}

std::optional<std::string> text_of(const json& record, const std::string& name) {
  const auto it = record.find(name);
  if (it == record.end() || !it->is_string()) return std::nullopt;
  return it->get<std::string>();
}

}  // namespace

// --- Pure parts -------------------------------------------------------------------------

std::string soql_escape(std::string_view text, bool like) {
  std::string out;
  out.reserve(text.size() + 8);
  for (const char c : text) {
    switch (c) {  // SOQL's escape sequences (salesforce sandbox: string_literal)
      case '\\':
        out += "\\\\";
        break;
      case '\'':
        out += "\\'";
        break;
      case '"':
        out += "\\\"";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '%':
      case '_':
        if (like) out += '\\';
        out += c;
        break;
      default:
        // Other control characters have no escape in SOQL: dropped, they match nothing.
        if (static_cast<unsigned char>(c) >= 0x20) out += c;
    }
  }
  return out;
}

std::string department_count_query(const config::salesforce_settings& salesforce,
                                   const config::mapping_settings& mapping) {
  if (!salesforce::is_soql_field_path(mapping.department) ||
      !salesforce::is_soql_field_path(salesforce.source_object))
    throw std::invalid_argument(
        "mapping.department or salesforce.source_object is not a field "
        "or object name");
  return "SELECT " + mapping.department + ", COUNT(Id) FROM " + salesforce.source_object +
         " WHERE IsActive = true" + and_filter(salesforce) + " GROUP BY " + mapping.department +
         " LIMIT " + std::to_string(max_picker_departments);
}

std::string configured_count_query(const config::salesforce_settings& salesforce,
                                   const config::mapping_settings& mapping,
                                   const std::vector<std::string>& departments) {
  if (departments.empty()) throw std::invalid_argument("no departments to count");
  std::string in;
  for (const auto& d : departments) in += (in.empty() ? "'" : ", '") + soql_escape(d) + "'";
  std::string soql = department_count_query(salesforce, mapping);
  const std::string group = " GROUP BY ";
  soql.insert(soql.find(group), " AND " + mapping.department + " IN (" + in + ")");
  return soql;
}

expected<std::vector<department_count>, std::string> read_department_counts(
    const std::vector<json>& records, const config::mapping_settings& mapping) {
  const std::string field = result_name(mapping.department);
  std::vector<department_count> out;
  for (const auto& r : records) {
    const auto count = r.find("expr0");
    if (!r.is_object() || count == r.end() || !count->is_number_integer())
      return unexpected{"Salesforce answered the department count without a count (expr0): " +
                        dump(r).substr(0, 200)};
    const auto name = r.find(field);
    if (name == r.end() || !(name->is_string() || name->is_null()))
      return unexpected{"Salesforce answered the department count without the field " + field};
    out.push_back(
        {name->is_string() ? name->get<std::string>() : std::string(), count->get<std::int64_t>()});
  }
  return out;
}

bool department_selected(const config::sync_settings& sync, const std::string& department) {
  // Chosen by group, a department selects no one; a custom department's key is no Salesforce
  // value, and a Salesforce department of that name is not pulled in (sync/scope.hpp).
  if (sync.select_by == "group") return false;
  const auto custom_named = [&](const auto& entry) {
    return entry.second.custom && text::iequals(entry.first, department);
  };
  if (std::any_of(sync.departments.begin(), sync.departments.end(), custom_named)) return false;
  if (sync.departments.empty()) return true;
  return std::any_of(sync.departments.begin(), sync.departments.end(), [&](const auto& entry) {
    return entry.first == "*" || text::iequals(entry.first, department);
  });
}

std::vector<std::string> unmatched_departments(const std::vector<department_count>& counts,
                                               const config::sync_settings& sync, bool complete) {
  std::vector<std::string> out;
  if (!complete) return out;
  for (const auto& [key, rule] : sync.departments) {
    if (key == "*" || rule.custom) continue;  // custom: a name of ours, not a Salesforce value
    const bool matched = std::any_of(counts.begin(), counts.end(), [&key](const auto& c) {
      return c.active_users > 0 && text::iequals(c.name, key);
    });
    if (!matched) out.push_back(key);
  }
  return out;
}

std::vector<std::string> custom_users_queries(const config::salesforce_settings& salesforce,
                                              const config::sync_settings& sync) {
  std::vector<std::string> entries;
  for (const auto& [key, rule] : sync.departments)
    if (rule.custom) entries.insert(entries.end(), rule.users.begin(), rule.users.end());
  std::vector<std::string> out;
  for (std::size_t from = 0; from < entries.size(); from += 100) {
    std::string usernames, ids;
    for (std::size_t i = from; i < std::min(entries.size(), from + 100); ++i) {
      auto& list = salesforce::is_valid_id(entries[i]) ? ids : usernames;
      list += (list.empty() ? "'" : ", '") + soql_escape(entries[i]) + "'";
    }
    std::string where = usernames.empty() ? "" : "Username IN (" + usernames + ")";
    if (!ids.empty()) where += (where.empty() ? "" : " OR ") + ("Id IN (" + ids + ")");
    out.push_back("SELECT Id, Username, IsActive FROM " + salesforce.source_object + " WHERE (" +
                  where + ")" + and_filter(salesforce));
  }
  return out;
}

json custom_user_warnings(const config::sync_settings& sync, const std::vector<json>& records) {
  json warnings = json::array();
  for (const auto& [key, rule] : sync.departments) {
    if (!rule.custom) continue;
    for (const auto& entry : rule.users) {
      const bool by_id = salesforce::is_valid_id(entry);
      const auto found = std::find_if(records.begin(), records.end(), [&](const json& r) {
        const auto id = text_of(r, "Id").value_or("");
        return by_id ? salesforce::is_valid_id(id) && salesforce::same_id(id, entry)
                     : text::iequals(text_of(r, "Username").value_or(""), entry);
      });
      const bool inactive = found != records.end() && found->value("IsActive", true) == false;
      if (found != records.end() && !inactive) continue;
      warnings.push_back(
          {{"kind", "custom_department_user"},
           {"department", key},
           {"user", entry},
           {"message", "sync.departments['" + key + "'] lists '" + entry + "', " +
                           (inactive ? "who is inactive in Salesforce"
                                     : "who is no Salesforce user the connector reads") +
                           ": not synchronised"}});
    }
  }
  return warnings;
}

json departments_answer(const std::vector<department_count>& counts,
                        const config::sync_settings& sync, bool complete) {
  std::vector<department_count> named;
  std::int64_t without = 0;
  for (const auto& c : counts) {
    if (c.name.empty())
      without += c.active_users;
    else if (c.active_users > 0)
      named.push_back(c);
  }
  const auto missing = unmatched_departments(counts, sync, true);
  for (const auto& name : missing) named.push_back({name, 0});
  std::sort(named.begin(), named.end(),
            [](const auto& a, const auto& b) { return less_ignoring_case(a.name, b.name); });
  json list = json::array();
  for (const auto& c : named) {
    json d = {{"name", c.name},
              {"active_users", c.active_users},
              {"selected", department_selected(sync, c.name)}};
    if (std::find(missing.begin(), missing.end(), c.name) != missing.end()) d["missing"] = true;
    list.push_back(std::move(d));
  }
  return {
      {"departments", std::move(list)}, {"without_department", without}, {"complete", complete}};
}

std::string user_search_query(const config::salesforce_settings& salesforce,
                              const config::mapping_settings& mapping, const user_search& search) {
  const std::string& department = mapping.department;
  if (!salesforce::is_soql_field_path(department) ||
      !salesforce::is_soql_field_path(salesforce.source_object))
    throw std::invalid_argument(
        "mapping.department or salesforce.source_object is not a field "
        "or object name");
  std::string soql = "SELECT Id, Username, Name, Email";
  if (!text::iequals(department, "Username") && !text::iequals(department, "Name") &&
      !text::iequals(department, "Email"))
    soql += ", " + department;
  // The group field, for "selected" when users are chosen by group.
  if (!mapping.groups.empty() && salesforce::is_soql_field_path(mapping.groups) &&
      !text::iequals(mapping.groups, department))
    soql += ", " + mapping.groups;
  soql += " FROM " + salesforce.source_object + " WHERE IsActive = true";
  if (!search.department.empty())
    soql += " AND " + department + " = '" + soql_escape(search.department) + "'";
  soql += and_filter(salesforce);
  if (!search.text.empty()) {
    const std::string pattern = "'%" + soql_escape(search.text, true) + "%'";
    soql += " AND (Name LIKE " + pattern + " OR Username LIKE " + pattern + " OR Email LIKE " +
            pattern + ")";
  }
  soql += " ORDER BY Name, Id LIMIT " + std::to_string(search.limit + 1);
  if (search.offset > 0) soql += " OFFSET " + std::to_string(search.offset);
  return soql;
}

json users_answer(std::vector<json> records, const user_search& search,
                  const config::settings& settings) {
  const bool more = records.size() > search.limit;
  if (more) records.resize(search.limit);
  json users = json::array();
  for (const auto& r : records) {
    // As the sync maps it (the group field too, which chooses users by group).
    sync::mapped_user user = sync::map_user(r, text_of(r, "Id").value_or(""), settings.mapping);
    if (!search.department.empty()) user.department = search.department;
    user.active = true;
    const bool selected = sync::decide_scope(user, settings.sync).in_scope;
    users.push_back({{"id", user.record_id},
                     {"username", user.username.value_or("")},
                     {"name", text_of(r, "Name").value_or("")},
                     {"email", text_of(r, "Email").value_or("")},
                     {"department", user.department.value_or("")},
                     {"selected", selected}});
  }
  return {{"department", search.department}, {"q", search.text}, {"limit", search.limit},
          {"offset", search.offset},         {"more", more},     {"users", std::move(users)}};
}

json salesforce_fields_answer(const json& describe) {
  json list = json::array();
  for (const auto& f : describe.value("fields", json::array())) {
    if (!f.is_object() || !f.contains("name") || !f["name"].is_string()) continue;
    list.push_back({{"name", f["name"]},
                    {"label", f.value("label", f["name"].get<std::string>())},
                    {"type", f.value("type", std::string())}});
  }
  std::sort(list.begin(), list.end(), [](const json& a, const json& b) {
    return less_ignoring_case(a["label"].get<std::string>(), b["label"].get<std::string>());
  });
  return {{"object", describe.value("name", std::string())}, {"fields", std::move(list)}};
}

json ispring_fields_answer(const std::vector<ispring::profile_field>& fields) {
  json list = json::array();
  for (const auto& f : fields) {
    list.push_back({{"id", f.id},
                    {"label", f.label},
                    {"type", f.type},
                    {"required", f.is_required},
                    {"unique", f.is_unique}});
  }
  return json::object({{"fields", std::move(list)}});
}

json ispring_departments_answer(const std::vector<ispring::department>& departments) {
  std::map<std::string, const ispring::department*> by_id;
  for (const auto& d : departments) by_id[d.id] = &d;
  // "Root / Sales / EMEA"; a loop or an unknown parent ends the walk.
  const auto path_of = [&by_id](const ispring::department& d) {
    std::string path = d.name;
    const ispring::department* at = &d;
    for (std::size_t hops = 0; at->parent_id && hops < by_id.size(); ++hops) {
      const auto parent = by_id.find(*at->parent_id);
      if (parent == by_id.end()) break;
      at = parent->second;
      path = at->name + " / " + path;
    }
    return path;
  };
  json list = json::array();
  for (const auto& d : departments) {
    list.push_back({{"id", d.id},
                    {"name", d.name},
                    {"path", path_of(d)},
                    {"parent_id", d.parent_id ? json(*d.parent_id) : json(nullptr)},
                    {"code", d.code ? json(*d.code) : json(nullptr)}});
  }
  std::sort(list.begin(), list.end(), [](const json& a, const json& b) {
    return less_ignoring_case(a["path"].get<std::string>(), b["path"].get<std::string>());
  });
  return json::object({{"departments", std::move(list)}});
}

json ispring_groups_answer(const std::vector<ispring::group>& groups) {
  json list = json::array();
  for (const auto& g : groups)
    list.push_back({{"id", g.id}, {"name", g.name}, {"smart", g.is_smart}});
  std::sort(list.begin(), list.end(), [](const json& a, const json& b) {
    return less_ignoring_case(a["name"].get<std::string>(), b["name"].get<std::string>());
  });
  return json::object({{"groups", std::move(list)}});
}

// --- The routes -------------------------------------------------------------------------

struct pickers::state {
  picker_sources sources;
  std::atomic<std::size_t> in_flight{0};

  // The last department counts, for status_warnings.
  mutable std::mutex mutex;
  std::optional<std::vector<department_count>> counts;
  bool counts_complete = true;                // the list was not cut at max_picker_departments
  std::vector<std::string> counts_looked_up;  // then: the configured ones asked for by name
  json custom_warnings = json::array();       // custom departments' missing or inactive users
  std::int64_t counts_at_ms = 0;
  bool refreshing = false;
  std::optional<std::int64_t> refresh_tried_at_ms;  // a failing Salesforce is asked seldom

  // Threads still running a picker's remote calls (under mutex): the pickers wait for them
  // when destroyed, so none outlives what it reads (the settings source, the process's
  // statics at exit). Each ends within the remote timeout.
  std::size_t threads = 0;
  std::condition_variable threads_done;

  void thread_started() {
    std::lock_guard lock(mutex);
    ++threads;
  }
  void thread_ended() {
    std::lock_guard lock(mutex);
    if (--threads == 0) threads_done.notify_all();
  }

  static std::int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }

  expected<std::vector<department_count>, http::response> query_counts(
      const std::string& soql, const config::mapping_settings& mapping) {
    std::vector<json> records;
    auto read = sources.salesforce->query(soql, [&records](auto& page) {
      for (auto& r : page) records.push_back(std::move(r));
      return true;
    });
    if (!read) return unexpected{json_error(502, "Salesforce: " + read.error().to_string())};
    auto counts_read = read_department_counts(records, mapping);
    if (!counts_read) return unexpected{json_error(502, counts_read.error())};
    return std::move(*counts_read);
  }

  // The custom departments' listed users that Salesforce has not, or has inactive;
  // remembered for the warnings.
  expected<bool, http::response> read_custom_warnings(const config::settings& settings) {
    std::vector<json> records;
    for (const auto& soql : custom_users_queries(settings.salesforce, settings.sync)) {
      auto read = sources.salesforce->query(soql, [&records](auto& page) {
        for (auto& r : page) records.push_back(std::move(r));
        return true;
      });
      if (!read) return unexpected{json_error(502, "Salesforce: " + read.error().to_string())};
    }
    auto warnings = custom_user_warnings(settings.sync, records);
    std::lock_guard lock(mutex);
    custom_warnings = std::move(warnings);
    return true;
  }

  // Active users per department, straight from Salesforce; remembered for the warnings.
  // A cut list is completed with the configured departments beyond the cut, asked for by
  // name, so "missing" is never a guess.
  expected<department_listing, http::response> read_counts(const config::settings& settings) {
    if (!sources.salesforce) return unexpected{json_error(409, sources.salesforce_unavailable)};
    auto listed = query_counts(department_count_query(settings.salesforce, settings.mapping),
                               settings.mapping);
    if (!listed) return unexpected{std::move(listed.error())};
    department_listing out{std::move(*listed), true, {}};
    out.complete = out.counts.size() < max_picker_departments;
    if (!out.complete) {
      for (const auto& [key, rule] : settings.sync.departments) {
        const bool seen = std::any_of(out.counts.begin(), out.counts.end(),
                                      [&key](const auto& c) { return text::iequals(c.name, key); });
        if (key != "*" && !rule.custom && !seen) out.looked_up.push_back(key);
      }
      for (std::size_t from = 0; from < out.looked_up.size(); from += 100) {
        const std::vector<std::string> chunk(
            out.looked_up.begin() + static_cast<std::ptrdiff_t>(from),
            out.looked_up.begin() +
                static_cast<std::ptrdiff_t>(std::min(out.looked_up.size(), from + 100)));
        auto more = query_counts(
            configured_count_query(settings.salesforce, settings.mapping, chunk), settings.mapping);
        if (!more) return unexpected{std::move(more.error())};
        out.counts.insert(out.counts.end(), more->begin(), more->end());
      }
    }
    std::lock_guard lock(mutex);
    counts = out.counts;
    counts_complete = out.complete;
    counts_looked_up = out.looked_up;
    counts_at_ms = now_ms();
    return out;
  }
};

namespace {

using state_ptr = std::shared_ptr<pickers::state>;
// The work of one picker, run off the listener's thread: the answer, or an error answer.
using picker_work = std::function<http::response(pickers::state&, const config::settings&,
                                                 const text::query_params&)>;

// Each request's remote calls run on a thread of their own, never on the admin listener's,
// and at most max_in_flight at once: a page that hammers a picker cannot pile threads up
// behind a slow remote system, nor hold up status.
http::handler_fn remote_route(const std::vector<config::admin_token>& tokens, state_ptr state,
                              picker_work work) {
  return admin_only(
      tokens, [state, work = std::move(work)](http::request&&, const text::query_params& query,
                                              http::respond_fn respond) {
        const auto busy = [](const std::string& why) {
          auto r = json_error(503, why);
          r.headers.emplace_back("Retry-After", "1");
          return r;
        };
        if (state->in_flight.fetch_add(1) >= state->sources.max_in_flight) {
          state->in_flight.fetch_sub(1);
          return respond(busy("too many picker requests at once; try again in a moment"));
        }
        auto answer_to = std::make_shared<http::respond_fn>(std::move(respond));
        state->thread_started();
        try {
          std::thread([state, work, query, answer_to] {
            http::response answer;
            try {
              answer = work(*state, state->sources.settings(), query);
            } catch (const std::exception& e) {
              answer = json_error(500, std::string("picker failed: ") + e.what());
            }
            state->in_flight.fetch_sub(1);
            (*answer_to)(std::move(answer));
            state->thread_ended();
          }).detach();
        } catch (const std::system_error&) {  // no thread to be had
          state->thread_ended();
          state->in_flight.fetch_sub(1);
          (*answer_to)(busy("the service is out of threads; try again in a moment"));
        }
      });
}

http::response departments(pickers::state& s, const config::settings& settings,
                           const text::query_params&) {
  auto listing = s.read_counts(settings);
  if (!listing) return std::move(listing.error());
  return http::response::json(
      200, dump(departments_answer(listing->counts, settings.sync, listing->complete)));
}

expected<user_search, std::string> read_search(const text::query_params& query) {
  user_search search;
  if (const auto* department = query.find("department")) search.department = *department;
  if (const auto* q = query.find("q")) search.text = *q;
  // Every user of a large org is too long a list to tick through: all departments need a q.
  if (search.department.empty() && search.text.empty())
    return unexpected{
        std::string("department: name the department whose users to list, or search every "
                    "department with q")};
  if (search.text.size() > max_picker_search)
    return unexpected{"q: at most " + std::to_string(max_picker_search) + " characters"};
  const auto limit = query.whole_number("limit", 50);
  const auto offset = query.whole_number("offset", 0);
  if (!limit) return unexpected{limit.error()};
  if (!offset) return unexpected{offset.error()};
  if (*limit == 0 || *limit > max_picker_users)
    return unexpected{"limit: 1 to " + std::to_string(max_picker_users)};
  if (*offset > max_picker_offset)
    return unexpected{"offset: at most " + std::to_string(max_picker_offset) +
                      " (Salesforce's limit); narrow the list with q"};
  search.limit = *limit;
  search.offset = *offset;
  return search;
}

http::response users(pickers::state& s, const config::settings& settings,
                     const text::query_params& query) {
  const auto search = read_search(query);
  if (!search) return json_error(400, search.error());
  if (!s.sources.salesforce) return json_error(409, s.sources.salesforce_unavailable);
  std::vector<json> records;
  auto read =
      s.sources.salesforce->query(user_search_query(settings.salesforce, settings.mapping, *search),
                                  [&records, max = search->limit + 1](auto& page) {
                                    for (auto& r : page) records.push_back(std::move(r));
                                    return records.size() < max;
                                  });
  if (!read) return json_error(502, "Salesforce: " + read.error().to_string());
  return http::response::json(200, dump(users_answer(std::move(records), *search, settings)));
}

http::response salesforce_fields(pickers::state& s, const config::settings& settings,
                                 const text::query_params&) {
  if (!s.sources.salesforce) return json_error(409, s.sources.salesforce_unavailable);
  auto described = s.sources.salesforce->describe(settings.salesforce.source_object);
  if (!described) return json_error(502, "Salesforce: " + described.error().to_string());
  return http::response::json(200, dump(salesforce_fields_answer(*described)));
}

// An iSpring picker: `read` asks, `answer` shapes.
template <class Read, class Answer>
picker_work ispring_picker(Read read, Answer answer) {
  return [read, answer](pickers::state& s, const config::settings&, const text::query_params&) {
    if (!s.sources.ispring)
      return json_error(409, "iSpring Learn is not configured (no ispring section)");
    auto got = read(*s.sources.ispring);
    if (!got) return json_error(502, "iSpring Learn: " + got.error().to_string());
    return http::response::json(200, dump(answer(*got)));
  };
}

}  // namespace

pickers::pickers(picker_sources sources) : state_(std::make_shared<state>()) {
  state_->sources = std::move(sources);
}

pickers::~pickers() {
  std::unique_lock lock(state_->mutex);
  state_->threads_done.wait(lock, [this] { return state_->threads == 0; });
}

std::vector<http::route> pickers::routes(const std::vector<config::admin_token>& token) const {
  return {
      {"GET", "/admin/salesforce/departments", remote_route(token, state_, departments)},
      {"GET", "/admin/salesforce/users", remote_route(token, state_, users)},
      {"GET", "/admin/salesforce/fields", remote_route(token, state_, salesforce_fields)},
      {"GET", "/admin/ispring/fields",
       remote_route(token, state_,
                    ispring_picker([](ispring::api& api) { return api.profile_fields(); },
                                   ispring_fields_answer))},
      {"GET", "/admin/ispring/departments",
       remote_route(token, state_,
                    ispring_picker([](ispring::api& api) { return api.list_departments(); },
                                   ispring_departments_answer))},
      {"GET", "/admin/ispring/groups",
       remote_route(token, state_,
                    ispring_picker([](ispring::api& api) { return api.list_groups(); },
                                   ispring_groups_answer))},
  };
}

namespace {

// sync.departments names departments (not only "*"): something to check.
bool lists_departments(const config::settings& settings) {
  return std::any_of(settings.sync.departments.begin(), settings.sync.departments.end(),
                     [](const auto& entry) { return entry.first != "*"; });
}

// status_warnings' answer from one reading of the counts.
json department_warnings(const std::vector<department_count>& counts, bool complete,
                         const std::vector<std::string>& looked_up,
                         const config::settings& settings) {
  json warnings = json::array();
  const std::string field = settings.mapping.department;
  for (const auto& name : unmatched_departments(counts, settings.sync, true)) {
    // Beyond a cut list only the departments asked for by name are known (one added to the
    // settings since then waits for the next count).
    const bool known =
        complete || std::any_of(looked_up.begin(), looked_up.end(),
                                [&](const auto& l) { return text::iequals(l, name); });
    if (!known) continue;
    warnings.push_back(
        {{"kind", "department_matches_no_user"},
         {"department", name},
         {"message", "sync.departments lists '" + name +
                         "', which no active Salesforce user has as " + field +
                         ": check the spelling (GET /admin/salesforce/departments)"}});
  }
  return warnings;
}

}  // namespace

expected<json, std::string> pickers::read_status_warnings() const {
  const auto settings = state_->sources.settings();
  if (!lists_departments(settings) || !state_->sources.salesforce) return json::array();
  expected<department_listing, http::response> listing = unexpected{http::response{}};
  try {
    listing = state_->read_counts(settings);
  } catch (const std::exception& e) {  // a department field the query cannot name
    return unexpected{std::string(e.what())};
  }
  if (!listing) {
    const auto body = json::parse(listing.error().body, nullptr, false);
    return unexpected{body.is_object() ? body.value("error", listing.error().body)
                                       : listing.error().body};
  }
  return department_warnings(listing->counts, listing->complete, listing->looked_up, settings);
}

json pickers::status_warnings() const {
  const auto settings = state_->sources.settings();
  if (!lists_departments(settings) || !state_->sources.salesforce) return json::array();
  std::optional<std::vector<department_count>> counts;
  bool complete = true;
  std::vector<std::string> looked_up;
  json custom_warnings;
  {
    std::lock_guard lock(state_->mutex);
    const auto now = state::now_ms();
    const auto every = state_->sources.warning_refresh_ms;
    const bool stale = !state_->counts || now - state_->counts_at_ms > every;
    const bool may_try =
        !state_->refresh_tried_at_ms || now - *state_->refresh_tried_at_ms > every / 10;
    if (stale && may_try && !state_->refreshing) {
      state_->refreshing = true;
      state_->refresh_tried_at_ms = now;
      ++state_->threads;  // under the lock already
      try {
        std::thread([s = state_, settings] {
          try {
            if (auto read = s->read_counts(settings); !read)
              log::warn("status.department_check_failed",
                        "checking the configured departments against Salesforce failed: {}",
                        read.error().body);
            else if (auto custom = s->read_custom_warnings(settings); !custom)
              log::warn("status.department_check_failed",
                        "checking the custom departments' users against Salesforce failed: {}",
                        custom.error().body);
          } catch (const std::exception& e) {
            log::warn("status.department_check_failed",
                      "checking the configured departments against Salesforce failed: {}",
                      e.what());
          }
          std::lock_guard lock(s->mutex);
          s->refreshing = false;
          if (--s->threads == 0) s->threads_done.notify_all();
        }).detach();
      } catch (const std::system_error&) {  // no thread to be had: next time
        state_->refreshing = false;
        --state_->threads;
      }
    }
    counts = state_->counts;
    complete = state_->counts_complete;
    looked_up = state_->counts_looked_up;
    custom_warnings = state_->custom_warnings;
  }
  if (!counts) return json::array();
  auto warnings = department_warnings(*counts, complete, looked_up, settings);
  // As of the last check, for the users the settings still list (a new one waits for the next).
  for (auto& w : custom_warnings) {
    const auto rule = settings.sync.departments.find(w["department"].get<std::string>());
    if (rule != settings.sync.departments.end() && rule->second.custom &&
        std::count(rule->second.users.begin(), rule->second.users.end(), w["user"]) > 0)
      warnings.push_back(std::move(w));
  }
  return warnings;
}

picker_sources make_picker_sources(const config::settings& settings) {
  picker_sources sources;
  sources.settings = [settings] { return settings; };
  if (!config::has_rest_credentials(settings.salesforce)) {
    sources.salesforce_unavailable =
        "the Salesforce pickers need salesforce.client_id with either salesforce.username and "
        "salesforce.private_key (JWT bearer flow) or salesforce.client_secret (client "
        "credentials flow)";
  } else {
    salesforce::rest_client_options options;
    options.batch_size = settings.salesforce.query_batch_size;
    options.request_timeout_ms = remote_timeout_ms;
    sources.salesforce = std::make_shared<salesforce::rest_client>(settings.salesforce,
                                                                   ispring::wall_clock(), options);
  }
  if (settings.ispring) {
    auto ispring_settings = *settings.ispring;
    ispring_settings.request_timeout_ms =
        std::min(ispring_settings.request_timeout_ms, remote_timeout_ms);
    ispring::retry_policy once;
    once.max_attempts = 1;  // the administrator is waiting: the answer says what failed
    sources.ispring = std::make_shared<ispring::https_api>(std::move(ispring_settings), once);
  }
  return sources;
}

}  // namespace connector::app

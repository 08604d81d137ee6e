// The in-memory iSpring Learn account. Section numbers (§) refer to
// ../shared/reference/ispring-learn-api.md.
#include "support/ispring_sandbox.hpp"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <stdexcept>
#include <unordered_set>

#include <nlohmann/json.hpp>

#include "connector/text/ascii.hpp"
#include "connector/text/base64.hpp"
#include "connector/text/url.hpp"

namespace connector::testing {
namespace {

using json = nlohmann::json;
using ordered_json = nlohmann::ordered_json;
using query_list = std::vector<std::pair<std::string, std::string>>;

// Real accounts page 1000 users by default and document no maximum (§3.3); we cap there.
constexpr int default_page_size = 1000;
constexpr int max_page_size = 1000;

// Built-in profile fields: request key, response name (§7), label, type, unique.
struct built_in_field {
  const char* key;
  const char* response_name;
  const char* label;
  bool unique;
};
constexpr built_in_field built_in_fields[] = {
    {"login", "LOGIN", "Login", true},
    {"email", "EMAIL", "Email", true},
    {"first_name", "FIRST_NAME", "First name", false},
    {"last_name", "LAST_NAME", "Last name", false},
    {"job_title", "JOB_TITLE", "Job title", false},
};

bool is_built_in(std::string_view key) {
  return std::any_of(std::begin(built_in_fields), std::end(built_in_fields),
                     [key](const built_in_field& f) { return key == f.key; });
}

using text::iequals;
std::string lower(std::string_view s) {
  return text::ascii_lower(s);
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::string dump(const ordered_json& j) {
  return j.dump(-1, ' ', false, ordered_json::error_handler_t::replace);
}

sandbox_response json_response(int status, const ordered_json& body) {
  return {status, {{"Content-Type", "application/json; charset=utf-8"}}, dump(body)};
}

sandbox_response error(int status, const std::string& message) {
  ordered_json body;
  body["code"] = status;
  body["message"] = message;
  return json_response(status, body);
}

sandbox_response empty(int status) {
  return {status, {}, {}};
}

// 201 replies carry the new id as the whole body; in JSON a string literal (§3.1).
sandbox_response created(const std::string& id) {
  return json_response(201, ordered_json(id));
}

// iSpring repeats names for lists (`emails[]=a&emails[]=b`), so repeats are kept.
std::optional<query_list> parse_form(std::string_view text) {
  auto items = text::parse_query(text);
  if (!items) return std::nullopt;
  return std::move(*items);
}

using text::base64_decode;
using text::base64_encode;

std::string iso_date(std::int64_t epoch_ms) {
  const std::time_t seconds = static_cast<std::time_t>(epoch_ms / 1000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S+00:00", &tm);
  return text;
}

const std::string* header(const sandbox_request& r, std::string_view lower_name) {
  if (const auto it = r.headers.find(std::string(lower_name)); it != r.headers.end())
    return &it->second;
  for (const auto& [name, value] : r.headers)
    if (iequals(name, lower_name)) return &value;
  return nullptr;
}

bool has_media_type(const sandbox_request& r, const char* header_name, std::string_view type) {
  const std::string* value = header(r, header_name);
  if (!value) return false;
  std::string_view rest = *value;
  while (!rest.empty()) {  // Accept may list several types
    const auto comma = rest.find(',');
    std::string_view item = rest.substr(0, comma);
    item = trim(item.substr(0, item.find(';')));
    if (iequals(item, type)) return true;
    rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
  }
  return false;
}

std::vector<std::string> split_path(std::string_view path) {
  std::vector<std::string> out;
  if (path.empty() || path.front() != '/') return {"\x01"};  // matches nothing
  path.remove_prefix(1);
  while (true) {
    const auto slash = path.find('/');
    out.emplace_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return out;
}

// Body-field helpers: an error message, or empty when fine.
std::string unknown_keys(const json& body, std::initializer_list<std::string_view> allowed) {
  for (const auto& [key, value] : body.items())
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end())
      return "Unknown parameter '" + key + "'";
  return {};
}

std::optional<std::vector<std::string>> string_list(const json& v) {
  if (!v.is_array()) return std::nullopt;
  std::vector<std::string> out;
  for (const auto& item : v) {
    if (!item.is_string()) return std::nullopt;
    out.push_back(item.get<std::string>());
  }
  return out;
}

bool valid_email(const std::string& email) {
  const auto at = email.find('@');
  return at != std::string::npos && at > 0 && at + 1 < email.size() &&
         email.find('@', at + 1) == std::string::npos && email.find(' ') == std::string::npos;
}

}  // namespace

std::string sandbox_response::header(std::string_view name) const {
  for (const auto& [key, value] : headers)
    if (iequals(key, name)) return value;
  return {};
}

std::string sandbox_user::login() const {
  const auto it = fields.find("login");
  return it == fields.end() ? std::string() : it->second;
}
std::string sandbox_user::email() const {
  const auto it = fields.find("email");
  return it == fields.end() ? std::string() : it->second;
}

struct ispring_sandbox::call {
  const sandbox_request& request;
  std::vector<std::string> params;  // path captures, in order
  query_list query;
  json body;             // parsed JSON for POST (object or other), null otherwise
  member_list& members;  // body's "userIds", prepared before the lock
};

struct ispring_sandbox::route {
  const char* method;
  const char* pattern;
  sandbox_response (ispring_sandbox::*handler)(const call&);
};

ispring_sandbox::ispring_sandbox(sandbox_options options) : options_(std::move(options)) {
  reset_locked();
}

std::int64_t ispring_sandbox::now_ms() const {
  if (options_.clock) return options_.clock();
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Version-1 shaped, deterministic: 00000000-0000-1000-8000-<counter as 12 hex digits>.
std::string ispring_sandbox::next_id() {
  char text[40];
  std::snprintf(text, sizeof text, "00000000-0000-1000-8000-%012llx",
                static_cast<unsigned long long>(++id_counter_));
  return text;
}

void ispring_sandbox::reset_locked() {
  id_counter_ = 0;
  token_counter_ = 0;
  users_.clear();
  login_index_.clear();
  email_index_.clear();
  user_ids_.clear();
  user_writes_.clear();
  departments_.clear();
  groups_.clear();
  member_sets_.clear();
  tokens_.clear();
  latency_ms_ = 0;
  endpoint_latency_ms_.clear();
  fail_count_ = 0;
  fail_status_ = 0;
  fail_retry_after_s_.reset();
  outage_ = false;
  rate_limit_ = 0;
  recent_requests_ms_.clear();
  log_.clear();
  call_counts_.clear();
  root_id_ = next_id();
  departments_[root_id_] = {root_id_, options_.root_department_name, std::nullopt, std::nullopt};
}

void ispring_sandbox::reset() {
  std::lock_guard lock(mutex_);
  reset_locked();
}

// --- Request pipeline ----------------------------------------------------------------------

sandbox_response ispring_sandbox::handle(const sandbox_request& request) {
  // Parsed before the lock: a body of 20,000 member ids must not hold up every other request.
  json body = request.method == "POST" ? json::parse(request.body, nullptr, false) : json();
  // So is a member list de-duplicated; a replace leaves the list it replaced in `members`,
  // freed after the lock (declared after it, the lock is released first).
  member_list members = prepare_members(body);
  std::lock_guard lock(mutex_);
  const auto question = request.target.find('?');
  const std::string path = request.target.substr(0, question);
  const std::string query =
      question == std::string::npos ? "" : request.target.substr(question + 1);
  std::string endpoint = "unrouted";
  sandbox_response response = dispatch(request, path, query, endpoint, std::move(body), members);
  log_.push_back({request.method, path, endpoint, response.status});
  ++call_counts_[endpoint];
  return response;
}

std::optional<sandbox_response> ispring_sandbox::check_faults(bool is_token_request) {
  if (outage_) return error(503, "sandbox: service unavailable (outage injected)");
  if (rate_limit_ > 0) {
    const std::int64_t now = now_ms();
    while (!recent_requests_ms_.empty() && recent_requests_ms_.front() <= now - 1000)
      recent_requests_ms_.pop_front();
    if (static_cast<int>(recent_requests_ms_.size()) >= rate_limit_) {
      auto r = error(429, "sandbox: rate limit of " + std::to_string(rate_limit_) +
                              " requests per second exceeded");
      r.headers.emplace_back("Retry-After", "1");
      return r;
    }
    recent_requests_ms_.push_back(now);
  }
  if (fail_count_ > 0 && !is_token_request) {
    --fail_count_;
    auto r = error(fail_status_, "sandbox: injected failure");
    if (fail_retry_after_s_)
      r.headers.emplace_back("Retry-After", std::to_string(*fail_retry_after_s_));
    return r;
  }
  return std::nullopt;
}

sandbox_response ispring_sandbox::dispatch(const sandbox_request& request, const std::string& path,
                                           const std::string& query, std::string& endpoint,
                                           json body, member_list& members) {
  static const route routes[] = {
      {"POST", "/api/v3/token", &ispring_sandbox::post_token},
      {"GET", "/users/v2", &ispring_sandbox::get_users},
      // Literal routes before /user/{id} so "profile" is never taken for an id.
      {"GET", "/user/profile/fields", &ispring_sandbox::get_profile_fields},
      {"GET", "/user/{id}/v2", &ispring_sandbox::get_user_v2},
      {"GET", "/user/{id}", &ispring_sandbox::get_user_v1},
      {"POST", "/user", &ispring_sandbox::create_user},
      {"POST", "/user/{id}", &ispring_sandbox::update_user},
      {"POST", "/user/{id}/status", &ispring_sandbox::set_user_status},
      {"POST", "/user/{id}/groups/remove", &ispring_sandbox::remove_user_groups},
      {"DELETE", "/user/{id}", &ispring_sandbox::delete_user},
      {"GET", "/departments", &ispring_sandbox::get_departments_page},
      {"GET", "/department", &ispring_sandbox::get_departments_all},
      {"GET", "/department/{id}", &ispring_sandbox::get_department},
      {"POST", "/department", &ispring_sandbox::create_department},
      {"POST", "/department/{id}", &ispring_sandbox::update_department},
      {"DELETE", "/department/{id}", &ispring_sandbox::delete_department},
      {"GET", "/groups", &ispring_sandbox::get_groups_page},
      {"GET", "/group", &ispring_sandbox::get_groups_all},
      {"GET", "/group/{id}", &ispring_sandbox::get_group},
      {"POST", "/group", &ispring_sandbox::create_group},
      {"POST", "/group/{id}", &ispring_sandbox::rename_group},
      {"POST", "/group/{id}/members", &ispring_sandbox::replace_group_members},
      {"DELETE", "/group/{id}", &ispring_sandbox::delete_group},
  };

  // Match the path (decoding each segment) and note the methods it allows.
  const std::vector<std::string> segments = split_path(path);
  const route* matched = nullptr;
  std::vector<std::string> params;
  std::string allowed_methods;
  bool bad_encoding = false;
  for (const route& r : routes) {
    const std::vector<std::string> pattern = split_path(r.pattern);
    if (pattern.size() != segments.size()) continue;
    std::vector<std::string> captures;
    bool ok = true;
    for (std::size_t i = 0; i < pattern.size() && ok; ++i) {
      if (pattern[i] == "{id}") {
        auto decoded = text::percent_decode(segments[i]);
        if (!decoded) bad_encoding = true;
        ok = decoded && !decoded->empty();
        if (ok) captures.push_back(std::move(*decoded));
      } else {
        ok = pattern[i] == segments[i];
      }
    }
    if (!ok) continue;
    if (request.method == r.method) {
      if (!matched) {
        matched = &r;
        params = std::move(captures);
      }
    } else if (allowed_methods.find(r.method) == std::string::npos) {
      allowed_methods += allowed_methods.empty() ? r.method : std::string(", ") + r.method;
    }
  }
  if (matched) endpoint = std::string(matched->method) + " " + matched->pattern;
  const bool is_token_request = matched && matched->handler == &ispring_sandbox::post_token;

  if (auto fault = check_faults(is_token_request)) return std::move(*fault);

  // We model the JSON dialect only; the real service answers XML without this header (§2).
  if (!has_media_type(request, "accept", "application/json"))
    return error(406,
                 "sandbox: send 'Accept: application/json' (the real iSpring Learn answers XML "
                 "without it; this sandbox implements JSON only)");
  if (!matched) {
    if (bad_encoding) return error(400, "Malformed percent-encoding in path");
    if (!allowed_methods.empty()) {
      auto r = error(405, "Method " + request.method + " not allowed on " + path);
      r.headers.emplace_back("Allow", allowed_methods);
      return r;
    }
    return error(404, "No such endpoint: " + request.method + " " + path);
  }

  auto query_items = parse_form(query);
  if (!query_items) return error(400, "Malformed percent-encoding in query");
  call c{request, std::move(params), std::move(*query_items), json(), members};
  if (is_token_request) return (this->*matched->handler)(c);

  if (!authorized(request)) {
    const std::string* auth = header(request, "authorization");
    return error(401, auth ? "Invalid or expired access token" : "Authorization required");
  }
  if (request.method == "POST") {
    if (!has_media_type(request, "content-type", "application/json"))
      return error(415, "Content-Type must be application/json (this sandbox does not take XML)");
    c.body = std::move(body);
    if (c.body.is_discarded()) return error(400, "Malformed JSON body");
    if (!c.body.is_object()) return error(400, "Request body must be a JSON object");
  }
  return (this->*matched->handler)(c);
}

bool ispring_sandbox::authorized(const sandbox_request& request) const {
  if (const std::string* auth = header(request, "authorization")) {
    std::string_view value = trim(*auth);
    // The docs show both "Bearer <token>" and the raw token (§1.2); both work.
    if (value.size() > 7 && iequals(value.substr(0, 7), "bearer ")) value = trim(value.substr(7));
    const auto it = tokens_.find(std::string(value));
    return it != tokens_.end() && now_ms() < it->second;
  }
  if (options_.legacy_account_url && options_.legacy_login && options_.legacy_password) {
    const std::string* url = header(request, "x-auth-account-url");
    const std::string* login = header(request, "x-auth-email");
    const std::string* password = header(request, "x-auth-password");
    const auto strip_slash = [](std::string s) {
      while (!s.empty() && s.back() == '/') s.pop_back();
      return lower(s);
    };
    return url && login && password &&
           strip_slash(*url) == strip_slash(*options_.legacy_account_url) &&
           iequals(*login, *options_.legacy_login) && *password == *options_.legacy_password;
  }
  return false;
}

std::string ispring_sandbox::issue_token() {
  std::lock_guard lock(mutex_);
  return issue_token_locked();
}

std::string ispring_sandbox::issue_token_locked() {
  // Opaque-looking but deterministic: a counter run through a 64-bit mixer (splitmix64).
  std::uint64_t x = ++token_counter_ * 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  x ^= x >> 31;
  char text[48];
  std::snprintf(text, sizeof text, "sbx_%016llx_%llu", static_cast<unsigned long long>(x),
                static_cast<unsigned long long>(token_counter_));
  tokens_[text] = now_ms() + options_.token_ttl_s * 1000;
  return text;
}

// --- Token ---------------------------------------------------------------------------------

sandbox_response ispring_sandbox::post_token(const call& c) {
  if (!has_media_type(c.request, "content-type", "application/x-www-form-urlencoded"))
    return error(415, "Content-Type must be application/x-www-form-urlencoded");
  const auto form = parse_form(c.request.body);
  if (!form) return error(400, "Malformed form body");
  std::map<std::string, std::string> values;
  for (const auto& [key, value] : *form) values[key] = value;
  if (values["grant_type"] != "client_credentials")
    return error(400, "grant_type must be client_credentials");
  if (values["client_id"].empty() || values["client_secret"].empty())
    return error(400, "client_id and client_secret are required");
  if (values["client_id"] != options_.client_id ||
      values["client_secret"] != options_.client_secret)
    return error(401, "Invalid client credentials");
  ordered_json body;
  body["access_token"] = issue_token_locked();
  body["expires_in"] = options_.token_ttl_s;
  body["token_type"] = "bearer";
  return json_response(200, body);
}

// --- Users ---------------------------------------------------------------------------------

bool ispring_sandbox::is_known_field(const std::string& id) const {
  if (is_built_in(id)) return true;
  return std::any_of(options_.custom_fields.begin(), options_.custom_fields.end(),
                     [&](const sandbox_profile_field& f) { return f.id == id; });
}

std::string ispring_sandbox::check_user_fields(const std::map<std::string, std::string>& fields,
                                               const std::string& self_id, int& status) const {
  status = 400;
  for (const auto& [key, value] : fields)
    if (!is_known_field(key)) return "Unknown profile field '" + key + "'";
  const auto value_of = [&](const std::string& key) {
    const auto it = fields.find(key);
    return it == fields.end() ? std::string() : it->second;
  };
  if (value_of("login").empty()) return "Field login is required";
  for (const auto& required : options_.required_fields)
    if (value_of(required).empty()) return "Field " + required + " is required";
  const std::string email = value_of("email");
  if (!email.empty() && !valid_email(email)) return "Invalid value for field email";

  // Login and e-mail are unique across the account, case-insensitively (§8, S15).
  const auto taken = [&](const std::unordered_map<std::string, std::string>& index,
                         const std::string& value) {
    const auto it = index.find(lower(value));
    return it != index.end() && it->second != self_id;
  };
  if (taken(login_index_, value_of("login"))) {
    status = options_.duplicate_status;
    return "User with the same login is already registered";
  }
  if (!email.empty() && taken(email_index_, email)) {
    status = options_.duplicate_status;
    return "User with the same email is already registered";
  }
  const bool unique_custom =
      std::any_of(options_.custom_fields.begin(), options_.custom_fields.end(),
                  [](const sandbox_profile_field& f) { return f.is_unique; });
  for (const auto& [id, other] : users_) {
    if (!unique_custom) break;
    if (id == self_id) continue;
    for (const auto& custom : options_.custom_fields) {
      const auto mine = fields.find(custom.id);
      const auto theirs = other.fields.find(custom.id);
      if (custom.is_unique && mine != fields.end() && !mine->second.empty() &&
          theirs != other.fields.end() && iequals(mine->second, theirs->second))
        return "Invalid value for field " + custom.id + ": field must be unique";
    }
  }
  return {};
}

sandbox_user ispring_sandbox::with_groups(const sandbox_user& user) const {
  sandbox_user out = user;
  out.group_ids.clear();
  for (const auto& [id, g] : groups_)
    if (is_member(id, user.id)) out.group_ids.push_back(id);
  return out;
}

std::string ispring_sandbox::user_json(const sandbox_user& user, bool v2) const {
  ordered_json j;
  j["userId"] = user.id;
  j["departmentId"] = user.department_id;
  // v1 endpoints report "employment ended" (5) as inactive (3) (§1.1, S6).
  j["status"] = !v2 && user.status == 5 ? 3 : user.status;
  j["role"] = user.role;
  // Responses carry fields as an array of {name, value} with upper-case built-in names (§3.2).
  ordered_json fields = ordered_json::array();
  for (const auto& f : built_in_fields)
    if (const auto it = user.fields.find(f.key); it != user.fields.end())
      fields.push_back({{"name", f.response_name}, {"value", it->second}});
  for (const auto& [key, value] : user.fields)
    if (!is_built_in(key)) fields.push_back({{"name", key}, {"value", value}});
  j["fields"] = fields;
  j["groups"] = with_groups(user).group_ids;
  j["addedDate"] = user.added_date;
  return dump(j);
}

// Keyset paging shared by the three paged lists: items after the id in `pageToken`
// (base64 of the last id, opaque to clients as on the real service, §3.3).
namespace {
struct page_request {
  std::size_t size = default_page_size;
  std::string after_id;
};

// An error message, or empty.
std::string read_paging(page_request& out, const std::string& key, const std::string& value) {
  if (key == "pageSize") {
    int n = 0;
    try {
      std::size_t used = 0;
      n = std::stoi(value, &used);
      if (used != value.size()) return "pageSize must be a positive integer";
    } catch (const std::exception&) {
      return "pageSize must be a positive integer";
    }
    if (n <= 0) return "pageSize must be a positive integer";
    out.size = static_cast<std::size_t>(std::min(n, max_page_size));  // capped silently
    return {};
  }
  if (key == "pageToken") {
    if (value.empty()) return {};
    auto decoded = base64_decode(value);
    if (!decoded || decoded->empty()) return "Invalid pageToken";
    out.after_id = std::move(*decoded);
    return {};
  }
  return "Unknown query parameter '" + key + "'";
}

template <class T, class Accept, class Render>
ordered_json page_of(const std::map<std::string, T>& items, const page_request& paging,
                     const char* list_key, Accept accept, Render render) {
  ordered_json body;
  ordered_json list = ordered_json::array();
  std::string last_id;
  bool more = false;
  for (auto it = items.upper_bound(paging.after_id); it != items.end(); ++it) {
    if (!accept(it->second)) continue;
    if (list.size() == paging.size) {
      more = true;
      break;
    }
    list.push_back(render(it->second));
    last_id = it->first;
  }
  body[list_key] = std::move(list);
  if (more) body["nextPageToken"] = base64_encode(last_id);  // absent on the last page
  return body;
}

// A paged list that takes no filters (GET /departments, GET /groups).
template <class T, class Render>
sandbox_response unfiltered_page(const std::map<std::string, T>& items, const query_list& query,
                                 const char* list_key, Render render) {
  page_request paging;
  for (const auto& [key, value] : query)
    if (auto m = read_paging(paging, key, value); !m.empty()) return error(400, m);
  return json_response(200, page_of(
                                items, paging, list_key, [](const T&) { return true; }, render));
}
}  // namespace

sandbox_response ispring_sandbox::get_users(const call& c) {
  page_request paging;
  std::set<std::string> emails, logins, ids, departments, group_ids;
  for (const auto& [key, value] : c.query) {
    // PHP-style array filters (§2, §4.1); logins and e-mails match case-insensitively.
    if (key == "emails[]")
      emails.insert(lower(value));
    else if (key == "logins[]")
      logins.insert(lower(value));
    else if (key == "userIds[]")
      ids.insert(value);
    else if (key == "departments[]")
      departments.insert(value);
    else if (key == "groups[]")
      group_ids.insert(value);
    else if (auto message = read_paging(paging, key, value); !message.empty())
      return error(400, message);
  }
  const auto accept = [&](const sandbox_user& u) {
    if (!emails.empty() && !emails.contains(lower(u.email()))) return false;
    if (!logins.empty() && !logins.contains(lower(u.login()))) return false;
    if (!ids.empty() && !ids.contains(u.id)) return false;
    if (!departments.empty() && !departments.contains(u.department_id)) return false;
    if (!group_ids.empty()) {
      const auto mine = with_groups(u).group_ids;
      if (std::none_of(mine.begin(), mine.end(),
                       [&](const std::string& g) { return group_ids.contains(g); }))
        return false;
    }
    return true;
  };
  const auto render = [&](const sandbox_user& u) {
    return ordered_json::parse(user_json(u, true));
  };
  if (logins.empty() && emails.empty())
    return json_response(200, page_of(users_, paging, "userProfiles", accept, render));
  // By login or e-mail through the indexes: a scan of every user under the lock would hold
  // up every other request.
  std::map<std::string, sandbox_user> candidates;
  for (const auto& [keys, index] : {std::pair{&logins, &login_index_}, {&emails, &email_index_}})
    for (const auto& key : *keys)
      if (const auto it = index->find(key); it != index->end())
        candidates.emplace(it->second, users_.at(it->second));
  return json_response(200, page_of(candidates, paging, "userProfiles", accept, render));
}

sandbox_response ispring_sandbox::get_user_v1(const call& c) {
  return get_user(c, false);
}
sandbox_response ispring_sandbox::get_user_v2(const call& c) {
  return get_user(c, true);
}

sandbox_response ispring_sandbox::get_user(const call& c, bool v2) {
  const auto it = users_.find(c.params.at(0));
  if (it == users_.end()) return error(404, "User not found");
  ordered_json body;
  body["response"] = ordered_json::parse(user_json(it->second, v2));  // wrapped, as in S1
  return json_response(200, body);
}

namespace {
// Reads `fields` from a create/update body into `out`; an error message, or empty.
std::string read_fields(const json& body, std::map<std::string, std::string>& out) {
  const auto it = body.find("fields");
  if (it == body.end()) return {};
  if (!it->is_object()) return "fields must be an object";
  for (const auto& [key, value] : it->items()) {
    if (!value.is_string()) return "Value of field " + key + " must be a string";
    out[key] = value.get<std::string>();
  }
  return {};
}

// Keys the sandbox cannot honour faithfully; refusing them beats silently ignoring them.
std::string unmodelled_user_keys(const json& body) {
  for (const char* key : {"roleId", "roles", "manageableDepartmentIds"})
    if (body.contains(key)) return std::string("sandbox: '") + key + "' is not modelled";
  return {};
}

std::string check_role(const json& body) {
  const auto it = body.find("role");
  if (it == body.end()) return {};
  static const std::set<std::string> roles = {"learner", "administrator",
                                              "department_administrator", "publisher"};
  if (!it->is_string() || !roles.contains(it->get<std::string>()))
    return "Invalid role (the sandbox accepts learner, administrator, "
           "department_administrator, publisher)";
  return {};
}
}  // namespace

sandbox_response ispring_sandbox::create_user(const call& c) {
  const json& b = c.body;
  if (auto m = unknown_keys(b, {"departmentId", "fields", "sendLoginEmail", "password", "role",
                                "roleId", "roles", "manageableDepartmentIds", "invitationMessage",
                                "sendLoginSMS", "invitationSMSMessage", "groupIds", "groups"});
      !m.empty())
    return error(400, m);
  if (b.contains("groupIds") || b.contains("groups"))
    return error(400,
                 "sandbox: groups on create are not modelled (S1 says groupIds, the docs say "
                 "groups; set membership afterwards, reference §4.3)");
  if (auto m = unmodelled_user_keys(b); !m.empty()) return error(400, m);
  if (auto m = check_role(b); !m.empty()) return error(400, m);

  const auto dept = b.find("departmentId");
  if (dept == b.end() || !dept->is_string() || dept->get<std::string>().empty())
    return error(400, "departmentId is required");
  if (!departments_.contains(dept->get<std::string>())) return error(400, "Department not found");
  if (!b.contains("fields")) return error(400, "fields is required");
  sandbox_user u;
  if (auto m = read_fields(b, u.fields); !m.empty()) return error(400, m);
  if (const auto it = b.find("sendLoginEmail"); it != b.end()) {
    if (!it->is_boolean()) return error(400, "sendLoginEmail must be a boolean");
    u.send_login_email = it->get<bool>();
  }
  if (const auto it = b.find("password"); it != b.end()) {
    // The simplest account password policy: at least 6 characters (§8, S16).
    if (!it->is_string() || it->get<std::string>().size() < 6)
      return error(400, "Password must be at least 6 characters long");
    u.password = it->get<std::string>();
  }
  int status = 400;
  if (auto m = check_user_fields(u.fields, {}, status); !m.empty()) return error(status, m);

  u.id = next_id();
  u.department_id = dept->get<std::string>();
  if (const auto it = b.find("role"); it != b.end()) u.role = it->get<std::string>();
  u.added_date = iso_date(now_ms());
  const auto at = users_.insert_or_assign(u.id, u).first;
  user_ids_.insert(at->first);
  index_user(u);
  return created(u.id);
}

sandbox_response ispring_sandbox::update_user(const call& c) {
  const auto found = users_.find(c.params.at(0));
  if (found == users_.end()) return error(404, "User not found");
  const json& b = c.body;
  if (auto m = unknown_keys(b, {"departmentId", "fields", "role", "roleId", "roles",
                                "manageableDepartmentIds", "groupIds"});
      !m.empty())
    return error(400, m);
  if (auto m = unmodelled_user_keys(b); !m.empty()) return error(400, m);
  if (auto m = check_role(b); !m.empty()) return error(400, m);

  sandbox_user updated = found->second;
  if (const auto it = b.find("departmentId"); it != b.end()) {
    if (!it->is_string() || !departments_.contains(it->get<std::string>()))
      return error(400, "Department not found");
    updated.department_id = it->get<std::string>();
  }
  // Given fields replace those keys only; the rest are kept (reference §4.4, §10 q4).
  if (auto m = read_fields(b, updated.fields); !m.empty()) return error(400, m);
  int status = 400;
  if (auto m = check_user_fields(updated.fields, updated.id, status); !m.empty())
    return error(status, m);

  std::vector<std::string> new_groups;
  const bool has_group_ids = b.contains("groupIds");
  if (has_group_ids) {
    if (options_.group_ids_on_update == sandbox_group_ids_on_update::rejected)
      return error(400,
                   "sandbox: groupIds on update is configured off (add-only vs replace is "
                   "unknown, reference §10 q3)");
    auto ids = string_list(b["groupIds"]);
    if (!ids) return error(400, "groupIds must be an array of strings");
    for (const auto& id : *ids) {
      const auto g = groups_.find(id);
      if (g == groups_.end()) return error(400, "Group not found: " + id);
      if (g->second.is_smart) return error(400, "Cannot add users to a smart group");
    }
    new_groups = std::move(*ids);
  }
  if (const auto it = b.find("role"); it != b.end()) updated.role = it->get<std::string>();
  unindex_user(found->second);
  found->second = updated;
  index_user(updated);
  if (has_group_ids) {
    for (auto& [id, g] : groups_) {
      const bool wanted = std::find(new_groups.begin(), new_groups.end(), id) != new_groups.end();
      if (wanted) add_member(g, updated.id);
      if (!wanted && !g.is_smart &&
          options_.group_ids_on_update == sandbox_group_ids_on_update::replace)
        remove_member(g, updated.id);
    }
  }
  return empty(200);
}

sandbox_response ispring_sandbox::set_user_status(const call& c) {
  const auto found = users_.find(c.params.at(0));
  if (found == users_.end()) return error(404, "User not found");
  if (auto m = unknown_keys(c.body, {"status"}); !m.empty()) return error(400, m);
  const auto it = c.body.find("status");
  // 1 active, 3 inactive (S7); 5 is unconfirmed on this endpoint (§10 q6), so refused.
  if (it == c.body.end() || !it->is_number_integer() || (*it != 1 && *it != 3))
    return error(400, "status must be 1 (active) or 3 (inactive)");
  found->second.status = it->get<int>();
  return empty(200);
}

sandbox_response ispring_sandbox::delete_user(const call& c) {
  const auto found = users_.find(c.params.at(0));
  if (found == users_.end()) return error(404, "User not found");
  for (auto& [id, g] : groups_) remove_member(g, found->first);
  unindex_user(found->second);
  user_ids_.erase(found->first);
  users_.erase(found);
  return empty(204);
}

sandbox_response ispring_sandbox::remove_user_groups(const call& c) {
  const auto found = users_.find(c.params.at(0));
  if (found == users_.end()) return error(404, "User not found");
  if (auto m = unknown_keys(c.body, {"groupIds"}); !m.empty()) return error(400, m);
  const auto ids = c.body.contains("groupIds") ? string_list(c.body["groupIds"]) : std::nullopt;
  if (!ids) return error(400, "groupIds must be an array of strings");
  for (const auto& id : *ids)
    if (!groups_.contains(id)) return error(400, "Group not found: " + id);
  for (const auto& id : *ids) remove_member(groups_[id], found->first);
  return empty(204);
}

// --- Departments -----------------------------------------------------------------------------

namespace {
ordered_json department_json(const sandbox_department& d) {
  ordered_json j;
  j["departmentId"] = d.id;
  j["name"] = d.name;
  if (d.parent_id) j["parentDepartmentId"] = *d.parent_id;  // absent for the root
  if (d.code) j["code"] = *d.code;
  return j;
}
}  // namespace

std::string ispring_sandbox::check_department_name(const std::string& name,
                                                   const std::optional<std::string>& parent_id,
                                                   const std::string& self_id) const {
  if (name.empty()) return "name is required";
  for (const auto& [id, d] : departments_)
    if (id != self_id && d.parent_id == parent_id && iequals(d.name, name))
      return "Department with the same name already exists in this parent department";
  return {};
}

sandbox_response ispring_sandbox::get_departments_page(const call& c) {
  return unfiltered_page(departments_, c.query, "departments", department_json);
}

sandbox_response ispring_sandbox::get_departments_all(const call& c) {
  std::optional<std::string> code;
  for (const auto& [key, value] : c.query) {
    if (key != "code") return error(400, "Unknown query parameter '" + key + "'");
    code = value;
  }
  ordered_json list = ordered_json::array();
  for (const auto& [id, d] : departments_)
    if (!code || d.code == code) list.push_back(department_json(d));
  ordered_json body;
  body["departments"] = std::move(list);
  return json_response(200, body);
}

sandbox_response ispring_sandbox::get_department(const call& c) {
  const auto it = departments_.find(c.params.at(0));
  if (it == departments_.end()) return error(404, "Department not found");
  ordered_json body;
  body["response"] = department_json(it->second);
  return json_response(200, body);
}

sandbox_response ispring_sandbox::create_department(const call& c) {
  const json& b = c.body;
  if (auto m = unknown_keys(b, {"name", "parentDepartmentId", "code"}); !m.empty())
    return error(400, m);
  const auto name = b.find("name");
  const auto parent = b.find("parentDepartmentId");
  const auto code = b.find("code");
  if (name == b.end() || !name->is_string()) return error(400, "name is required");
  if (parent == b.end() || !parent->is_string() || parent->get<std::string>().empty())
    return error(400, "parentDepartmentId is required");
  if (!departments_.contains(parent->get<std::string>()))
    return error(400, "Parent department not found");
  if (code != b.end() && !code->is_string()) return error(400, "code must be a string");
  if (auto m = check_department_name(name->get<std::string>(), parent->get<std::string>(), {});
      !m.empty())
    return error(400, m);
  sandbox_department d{next_id(), name->get<std::string>(), parent->get<std::string>(),
                       std::nullopt};
  if (code != b.end() && !code->get<std::string>().empty()) d.code = code->get<std::string>();
  departments_[d.id] = d;
  return created(d.id);
}

sandbox_response ispring_sandbox::update_department(const call& c) {
  const auto found = departments_.find(c.params.at(0));
  if (found == departments_.end()) return error(404, "Department not found");
  const json& b = c.body;
  if (auto m = unknown_keys(b, {"name", "parentDepartmentId", "code"}); !m.empty())
    return error(400, m);
  sandbox_department updated = found->second;
  if (const auto it = b.find("name"); it != b.end()) {
    if (!it->is_string()) return error(400, "name must be a string");
    updated.name = it->get<std::string>();
  }
  if (const auto it = b.find("parentDepartmentId"); it != b.end()) {
    if (!it->is_string() || !departments_.contains(it->get<std::string>()))
      return error(400, "Parent department not found");
    if (updated.id == root_id_) return error(400, "The root department cannot be moved");
    // Refuse cycles: the new parent must not be this department or one of its descendants.
    for (std::optional<std::string> p = it->get<std::string>(); p;
         p = departments_.at(*p).parent_id)
      if (*p == updated.id) return error(400, "A department cannot be moved into itself");
    updated.parent_id = it->get<std::string>();
  }
  if (const auto it = b.find("code"); it != b.end()) {
    if (!it->is_string() && !it->is_null()) return error(400, "code must be a string");
    updated.code = it->is_string() && !it->get<std::string>().empty()
                       ? std::optional(it->get<std::string>())
                       : std::nullopt;
  }
  if (auto m = check_department_name(updated.name, updated.parent_id, updated.id); !m.empty())
    return error(400, m);
  found->second = updated;
  return empty(204);
}

sandbox_response ispring_sandbox::delete_department(const call& c) {
  const auto found = departments_.find(c.params.at(0));
  if (found == departments_.end()) return error(404, "Department not found");
  // The root is undeletable; so is a department with users (S12). Children are refused too:
  // what the real service does with them is undocumented.
  if (found->first == root_id_) return error(403, "The root department cannot be deleted");
  for (const auto& [id, u] : users_)
    if (u.department_id == found->first) return error(400, "Department contains users");
  for (const auto& [id, d] : departments_)
    if (d.parent_id == found->first) return error(400, "Department contains departments");
  departments_.erase(found);
  return empty(204);
}

// --- Groups ----------------------------------------------------------------------------------

namespace {
ordered_json group_summary_json(const sandbox_group& g) {
  ordered_json j;
  j["groupId"] = g.id;
  j["name"] = g.name;
  j["isSmart"] = g.is_smart;
  return j;
}
}  // namespace

std::string ispring_sandbox::check_group_name(const std::string& name,
                                              const std::string& self_id) const {
  if (name.empty()) return "name is required";
  for (const auto& [id, g] : groups_)
    if (id != self_id && iequals(g.name, name)) return "Group with the same name already exists";
  return {};
}

sandbox_response ispring_sandbox::get_groups_page(const call& c) {
  return unfiltered_page(groups_, c.query, "groups", group_summary_json);
}

sandbox_response ispring_sandbox::get_groups_all(const call& c) {
  if (!c.query.empty()) return error(400, "Unknown query parameter '" + c.query[0].first + "'");
  ordered_json list = ordered_json::array();
  for (const auto& [id, g] : groups_) list.push_back(group_summary_json(g));
  return json_response(200, list);
}

sandbox_response ispring_sandbox::get_group(const call& c) {
  const auto it = groups_.find(c.params.at(0));
  if (it == groups_.end()) return error(404, "Group not found");
  ordered_json body = group_summary_json(it->second);  // unwrapped, as in S1
  body["usersCount"] = it->second.user_ids.size();
  body["userIds"] = it->second.user_ids;
  return json_response(200, body);
}

// Outside the lock: a set, not a search of the list (20,000 members must not cost 200 million
// comparisons), built while other requests are answered.
ispring_sandbox::member_list ispring_sandbox::prepare_members(const json& body) {
  member_list out;
  if (!body.is_object()) return out;
  const auto it = body.find("userIds");
  if (it == body.end()) return out;
  out.given = true;
  auto ids = string_list(*it);
  if (!ids) {
    out.error = "userIds must be an array of strings";
    return out;
  }
  out.set.reserve(ids->size());
  for (auto& id : *ids)
    if (out.set.insert(id).second) out.ids.push_back(std::move(id));
  return out;
}

// Under the lock: every member exists. The first unknown one in the list is named (the
// de-duplicated list keeps the order of first mentions).
std::string ispring_sandbox::check_members(const member_list& members) const {
  if (!members.error.empty()) return members.error;
  for (const auto& id : members.ids)
    if (!user_ids_.contains(id)) return "User not found: " + id;
  return {};
}

bool ispring_sandbox::is_member(const std::string& group_id, const std::string& user_id) const {
  const auto it = member_sets_.find(group_id);
  return it != member_sets_.end() && it->second.contains(user_id);
}

void ispring_sandbox::add_member(sandbox_group& group, const std::string& user_id) {
  if (member_sets_[group.id].insert(user_id).second) group.user_ids.push_back(user_id);
}

void ispring_sandbox::remove_member(sandbox_group& group, const std::string& user_id) {
  if (member_sets_[group.id].erase(user_id) > 0) std::erase(group.user_ids, user_id);
}

sandbox_response ispring_sandbox::create_group(const call& c) {
  const json& b = c.body;
  if (auto m = unknown_keys(b, {"name", "userIds"}); !m.empty()) return error(400, m);
  const auto name = b.find("name");
  if (name == b.end() || !name->is_string()) return error(400, "name is required");
  if (auto m = check_group_name(name->get<std::string>(), {}); !m.empty()) return error(400, m);
  sandbox_group g{{}, name->get<std::string>(), false, {}};
  if (auto m = check_members(c.members); !m.empty()) return error(400, m);
  g.id = next_id();
  g.user_ids = std::move(c.members.ids);
  member_sets_[g.id] = std::move(c.members.set);
  groups_[g.id] = g;
  return created(g.id);
}

sandbox_response ispring_sandbox::rename_group(const call& c) {
  const auto found = groups_.find(c.params.at(0));
  if (found == groups_.end()) return error(404, "Group not found");
  if (auto m = unknown_keys(c.body, {"name"}); !m.empty()) return error(400, m);
  const auto name = c.body.find("name");
  if (name == c.body.end() || !name->is_string()) return error(400, "name is required");
  if (auto m = check_group_name(name->get<std::string>(), found->first); !m.empty())
    return error(400, m);
  found->second.name = name->get<std::string>();
  return empty(200);
}

sandbox_response ispring_sandbox::replace_group_members(const call& c) {
  const auto found = groups_.find(c.params.at(0));
  if (found == groups_.end()) return error(404, "Group not found");
  if (auto m = unknown_keys(c.body, {"userIds"}); !m.empty()) return error(400, m);
  if (!c.body.contains("userIds")) return error(400, "userIds is required");
  if (found->second.is_smart) return error(400, "Members of a smart group follow its rules");
  if (auto m = check_members(c.members); !m.empty()) return error(400, m);
  // REPLACES the list (S13); the old one goes back to the request, to be freed after the lock.
  std::swap(found->second.user_ids, c.members.ids);
  std::swap(member_sets_[found->first], c.members.set);
  return empty(200);
}

sandbox_response ispring_sandbox::delete_group(const call& c) {
  if (groups_.erase(c.params.at(0)) == 0) return error(404, "Group not found");
  member_sets_.erase(c.params.at(0));
  return empty(204);
}

sandbox_response ispring_sandbox::get_profile_fields(const call& c) {
  if (!c.query.empty()) return error(400, "Unknown query parameter '" + c.query[0].first + "'");
  ordered_json list = ordered_json::array();
  int order = 0;
  const auto add = [&](const std::string& info_id, const std::string& name,
                       const std::string& label, const std::string& type, bool unique) {
    ordered_json f;
    f["userFieldInfoId"] = info_id;
    f["name"] = name;
    f["label"] = label;
    f["type"] = type;
    f["isUnique"] = unique ? 1 : 0;  // documented as 0/1 (S11)
    f["isRequired"] = name == "login" || options_.required_fields.contains(name) ? 1 : 0;
    f["orderPriority"] = order++;
    list.push_back(std::move(f));
  };
  for (const auto& f : built_in_fields) add(f.response_name, f.key, f.label, f.key, f.unique);
  for (const auto& f : options_.custom_fields) add(f.id, f.id, f.label, f.type, f.is_unique);
  return json_response(200, list);
}

// --- Fault injection -------------------------------------------------------------------------

void ispring_sandbox::set_latency_ms(int ms, const std::string& endpoint) {
  std::lock_guard lock(mutex_);
  if (endpoint.empty())
    latency_ms_ = ms;
  else
    endpoint_latency_ms_[endpoint] = ms;
}
int ispring_sandbox::latency_ms() const {
  std::lock_guard lock(mutex_);
  return latency_ms_;
}
int ispring_sandbox::latency_ms(const std::string& method, const std::string& path) const {
  std::lock_guard lock(mutex_);
  const auto segments = split_path(path);
  for (const auto& [endpoint, ms] : endpoint_latency_ms_) {
    const auto space = endpoint.find(' ');
    if (endpoint.substr(0, space) != method) continue;
    const auto pattern = split_path(endpoint.substr(space + 1));
    bool same = pattern.size() == segments.size();
    for (std::size_t i = 0; same && i < pattern.size(); ++i)
      same = pattern[i] == "{id}" || pattern[i] == segments[i];
    if (same) return latency_ms_ + ms;
  }
  return latency_ms_;
}
void ispring_sandbox::fail_next(int count, int status, std::optional<int> retry_after_s) {
  std::lock_guard lock(mutex_);
  fail_count_ = count;
  fail_status_ = status;
  fail_retry_after_s_ = retry_after_s;
}
void ispring_sandbox::set_outage(bool on) {
  std::lock_guard lock(mutex_);
  outage_ = on;
}
void ispring_sandbox::set_rate_limit(int max_requests_per_second) {
  std::lock_guard lock(mutex_);
  rate_limit_ = max_requests_per_second;
  recent_requests_ms_.clear();
}

// --- State access ----------------------------------------------------------------------------

std::size_t ispring_sandbox::user_count() const {
  std::lock_guard lock(mutex_);
  return users_.size();
}

std::vector<sandbox_user> ispring_sandbox::users() const {
  std::lock_guard lock(mutex_);
  std::vector<sandbox_user> out;
  for (const auto& [id, u] : users_) out.push_back(with_groups(u));
  return out;
}

std::vector<sandbox_department> ispring_sandbox::departments() const {
  std::lock_guard lock(mutex_);
  std::vector<sandbox_department> out;
  for (const auto& [id, d] : departments_) out.push_back(d);
  return out;
}

std::vector<sandbox_group> ispring_sandbox::groups() const {
  std::lock_guard lock(mutex_);
  std::vector<sandbox_group> out;
  for (const auto& [id, g] : groups_) out.push_back(g);
  return out;
}

std::optional<sandbox_user> ispring_sandbox::find_user(const std::string& id) const {
  std::lock_guard lock(mutex_);
  const auto it = users_.find(id);
  if (it == users_.end()) return std::nullopt;
  return with_groups(it->second);
}

std::optional<sandbox_user> ispring_sandbox::find_user_by_login(const std::string& login) const {
  std::lock_guard lock(mutex_);
  // By the index first: a benchmark's checks look up thousands among a million users.
  if (const auto at = login_index_.find(lower(login)); at != login_index_.end()) {
    const auto it = users_.find(at->second);
    if (it != users_.end() && iequals(it->second.login(), login)) return with_groups(it->second);
  }
  for (const auto& [id, u] : users_)
    if (iequals(u.login(), login)) return with_groups(u);
  return std::nullopt;
}

std::vector<std::string> ispring_sandbox::user_writes_since(std::size_t& cursor) const {
  std::lock_guard lock(mutex_);
  std::vector<std::string> ids(
      user_writes_.begin() + static_cast<std::ptrdiff_t>(std::min(cursor, user_writes_.size())),
      user_writes_.end());
  cursor = user_writes_.size();
  return ids;
}

std::map<std::string, std::string> ispring_sandbox::ids_by_login(
    const std::vector<std::string>& logins) const {
  std::lock_guard lock(mutex_);
  std::map<std::string, std::string> out;
  for (const auto& login : logins)
    if (const auto it = login_index_.find(lower(login)); it != login_index_.end())
      out[login] = it->second;
  return out;
}

std::map<std::string, std::map<std::string, std::string>> ispring_sandbox::user_fields(
    const std::vector<std::string>& ids) const {
  std::lock_guard lock(mutex_);
  std::map<std::string, std::map<std::string, std::string>> out;
  for (const auto& id : ids)
    if (const auto it = users_.find(id); it != users_.end()) out[id] = it->second.fields;
  return out;
}

std::optional<sandbox_department> ispring_sandbox::find_department_by_name(
    const std::string& name) const {
  std::lock_guard lock(mutex_);
  for (const auto& [id, d] : departments_)
    if (d.name == name) return d;
  return std::nullopt;
}

const sandbox_group* ispring_sandbox::group_named(const std::string& name) const {
  for (const auto& [id, g] : groups_)
    if (g.name == name) return &g;
  return nullptr;
}

std::optional<sandbox_group> ispring_sandbox::find_group_by_name(const std::string& name) const {
  std::lock_guard lock(mutex_);
  const sandbox_group* g = group_named(name);
  return g ? std::optional(*g) : std::nullopt;
}

std::vector<std::string> ispring_sandbox::members_among(
    const std::string& group_name, const std::vector<std::string>& user_ids) const {
  std::lock_guard lock(mutex_);
  std::vector<std::string> members;
  if (const sandbox_group* g = group_named(group_name))
    for (const auto& user_id : user_ids)
      if (is_member(g->id, user_id)) members.push_back(user_id);
  return members;
}

std::string ispring_sandbox::root_department_id() const {
  std::lock_guard lock(mutex_);
  return root_id_;
}

std::vector<sandbox_log_entry> ispring_sandbox::request_log() const {
  std::lock_guard lock(mutex_);
  return log_;
}

std::map<std::string, int> ispring_sandbox::call_counts() const {
  std::lock_guard lock(mutex_);
  return call_counts_;
}

int ispring_sandbox::calls(const std::string& endpoint) const {
  std::lock_guard lock(mutex_);
  const auto it = call_counts_.find(endpoint);
  return it == call_counts_.end() ? 0 : it->second;
}

std::string ispring_sandbox::dump_json_locked() const {
  ordered_json state;
  state["departments"] = ordered_json::array();
  for (const auto& [id, d] : departments_) state["departments"].push_back(department_json(d));
  state["users"] = ordered_json::array();
  for (const auto& [id, u] : users_)
    state["users"].push_back(ordered_json::parse(user_json(u, true)));
  state["groups"] = ordered_json::array();
  for (const auto& [id, g] : groups_) {
    ordered_json j = group_summary_json(g);
    j["userIds"] = g.user_ids;
    state["groups"].push_back(std::move(j));
  }
  return state.dump(2, ' ', false, ordered_json::error_handler_t::replace);
}

std::string ispring_sandbox::dump_json() const {
  std::lock_guard lock(mutex_);
  return dump_json_locked();
}

// --- Seeding ---------------------------------------------------------------------------------

std::string ispring_sandbox::add_department(const std::string& name,
                                            const std::optional<std::string>& parent_id,
                                            const std::optional<std::string>& code) {
  std::lock_guard lock(mutex_);
  const std::string parent = parent_id.value_or(root_id_);
  if (!departments_.contains(parent))
    throw std::invalid_argument("add_department: unknown parent " + parent);
  if (auto m = check_department_name(name, parent, {}); !m.empty())
    throw std::invalid_argument("add_department: " + m);
  sandbox_department d{next_id(), name, parent, code};
  departments_[d.id] = d;
  return d.id;
}

std::string ispring_sandbox::add_user(const std::string& login, const std::string& email,
                                      const std::string& department_id,
                                      std::map<std::string, std::string> fields, int status) {
  std::lock_guard lock(mutex_);
  sandbox_user u;
  u.department_id = department_id.empty() ? root_id_ : department_id;
  if (!departments_.contains(u.department_id))
    throw std::invalid_argument("add_user: unknown department " + u.department_id);
  if (status != 1 && status != 3 && status != 5)
    throw std::invalid_argument("add_user: status must be 1, 3 or 5");
  u.fields = std::move(fields);
  u.fields["login"] = login;
  if (!email.empty()) u.fields["email"] = email;
  int http_status = 400;
  if (auto m = check_user_fields(u.fields, {}, http_status); !m.empty())
    throw std::invalid_argument("add_user: " + m);
  u.id = next_id();
  u.status = status;
  u.added_date = iso_date(now_ms());
  const auto at = users_.insert_or_assign(u.id, u).first;
  user_ids_.insert(at->first);
  index_user(u);
  return u.id;
}

void ispring_sandbox::index_user(const sandbox_user& user) {
  user_writes_.push_back(user.id);
  login_index_[lower(user.login())] = user.id;
  if (!user.email().empty()) email_index_[lower(user.email())] = user.id;
}

void ispring_sandbox::unindex_user(const sandbox_user& user) {
  login_index_.erase(lower(user.login()));
  if (!user.email().empty()) email_index_.erase(lower(user.email()));
}

std::vector<std::string> ispring_sandbox::add_users(const std::vector<seed_user>& users) {
  std::lock_guard lock(mutex_);
  std::vector<std::string> ids;
  ids.reserve(users.size());
  for (const auto& seed : users) {
    sandbox_user u;
    u.department_id = seed.department_id.empty() ? root_id_ : seed.department_id;
    if (!departments_.contains(u.department_id))
      throw std::invalid_argument("add_users: unknown department " + u.department_id);
    if (seed.status != 1 && seed.status != 3 && seed.status != 5)
      throw std::invalid_argument("add_users: status must be 1, 3 or 5");
    if (seed.login.empty()) throw std::invalid_argument("add_users: Field login is required");
    if (!seed.email.empty() && !valid_email(seed.email))
      throw std::invalid_argument("add_users: Invalid value for field email");
    u.fields = seed.fields;
    u.fields["login"] = seed.login;
    if (!seed.email.empty()) u.fields["email"] = seed.email;
    for (const auto& [key, value] : u.fields)
      if (!is_known_field(key)) throw std::invalid_argument("add_users: unknown field " + key);
    if (login_index_.contains(lower(seed.login)))
      throw std::invalid_argument("add_users: login " + seed.login + " is taken");
    if (!seed.email.empty() && email_index_.contains(lower(seed.email)))
      throw std::invalid_argument("add_users: e-mail " + seed.email + " is taken");
    u.id = next_id();
    u.status = seed.status;
    u.added_date = iso_date(now_ms());
    ids.push_back(u.id);
    index_user(u);
    user_ids_.insert(users_.insert_or_assign(u.id, std::move(u)).first->first);
  }
  return ids;
}

std::string ispring_sandbox::add_group(const std::string& name,
                                       const std::vector<std::string>& user_ids, bool is_smart) {
  std::lock_guard lock(mutex_);
  if (auto m = check_group_name(name, {}); !m.empty())
    throw std::invalid_argument("add_group: " + m);
  for (const auto& id : user_ids)
    if (!users_.contains(id)) throw std::invalid_argument("add_group: unknown user " + id);
  sandbox_group g{next_id(), name, is_smart, user_ids};
  member_sets_[g.id].insert(user_ids.begin(), user_ids.end());
  groups_[g.id] = g;
  return g.id;
}

}  // namespace connector::testing

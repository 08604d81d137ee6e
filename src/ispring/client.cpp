#include "connector/ispring/client.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <chrono>
#include <mutex>
#include <random>
#include <semaphore>
#include <set>
#include <stdexcept>
#include <thread>
#include <utility>

#include <nlohmann/json.hpp>

#include "connector/http/client.hpp"
#include "connector/log.hpp"
#include "connector/metrics/remote_api.hpp"
#include "connector/text/ascii.hpp"
#include "connector/text/url.hpp"

namespace connector::ispring {
namespace {

using std::chrono::milliseconds;
using header_list = std::vector<std::pair<std::string, std::string>>;

constexpr int page_size_for_lists = 1000;  // the documented default and the sandbox's cap
constexpr std::int64_t token_renewal_margin_ms = 60'000;  // reference §1.2, §9.1

// What the status mapping needs to know about a call.
enum class call_kind { other, get_by_id, create };

struct call {
  const char* endpoint;  // route pattern, e.g. "POST /user/{id}/status" (stats and logs)
  std::string method;
  std::string target;  // path and query
  std::string body;
  call_kind kind = call_kind::other;
  const char* content_type = "application/json";
};

const char* kind_name(failure_kind kind) {
  switch (kind) {
    case failure_kind::network:
      return "network";
    case failure_kind::rate_limited:
      return "rate limited";
    case failure_kind::server:
      return "server error";
    case failure_kind::auth:
      return "authentication";
    case failure_kind::not_found:
      return "not found";
    case failure_kind::conflict:
      return "conflict";
    case failure_kind::rejected:
      return "rejected";
    case failure_kind::bad_response:
      return "bad response";
  }
  return "failure";
}

// Retry-After in seconds (the HTTP-date form is not worth supporting for a 429).
std::optional<int> parse_retry_after(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front())))
    text.remove_prefix(1);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back())))
    text.remove_suffix(1);
  int seconds = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), seconds);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size() || seconds < 0) {
    return std::nullopt;
  }
  return seconds;
}

// An id for a message: short and printable whatever it holds.
std::string printable(std::string_view id) {
  std::string out;
  for (const char c : id.substr(0, 64)) {
    out += std::isprint(static_cast<unsigned char>(c)) ? c : '?';
  }
  if (id.size() > 64) out += "…";
  return out;
}

std::optional<failure> unsafe_id(const char* what, const std::string& id) {
  if (is_safe_id(id)) return std::nullopt;
  return failure{
      failure_kind::rejected, 0,
      std::string("refusing to put ") + what + " id '" + printable(id) + "' into a URL path",
      std::nullopt};
}

template <class T>
result<T> read_body(const http::client_response& response, parse_result<T> parsed,
                    const char* what) {
  if (!parsed) {
    return unexpected{failure{failure_kind::bad_response, response.status,
                              std::string("unreadable ") + what + ": " + parsed.error(),
                              std::nullopt}};
  }
  return std::move(*parsed);
}

}  // namespace

std::string failure::to_string() const {
  std::string text = kind_name(kind);
  if (http_status != 0) text += " (HTTP " + std::to_string(http_status) + ")";
  text += ": " + message;
  if (retry_after_s) text += " (retry after " + std::to_string(*retry_after_s) + " s)";
  return text;
}

void sleep_for_real(milliseconds duration) {
  std::this_thread::sleep_for(duration);
}

const connector::clock& wall_clock() {
  static const connector::system_clock instance;
  return instance;
}

struct https_api::impl {
  config::ispring_settings settings_;
  retry_policy retry_;
  sleep_fn sleep_;
  const connector::clock& clock_;
  bool legacy_auth_;
  http::client http_;
  // Bounds requests in flight across every thread using this client (reference §8: no
  // published limits; working scripts stay at ≤ 5 concurrent calls).
  std::counting_semaphore<> slots_;

  std::mutex token_mutex_;  // held while fetching: one renewal at a time
  std::string token_;
  epoch_ms token_valid_until_ = 0;

  mutable std::mutex stats_mutex_;
  api_stats stats_;
  std::optional<metrics::remote_api_metrics> metrics_;
  credentials_state credentials_;

  std::mutex random_mutex_;
  std::mt19937_64 random_{std::random_device{}()};

  impl(config::ispring_settings settings, retry_policy retry, sleep_fn sleep,
       const connector::clock& clock, metrics::registry* registry)
      : settings_(std::move(settings)),
        retry_(retry),
        sleep_(sleep ? std::move(sleep) : sleep_fn(sleep_for_real)),
        clock_(clock),
        legacy_auth_(settings_.auth == "password"),
        http_(http::client_options{settings_.api_url, settings_.tls_ca_file,
                                   settings_.connect_timeout_ms, settings_.request_timeout_ms,
                                   static_cast<std::size_t>(std::max(settings_.max_concurrency, 1)),
                                   "connector/0.1"}),
        slots_(std::max(settings_.max_concurrency, 1)) {
    if (settings_.auth != "client_credentials" && settings_.auth != "password") {
      throw std::invalid_argument("unknown iSpring auth scheme '" + settings_.auth +
                                  "' (expected client_credentials or password)");
    }
    if (retry_.max_attempts < 1) retry_.max_attempts = 1;
    if (registry) metrics_.emplace(*registry, "connector_ispring", "iSpring Learn");
  }

  // Secrets never reach a message, even if a server echoes them back.
  std::string redact(std::string text) const {
    const auto scrub = [&text](const std::string& secret) {
      if (secret.size() < 4) return;  // too short to tell apart from ordinary text
      for (auto at = text.find(secret); at != std::string::npos; at = text.find(secret, at)) {
        text.replace(at, secret.size(), "[redacted]");
      }
    };
    scrub(settings_.client_secret.reveal());
    scrub(settings_.password.reveal());
    return text;
  }

  void count(const char* endpoint, int status) {
    std::lock_guard lock(stats_mutex_);
    ++stats_.requests[endpoint][status];
  }

  failure failure_of(const call& c, const http::client_response& response) const {
    failure f;
    f.http_status = response.status;
    f.message = redact(parse_error(response.status, response.body)->message);
    const int s = response.status;
    if (s == 401 || s == 403) {
      f.kind = failure_kind::auth;
    } else if (s == 404 || (s == 400 && c.kind == call_kind::get_by_id)) {
      // Reference §4.2: unknown ids answer 400 on some GETs by id.
      f.kind = failure_kind::not_found;
    } else if (s == 409) {
      f.kind = failure_kind::conflict;
    } else if (s == 400 && c.kind == call_kind::create) {
      // Reference §10 q5 (open): a duplicate login/e-mail on create may answer 400 rather
      // than 409; only its free-text message tells. Tighten once a live tenant is checked.
      const std::string text = text::ascii_lower(f.message);
      const bool duplicate = text.find("already") != std::string::npos ||
                             text.find("exists") != std::string::npos ||
                             text.find("unique") != std::string::npos;
      f.kind = duplicate ? failure_kind::conflict : failure_kind::rejected;
    } else if (s == 429) {
      f.kind = failure_kind::rate_limited;
    } else if (s >= 500) {
      f.kind = failure_kind::server;
    } else {
      f.kind = failure_kind::rejected;  // other 4xx, and redirects we do not follow
    }
    if (s == 429 || s == 503) f.retry_after_s = parse_retry_after(response.header("retry-after"));
    return f;
  }

  // One HTTP exchange within the concurrency bound, counted in the stats.
  expected<http::client_response, failure> exchange(const call& c, const header_list& auth) {
    http::client_request request{c.method, c.target, {{"Accept", "application/json"}}, c.body};
    if (!c.body.empty()) request.headers.emplace_back("Content-Type", c.content_type);
    request.headers.insert(request.headers.end(), auth.begin(), auth.end());
    struct slot {
      std::counting_semaphore<>& slots;
      explicit slot(std::counting_semaphore<>& s) : slots(s) { slots.acquire(); }
      ~slot() { slots.release(); }
    };
    std::chrono::steady_clock::duration took{};
    auto response = [&] {
      const slot held(slots_);
      const auto sent = std::chrono::steady_clock::now();  // waiting for a slot is not latency
      auto answer = http_.send(request);
      took = std::chrono::steady_clock::now() - sent;
      return answer;
    }();
    if (metrics_) metrics_->request(c.endpoint, response ? response->status : 0, took);
    if (!response) {
      count(c.endpoint, 0);
      return unexpected{failure{failure_kind::network, 0, redact(response.error()), std::nullopt}};
    }
    count(c.endpoint, response->status);
    return std::move(*response);
  }

  // Full jitter (a uniform pick below the exponential ceiling) spreads the retries of many
  // workers; a server's Retry-After wins when it gives one.
  milliseconds delay_before(int next_attempt, const failure& f) {
    if (f.retry_after_s) {
      return std::min<milliseconds>(std::chrono::seconds(*f.retry_after_s), retry_.max_retry_after);
    }
    milliseconds ceiling = retry_.base_delay;
    for (int i = 2; i < next_attempt && ceiling < retry_.max_delay; ++i) ceiling *= 2;
    ceiling = std::min(ceiling, retry_.max_delay);
    if (ceiling.count() <= 0) return milliseconds(0);
    std::lock_guard lock(random_mutex_);
    std::uniform_int_distribution<std::int64_t> pick(0, ceiling.count());
    return milliseconds(pick(random_));
  }

  header_list legacy_headers() const {
    return {{"X-Auth-Account-Url", settings_.account_url},
            {"X-Auth-Email", settings_.login},
            {"X-Auth-Password", settings_.password.reveal()}};
  }

  // Sends `c` (see send_with_retries) and notes what an authenticated call tells about the
  // credentials, for the alerts.
  result<http::client_response> send(const call& c, bool authenticated = true) {
    auto response = send_with_retries(c, authenticated);
    if (!authenticated) return response;
    if (response) {
      credentials_.accepted(clock_.now());
    } else if (response.error().kind == failure_kind::auth) {
      credentials_.refused(response.error().to_string(), clock_.now());
    }
    return response;
  }

  // Sends `c`, retrying 429, 5xx and network failures; `authenticated` adds the credentials
  // and renews a rejected token once.
  result<http::client_response> send_with_retries(const call& c, bool authenticated) {
    bool renewed = false;
    for (int attempt = 1;;) {
      header_list auth;
      std::string token_used;
      if (authenticated && legacy_auth_) {
        auth = legacy_headers();
      } else if (authenticated) {
        auto token = current_token();
        if (!token) return unexpected{token.error()};
        token_used = std::move(*token);
        auth.emplace_back("Authorization", "Bearer " + token_used);
      }

      auto response = exchange(c, auth);
      failure f;
      if (response) {
        if (response->status >= 200 && response->status <= 299) return std::move(*response);
        f = failure_of(c, *response);
        // An expired or revoked token: renew once and repeat at once (reference §1.2).
        if (response->status == 401 && !token_used.empty() && !renewed) {
          renewed = true;
          forget_token(token_used);
          continue;
        }
      } else {
        f = std::move(response.error());
      }
      if (!f.retryable() || attempt >= retry_.max_attempts) return unexpected{std::move(f)};
      ++attempt;
      const auto pause = delay_before(attempt, f);
      log::debug("ispring.retry", "iSpring {} failed ({}); attempt {} of {} in {} ms", c.endpoint,
                 f.to_string(), attempt, retry_.max_attempts, pause.count());
      {
        std::lock_guard lock(stats_mutex_);
        ++stats_.retries;
      }
      sleep_(pause);
    }
  }

  result<std::string> current_token() {
    std::lock_guard lock(token_mutex_);
    if (!token_.empty() && clock_.now() < token_valid_until_) return token_;
    token_.clear();
    const call c{"POST /api/v3/token",
                 "POST",
                 "/api/v3/token",
                 build_token_form(settings_.client_id, settings_.client_secret.reveal()),
                 call_kind::other,
                 "application/x-www-form-urlencoded"};
    auto response = send(c, false);
    if (!response && metrics_) metrics_->token(false);
    if (!response) {
      failure f = std::move(response.error());
      if (f.kind == failure_kind::auth || f.kind == failure_kind::rejected ||
          f.kind == failure_kind::not_found) {
        f.kind = failure_kind::auth;
        f.message =
            "iSpring refused the client credentials (check ispring.client_id and "
            "ispring.client_secret): " +
            f.message;
      } else {
        f.message = "cannot get an access token: " + f.message;
      }
      return unexpected{std::move(f)};
    }
    auto parsed = read_body(*response, parse_token(response->body), "token response");
    if (metrics_) metrics_->token(parsed.has_value());
    if (!parsed) return unexpected{parsed.error()};
    token_ = parsed->access_token;
    // Renew a minute early (reference §1.2), so a token never expires mid-request.
    token_valid_until_ = clock_.now() + static_cast<std::int64_t>(parsed->expires_in_s) * 1000 -
                         token_renewal_margin_ms;
    {
      std::lock_guard stats_lock(stats_mutex_);
      ++stats_.tokens_fetched;
    }
    return token_;
  }

  // Drops `rejected` unless another thread has already replaced it.
  void forget_token(const std::string& rejected) {
    std::lock_guard lock(token_mutex_);
    if (token_ == rejected) token_.clear();
    std::lock_guard stats_lock(stats_mutex_);
    ++stats_.tokens_rejected;
  }

  // Hands each page's items to `on_page` (false stops) until the last page.
  template <class T, class Parse, class OnPage>
  result<ok> each_page(const char* endpoint, const std::string& first_target, Parse parse,
                       const char* what, OnPage on_page) {
    std::set<std::string> seen_tokens;
    std::string page_token;
    for (;;) {
      std::string target = first_target;
      if (!page_token.empty()) target += "&pageToken=" + text::percent_encode(page_token);
      auto response = send({endpoint, "GET", target, {}});
      if (!response) return unexpected{response.error()};
      auto page = read_body(*response, parse(response->body), what);
      if (!page) return unexpected{page.error()};
      if (!on_page(page->items) || page->is_last()) return ok{};
      // A server handing back a token it gave before would keep us here forever.
      if (!seen_tokens.insert(page->next_page_token).second) {
        return unexpected{failure{
            failure_kind::bad_response, response->status,
            std::string("iSpring repeated a page token while listing ") + what, std::nullopt}};
      }
      page_token = std::move(page->next_page_token);
    }
  }

  template <class T, class Parse>
  result<std::vector<T>> all_pages(const char* endpoint, const std::string& first_target,
                                   Parse parse, const char* what) {
    std::vector<T> out;
    auto done = each_page<T>(endpoint, first_target, parse, what, [&out](std::vector<T>& items) {
      for (auto& item : items) out.push_back(std::move(item));
      return true;
    });
    if (!done) return unexpected{done.error()};
    return out;
  }

  result<ok> expect_success(const call& c) {
    auto response = send(c);
    if (!response) return unexpected{response.error()};
    return ok{};  // any 2xx (reference §9.7): the bodies of these calls carry nothing we use
  }
};

https_api::https_api(config::ispring_settings settings, retry_policy retry, sleep_fn sleep,
                     const connector::clock& clock, metrics::registry* metrics)
    : impl_(std::make_unique<impl>(std::move(settings), retry, std::move(sleep), clock, metrics)) {}

https_api::~https_api() = default;

const credentials_state& https_api::credentials() const {
  return impl_->credentials_;
}

api_stats https_api::stats() const {
  std::lock_guard lock(impl_->stats_mutex_);
  return impl_->stats_;
}

// --- Users ---------------------------------------------------------------------------------

namespace {
std::string users_target(const user_filter& filter) {
  std::string target = "/users/v2?pageSize=" + std::to_string(page_size_for_lists);
  const auto add = [&target](const char* key, const std::vector<std::string>& values) {
    for (const auto& value : values)
      target += std::string("&") + key + "[]=" + text::percent_encode(value);
  };
  add("logins", filter.logins);
  add("emails", filter.emails);
  add("userIds", filter.user_ids);
  add("departments", filter.department_ids);
  add("groups", filter.group_ids);
  return target;
}
}  // namespace

result<std::vector<user>> https_api::list_users(const user_filter& filter) {
  return impl_->all_pages<user>("GET /users/v2", users_target(filter), parse_users_page,
                                "users page");
}

result<ok> https_api::list_users_paged(const user_filter& filter,
                                       const std::function<bool(std::vector<user>&)>& on_page) {
  return impl_->each_page<user>("GET /users/v2", users_target(filter), parse_users_page,
                                "users page", on_page);
}

result<page<user>> https_api::list_users_page(const std::string& page_token, int page_size) {
  std::string target = "/users/v2?pageSize=" + std::to_string(std::max(page_size, 1));
  if (!page_token.empty()) target += "&pageToken=" + text::percent_encode(page_token);
  auto response = impl_->send({"GET /users/v2", "GET", target, {}});
  if (!response) return unexpected{response.error()};
  return read_body(*response, parse_users_page(response->body), "users page");
}

result<user> https_api::get_user(const std::string& user_id) {
  if (auto bad = unsafe_id("user", user_id)) return unexpected{std::move(*bad)};
  auto response = impl_->send(
      {"GET /user/{id}/v2", "GET", "/user/" + user_id + "/v2", {}, call_kind::get_by_id});
  if (!response) return unexpected{response.error()};
  return read_body(*response, parse_user(response->body), "user");
}

result<std::string> https_api::create_user(const std::string& department_id,
                                           const field_map& fields) {
  auto response = impl_->send({"POST /user", "POST", "/user",
                               build_create_user_body(department_id, fields), call_kind::create});
  if (!response) return unexpected{response.error()};
  return read_body(*response, parse_created_id(response->body), "created user id");
}

result<ok> https_api::update_user(const std::string& user_id,
                                  const std::optional<std::string>& department_id,
                                  const field_map& fields) {
  if (auto bad = unsafe_id("user", user_id)) return unexpected{std::move(*bad)};
  return impl_->expect_success({"POST /user/{id}", "POST", "/user/" + user_id,
                                build_update_user_body(department_id, fields)});
}

result<ok> https_api::add_user_to_groups(const std::string& user_id,
                                         const std::vector<std::string>& group_ids,
                                         const field_map& fields) {
  if (auto bad = unsafe_id("user", user_id)) return unexpected{std::move(*bad)};
  return impl_->expect_success({"POST /user/{id}", "POST", "/user/" + user_id,
                                build_update_user_body(std::nullopt, fields, group_ids)});
}

result<ok> https_api::set_user_status(const std::string& user_id, int status) {
  if (auto bad = unsafe_id("user", user_id)) return unexpected{std::move(*bad)};
  return impl_->expect_success({"POST /user/{id}/status", "POST", "/user/" + user_id + "/status",
                                build_status_body(status)});
}

result<ok> https_api::delete_user(const std::string& user_id) {
  if (auto bad = unsafe_id("user", user_id)) return unexpected{std::move(*bad)};
  return impl_->expect_success({"DELETE /user/{id}", "DELETE", "/user/" + user_id, {}});
}

result<ok> https_api::remove_user_from_groups(const std::string& user_id,
                                              const std::vector<std::string>& group_ids) {
  if (auto bad = unsafe_id("user", user_id)) return unexpected{std::move(*bad)};
  return impl_->expect_success({"POST /user/{id}/groups/remove", "POST",
                                "/user/" + user_id + "/groups/remove",
                                build_remove_groups_body(group_ids)});
}

// --- Departments -----------------------------------------------------------------------------

result<std::vector<department>> https_api::list_departments() {
  auto paged = impl_->all_pages<department>(
      "GET /departments", "/departments?pageSize=" + std::to_string(page_size_for_lists),
      parse_departments_page, "departments page");
  if (!paged) return paged;
  // Reference §5: the paged list may omit parentDepartmentId. Only the root lacks a parent,
  // so a second parentless department means the tree is missing: read the full list.
  const auto parentless =
      std::count_if(paged->begin(), paged->end(), [](const department& d) { return !d.parent_id; });
  if (parentless <= 1) return paged;
  auto response = impl_->send({"GET /department", "GET", "/department", {}});
  if (!response) return unexpected{response.error()};
  return read_body(*response, parse_departments_list(response->body), "departments list");
}

result<std::string> https_api::create_department(const std::string& name,
                                                 const std::string& parent_id) {
  auto response = impl_->send({"POST /department", "POST", "/department",
                               build_department_body(name, parent_id), call_kind::create});
  if (!response) return unexpected{response.error()};
  return read_body(*response, parse_created_id(response->body), "created department id");
}

result<ok> https_api::rename_department(const std::string& department_id, const std::string& name) {
  if (auto bad = unsafe_id("department", department_id)) return unexpected{std::move(*bad)};
  return impl_->expect_success({"POST /department/{id}", "POST", "/department/" + department_id,
                                build_rename_department_body(name)});
}

result<ok> https_api::delete_department(const std::string& department_id) {
  if (auto bad = unsafe_id("department", department_id)) return unexpected{std::move(*bad)};
  return impl_->expect_success(
      {"DELETE /department/{id}", "DELETE", "/department/" + department_id, {}});
}

// --- Groups ----------------------------------------------------------------------------------

result<std::vector<group>> https_api::list_groups() {
  return impl_->all_pages<group>("GET /groups",
                                 "/groups?pageSize=" + std::to_string(page_size_for_lists),
                                 parse_groups_page, "groups page");
}

result<group> https_api::get_group(const std::string& group_id) {
  if (auto bad = unsafe_id("group", group_id)) return unexpected{std::move(*bad)};
  auto response =
      impl_->send({"GET /group/{id}", "GET", "/group/" + group_id, {}, call_kind::get_by_id});
  if (!response) return unexpected{response.error()};
  return read_body(*response, parse_group(response->body), "group");
}

result<std::string> https_api::create_group(const std::string& name) {
  // wire.hpp has no builder for POST /group: {"name": …} (reference §6), invalid UTF-8
  // replaced like the wire builders do.
  const std::string body =
      nlohmann::json{{"name", name}}.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  auto response = impl_->send({"POST /group", "POST", "/group", body, call_kind::create});
  if (!response) return unexpected{response.error()};
  return read_body(*response, parse_created_id(response->body), "created group id");
}

result<ok> https_api::set_group_members(const std::string& group_id,
                                        const std::vector<std::string>& user_ids) {
  if (auto bad = unsafe_id("group", group_id)) return unexpected{std::move(*bad)};
  return impl_->expect_success({"POST /group/{id}/members", "POST",
                                "/group/" + group_id + "/members",
                                build_group_members_body(user_ids)});
}

result<std::vector<profile_field>> https_api::profile_fields() {
  auto response = impl_->send({"GET /user/profile/fields", "GET", "/user/profile/fields", {}});
  if (!response) return unexpected{response.error()};
  return read_body(*response, parse_profile_fields(response->body), "profile fields");
}

}  // namespace connector::ispring

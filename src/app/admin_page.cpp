#include "connector/app/admin_page.hpp"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <charconv>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include "connector/app/admin_api.hpp"
#include "connector/app/checks.hpp"
#include "connector/app/status_report.hpp"
#include "connector/text/ascii.hpp"
#include "connector/text/url.hpp"

namespace connector::app {
namespace {

// The page loads only its own script and style sheet and talks only to this listener.
constexpr const char* content_security_policy =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

bool has_header(const http::response& r, std::string_view name) {
  return std::any_of(r.headers.begin(), r.headers.end(),
                     [&](const auto& h) { return text::iequals(h.first, name); });
}

http::handler_fn with_security_headers(http::handler_fn inner) {
  return [inner = std::move(inner)](http::request&& req, http::respond_fn respond) {
    inner(std::move(req), [respond = std::move(respond)](http::response r) {
      add_security_headers(r);
      respond(std::move(r));
    });
  };
}

// GET /admin/runs/{id}/plan, beside the admin API's GET /admin/runs/{id}.
constexpr std::string_view runs_prefix = "/admin/runs/", plan_suffix = "/plan";

nlohmann::json secret_json(const config::secret& s) {
  return s.empty() ? nlohmann::json() : nlohmann::json("[redacted]");
}
nlohmann::json secret_json(const std::optional<config::secret>& s) {
  return s ? secret_json(*s) : nlohmann::json();
}
template <class T>
nlohmann::json optional_json(const std::optional<T>& v) {
  return v ? nlohmann::json(*v) : nlohmann::json();
}

std::string endpoint_text(const config::endpoint& e) {
  return (e.host.find(':') != std::string::npos ? "[" + e.host + "]" : e.host) + ":" +
         std::to_string(e.port);
}

// A finished run's plan does not change: the newest one paged through is kept indexed, so
// turning its pages costs no reparse (a 100k-user plan takes about a second to index).
class plan_cache {
 public:
  std::shared_ptr<const indexed_plan> get(store::store_reader& inbox, std::int64_t id) {
    {
      std::lock_guard lock(mutex_);
      if (id == id_ && plan_) return plan_;
    }
    const auto run = inbox.find_run(id, true);
    if (!run || run->plan_json.empty()) return nullptr;
    auto plan = index_plan(run->plan_json);
    std::lock_guard lock(mutex_);
    if (plan) {
      id_ = id;
      plan_ = plan;
    }
    return plan;
  }

 private:
  std::mutex mutex_;
  std::int64_t id_ = 0;
  std::shared_ptr<const indexed_plan> plan_;
};

const web_asset* find_asset(std::string_view name) {
  for (const auto& a : web_assets())
    if (a.name == name) return &a;
  return nullptr;
}

void serve_asset(std::string_view name, const http::respond_fn& respond) {
  const auto* asset = find_asset(name);
  if (!asset) return respond(http::response::text(404, "Not Found\n"));
  http::response r;
  r.status = 200;
  r.content_type = std::string(asset->content_type);
  r.body = std::string(asset->body);
  respond(std::move(r));
}

// The locks of the public listener that are on: "mutual_tls", "allowed_ips",
// "secret_path_segment", "loopback".
nlohmann::json intake_locks_json(const config::server_settings& s) {
  nlohmann::json locks = nlohmann::json::array();
  if (config::is_loopback(s.listen.host)) locks.push_back("loopback");
  if (s.tls.client_ca_file && !s.tls.client_subjects.empty()) locks.push_back("mutual_tls");
  if (!s.allowed_ips.empty()) locks.push_back("allowed_ips");
  if (s.secret_path_segment) locks.push_back("secret_path_segment");
  return locks;
}

nlohmann::json intake_warning_json(const config::server_settings& s) {
  const auto problem = config::intake_lock_problem(s);
  return problem
             ? nlohmann::json("The intake is unlocked (server.allow_unlocked_intake): " + *problem)
             : nlohmann::json();
}

}  // namespace

namespace {

nlohmann::json server_json(const config::settings& s) {
  nlohmann::json signing = nlohmann::json::array();
  for (const auto& secret : s.server.events_signing_secrets) signing.push_back(secret_json(secret));

  return {{"listen", endpoint_text(s.server.listen)},
          {"outbound_message_path", s.server.outbound_message_path},
          {"events_path", s.server.events_path},
          {"events_signing_secrets", std::move(signing)},
          {"secret_path_segment", secret_json(s.server.secret_path_segment)},
          {"mutual_tls", s.server.tls.client_ca_file.has_value()},
          {"allowed_ips", s.server.allowed_ips},
          {"max_connections_per_address", s.server.max_connections_per_address},
          {"intake_locks", intake_locks_json(s.server)},
          // Set when the intake is open to anyone who knows the organization id (serve runs
          // so only with server.allow_unlocked_intake): the page shows it as a warning.
          {"intake_warning", intake_warning_json(s.server)}};
}

nlohmann::json admin_json(const config::settings& s) {
  return {{"listen", endpoint_text(s.admin.listen)},
          {"tls", s.admin.tls},
          {"token", secret_json(s.admin.token)},
          // Names only: who saves settings revisions. The tokens are never shown.
          {"token_names", [&s] {
             std::vector<std::string> names;
             for (const auto& t : s.admin.tokens) names.push_back(t.name);
             return names;
           }()}};
}

nlohmann::json salesforce_json(const config::settings& s) {
  const auto& sf = s.salesforce;
  const char* flow = sf.client_id.empty() ? "none"
                     : sf.private_key     ? "jwt_bearer"
                     : sf.client_secret   ? "client_credentials"
                                          : "incomplete";
  return {{"organization_ids", sf.organization_ids},
          {"source_object", sf.source_object},
          {"login_url", sf.login_url},
          {"flow", flow},
          {"client_id", sf.client_id},
          {"client_secret", secret_json(sf.client_secret)},
          {"username", sf.username},
          {"private_key", secret_json(sf.private_key)},
          {"tls_ca_file", optional_json(sf.tls_ca_file)},
          {"api_version", sf.api_version},
          {"query_filter", sf.query_filter}};
}

nlohmann::json ispring_json(const config::settings& s) {
  nlohmann::json ispring;
  if (s.ispring) {
    const auto& i = *s.ispring;
    ispring = {{"api_url", i.api_url},
               {"auth", i.auth},
               {"client_id", i.client_id},
               {"client_secret", secret_json(i.client_secret)},
               {"account_url", i.account_url},
               {"login", i.login},
               {"password", secret_json(i.password)},
               {"tls_ca_file", optional_json(i.tls_ca_file)},
               {"max_concurrency", i.max_concurrency},
               {"request_timeout_ms", i.request_timeout_ms}};
  }
  return ispring;
}

// The seed's five mandatory fields first, then the extra profile fields.
nlohmann::json mapping_json(const config::settings& s) {
  nlohmann::json extra_fields = nlohmann::json::array();
  for (const auto& [ispring_field, salesforce_field] : s.mapping.fields)
    extra_fields.push_back({{"ispring", ispring_field}, {"salesforce", salesforce_field}});

  return {{"mandatory",
           {{{"ispring", "last_name"}, {"salesforce", s.mapping.last_name}},
            {{"ispring", "login"}, {"salesforce", s.mapping.login}},
            {{"ispring", "email"}, {"salesforce", s.mapping.email}},
            {{"ispring", "department"}, {"salesforce", s.mapping.department}},
            {{"ispring", "groups"}, {"salesforce", s.mapping.groups}}}},
          {"fields", std::move(extra_fields)}};
}

nlohmann::json sync_json(const config::settings& s) {
  nlohmann::json departments = nlohmann::json::array();
  for (const auto& [name, rule] : s.sync.departments)
    departments.push_back({{"salesforce_name", name},
                           {"sync_all_users", rule.sync_all_users},
                           {"ispring_name", optional_json(rule.ispring_name)},
                           {"users", rule.users},
                           {"custom", rule.custom}});
  return {{"departments", std::move(departments)},
          {"all_departments", s.sync.departments.empty()},
          {"groups", s.sync.groups ? nlohmann::json(*s.sync.groups) : nlohmann::json("all")},
          {"select_by", s.sync.select_by},
          {"parent_department", optional_json(s.sync.parent_department)},
          {"inactive_users", config::to_string(s.sync.inactive_users)},
          {"out_of_scope_users", config::to_string(s.sync.out_of_scope_users)},
          {"delete_empty_departments", s.sync.delete_empty_departments},
          {"max_deactivations", optional_json(s.sync.max_deactivations)},
          {"max_deactivations_per_hour", s.sync.max_deactivations_per_hour
                                             ? nlohmann::json(*s.sync.max_deactivations_per_hour)
                                             : nlohmann::json("off")},
          {"max_attempts", s.sync.max_attempts},
          {"verify_notifications", config::verifies_notifications(s)}};
}

nlohmann::json schedule_json(const config::settings& s) {
  return {{"run_type", s.schedule.run_type},
          {"run_interval_minutes", s.schedule.run_interval_minutes},
          {"start_work_time", optional_json(s.schedule.start_work_time)},
          {"stop_work_time", optional_json(s.schedule.stop_work_time)},
          {"time_zone", s.schedule.time_zone},
          {"check_sync_status_after_seconds", s.schedule.check_sync_status_after_seconds},
          {"check_sync_status_duration_minutes", s.schedule.check_sync_status_duration_minutes},
          {"interval_after_expire_duration_minutes",
           s.schedule.interval_after_expire_duration_minutes}};
}

nlohmann::json alerts_json(const config::settings& s) {
  nlohmann::json alerts;
  if (s.alerts) {
    alerts = {{"email_to", s.alerts->email_to},
              {"smtp",
               {{"host", s.alerts->smtp.host},
                {"port", s.alerts->smtp.port},
                {"security", s.alerts->smtp.security},
                {"username", s.alerts->smtp.username},
                {"password", secret_json(s.alerts->smtp.password)}}}};
  }
  return alerts;
}

}  // namespace

nlohmann::json config_to_json(const config::settings& s) {
  return {
      {"config_path", s.config_path},
      {"server", server_json(s)},
      {"admin", admin_json(s)},
      {"store",
       {{"sqlite_path", s.store.sqlite_path},
        {"postgresql_url", secret_json(s.store.postgresql_url)}}},
      {"salesforce", salesforce_json(s)},
      {"ispring", ispring_json(s)},
      {"mapping", mapping_json(s)},
      {"sync", sync_json(s)},
      {"schedule", schedule_json(s)},
      {"alerts", alerts_json(s)},
  };
}

std::shared_ptr<const indexed_plan> index_plan(std::string_view plan_json) {
  // A 100k-user plan is tens of MB as JSON and several times that as a parsed tree: each
  // user is kept as its own text and dropped from the tree as soon as it is parsed.
  using event = nlohmann::json::parse_event_t;
  auto index = std::make_shared<indexed_plan>();
  bool in_users = false;
  const auto take_users_out = [&](int depth, event e, nlohmann::json& parsed) {
    if (depth == 1 && e == event::key) in_users = parsed == "users";
    if (!in_users || depth != 2 || e != event::object_end) return true;
    indexed_plan::user user;
    if (const auto actions = parsed.find("actions"); actions != parsed.end() && actions->is_array())
      for (const auto& a : *actions)
        if (a.is_string()) user.actions.push_back(a.get<std::string>());
    user.json = parsed.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    index->users.push_back(std::move(user));
    return false;
  };
  auto plan = nlohmann::json::parse(plan_json, take_users_out, false);
  if (plan.is_discarded() || !plan.is_object()) return nullptr;
  index->summary = {{"counts", plan.value("counts", nlohmann::json::object())},
                    {"departments", plan.value("departments", nlohmann::json::object())},
                    {"safety", plan.value("safety", nlohmann::json::object())}};
  return index;
}

nlohmann::json plan_page(const indexed_plan& plan, const std::string& action, std::size_t offset,
                         std::size_t limit) {
  nlohmann::json users = nlohmann::json::array();
  std::size_t matching = 0;
  for (const auto& user : plan.users) {
    if (!action.empty() &&
        std::find(user.actions.begin(), user.actions.end(), action) == user.actions.end())
      continue;
    if (matching >= offset && users.size() < limit)
      users.push_back(nlohmann::json::parse(user.json));
    ++matching;
  }
  auto page = plan.summary;
  page["action"] = action;
  page["offset"] = offset;
  page["limit"] = limit;
  page["total"] = matching;
  page["users"] = std::move(users);
  return page;
}

nlohmann::json plan_page(std::string_view plan_json, const std::string& action, std::size_t offset,
                         std::size_t limit) {
  const auto plan = index_plan(plan_json);
  return plan ? plan_page(*plan, action, offset, limit) : nlohmann::json();
}

void add_security_headers(http::response& r) {
  const std::pair<const char*, const char*> headers[] = {
      {"Content-Security-Policy", content_security_policy},
      {"X-Content-Type-Options", "nosniff"},
      {"Referrer-Policy", "no-referrer"},
      {"X-Frame-Options", "DENY"},
      {"Cache-Control", "no-store"},
  };
  for (const auto& [name, value] : headers)
    if (!has_header(r, name)) r.headers.emplace_back(name, value);
}

namespace {

std::vector<http::route> page_asset_routes() {
  return {
      {"GET", "/",
       [](http::request&&, http::respond_fn respond) { serve_asset("index.html", respond); }},
      {"GET", "/static/*",
       [](http::request&& req, http::respond_fn respond) {
         serve_asset(std::string_view(req.path).substr(std::string_view("/static/").size()),
                     respond);
       }},
  };
}

// What the page shows beside the admin API: the settings in force and the schedule.
std::vector<http::route> settings_view_routes(const std::vector<config::admin_token>& token,
                                              const admin_page_context& context) {
  const config::settings& settings = *context.settings;
  run_coordinator* runs = context.runs;
  return {
      {"GET", "/admin/config",
       admin_only(token,
                  [&settings, live = context.live](http::request&&, const text::query_params&,
                                                   http::respond_fn respond) {
                    if (!live) return respond(json_answer(200, config_to_json(settings)));
                    const auto now = live();
                    respond(json_answer(200, config_to_json(*now.settings)));
                  })},
      {"GET", "/admin/schedule",
       admin_only(token,
                  [&settings, runs, live = context.live](http::request&&, const text::query_params&,
                                                         http::respond_fn respond) {
                    const auto next = runs ? runs->next_scheduled_run() : std::nullopt;
                    const auto now = live ? live().settings : nullptr;
                    const auto& run_type =
                        now ? now->schedule.run_type : settings.schedule.run_type;
                    respond(json_answer(200, {{"run_type", run_type},
                                              {"reconciliation_available", runs != nullptr},
                                              {"next_run", next ? nlohmann::json(format_utc(*next))
                                                                : nlohmann::json()}}));
                  })},
  };
}

http::route activity_route(const std::vector<config::admin_token>& token,
                           const admin_page_context& context) {
  store::store_reader& inbox = *context.reader;
  const clock& time = *context.time;
  return
      // Hourly buckets ending with the current hour; "series" grows (applied changes
      // per hour can join from the history table) without changing the shape.
      {"GET", "/admin/activity",
       admin_only(token,
                  [&inbox, &time](http::request&&, const text::query_params& query,
                                  http::respond_fn respond) {
                    const auto hours = query.whole_number("hours", 24);
                    if (!hours || *hours == 0 || *hours > 24 * 31)
                      return respond(json_error(400, "hours: a whole number from 1 to 744"));
                    constexpr epoch_ms hour = 3'600'000;
                    const epoch_ms current = time.now() / hour * hour;
                    const epoch_ms since = current - static_cast<epoch_ms>(*hours - 1) * hour;
                    nlohmann::json starts = nlohmann::json::array();
                    for (std::size_t i = 0; i < *hours; ++i)
                      starts.push_back(format_utc(since + static_cast<epoch_ms>(i) * hour));
                    std::vector<std::int64_t> received, applied;
                    try {
                      received = inbox.notifications_per_bucket(since, hour, *hours);
                      applied = inbox.applied_per_bucket(since, hour, *hours);
                    } catch (const std::exception& e) {
                      return respond(json_error(500, e.what()));
                    }
                    nlohmann::json series = nlohmann::json::array();
                    series.push_back({{"name", "notifications_received"},
                                      {"label", "Notifications received"},
                                      {"values", std::move(received)}});
                    series.push_back({{"name", "users_applied"},
                                      {"label", "Users applied to iSpring"},
                                      {"values", std::move(applied)}});
                    respond(json_answer(200, {{"bucket_minutes", 60},
                                              {"starts", std::move(starts)},
                                              {"series", std::move(series)}}));
                  })};
}

// What the page's buttons do: check the configuration, retry dead letters, release held
// records.
std::vector<http::route> action_routes(const std::vector<config::admin_token>& token,
                                       const admin_page_context& context) {
  const config::settings& settings = *context.settings;
  store::work_queue& queue = *context.queue;
  const clock& time = *context.time;
  auto check_running = std::make_shared<std::atomic<bool>>(false);
  return {
      // The seed's "Verify and Register Integration". The checks call both services, so
      // they run off the admin listener's thread, one at a time.
      {"POST", "/admin/check",
       admin_only(
           token,
           [&settings, check_running](http::request&&, const text::query_params&,
                                      http::respond_fn respond) {
             if (check_running->exchange(true))
               return respond(json_error(409, "a check is already running"));
             std::thread([&settings, check_running, respond = std::move(respond)] {
               nlohmann::json findings = nlohmann::json::array();
               bool all_ok = true;
               try {
                 system_clock clock;
                 for (const auto& f : run_checks(settings, clock)) {
                   findings.push_back(finding_to_json(f));
                   all_ok = all_ok && f.ok();
                 }
               } catch (const std::exception& e) {
                 findings.push_back(finding_to_json({"check", check_level::fail, e.what()}));
                 all_ok = false;
               }
               check_running->store(false);
               respond(json_answer(200, {{"ok", all_ok}, {"findings", std::move(findings)}}));
             }).detach();
           })},
      {"POST", "/admin/dead-letters/retry",
       admin_only(token,
                  [&queue, &time, wake = context.wake_worker](
                      http::request&&, const text::query_params& query, http::respond_fn respond) {
                    const auto* record_id = query.find("record_id");
                    const auto requeued =
                        queue.requeue_dead(record_id ? *record_id : "", time.now());
                    if (requeued > 0 && wake) wake();
                    if (record_id && !record_id->empty() && requeued == 0)
                      return respond(json_error(404, "no dead letter for record " + *record_id));
                    respond(json_answer(200, {{"requeued", requeued}}));
                  })},
      // `connector release`: records held by the safety limit are applied even over the cap.
      {"POST", "/admin/release",
       admin_only(token,
                  [&queue, &time, wake = context.wake_worker](
                      http::request&&, const text::query_params& query, http::respond_fn respond) {
                    const auto* record_id = query.find("record_id");
                    const auto released =
                        queue.release_held(record_id ? *record_id : "", time.now());
                    if (released > 0 && wake) wake();
                    if (record_id && !record_id->empty() && released == 0)
                      return respond(
                          json_error(404, "no record held by the safety limit for " + *record_id));
                    respond(json_answer(200, {{"released", released}}));
                  })},
  };
}

// GET /admin/runs/{id}/plan: one page of a dry run's plan, filtered by action.
http::handler_fn plan_page_handler(const std::vector<config::admin_token>& token,
                                   store::store_reader& inbox) {
  auto plans = std::make_shared<plan_cache>();
  return admin_only(
      token, [&inbox, plans](http::request&& req, const text::query_params& query,
                             http::respond_fn respond) {
        const std::string_view path = req.path;
        const auto id_text =
            path.substr(runs_prefix.size(), path.size() - runs_prefix.size() - plan_suffix.size());
        std::int64_t id = 0;
        const auto [ptr, ec] = std::from_chars(id_text.data(), id_text.data() + id_text.size(), id);
        if (ec != std::errc() || ptr != id_text.data() + id_text.size() || id <= 0)
          return respond(json_error(404, "no such run"));
        const auto offset = query.whole_number("offset", 0);
        const auto limit = query.whole_number("limit", 100);
        if (!offset || !limit)
          return respond(json_error(400, !offset ? offset.error() : limit.error()));
        const auto plan = plans->get(inbox, id);
        if (!plan) return respond(json_error(404, "run " + std::to_string(id) + " has no plan"));
        const auto* action = query.find("action");
        auto page =
            plan_page(*plan, action ? *action : "", *offset, std::min<std::size_t>(*limit, 1000));
        page["run_id"] = id;
        respond(json_answer(200, page));
      });
}

// GET /admin/runs/{id}/plan shares its prefix with the admin API's GET /admin/runs/{id}:
// one route answers both, handing everything but the plan page to the API's handler.
void route_plans_beside_runs(std::vector<http::route>& admin_routes,
                             http::handler_fn plan_handler) {
  for (auto& route : admin_routes) {
    if (route.method != "GET" || route.path != "/admin/runs/*") continue;
    route.handler = [plan_handler, run_handler = std::move(route.handler)](
                        http::request&& req, http::respond_fn respond) {
      const std::string_view path = req.path;
      const bool plan =
          path.size() > runs_prefix.size() + plan_suffix.size() && path.ends_with(plan_suffix);
      (plan ? plan_handler : run_handler)(std::move(req), std::move(respond));
    };
  }
}

}  // namespace

std::vector<http::route> with_admin_page(std::vector<http::route> admin_routes,
                                         admin_page_context context) {
  const auto token = accepted_tokens(context.settings->admin);
  std::vector<http::route> routes = page_asset_routes();
  for (auto& route : settings_view_routes(token, context)) routes.push_back(std::move(route));
  routes.push_back(activity_route(token, context));
  for (auto& route : action_routes(token, context)) routes.push_back(std::move(route));
  route_plans_beside_runs(admin_routes, plan_page_handler(token, *context.reader));

  routes.insert(routes.end(), std::make_move_iterator(admin_routes.begin()),
                std::make_move_iterator(admin_routes.end()));
  for (auto& route : routes) route.handler = with_security_headers(std::move(route.handler));
  return routes;
}

}  // namespace connector::app

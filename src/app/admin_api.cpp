#include "connector/app/admin_api.hpp"

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <algorithm>
#include <charconv>
#include <nlohmann/json.hpp>
#include <optional>
#include <string_view>

#include "connector/app/explain.hpp"
#include "connector/app/status_report.hpp"
#include "connector/salesforce/ids.hpp"
#include "connector/text/url.hpp"

namespace connector::app {

bool has_admin_token(const http::request& req, const config::secret& token) {
  constexpr std::string_view scheme = "Bearer ";
  const auto header = req.header("authorization");
  if (token.empty() || header.size() <= scheme.size() ||
      header.substr(0, scheme.size()) != scheme) {
    return false;
  }
  const auto presented = header.substr(scheme.size());
  const auto& expected = token.reveal();
  // Digests of equal length compared in constant time: neither the content nor the length
  // of the token leaks through the time an answer takes.
  unsigned char presented_digest[SHA256_DIGEST_LENGTH];
  unsigned char expected_digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(presented.data()), presented.size(),
         presented_digest);
  SHA256(reinterpret_cast<const unsigned char*>(expected.data()), expected.size(), expected_digest);
  return CRYPTO_memcmp(presented_digest, expected_digest, SHA256_DIGEST_LENGTH) == 0;
}

std::optional<std::string> admin_token_name(const http::request& req,
                                            const std::vector<config::admin_token>& tokens) {
  // Every token is compared, the first match kept: the time taken does not tell which.
  std::optional<std::string> name;
  for (const auto& token : tokens)
    if (has_admin_token(req, token.token) && !name) name = token.name;
  return name;
}

std::vector<config::admin_token> accepted_tokens(const config::admin_settings& admin) {
  if (!admin.tokens.empty()) return admin.tokens;
  return {{"admin", admin.token}};
}

namespace {

// A route that needs no token still gets the query rules' 400.
http::handler_fn without_token(admin_handler_fn handler) {
  return [handler = std::move(handler)](http::request&& req, http::respond_fn respond) {
    const auto query = text::query_params::parse(req.query);
    if (!query) return respond(json_error(400, query.error()));
    handler(std::move(req), *query, std::move(respond));
  };
}

}  // namespace

http::response json_answer(int status, const nlohmann::json& body) {
  return http::response::json(status,
                              body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

http::response json_error(int status, const std::string& message, const std::string& key) {
  nlohmann::json body = {{"error", message}};
  if (!key.empty()) body["key"] = key;
  return json_answer(status, body);
}

http::handler_fn admin_only(config::secret token, admin_handler_fn handler) {
  return admin_only(std::vector<config::admin_token>{{"admin", std::move(token)}},
                    std::move(handler));
}

http::handler_fn admin_only(std::vector<config::admin_token> tokens, admin_handler_fn handler) {
  return [tokens = std::move(tokens), handler = std::move(handler)](http::request&& req,
                                                                    http::respond_fn respond) {
    if (!admin_token_name(req, tokens)) {
      auto r = json_error(401, "missing or wrong admin token");
      r.headers.emplace_back("WWW-Authenticate", "Bearer");
      return respond(std::move(r));
    }
    const auto query = text::query_params::parse(req.query);
    if (!query) return respond(json_error(400, query.error()));
    handler(std::move(req), *query, std::move(respond));
  };
}

namespace {

using admin_tokens = std::vector<config::admin_token>;

// The service's state: its status and the reconciliation started by hand.
std::vector<http::route> status_routes(const admin_tokens& token, store::store_reader& inbox,
                                       run_coordinator* runs, std::string runs_unavailable,
                                       std::function<nlohmann::json()> status_warnings) {
  return {
      {"GET", "/admin/status",
       admin_only(token,
                  [&inbox, status_warnings](http::request&&, const text::query_params&,
                                            http::respond_fn respond) {
                    // Live by the wall clock: instances beat by theirs.
                    auto status = read_status(inbox, system_clock().now());
                    auto answer = status_to_json(status);
                    answer["warnings"] =
                        status_warnings ? status_warnings() : nlohmann::json::array();
                    const auto replace = nlohmann::json::error_handler_t::replace;
                    respond(http::response::json(200, answer.dump(-1, ' ', false, replace)));
                  })},
      // The seed's "Run Connector Manually": queued behind a run in progress, never beside it.
      {"POST", "/admin/reconcile",
       admin_only(token,
                  [runs, runs_unavailable](http::request&&, const text::query_params& query,
                                           http::respond_fn respond) {
                    if (!runs) return respond(json_error(409, runs_unavailable));
                    const auto dry_run = query.flag("dry_run");
                    if (!dry_run) return respond(json_error(400, dry_run.error()));
                    const auto id = runs->request("admin", *dry_run);
                    auto r = http::response::json(
                        202, nlohmann::json{{"id", id},
                                            {"status", "queued"},
                                            {"dry_run", *dry_run},
                                            {"url", "/admin/runs/" + std::to_string(id)}}
                                 .dump());
                    r.headers.emplace_back("Location", "/admin/runs/" + std::to_string(id));
                    respond(std::move(r));
                  })},
  };
}

// One user explained, and the search that finds them.
std::vector<http::route> user_routes(const admin_tokens& token, const config::settings& settings,
                                     store::store_reader& inbox, ispring::api* ispring,
                                     sync::settings_source live) {
  return {
      // `connector explain` over HTTP: the same JSON; ?offline=true leaves iSpring unasked.
      {"GET", "/admin/users/*",
       admin_only(
           token,
           [&inbox, &settings, ispring, live](http::request&& req, const text::query_params& query,
                                              http::respond_fn respond) {
             const auto user = text::percent_decode(
                 std::string_view(req.path).substr(std::string_view("/admin/users/").size()));
             if (!user)
               return respond(json_error(400, "the user in the path has a broken %-escape"));
             if (user->empty())
               return respond(json_error(404,
                                         "name a user: /admin/users/{record id, username, "
                                         "e-mail or iSpring user id}"));
             const auto limit = query.whole_number("limit", 50);
             const auto offline = query.flag("offline");
             if (!limit || !offline)
               return respond(json_error(400, !limit ? limit.error() : offline.error()));
             explain_options options;
             options.limit = std::min<std::size_t>(*limit, 1000);
             // What would happen now: by the settings revision in force now.
             const auto now = live ? live() : sync::settings_snapshot{};
             const auto& current = now.settings ? *now.settings : settings;
             auto answer = explain_user(*user, current, facts_of(inbox),
                                        *offline ? nullptr : ispring, options);
             if (!answer) return respond(json_error(answer.error().status, answer.error().message));
             if (!ispring && !answer->value("/ispring/checked"_json_pointer, false))
               (*answer)["ispring"] = {
                   {"checked", false},
                   {"reason", settings.ispring ? "offline: iSpring was not asked"
                                               : "no ispring section in the "
                                                 "configuration"}};
             respond(http::response::json(
                 200, answer->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)));
           })},
      // Search for the admin page: ?q= a record id, username or e-mail prefix; paged.
      {"GET", "/admin/users",
       admin_only(token,
                  [&inbox, &settings](http::request&&, const text::query_params& params,
                                      http::respond_fn respond) {
                    const auto limit = params.whole_number("limit", 20);
                    const auto offset = params.whole_number("offset", 0);
                    if (!limit || !offset)
                      return respond(json_error(400, !limit ? limit.error() : offset.error()));
                    store::user_query search;
                    for (const auto& id : settings.salesforce.organization_ids)
                      search.organization_ids.push_back(salesforce::to_18_char_id(id).value_or(id));
                    const auto* q = params.find("q");
                    search.text = q ? *q : std::string();
                    search.prefix = true;
                    search.limit = std::min<std::size_t>(*limit, 200);
                    search.offset = *offset;
                    const auto matches = search.text.empty() ? std::vector<store::user_match>{}
                                                             : inbox.search_users(search);
                    respond(http::response::json(
                        200, nlohmann::json{{"q", search.text},
                                            {"limit", search.limit},
                                            {"offset", search.offset},
                                            {"users", matches_to_json(matches)}}
                                 .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)));
                  })},
  };
}

// The reconciliation runs: the list, and one run with its plan.
std::vector<http::route> run_routes(const admin_tokens& token, store::store_reader& inbox,
                                    run_coordinator* runs) {
  return {
      {"GET", "/admin/runs",
       admin_only(
           token,
           [&inbox](http::request&&, const text::query_params& query, http::respond_fn respond) {
             const auto limit = query.whole_number("limit", 20);
             if (!limit) return respond(json_error(400, limit.error()));
             nlohmann::json list = nlohmann::json::array();
             for (const auto& run : inbox.list_runs(std::min<std::size_t>(*limit, 1000), true))
               list.push_back(run_to_json(run));
             respond(http::response::json(200, nlohmann::json{{"runs", std::move(list)}}.dump()));
           })},
      {"GET", "/admin/runs/*",
       admin_only(token,
                  [&inbox, runs](http::request&& req, const text::query_params& query,
                                 http::respond_fn respond) {
                    const std::string_view prefix = "/admin/runs/";
                    const std::string_view id_text =
                        std::string_view(req.path).substr(prefix.size());
                    std::int64_t id = 0;
                    const auto [ptr, ec] =
                        std::from_chars(id_text.data(), id_text.data() + id_text.size(), id);
                    if (ec != std::errc() || ptr != id_text.data() + id_text.size() || id <= 0)
                      return respond(json_error(404, "no such run"));
                    // A dry run's plan is part of its answer; ?plan=false leaves it out.
                    const auto plan = query.flag("plan", true);
                    if (!plan) return respond(json_error(400, plan.error()));
                    const bool with_plan = *plan;
                    std::optional<nlohmann::json> run;
                    if (runs) {
                      run = runs->describe(id, with_plan);
                    } else if (auto record = inbox.find_run(id, with_plan)) {
                      run = run_to_json(*record);
                    }
                    if (!run) return respond(json_error(404, "no such run"));
                    respond(http::response::json(
                        200, run->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)));
                  })},
  };
}

http::route metrics_route(const admin_tokens& token, const config::settings& settings,
                          const metrics::registry* metrics) {
  admin_handler_fn serve_metrics = [metrics](http::request&&, const text::query_params&,
                                             http::respond_fn respond) {
    std::string text;
    try {
      text = metrics->render();  // reads the store's counts
    } catch (const std::exception& e) {
      return respond(http::response::text(503, std::string("metrics: ") + e.what()));
    }
    auto r = http::response::text(200, std::move(text));
    r.content_type = std::string(metrics::exposition_content_type);
    respond(std::move(r));
  };
  // Open only when admin.allow_unauthenticated_metrics is set (config: on loopback only).
  const bool open = settings.admin.allow_unauthenticated_metrics;
  return {
      "GET", "/metrics",
      open ? without_token(std::move(serve_metrics)) : admin_only(token, std::move(serve_metrics))};
}

}  // namespace

std::vector<http::route> make_admin_routes(const config::settings& settings,
                                           store::store_reader& inbox,
                                           intake_counters& /*counters*/, run_coordinator* runs,
                                           std::string runs_unavailable,
                                           const metrics::registry* metrics, ispring::api* ispring,
                                           sync::settings_source live,
                                           std::function<nlohmann::json()> status_warnings) {
  const auto token = accepted_tokens(settings.admin);
  std::vector<http::route> routes{
      {"GET", "/healthz",
       [](http::request&&, http::respond_fn respond) {
         respond(http::response::text(200, "ok\n"));
       }},
  };
  for (auto& route :
       status_routes(token, inbox, runs, std::move(runs_unavailable), std::move(status_warnings)))
    routes.push_back(std::move(route));
  for (auto& route : user_routes(token, settings, inbox, ispring, std::move(live)))
    routes.push_back(std::move(route));
  for (auto& route : run_routes(token, inbox, runs)) routes.push_back(std::move(route));
  if (metrics) routes.push_back(metrics_route(token, settings, metrics));
  return routes;
}

}  // namespace connector::app

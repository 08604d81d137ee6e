#include "connector/app/admin_api.hpp"

#include <openssl/crypto.h>

#include <algorithm>
#include <charconv>
#include <nlohmann/json.hpp>

#include "connector/app/status_report.hpp"

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
  // Constant time over the expected length, so the comparison leaks nothing but the length.
  if (presented.size() != expected.size()) return false;
  return CRYPTO_memcmp(presented.data(), expected.data(), expected.size()) == 0;
}

namespace {

// "dry_run=true" in a query string (also "1" and "yes").
bool query_flag(const std::string& query, std::string_view name) {
  std::size_t at = 0;
  while (at <= query.size()) {
    const auto end = std::min(query.find('&', at), query.size());
    const std::string_view part(query.data() + at, end - at);
    if (part.substr(0, name.size()) == name &&
        (part.size() == name.size() || part[name.size()] == '=')) {
      const auto value =
          part.size() == name.size() ? std::string_view("true") : part.substr(name.size() + 1);
      return value == "true" || value == "1" || value == "yes";
    }
    at = end + 1;
  }
  return false;
}

std::optional<std::size_t> query_number(const std::string& query, std::string_view name) {
  const auto at = query.find(std::string(name) + "=");
  if (at == std::string::npos || (at > 0 && query[at - 1] != '&')) return std::nullopt;
  std::size_t value = 0;
  const char* begin = query.data() + at + name.size() + 1;
  const char* end = query.data() + std::min(query.find('&', at), query.size());
  const auto [ptr, ec] = std::from_chars(begin, end, value);
  if (ec != std::errc() || ptr != end) return std::nullopt;
  return value;
}

http::response json_error(int status, const std::string& message) {
  return http::response::json(status, nlohmann::json{{"error", message}}.dump());
}

}  // namespace

std::vector<http::route> make_admin_routes(const config::settings& settings, store::inbox& inbox,
                                           intake_counters& /*counters*/, run_coordinator* runs,
                                           std::string runs_unavailable,
                                           const metrics::registry* metrics) {
  const config::secret token = settings.admin.token;
  auto unauthorized = [] {
    auto r = http::response::json(401, R"({"error":"missing or wrong admin token"})");
    r.headers.emplace_back("WWW-Authenticate", "Bearer");
    return r;
  };
  std::vector<http::route> routes{
      {"GET", "/healthz",
       [](http::request&&, http::respond_fn respond) {
         respond(http::response::text(200, "ok\n"));
       }},
      {"GET", "/admin/status",
       [&inbox, token, unauthorized](http::request&& req, http::respond_fn respond) {
         if (!has_admin_token(req, token)) return respond(unauthorized());
         status_snapshot status{inbox.stats(), inbox.list_records(store::record_state::dead, 50),
                                inbox.list_records(store::record_state::retrying, 50),
                                inbox.last_sync()};
         respond(http::response::json(200, status_to_json(status).dump()));
       }},
      // The seed's "Run Connector Manually": queued behind a run in progress, never beside it.
      {"POST", "/admin/reconcile",
       [runs, runs_unavailable, token, unauthorized](http::request&& req,
                                                     http::respond_fn respond) {
         if (!has_admin_token(req, token)) return respond(unauthorized());
         if (!runs) return respond(json_error(409, runs_unavailable));
         const bool dry_run = query_flag(req.query, "dry_run");
         const auto id = runs->request("admin", dry_run);
         auto r =
             http::response::json(202, nlohmann::json{{"id", id},
                                                      {"status", "queued"},
                                                      {"dry_run", dry_run},
                                                      {"url", "/admin/runs/" + std::to_string(id)}}
                                           .dump());
         r.headers.emplace_back("Location", "/admin/runs/" + std::to_string(id));
         respond(std::move(r));
       }},
      {"GET", "/admin/runs",
       [&inbox, token, unauthorized](http::request&& req, http::respond_fn respond) {
         if (!has_admin_token(req, token)) return respond(unauthorized());
         const auto limit =
             std::min<std::size_t>(query_number(req.query, "limit").value_or(20), 1000);
         nlohmann::json list = nlohmann::json::array();
         for (const auto& run : inbox.list_runs(limit, true)) list.push_back(run_to_json(run));
         respond(http::response::json(200, nlohmann::json{{"runs", std::move(list)}}.dump()));
       }},
      {"GET", "/admin/runs/*",
       [&inbox, runs, token, unauthorized](http::request&& req, http::respond_fn respond) {
         if (!has_admin_token(req, token)) return respond(unauthorized());
         const std::string_view prefix = "/admin/runs/";
         const std::string_view id_text = std::string_view(req.path).substr(prefix.size());
         std::int64_t id = 0;
         const auto [ptr, ec] =
             std::from_chars(id_text.data(), id_text.data() + id_text.size(), id);
         if (ec != std::errc() || ptr != id_text.data() + id_text.size() || id <= 0)
           return respond(json_error(404, "no such run"));
         // A dry run's plan is part of its answer; ?plan=false leaves it out.
         const bool with_plan = req.query.find("plan=false") == std::string::npos;
         std::optional<nlohmann::json> run;
         if (runs) {
           run = runs->describe(id, with_plan);
         } else if (auto record = inbox.find_run(id, with_plan)) {
           run = run_to_json(*record);
         }
         if (!run) return respond(json_error(404, "no such run"));
         respond(http::response::json(
             200, run->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)));
       }},
  };
  if (metrics) {
    const bool open = settings.admin.allow_unauthenticated_metrics;
    routes.push_back(
        {"GET", "/metrics",
         [metrics, open, token, unauthorized](http::request&& req, http::respond_fn respond) {
           if (!open && !has_admin_token(req, token)) return respond(unauthorized());
           std::string text;
           try {
             text = metrics->render();  // reads the store's counts
           } catch (const std::exception& e) {
             return respond(http::response::text(503, std::string("metrics: ") + e.what()));
           }
           auto r = http::response::text(200, std::move(text));
           r.content_type = std::string(metrics::exposition_content_type);
           respond(std::move(r));
         }});
  }
  return routes;
}

}  // namespace connector::app

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

// A query or path value with %XX and '+' decoded; nullopt when an escape is broken.
std::optional<std::string> percent_decoded(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '+') {
      out += ' ';
    } else if (text[i] != '%') {
      out += text[i];
    } else {
      unsigned value = 0;
      if (i + 2 >= text.size()) return std::nullopt;
      const auto [ptr, ec] = std::from_chars(text.data() + i + 1, text.data() + i + 3, value, 16);
      if (ec != std::errc() || ptr != text.data() + i + 3) return std::nullopt;
      out += static_cast<char>(value);
      i += 2;
    }
  }
  return out;
}

// The raw value of `name` in a query string, if present.
std::optional<std::string_view> query_value(const std::string& query, std::string_view name) {
  std::size_t at = 0;
  while (at <= query.size()) {
    const auto end = std::min(query.find('&', at), query.size());
    const std::string_view part(query.data() + at, end - at);
    if (part.size() > name.size() && part.substr(0, name.size()) == name &&
        part[name.size()] == '=')
      return part.substr(name.size() + 1);
    at = end + 1;
  }
  return std::nullopt;
}

http::response json_error(int status, const std::string& message) {
  return http::response::json(status, nlohmann::json{{"error", message}}.dump());
}

}  // namespace

std::vector<http::route> make_admin_routes(const config::settings& settings,
                                           store::store_reader& inbox,
                                           intake_counters& /*counters*/, run_coordinator* runs,
                                           std::string runs_unavailable,
                                           const metrics::registry* metrics,
                                           ispring::api* ispring) {
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
         // Live by the wall clock: instances beat by theirs.
         const auto status = read_status(inbox, system_clock().now());
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
      // `connector explain` over HTTP: the same JSON; ?offline=true leaves iSpring unasked.
      {"GET", "/admin/users/*",
       [&inbox, &settings, ispring, token, unauthorized](http::request&& req,
                                                         http::respond_fn respond) {
         if (!has_admin_token(req, token)) return respond(unauthorized());
         const auto user = percent_decoded(
             std::string_view(req.path).substr(std::string_view("/admin/users/").size()));
         if (!user || user->empty())
           return respond(json_error(404,
                                     "name a user: /admin/users/{record id, username, "
                                     "e-mail or iSpring user id}"));
         explain_options options;
         options.limit = std::min<std::size_t>(query_number(req.query, "limit").value_or(50), 1000);
         auto answer = explain_user(*user, settings, facts_of(inbox),
                                    query_flag(req.query, "offline") ? nullptr : ispring, options);
         if (!answer) return respond(json_error(answer.error().status, answer.error().message));
         if (!ispring && !answer->value("/ispring/checked"_json_pointer, false))
           (*answer)["ispring"] = {{"checked", false},
                                   {"reason", settings.ispring ? "offline: iSpring was not asked"
                                                               : "no ispring section in the "
                                                                 "configuration"}};
         respond(http::response::json(
             200, answer->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)));
       }},
      // Search for the admin page: ?q= a record id, username or e-mail prefix; paged.
      {"GET", "/admin/users",
       [&inbox, &settings, token, unauthorized](http::request&& req, http::respond_fn respond) {
         if (!has_admin_token(req, token)) return respond(unauthorized());
         const auto raw = query_value(req.query, "q");
         const auto text = raw ? percent_decoded(*raw) : std::optional<std::string>("");
         if (!text) return respond(json_error(400, "q: broken %-escape"));
         store::user_query query;
         for (const auto& id : settings.salesforce.organization_ids)
           query.organization_ids.push_back(salesforce::to_18_char_id(id).value_or(id));
         query.text = *text;
         query.prefix = true;
         query.limit = std::min<std::size_t>(query_number(req.query, "limit").value_or(20), 200);
         query.offset = query_number(req.query, "offset").value_or(0);
         const auto matches =
             query.text.empty() ? std::vector<store::user_match>{} : inbox.search_users(query);
         respond(http::response::json(
             200, nlohmann::json{{"q", query.text},
                                 {"limit", query.limit},
                                 {"offset", query.offset},
                                 {"users", matches_to_json(matches)}}
                      .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)));
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

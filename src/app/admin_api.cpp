#include "connector/app/admin_api.hpp"

#include <openssl/crypto.h>

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

std::vector<http::route> make_admin_routes(const config::settings& settings, store::inbox& inbox,
                                           intake_counters& /*counters*/) {
  const config::secret token = settings.admin.token;
  auto unauthorized = [] {
    auto r = http::response::json(401, R"({"error":"missing or wrong admin token"})");
    r.headers.emplace_back("WWW-Authenticate", "Bearer");
    return r;
  };
  return {
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
  };
}

}  // namespace connector::app

// The Salesforce REST client; section numbers (§) refer to reference/salesforce.md.
#include "connector/salesforce/rest_client.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <optional>
#include <set>
#include <stdexcept>
#include <utility>

#include "connector/http/client.hpp"
#include "connector/log.hpp"
#include "connector/metrics/remote_api.hpp"
#include "connector/salesforce/jwt.hpp"
#include "connector/text/url.hpp"
#include "connector/text/utf8.hpp"

namespace connector::salesforce {
namespace {

constexpr int min_batch_size = 200;   // §D.2
constexpr int max_batch_size = 2000;  // §D.2
// §D.1: exp "within 3 minutes"; the full allowance covers a request that waits for a slot.
constexpr std::int64_t assertion_lifetime_s = 180;
constexpr const char* token_path = "/services/oauth2/token";

const char* jwt_grant_type = "urn:ietf:params:oauth:grant-type:jwt-bearer";

// Route templates for metrics: never a query text or a query locator.
constexpr const char* token_endpoint = "POST /services/oauth2/token";
constexpr const char* query_endpoint = "GET /services/data/{version}/query";
constexpr const char* next_page_endpoint = "GET /services/data/{version}/query/{locator}";
constexpr const char* describe_endpoint = "GET /services/data/{version}/sobjects/{object}/describe";

const char* kind_name(rest_failure_kind kind) {
  switch (kind) {
    case rest_failure_kind::network:
      return "network";
    case rest_failure_kind::auth:
      return "auth";
    case rest_failure_kind::rate_limited:
      return "rate_limited";
    case rest_failure_kind::server:
      return "server";
    case rest_failure_kind::rejected:
      return "rejected";
    case rest_failure_kind::bad_response:
      return "bad_response";
  }
  return "failure";
}

bool contains(std::string_view text, std::string_view part) {
  return text.find(part) != std::string_view::npos;
}

// What an operator should check for each OAuth refusal Salesforce is known to give (§D.1).
// Salesforce's own words stay first in the message; this follows in parentheses.
std::string sign_in_hint(const rest_error& e, bool jwt) {
  const std::string& code = e.error_code;
  const std::string& text = e.message;
  if (code == "invalid_client_id" || (code == "invalid_client" && jwt)) {
    return "check salesforce.client_id: it must be the connected app's consumer key";
  }
  if (code == "invalid_client" || contains(text, "authentication failure")) {
    return "check salesforce.client_id and salesforce.client_secret";
  }
  if (contains(text, "invalid assertion")) {
    return "the signature does not verify against the certificate on the connected app: "
           "check salesforce.private_key";
  }
  if (contains(text, "hasn't approved this consumer") || contains(text, "not admin approved")) {
    return "check salesforce.username and that this user is pre-authorized for the connected app "
           "(profile or permission set)";
  }
  if (contains(text, "expired authorization code")) {
    return "the assertion had expired when Salesforce read it: check this machine's clock";
  }
  if (contains(text, "audience is invalid")) {
    return "check salesforce.login_url: it is the assertion's audience";
  }
  if (contains(text, "no client credentials user enabled")) {
    return "choose a Run As user for the client credentials flow on the connected app";
  }
  if (code == "unsupported_grant_type") {
    return jwt ? "enable the JWT bearer flow on the connected app"
               : "enable the client credentials flow on the connected app";
  }
  return {};
}

}  // namespace

bool rest_failure::retryable() const {
  return kind == rest_failure_kind::network || kind == rest_failure_kind::rate_limited ||
         kind == rest_failure_kind::server;
}

std::string rest_failure::to_string() const {
  std::string text = "Salesforce " + operation + " failed: ";
  if (http_status != 0) text += "HTTP " + std::to_string(http_status) + " ";
  if (!error_code.empty() && message.compare(0, error_code.size(), error_code) != 0) {
    text += error_code + ": ";
  }
  text += message.empty() ? std::string(kind_name(kind)) : message;
  return text;
}

rest_client_options client_options_for(const config::salesforce_settings& settings) {
  rest_client_options options;
  options.batch_size = settings.query_batch_size;
  return options;
}

struct rest_client::impl {
  // What a sign-in gives every call: the token and where to use it.
  struct session {
    std::string access_token;
    std::string identity_url;
    std::shared_ptr<http::client> api;
  };

  const config::salesforce_settings settings_;
  const connector::clock& clock_;
  const rest_client_options options_;
  const bool jwt_flow_;
  http::client login_;
  std::optional<jwt_signer> signer_;
  std::string signer_error_;

  std::mutex session_mutex_;  // held while signing in: one sign-in at a time
  std::optional<session> session_;
  std::string instance_url_;  // of session_.api, kept across renewals
  std::shared_ptr<http::client> api_;
  std::string last_assertion_;  // only to scrub them from messages
  std::string last_token_;

  std::atomic<std::int64_t> requests_{0}, token_requests_{0}, token_renewals_{0}, failures_{0};
  std::optional<metrics::remote_api_metrics> metrics_;
  credentials_state credentials_;  // for the alerts: refused by the last auth failure

  impl(const config::salesforce_settings& settings, const connector::clock& clock,
       rest_client_options options, metrics::registry* registry)
      : settings_(settings),
        clock_(clock),
        options_(options),
        jwt_flow_(settings.private_key.has_value()),
        login_(http::client_options{settings.login_url, settings.tls_ca_file,
                                    options.connect_timeout_ms, options.request_timeout_ms, 2,
                                    "connector/0.1"}) {
    if (registry) metrics_.emplace(*registry, "connector_salesforce", "Salesforce");
    if (jwt_flow_) {
      auto signer = jwt_signer::from_pem(settings_.private_key->reveal());
      if (signer) {
        signer_ = std::move(*signer);
      } else {
        signer_error_ = "salesforce.private_key: " + signer.error();
      }
    }
  }

  const char* flow_name() const { return jwt_flow_ ? "JWT bearer" : "client credentials"; }

  // Secrets never reach a message, even if a server echoes them back. Needs session_mutex_.
  std::string scrub_locked(std::string text) const {
    const auto scrub = [&text](const std::string& secret) {
      if (secret.size() < 6) return;  // too short to tell apart from ordinary text
      for (auto at = text.find(secret); at != std::string::npos; at = text.find(secret, at)) {
        text.replace(at, secret.size(), "[redacted]");
      }
    };
    if (settings_.client_secret) scrub(settings_.client_secret->reveal());
    if (settings_.private_key) scrub(settings_.private_key->reveal());
    scrub(last_assertion_);
    scrub(last_token_);
    return text;
  }

  // A failure counted in the stats, its message scrubbed.
  unexpected<rest_failure> fail_locked(rest_failure f) {
    ++failures_;
    f.message = scrub_locked(std::move(f.message));
    if (f.kind == rest_failure_kind::auth) credentials_.refused(f.to_string(), clock_.now());
    return unexpected{std::move(f)};
  }
  unexpected<rest_failure> fail(rest_failure f) {
    std::lock_guard lock(session_mutex_);
    return fail_locked(std::move(f));
  }

  rest_failure api_failure(const http::client_response& response, const char* operation) const {
    const rest_error e = parse_error_body(response.status, response.body);
    rest_failure f{rest_failure_kind::rejected, response.status, e.error_code, e.message,
                   operation};
    const int s = response.status;
    if (s == 401) {
      f.kind = rest_failure_kind::auth;
      f.message += " (refused again after a fresh sign-in: check the integration user's access)";
    } else if (s == 403 && e.error_code == "REQUEST_LIMIT_EXCEEDED") {
      f.kind = rest_failure_kind::rate_limited;  // the org's API request limit (§D.3)
    } else if (s == 403) {
      f.kind = rest_failure_kind::auth;  // API disabled for the user, insufficient access
    } else if (s == 429) {
      f.kind = rest_failure_kind::rate_limited;
    } else if (s >= 500) {
      f.kind = rest_failure_kind::server;
    } else if (s >= 300 && s < 400) {
      f.message =
          "unexpected redirect to " + text::printable_text(response.header("location"), 200);
    }
    return f;
  }

  rest_failure sign_in_failure(const http::client_response& response) const {
    const rest_error e = parse_error_body(response.status, response.body);
    rest_failure f{rest_failure_kind::auth, response.status, e.error_code, e.message,
                   std::string("sign-in (") + flow_name() + ")"};
    if (response.status == 429 || e.error_code == "REQUEST_LIMIT_EXCEEDED") {
      f.kind = rest_failure_kind::rate_limited;
    } else if (response.status >= 500) {
      f.kind = rest_failure_kind::server;
    } else if (response.status < 400) {
      f.kind = rest_failure_kind::bad_response;  // a redirect: login_url is not a token endpoint
      f.message = "unexpected HTTP " + std::to_string(response.status) + " from " + token_path +
                  " (check salesforce.login_url)";
    } else if (const auto hint = sign_in_hint(e, jwt_flow_); !hint.empty()) {
      f.message += " (" + hint + ")";
    }
    return f;
  }

  // The token form for the configured flow (§D.1); JWT bearer wins when both are set.
  rest_result<std::string> token_form_locked() {
    const std::string operation = std::string("sign-in (") + flow_name() + ")";
    if (jwt_flow_) {
      if (!signer_) return fail_locked({rest_failure_kind::auth, 0, {}, signer_error_, operation});
      const jwt_claims claims{settings_.client_id, settings_.username, settings_.login_url,
                              clock_.now() / 1000 + assertion_lifetime_s};
      auto assertion = signer_->sign(claims);
      if (!assertion)
        return fail_locked({rest_failure_kind::auth, 0, {}, assertion.error(), operation});
      last_assertion_ = *assertion;
      return text::form_encode({{"grant_type", jwt_grant_type}, {"assertion", *assertion}});
    }
    if (settings_.client_secret) {
      return text::form_encode({{"grant_type", "client_credentials"},
                                {"client_id", settings_.client_id},
                                {"client_secret", settings_.client_secret->reveal()}});
    }
    return fail_locked({rest_failure_kind::auth,
                        0,
                        {},
                        "no credentials configured: set salesforce.client_id with "
                        "salesforce.private_key (JWT bearer) or salesforce.client_secret",
                        operation});
  }

  // Sends `request` with `client`, timed for the metrics.
  expected<http::client_response, std::string> timed_send(http::client& client,
                                                          const http::client_request& request,
                                                          const char* endpoint) {
    const auto sent = std::chrono::steady_clock::now();
    auto response = client.send(request);
    if (metrics_)
      metrics_->request(endpoint, response ? response->status : 0,
                        std::chrono::steady_clock::now() - sent);
    return response;
  }

  // Needs session_mutex_ held (both).
  rest_result<session> sign_in_locked() {
    auto signed_in = sign_in_attempt_locked();
    if (metrics_) metrics_->token(signed_in.has_value());
    return signed_in;
  }

  rest_result<session> sign_in_attempt_locked() {
    auto form = token_form_locked();
    if (!form) return unexpected{form.error()};
    const std::string operation = std::string("sign-in (") + flow_name() + ")";
    http::client_request request{
        "POST",
        token_path,
        {{"Accept", "application/json"}, {"Content-Type", "application/x-www-form-urlencoded"}},
        std::move(*form)};
    ++token_requests_;
    auto response = timed_send(login_, request, token_endpoint);
    if (!response) {
      return fail_locked({rest_failure_kind::network, 0, {}, response.error(), operation});
    }
    if (response->status < 200 || response->status > 299) {
      return fail_locked(sign_in_failure(*response));
    }
    auto token = parse_token_response(response->body);
    if (!token) {
      return fail_locked(
          {rest_failure_kind::bad_response, response->status, {}, token.error(), operation});
    }
    // The token goes wherever instance_url says: only to Salesforce, or a host the
    // operator named.
    if (auto refused = check_instance_url(token->instance_url, settings_.allowed_instance_hosts)) {
      return fail_locked(
          {rest_failure_kind::bad_response, response->status, {}, *refused, operation});
    }
    if (token->instance_url != instance_url_ || !api_) {
      // A new instance (first sign-in, or the org moved): a pool of its own.
      try {
        api_ = std::make_shared<http::client>(http::client_options{
            token->instance_url, settings_.tls_ca_file, options_.connect_timeout_ms,
            options_.request_timeout_ms, 4, "connector/0.1"});
        instance_url_ = token->instance_url;
      } catch (const std::exception& e) {
        api_.reset();
        instance_url_.clear();
        return fail_locked({rest_failure_kind::bad_response,
                            response->status,
                            {},
                            "the token response's instance_url '" +
                                text::printable_text(token->instance_url, 200) +
                                "' is not usable: " + e.what(),
                            operation});
      }
    }
    last_token_ = token->access_token;
    session_ = session{std::move(token->access_token), std::move(token->identity_url), api_};
    credentials_.accepted(clock_.now());
    log::debug("salesforce.signed_in", "Salesforce: signed in ({}) at {}", flow_name(),
               instance_url_);
    return *session_;
  }

  rest_result<session> current_session() {
    std::lock_guard lock(session_mutex_);
    if (session_) return *session_;
    return sign_in_locked();
  }

  // Drops `rejected` unless another thread has already replaced it.
  void forget(const std::string& rejected) {
    std::lock_guard lock(session_mutex_);
    if (session_ && session_->access_token == rejected) session_.reset();
  }

  // GET on the instance; a 401 renews the token once and repeats the request once (§D.3).
  // `endpoint` is the route template the metrics count it under.
  rest_result<http::client_response> get(const std::string& target, const char* endpoint,
                                         const char* operation) {
    const int batch = std::clamp(options_.batch_size, min_batch_size, max_batch_size);
    for (bool renewed = false;;) {
      auto current = current_session();
      if (!current) return unexpected{current.error()};
      const http::client_request request{
          "GET",
          target,
          {{"Accept", "application/json"},
           {"Authorization", "Bearer " + current->access_token},
           {"Sforce-Query-Options", "batchSize=" + std::to_string(batch)}},
          {}};
      ++requests_;
      auto response = timed_send(*current->api, request, endpoint);
      if (!response) {
        return fail({rest_failure_kind::network, 0, {}, response.error(), operation});
      }
      if (response->status >= 200 && response->status <= 299) {
        credentials_.accepted(clock_.now());
        return std::move(*response);
      }
      if (response->status == 401 && !renewed) {
        renewed = true;
        ++token_renewals_;
        log::debug("salesforce.session_refused",
                   "Salesforce: session refused ({}); signing in again",
                   parse_error_body(401, response->body).error_code);
        forget(current->access_token);
        continue;
      }
      return fail(api_failure(*response, operation));
    }
  }
};

rest_client::rest_client(const config::salesforce_settings& settings, const connector::clock& clock,
                         rest_client_options options, metrics::registry* metrics)
    : impl_(std::make_unique<impl>(settings, clock, options, metrics)) {}

rest_client::~rest_client() = default;

rest_result<std::size_t> rest_client::query(
    const std::string& soql,
    const std::function<bool(std::vector<nlohmann::json>& records)>& on_page) {
  std::string target =
      "/services/data/v" + impl_->settings_.api_version + "/query?q=" + text::percent_encode(soql);
  std::set<std::string> followed;
  std::size_t delivered = 0;
  for (const char* endpoint = query_endpoint;; endpoint = next_page_endpoint) {
    auto response = impl_->get(target, endpoint, "query");
    if (!response) return unexpected{response.error()};
    auto page = parse_query_page(response->body);
    if (!page) {
      return impl_->fail(
          {rest_failure_kind::bad_response, response->status, {}, page.error(), "query"});
    }
    delivered += page->records.size();
    if (!page->records.empty() && !on_page(page->records)) return delivered;
    if (page->done) return delivered;
    // A server handing back a cursor it gave before would keep us here forever.
    if (!followed.insert(page->next_records_url).second) {
      return impl_->fail({rest_failure_kind::bad_response,
                          response->status,
                          {},
                          "Salesforce repeated a nextRecordsUrl",
                          "query"});
    }
    target = std::move(page->next_records_url);
  }
}

rest_result<nlohmann::json> rest_client::describe(const std::string& object) {
  // The name goes into the path: a plain identifier only, so it can name no other resource.
  if (object.empty() || object.find('.') != std::string::npos || !is_soql_field_path(object)) {
    return impl_->fail({rest_failure_kind::rejected,
                        0,
                        {},
                        "'" + text::printable_text(object, 100) + "' is not an object name",
                        "describe"});
  }
  auto response = impl_->get(
      "/services/data/v" + impl_->settings_.api_version + "/sobjects/" + object + "/describe",
      describe_endpoint, "describe");
  if (!response) return unexpected{response.error()};
  auto body = nlohmann::json::parse(response->body, nullptr, false);
  if (body.is_discarded() || !body.is_object() || !body.contains("fields") ||
      !body["fields"].is_array()) {
    return impl_->fail({rest_failure_kind::bad_response,
                        response->status,
                        {},
                        "the describe answer is not an object with a fields array",
                        "describe"});
  }
  return body;
}

rest_result<std::monostate> rest_client::verify() {
  auto current = impl_->current_session();
  if (!current) return unexpected{current.error()};
  return std::monostate{};
}

rest_result<std::string> rest_client::organization_id() {
  auto current = impl_->current_session();
  if (!current) return unexpected{current.error()};
  if (current->identity_url.empty()) {
    return impl_->fail({rest_failure_kind::bad_response,
                        200,
                        {},
                        "the token response has no identity URL (\"id\")",
                        "sign-in"});
  }
  auto ids = parse_identity_url(current->identity_url);
  if (!ids) return impl_->fail({rest_failure_kind::bad_response, 200, {}, ids.error(), "sign-in"});
  return ids->organization_id;
}

const credentials_state& rest_client::credentials() const {
  return impl_->credentials_;
}

rest_client::stats_snapshot rest_client::stats() const {
  return {impl_->requests_.load(), impl_->token_requests_.load(), impl_->token_renewals_.load(),
          impl_->failures_.load()};
}

}  // namespace connector::salesforce

#include "support/salesforce_sandbox_server.hpp"

#include <stdexcept>

#include <nlohmann/json.hpp>

namespace connector::testing {
namespace {

using nlohmann::json;

http::response json_reply(int status, const json& body) {
  return http::response::json(status, body.dump());
}

http::response control_error(int status, const std::string& message) {
  return json_reply(status, {{"error", message}});
}

salesforce_fault_target fault_target(const std::string& name) {
  if (name == "api") return salesforce_fault_target::api;
  if (name == "token") return salesforce_fault_target::token;
  if (name == "any") return salesforce_fault_target::any;
  throw std::invalid_argument("target must be api, token or any, not '" + name + "'");
}

}  // namespace

struct salesforce_sandbox_server::impl {
  salesforce_sandbox sandbox_;
  salesforce_sandbox_server_options options_;
  sandbox_https_server https_;  // last: stops before the sandbox it serves goes

  impl(salesforce_sandbox_options sandbox, salesforce_sandbox_server_options options)
      : sandbox_(std::move(sandbox)),
        options_(std::move(options)),
        https_("salesforce-sandbox", options_,
               {{"GET", "POST", "PATCH"},
                [this](http::request&& req) { return control(req); },
                {"GET", "POST", "DELETE", "PUT", "PATCH", "HEAD"},
                [this](http::request&& req) { return sandbox_.handle(req); },
                [this](const http::request&) { return sandbox_.latency_ms(); }}) {
    sandbox_.set_base_url(https_.url_for(options_.host));
  }

  http::response control(const http::request& req) {
    const std::string name = req.path.substr(std::string_view("/_sandbox/").size());
    json body = json::object();
    if (req.method != "GET" && !req.body.empty()) {
      body = json::parse(req.body, nullptr, false);
      if (body.is_discarded() || !body.is_object()) {
        return control_error(400, "control body must be a JSON object");
      }
    }
    try {
      if (name.rfind("users/", 0) == 0) {
        const std::string id = name.substr(6);
        if (req.method == "PATCH") sandbox_.update_user(id, body);
        if (req.method == "POST") return control_error(405, "use GET or PATCH on " + req.path);
        const auto user = sandbox_.find_user(id);
        if (!user) return control_error(404, "no user " + id);
        return json_reply(200, *user);
      }
      if (req.method == "GET") {
        if (name == "calls") return json_reply(200, json(sandbox_.call_counts()));
        if (name == "log") {
          json log = json::array();
          for (const auto& e : sandbox_.request_log()) {
            log.push_back({{"method", e.method},
                           {"path", e.path},
                           {"endpoint", e.endpoint},
                           {"status", e.status},
                           {"soql", e.soql}});
          }
          return json_reply(200, log);
        }
        return control_error(404, "unknown control endpoint GET " + req.path);
      }
      if (req.method != "POST") return control_error(405, "use POST on " + req.path);
      if (name == "seed") {
        std::vector<json> users;
        for (const auto& u : body.value("users", json::array())) users.push_back(u);
        auto ids = sandbox_.add_users(users);
        const auto generated = sandbox_.add_generated_users(
            body.value("generate", std::size_t{0}), body.value("generate_fields", json::object()),
            body.value("generate_departments", std::size_t{10}));
        ids.insert(ids.end(), generated.begin(), generated.end());
        return json_reply(200, {{"ids", ids}});
      }
      if (name == "fail") {
        sandbox_.fail_next(body.value("count", 1), body.value("status", 503),
                           body.value("error_code", ""), body.value("message", ""),
                           fault_target(body.value("target", "api")));
      } else if (name == "outage") {
        sandbox_.set_outage(body.value("on", true));
      } else if (name == "latency") {
        sandbox_.set_latency_ms(body.value("ms", 0));
      } else if (name == "request_limit") {
        sandbox_.set_request_limit(body.value("max_requests", 0));
      } else if (name == "expire_tokens") {
        sandbox_.expire_tokens();
      } else if (name == "token") {
        return json_reply(200, {{"access_token", sandbox_.issue_token()},
                                {"instance_url", sandbox_.instance_url()}});
      } else if (name == "reset") {
        sandbox_.reset();
      } else {
        return control_error(404, "unknown control endpoint POST " + req.path);
      }
      return json_reply(200, {{"ok", true}});
    } catch (const json::exception& e) {
      return control_error(400, std::string("bad control body: ") + e.what());
    } catch (const std::invalid_argument& e) {
      return control_error(400, e.what());
    }
  }
};

salesforce_sandbox_server::salesforce_sandbox_server(salesforce_sandbox_options options,
                                                     salesforce_sandbox_server_options server)
    : impl_(std::make_unique<impl>(std::move(options), std::move(server))) {}

salesforce_sandbox_server::~salesforce_sandbox_server() = default;

std::uint16_t salesforce_sandbox_server::port() const {
  return impl_->https_.port();
}

std::string salesforce_sandbox_server::base_url() const {
  return impl_->https_.url_for(impl_->options_.host);
}

std::string salesforce_sandbox_server::loopback_ip_url() const {
  return "https://127.0.0.1:" + std::to_string(port());
}

salesforce_sandbox& salesforce_sandbox_server::sandbox() {
  return impl_->sandbox_;
}

http::server_counters salesforce_sandbox_server::counters() const {
  return impl_->https_.counters();
}

void salesforce_sandbox_server::stop() {
  impl_->https_.stop();
}

}  // namespace connector::testing

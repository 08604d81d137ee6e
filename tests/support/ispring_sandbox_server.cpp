#include "support/ispring_sandbox_server.hpp"

#include <map>
#include <stdexcept>

#include <nlohmann/json.hpp>

namespace connector::testing {
namespace {

using nlohmann::json;

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

http::response to_http(sandbox_response&& in) {
  http::response out;
  out.status = in.status;
  out.content_type = "application/json; charset=utf-8";
  for (auto& [name, value] : in.headers) {
    if (iequals(name, "content-type")) {
      out.content_type = value;
    } else {
      out.headers.emplace_back(name, value);
    }
  }
  out.body = std::move(in.body);
  return out;
}

sandbox_request to_sandbox(http::request&& in) {
  sandbox_request out{std::move(in.method), std::move(in.target), {}, std::move(in.body)};
  for (auto& [name, value] : in.headers) out.headers.emplace(name, value);  // first one wins
  return out;
}

http::response json_reply(int status, const json& body) {
  return http::response::json(status, body.dump());
}

http::response json_error(int status, const std::string& message) {
  return json_reply(status, {{"code", status}, {"message", message}});
}

}  // namespace

struct ispring_sandbox_server::impl {
  ispring_sandbox sandbox_;
  sandbox_server_options options_;
  sandbox_https_server https_;  // last: stops before the sandbox it serves goes

  impl(sandbox_options sandbox, sandbox_server_options options)
      : sandbox_(std::move(sandbox)),
        options_(std::move(options)),
        https_("ispring-sandbox", options_,
               {{"GET", "POST"},
                [this](http::request&& req) { return control(req); },
                {"GET", "POST", "DELETE", "PUT", "PATCH"},
                [this](http::request&& req) {
                  return to_http(sandbox_.handle(to_sandbox(std::move(req))));
                },
                [this](const http::request& req) {
                  return sandbox_.latency_ms(req.method, req.path);
                }}) {}

  http::response control(const http::request& req) {
    const std::string name = req.path.substr(std::string_view("/_sandbox/").size());
    json body = json::object();
    if (req.method == "POST" && !req.body.empty()) {
      body = json::parse(req.body, nullptr, false);
      if (body.is_discarded() || !body.is_object()) {
        return json_error(400, "control body must be a JSON object");
      }
    }
    try {
      if (req.method == "GET") {
        if (name == "state") return http::response::json(200, sandbox_.dump_json());
        if (name == "calls") return json_reply(200, json(sandbox_.call_counts()));
        return json_error(404, "unknown control endpoint GET " + req.path);
      }
      if (name == "fail") {
        std::optional<int> retry_after;
        if (body.contains("retry_after_s")) retry_after = body.at("retry_after_s").get<int>();
        sandbox_.fail_next(body.value("count", 1), body.value("status", 503), retry_after);
      } else if (name == "outage") {
        sandbox_.set_outage(body.value("on", true));
      } else if (name == "latency") {
        sandbox_.set_latency_ms(body.value("ms", 0), body.value("endpoint", ""));
      } else if (name == "rate_limit") {
        sandbox_.set_rate_limit(body.value("per_second", 0));
      } else if (name == "reset") {
        sandbox_.reset();
      } else if (name == "token") {
        return json_reply(200, {{"access_token", sandbox_.issue_token()}});
      } else if (name == "seed") {
        return json_reply(200, seed(body));
      } else {
        return json_error(404, "unknown control endpoint POST " + req.path);
      }
      return json_reply(200, {{"ok", true}});
    } catch (const json::exception& e) {
      return json_error(400, std::string("bad control body: ") + e.what());
    } catch (const std::invalid_argument& e) {
      return json_error(400, e.what());
    }
  }

  // A department given by name (as seeded) or by id; empty means the root.
  std::string department_id(const std::string& name_or_id) {
    if (name_or_id.empty()) return sandbox_.root_department_id();
    if (auto d = sandbox_.find_department_by_name(name_or_id)) return d->id;
    for (const auto& d : sandbox_.departments()) {
      if (d.id == name_or_id) return d.id;
    }
    throw std::invalid_argument("seed: unknown department '" + name_or_id + "'");
  }

  json seed(const json& body) {
    json created = {
        {"departments", json::object()}, {"users", json::object()}, {"groups", json::object()}};
    for (const auto& d : body.value("departments", json::array())) {
      const std::string name = d.at("name").get<std::string>();
      std::optional<std::string> code;
      if (d.contains("code")) code = d.at("code").get<std::string>();
      created["departments"][name] =
          sandbox_.add_department(name, department_id(d.value("parent", "")), code);
    }
    for (const auto& u : body.value("users", json::array())) {
      const std::string login = u.at("login").get<std::string>();
      created["users"][login] = sandbox_.add_user(
          login, u.value("email", ""), department_id(u.value("department", "")),
          u.value("fields", std::map<std::string, std::string>{}), u.value("status", 1));
    }
    for (const auto& g : body.value("groups", json::array())) {
      const std::string name = g.at("name").get<std::string>();
      std::vector<std::string> members;
      for (const auto& login : g.value("members", std::vector<std::string>{})) {
        const auto user = sandbox_.find_user_by_login(login);
        if (!user) throw std::invalid_argument("seed: unknown member '" + login + "'");
        members.push_back(user->id);
      }
      created["groups"][name] = sandbox_.add_group(name, members, g.value("smart", false));
    }
    return created;
  }
};

ispring_sandbox_server::ispring_sandbox_server(sandbox_options options,
                                               sandbox_server_options server)
    : impl_(std::make_unique<impl>(std::move(options), std::move(server))) {}

ispring_sandbox_server::~ispring_sandbox_server() = default;

std::uint16_t ispring_sandbox_server::port() const {
  return impl_->https_.port();
}

std::string ispring_sandbox_server::base_url() const {
  return impl_->https_.url_for(impl_->options_.host);
}

ispring_sandbox& ispring_sandbox_server::sandbox() {
  return impl_->sandbox_;
}

http::server_counters ispring_sandbox_server::counters() const {
  return impl_->https_.counters();
}

void ispring_sandbox_server::stop() {
  impl_->https_.stop();
}

}  // namespace connector::testing

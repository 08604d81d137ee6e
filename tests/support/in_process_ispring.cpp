#include "support/in_process_ispring.hpp"

#include <charconv>

#include <nlohmann/json.hpp>

#include "connector/text/url.hpp"

namespace connector::testing {
namespace {

namespace isp = connector::ispring;

std::optional<int> retry_after(const sandbox_response& r) {
  const std::string text = r.header("Retry-After");
  int seconds = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), seconds);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return seconds;
}

isp::failure failure_of(const sandbox_response& r, bool is_get_by_id) {
  isp::failure f;
  f.http_status = r.status;
  f.message = isp::parse_error(r.status, r.body)->message;
  if (r.status == 401 || r.status == 403)
    f.kind = isp::failure_kind::auth;
  else if (r.status == 404 || (r.status == 400 && is_get_by_id))
    f.kind = isp::failure_kind::not_found;
  else if (r.status == 409)
    f.kind = isp::failure_kind::conflict;
  else if (r.status == 429)
    f.kind = isp::failure_kind::rate_limited;
  else if (r.status >= 500)
    f.kind = isp::failure_kind::server;
  else
    f.kind = isp::failure_kind::rejected;
  if (r.status == 429 || r.status == 503) f.retry_after_s = retry_after(r);
  return f;
}

template <class T>
isp::result<T> parsed(isp::parse_result<T> value) {
  if (!value)
    return unexpected{
        isp::failure{isp::failure_kind::bad_response, 200, value.error(), std::nullopt}};
  return std::move(*value);
}

// Every item of a paged list: `target` with pageSize, then each nextPageToken in turn.
template <class T, class Get, class Parse>
isp::result<std::vector<T>> all_pages(const std::string& target, Get get, Parse parse) {
  std::vector<T> out;
  std::string page_token;
  do {
    std::string page_target = target;
    if (!page_token.empty()) page_target += "&pageToken=" + text::percent_encode(page_token);
    auto response = get(page_target);
    if (!response) return unexpected{response.error()};
    auto page = parsed(parse(response->body));
    if (!page) return unexpected{page.error()};
    for (auto& item : page->items) out.push_back(std::move(item));
    page_token = page->next_page_token;
  } while (!page_token.empty());
  return out;
}

std::string user_path(const std::string& id) {
  return "/user/" + text::percent_encode(id);
}

}  // namespace

in_process_ispring::in_process_ispring(ispring_sandbox& sandbox)
    : sandbox_(sandbox), token_(sandbox.issue_token()) {}

isp::result<sandbox_response> in_process_ispring::send(const std::string& method,
                                                       const std::string& target,
                                                       const std::string& body, bool is_get_by_id) {
  sandbox_request request{method,
                          target,
                          {{"accept", "application/json"}, {"authorization", "Bearer " + token_}},
                          body};
  if (method == "POST") request.headers["content-type"] = "application/json";
  sandbox_response response = sandbox_.handle(request);
  if (response.status < 200 || response.status > 299)
    return unexpected{failure_of(response, is_get_by_id)};
  return response;
}

isp::result<std::vector<isp::user>> in_process_ispring::list_users(const isp::user_filter& filter) {
  std::string query;
  const auto add = [&query](const char* key, const std::vector<std::string>& values) {
    for (const auto& v : values) query += std::string("&") + key + "[]=" + text::percent_encode(v);
  };
  add("logins", filter.logins);
  add("emails", filter.emails);
  add("userIds", filter.user_ids);
  add("departments", filter.department_ids);
  add("groups", filter.group_ids);
  return all_pages<isp::user>(
      "/users/v2?pageSize=1000" + query,
      [this](const std::string& target) { return send("GET", target); }, isp::parse_users_page);
}

isp::result<isp::page<isp::user>> in_process_ispring::list_users_page(const std::string& page_token,
                                                                      int page_size) {
  std::string target = "/users/v2?pageSize=" + std::to_string(page_size);
  if (!page_token.empty()) target += "&pageToken=" + text::percent_encode(page_token);
  auto response = send("GET", target);
  if (!response) return unexpected{response.error()};
  return parsed(isp::parse_users_page(response->body));
}

isp::result<isp::user> in_process_ispring::get_user(const std::string& user_id) {
  auto response = send("GET", user_path(user_id) + "/v2", {}, true);
  if (!response) return unexpected{response.error()};
  return parsed(isp::parse_user(response->body));
}

isp::result<std::string> in_process_ispring::create_user(const std::string& department_id,
                                                         const isp::field_map& fields) {
  auto response = send("POST", "/user", isp::build_create_user_body(department_id, fields));
  if (!response) return unexpected{response.error()};
  return parsed(isp::parse_created_id(response->body));
}

isp::result<isp::ok> in_process_ispring::update_user(
    const std::string& user_id, const std::optional<std::string>& department_id,
    const isp::field_map& fields) {
  auto response =
      send("POST", user_path(user_id), isp::build_update_user_body(department_id, fields));
  if (!response) return unexpected{response.error()};
  return isp::ok{};
}

isp::result<isp::ok> in_process_ispring::add_user_to_groups(
    const std::string& user_id, const std::vector<std::string>& group_ids,
    const isp::field_map& fields) {
  auto response = send("POST", user_path(user_id),
                       isp::build_update_user_body(std::nullopt, fields, group_ids));
  if (!response) return unexpected{response.error()};
  return isp::ok{};
}

isp::result<isp::ok> in_process_ispring::set_user_status(const std::string& user_id, int status) {
  auto response = send("POST", user_path(user_id) + "/status", isp::build_status_body(status));
  if (!response) return unexpected{response.error()};
  return isp::ok{};
}

isp::result<isp::ok> in_process_ispring::delete_user(const std::string& user_id) {
  auto response = send("DELETE", user_path(user_id));
  if (!response) return unexpected{response.error()};
  return isp::ok{};
}

isp::result<isp::ok> in_process_ispring::remove_user_from_groups(
    const std::string& user_id, const std::vector<std::string>& group_ids) {
  auto response =
      send("POST", user_path(user_id) + "/groups/remove", isp::build_remove_groups_body(group_ids));
  if (!response) return unexpected{response.error()};
  return isp::ok{};
}

isp::result<std::vector<isp::department>> in_process_ispring::list_departments() {
  // The non-paged list documents parentDepartmentId (reference §5).
  auto response = send("GET", "/department");
  if (!response) return unexpected{response.error()};
  return parsed(isp::parse_departments_list(response->body));
}

isp::result<std::string> in_process_ispring::create_department(const std::string& name,
                                                               const std::string& parent_id) {
  auto response = send("POST", "/department", isp::build_department_body(name, parent_id));
  if (!response) return unexpected{response.error()};
  return parsed(isp::parse_created_id(response->body));
}

isp::result<isp::ok> in_process_ispring::rename_department(const std::string& department_id,
                                                           const std::string& name) {
  auto response = send("POST", "/department/" + text::percent_encode(department_id),
                       isp::build_rename_department_body(name));
  if (!response) return unexpected{response.error()};
  return isp::ok{};
}

isp::result<isp::ok> in_process_ispring::delete_department(const std::string& department_id) {
  auto response = send("DELETE", "/department/" + text::percent_encode(department_id));
  if (!response) return unexpected{response.error()};
  return isp::ok{};
}

isp::result<std::vector<isp::group>> in_process_ispring::list_groups() {
  return all_pages<isp::group>(
      "/groups?pageSize=1000", [this](const std::string& target) { return send("GET", target); },
      isp::parse_groups_page);
}

isp::result<isp::group> in_process_ispring::get_group(const std::string& group_id) {
  auto response = send("GET", "/group/" + text::percent_encode(group_id), {}, true);
  if (!response) return unexpected{response.error()};
  return parsed(isp::parse_group(response->body));
}

isp::result<std::string> in_process_ispring::create_group(const std::string& name) {
  // wire.hpp has no builder for POST /group yet; the body is {"name": …} (reference §6).
  const std::string body =
      nlohmann::json{{"name", name}}.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  auto response = send("POST", "/group", body);
  if (!response) return unexpected{response.error()};
  return parsed(isp::parse_created_id(response->body));
}

isp::result<isp::ok> in_process_ispring::set_group_members(
    const std::string& group_id, const std::vector<std::string>& user_ids) {
  auto response = send("POST", "/group/" + text::percent_encode(group_id) + "/members",
                       isp::build_group_members_body(user_ids));
  if (!response) return unexpected{response.error()};
  return isp::ok{};
}

isp::result<std::vector<isp::profile_field>> in_process_ispring::profile_fields() {
  auto response = send("GET", "/user/profile/fields");
  if (!response) return unexpected{response.error()};
  return parsed(isp::parse_profile_fields(response->body));
}

}  // namespace connector::testing

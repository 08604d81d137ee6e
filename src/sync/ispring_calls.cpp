#include "connector/sync/ispring_calls.hpp"

namespace connector::sync {
namespace {

thread_local std::vector<ispring_call>* current = nullptr;

template <class T>
ispring::result<T> note(std::string call, ispring::result<T> answer) {
  if (current == nullptr) return answer;
  ispring_call c;
  c.call = std::move(call);
  c.ok = answer.has_value();
  if (!answer) {
    c.http_status = answer.error().http_status;
    c.error = answer.error().to_string();
  }
  current->push_back(std::move(c));
  return answer;
}

}  // namespace

call_recorder::recording::recording() : previous_(current) {
  current = &calls_;
}

call_recorder::recording::~recording() {
  current = previous_;
}

ispring::result<std::vector<ispring::user>> call_recorder::list_users(
    const ispring::user_filter& filter) {
  return note("GET /users/v2", inner_.list_users(filter));
}

ispring::result<ispring::page<ispring::user>> call_recorder::list_users_page(
    const std::string& page_token, int page_size) {
  return note("GET /users/v2", inner_.list_users_page(page_token, page_size));
}

ispring::result<ispring::user> call_recorder::get_user(const std::string& user_id) {
  return note("GET /user/" + user_id + "/v2", inner_.get_user(user_id));
}

ispring::result<std::string> call_recorder::create_user(const std::string& department_id,
                                                        const ispring::field_map& fields) {
  return note("POST /user", inner_.create_user(department_id, fields));
}

ispring::result<ispring::ok> call_recorder::update_user(
    const std::string& user_id, const std::optional<std::string>& department_id,
    const ispring::field_map& fields) {
  return note("POST /user/" + user_id, inner_.update_user(user_id, department_id, fields));
}

ispring::result<ispring::ok> call_recorder::add_user_to_groups(
    const std::string& user_id, const std::vector<std::string>& group_ids,
    const ispring::field_map& fields) {
  return note("POST /user/" + user_id, inner_.add_user_to_groups(user_id, group_ids, fields));
}

ispring::result<ispring::ok> call_recorder::set_user_status(const std::string& user_id,
                                                            int status) {
  return note("POST /user/" + user_id + "/status", inner_.set_user_status(user_id, status));
}

ispring::result<ispring::ok> call_recorder::delete_user(const std::string& user_id) {
  return note("DELETE /user/" + user_id, inner_.delete_user(user_id));
}

ispring::result<ispring::ok> call_recorder::remove_user_from_groups(
    const std::string& user_id, const std::vector<std::string>& group_ids) {
  return note("POST /user/" + user_id + "/groups/remove",
              inner_.remove_user_from_groups(user_id, group_ids));
}

ispring::result<std::vector<ispring::department>> call_recorder::list_departments() {
  return note("GET /departments", inner_.list_departments());
}

ispring::result<std::string> call_recorder::create_department(const std::string& name,
                                                              const std::string& parent_id) {
  return note("POST /department", inner_.create_department(name, parent_id));
}

ispring::result<ispring::ok> call_recorder::rename_department(const std::string& department_id,
                                                              const std::string& name) {
  return note("POST /department/" + department_id, inner_.rename_department(department_id, name));
}

ispring::result<ispring::ok> call_recorder::delete_department(const std::string& department_id) {
  return note("DELETE /department/" + department_id, inner_.delete_department(department_id));
}

ispring::result<std::vector<ispring::group>> call_recorder::list_groups() {
  return note("GET /groups", inner_.list_groups());
}

ispring::result<ispring::group> call_recorder::get_group(const std::string& group_id) {
  return note("GET /group/" + group_id, inner_.get_group(group_id));
}

ispring::result<std::string> call_recorder::create_group(const std::string& name) {
  return note("POST /group", inner_.create_group(name));
}

ispring::result<ispring::ok> call_recorder::set_group_members(
    const std::string& group_id, const std::vector<std::string>& user_ids) {
  return note("POST /group/" + group_id + "/members", inner_.set_group_members(group_id, user_ids));
}

ispring::result<std::vector<ispring::profile_field>> call_recorder::profile_fields() {
  return note("GET /user/profile/fields", inner_.profile_fields());
}

}  // namespace connector::sync

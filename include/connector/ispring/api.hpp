#pragma once
// What the connector asks of iSpring Learn, as an interface: the HTTPS client implements it
// (ispring/client.hpp), tests may put the sandbox behind it in-process. Calls are
// synchronous and thread-safe; they are made from the sync worker's threads.
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "connector/expected.hpp"
#include "connector/ispring/wire.hpp"

namespace connector::ispring {

enum class failure_kind {
  network,       // connect, TLS, timeout, connection reset: worth retrying
  rate_limited,  // 429
  server,        // 5xx
  auth,          // 401/403 after one token renewal: credentials or permissions
  not_found,     // 404 (or 400 on a GET by id, see reference §4.2)
  conflict,      // duplicate login/e-mail (400 or 409 on create, reference §4.3)
  rejected,      // any other 4xx: the request itself is wrong, retrying will not help
  bad_response,  // a 2xx whose body we could not read
};

struct failure {
  failure_kind kind = failure_kind::network;
  int http_status = 0;
  std::string message;               // iSpring's message or the transport error; never a secret
  std::optional<int> retry_after_s;  // from Retry-After on 429/503
  bool retryable() const {
    return kind == failure_kind::network || kind == failure_kind::rate_limited ||
           kind == failure_kind::server;
  }
  std::string to_string() const;
};

struct ok {};  // the value of calls that return nothing

template <class T>
using result = expected<T, failure>;

// Filters of GET /users/v2; several values of one filter are ORed, filters are ANDed.
struct user_filter {
  std::vector<std::string> logins;
  std::vector<std::string> emails;
  std::vector<std::string> user_ids;
  std::vector<std::string> department_ids;
  std::vector<std::string> group_ids;
};

class api {
 public:
  virtual ~api() = default;

  // Users. list_users pages through every match (GET /users/v2).
  virtual result<std::vector<user>> list_users(const user_filter& filter) = 0;
  virtual result<page<user>> list_users_page(const std::string& page_token, int page_size) = 0;
  // Every match, a page at a time: `on_page` takes each page's users (false stops), so a
  // department of 100,000 users is never held whole (the reconciliation). By default
  // list_users, handed over as one page.
  virtual result<ok> list_users_paged(const user_filter& filter,
                                      const std::function<bool(std::vector<user>&)>& on_page) {
    auto users = list_users(filter);
    if (!users) return unexpected{users.error()};
    on_page(*users);
    return ok{};
  }
  virtual result<user> get_user(const std::string& user_id) = 0;
  virtual result<std::string> create_user(const std::string& department_id,
                                          const field_map& fields) = 0;
  // Partial update: only the keys given are sent (never clear what we do not own).
  virtual result<ok> update_user(const std::string& user_id,
                                 const std::optional<std::string>& department_id,
                                 const field_map& fields) = 0;
  virtual result<ok> set_user_status(const std::string& user_id, int status) = 0;
  virtual result<ok> delete_user(const std::string& user_id) = 0;
  virtual result<ok> remove_user_from_groups(const std::string& user_id,
                                             const std::vector<std::string>& group_ids) = 0;
  // POST /user/{id} with groupIds (and `fields`, e.g. the login the docs require on every
  // update): "groups the user will be added to". Whether it adds or replaces the user's
  // groups is unconfirmed (reference §10 q3), so it is used only when configured
  // (ispring.group_additions "user_update").
  virtual result<ok> add_user_to_groups(const std::string& user_id,
                                        const std::vector<std::string>& group_ids,
                                        const field_map& fields) = 0;

  // Departments: one tree under an undeletable root.
  virtual result<std::vector<department>> list_departments() = 0;
  virtual result<std::string> create_department(const std::string& name,
                                                const std::string& parent_id) = 0;
  virtual result<ok> rename_department(const std::string& department_id,
                                       const std::string& name) = 0;
  virtual result<ok> delete_department(const std::string& department_id) = 0;

  // Groups. set_group_members REPLACES the member list (reference §6).
  virtual result<std::vector<group>> list_groups() = 0;
  virtual result<group> get_group(const std::string& group_id) = 0;
  virtual result<std::string> create_group(const std::string& name) = 0;
  virtual result<ok> set_group_members(const std::string& group_id,
                                       const std::vector<std::string>& user_ids) = 0;

  virtual result<std::vector<profile_field>> profile_fields() = 0;
};

}  // namespace connector::ispring

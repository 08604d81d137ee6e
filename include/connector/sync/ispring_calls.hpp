#pragma once
// Which iSpring calls one user's apply made, with each answer, for the user's history
// (`connector explain`): an ispring::api that forwards every call and, on a thread inside a
// `recording` scope, notes it. Thread-safe like the api it wraps; calls made outside a scope
// (another thread, the reconciliation's bulk reads) are forwarded and not noted.
#include <string>
#include <vector>

#include "connector/ispring/api.hpp"

namespace connector::sync {

struct ispring_call {
  std::string call;  // method and path: "POST /user/{id}" with the id filled in
  bool ok = false;
  int http_status = 0;  // on failure: iSpring's status, 0 when no answer came (network)
  std::string error;    // on failure: the client's text (never a secret)
};

class call_recorder final : public ispring::api {
 public:
  explicit call_recorder(ispring::api& inner) : inner_(inner) {}

  // Notes the calls made on this thread while it lives (scopes do not nest).
  class recording {
   public:
    recording();
    ~recording();
    recording(const recording&) = delete;
    recording& operator=(const recording&) = delete;
    const std::vector<ispring_call>& calls() const { return calls_; }

   private:
    std::vector<ispring_call> calls_;
    std::vector<ispring_call>* previous_;
  };

  ispring::result<std::vector<ispring::user>> list_users(
      const ispring::user_filter& filter) override;
  ispring::result<ispring::page<ispring::user>> list_users_page(const std::string& page_token,
                                                                int page_size) override;
  ispring::result<ispring::user> get_user(const std::string& user_id) override;
  ispring::result<std::string> create_user(const std::string& department_id,
                                           const ispring::field_map& fields) override;
  ispring::result<ispring::ok> update_user(const std::string& user_id,
                                           const std::optional<std::string>& department_id,
                                           const ispring::field_map& fields) override;
  ispring::result<ispring::ok> add_user_to_groups(const std::string& user_id,
                                                  const std::vector<std::string>& group_ids,
                                                  const ispring::field_map& fields) override;
  ispring::result<ispring::ok> set_user_status(const std::string& user_id, int status) override;
  ispring::result<ispring::ok> delete_user(const std::string& user_id) override;
  ispring::result<ispring::ok> remove_user_from_groups(
      const std::string& user_id, const std::vector<std::string>& group_ids) override;
  ispring::result<std::vector<ispring::department>> list_departments() override;
  ispring::result<std::string> create_department(const std::string& name,
                                                 const std::string& parent_id) override;
  ispring::result<ispring::ok> rename_department(const std::string& department_id,
                                                 const std::string& name) override;
  ispring::result<ispring::ok> delete_department(const std::string& department_id) override;
  ispring::result<std::vector<ispring::group>> list_groups() override;
  ispring::result<ispring::group> get_group(const std::string& group_id) override;
  ispring::result<std::string> create_group(const std::string& name) override;
  ispring::result<ispring::ok> set_group_members(const std::string& group_id,
                                                 const std::vector<std::string>& user_ids) override;
  ispring::result<std::vector<ispring::profile_field>> profile_fields() override;

 private:
  ispring::api& inner_;
};

}  // namespace connector::sync

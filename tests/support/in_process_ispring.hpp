#pragma once
// connector::ispring::api over the in-memory sandbox, without sockets: each call is turned
// into the sandbox request the HTTPS client would send (wire builders), and each reply is
// read with the wire parsers, so tests of the sync core exercise the real wire formats.
// Status codes map to failure kinds the way api.hpp documents them.
#include <string>
#include <vector>

#include "connector/ispring/api.hpp"
#include "support/ispring_sandbox.hpp"

namespace connector::testing {

// Not final: a test may override one call to inject a failure at a precise step.
class in_process_ispring : public ispring::api {
 public:
  // The sandbox must outlive this object. A bearer token is issued once, up front.
  explicit in_process_ispring(ispring_sandbox& sandbox);

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
  // One request; a non-2xx reply becomes a failure (`is_get_by_id`: 400 reads as not_found,
  // reference §4.2).
  ispring::result<sandbox_response> send(const std::string& method, const std::string& target,
                                         const std::string& body = {}, bool is_get_by_id = false);

  ispring_sandbox& sandbox_;
  std::string token_;
};

}  // namespace connector::testing

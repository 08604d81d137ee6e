#pragma once
// iSpring Learn REST wire formats: response parsers and request-body builders. Pure
// functions over bytes (no sockets, no clock); see ../shared/reference/ispring-learn-api.md.
//
// Several shapes are only inferred or conflict between sources (reference §10). Each parser
// accepts every plausible variant, and each such tolerance lives in one commented spot in
// src/ispring/wire.cpp (search for "TOLERANCE") so it can be tightened against a live account.
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "connector/expected.hpp"

namespace connector::ispring {

// User status values (reference §3.2). /v2 endpoints report 5; v1 folds it into 3.
inline constexpr int user_status_active = 1;
inline constexpr int user_status_inactive = 3;
inline constexpr int user_status_terminated = 5;

struct user {
  std::string id;
  std::string login;  // copy of fields["login"] (empty if absent)
  std::string email;  // copy of fields["email"] (empty if absent)
  std::string department_id;
  int status = user_status_active;
  // Keyed like requests: built-ins lower-case (login, email, first_name, last_name,
  // job_title, phone, country), custom fields by their Field ID as sent.
  std::map<std::string, std::string> fields;
  std::vector<std::string> group_ids;
  std::string role;  // "learner", … (empty if absent)
  friend bool operator==(const user&, const user&) = default;
};

struct department {
  std::string id;
  std::string name;
  std::optional<std::string> parent_id;  // absent for the root (and maybe on paged lists)
  std::optional<std::string> code;       // iSpring's external key; absent or "" → nullopt
  friend bool operator==(const department&, const department&) = default;
};

struct group {
  std::string id;
  std::string name;
  bool is_smart = false;
  std::optional<std::vector<std::string>> user_ids;  // only GET /group/{id} carries members
  friend bool operator==(const group&, const group&) = default;
};

struct profile_field {
  std::string id;             // the key used in request `fields` ("login", "USER_DEFINED_FIELD3")
  std::string field_info_id;  // userFieldInfoId as sent (may be empty)
  std::string label;
  std::string type;  // login, email, first_name, last_name, job_title, string, country, …
  bool is_unique = false;
  bool is_required = false;
  friend bool operator==(const profile_field&, const profile_field&) = default;
};

struct api_error {
  int http_status = 0;
  int code = 0;  // the body's `code`; 0 when the body carries none
  std::string message;
  friend bool operator==(const api_error&, const api_error&) = default;
};

struct token {
  std::string access_token;
  int expires_in_s = 0;
  friend bool operator==(const token&, const token&) = default;
};

template <class T>
struct page {
  std::vector<T> items;
  std::string next_page_token;  // empty on the last page
  bool is_last() const { return next_page_token.empty(); }
};

template <class T>
using parse_result = expected<T, std::string>;

// --- Response parsers: never throw, never trust the input. -----------------------------

// POST /api/v3/token → {access_token, expires_in, token_type}.
parse_result<token> parse_token(std::string_view body);
// GET /users/v2 → {userProfiles:[…], nextPageToken?}.
parse_result<page<user>> parse_users_page(std::string_view body);
// GET /user/{id}/v2 or /user/{id}: {"response":{…}} or the bare object.
parse_result<user> parse_user(std::string_view body);
// GET /departments → {departments:[…], nextPageToken?}.
parse_result<page<department>> parse_departments_page(std::string_view body);
// GET /department → {departments:[…]} or a bare array.
parse_result<std::vector<department>> parse_departments_list(std::string_view body);
// GET /department/{id}: wrapped in "response" or not.
parse_result<department> parse_department(std::string_view body);
// GET /groups → {groups:[…], nextPageToken?}.
parse_result<page<group>> parse_groups_page(std::string_view body);
// GET /group/{id}: wrapped in "response" or not.
parse_result<group> parse_group(std::string_view body);
// GET /user/profile/fields → [{userFieldInfoId, name, label, type, isUnique, isRequired…}].
parse_result<std::vector<profile_field>> parse_profile_fields(std::string_view body);
// 201 body of POST /user, /department, /group: the new id in one of several encodings.
parse_result<std::string> parse_created_id(std::string_view body);
// Any non-2xx reply. Always has a value (an unreadable body becomes the message text);
// it returns expected only so that every parser has the same shape.
parse_result<api_error> parse_error(int http_status, std::string_view body);

// True for ids we are willing to put into a URL path: 1–128 chars of [A-Za-z0-9._~-].
// Every id a parser returns passes this check.
bool is_safe_id(std::string_view id);

// --- Request bodies (JSON text; invalid UTF-8 in values is replaced, never thrown on). ---

using field_map = std::map<std::string, std::string>;

// POST /user. `fields` uses request keys (login, email, first_name, …, custom Field IDs).
std::string build_create_user_body(std::string_view department_id, const field_map& fields,
                                   bool send_login_email = false);
// POST /user/{id}: only what is given (no department → key omitted; empty map → no `fields`).
std::string build_update_user_body(const std::optional<std::string>& department_id,
                                   const field_map& fields,
                                   const std::vector<std::string>& group_ids = {});
// POST /user/{id}/status → {"status":n}.
std::string build_status_body(int status);
// POST /group/{id}/members → {"userIds":[…]} (replaces the member list).
std::string build_group_members_body(const std::vector<std::string>& user_ids);
// POST /user/{id}/groups/remove → {"groupIds":[…]}.
std::string build_remove_groups_body(const std::vector<std::string>& group_ids);
// POST /department → {"name","parentDepartmentId"[,"code"]}.
std::string build_department_body(std::string_view name, std::string_view parent_id,
                                  const std::optional<std::string>& code = std::nullopt);
// POST /department/{id} → {"name"}.
std::string build_rename_department_body(std::string_view name);
// POST /api/v3/token, application/x-www-form-urlencoded.
std::string build_token_form(std::string_view client_id, std::string_view client_secret);

}  // namespace connector::ispring

#pragma once
// An in-memory iSpring Learn account speaking the REST API of
// ../shared/reference/ispring-learn-api.md, as a pure function from request to response.
// It is strict where the real service is documented to refuse (auth, unknown department,
// duplicate login/e-mail, root and non-empty departments, required fields) and also refuses
// what we cannot model faithfully (XML replies, ambiguous keys), with a message saying so,
// so client bugs fail loudly here rather than against a customer's account.
//
// Deliberate choices where the reference is unsure (§10): duplicate login/e-mail answers
// `duplicate_status` (409 by default), unknown ids answer 404, pageSize is capped at 1000,
// the last page omits nextPageToken, created ids come back as a JSON string literal, single
// users and departments are wrapped in {"response":…}, groups are not.
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace connector::testing {

struct sandbox_request {
  std::string method;
  std::string target;                          // path?query, as sent
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
};

struct sandbox_response {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;

  // First value of a header (case-insensitive name), or empty.
  std::string header(std::string_view name) const;
};

// A custom profile field of the account (built-ins login, email, first_name, last_name and
// job_title always exist).
struct sandbox_profile_field {
  std::string id;  // the request key / Field ID, e.g. "USER_DEFINED_FIELD3"
  std::string label;
  std::string type = "string";
  bool is_unique = false;
};

// What POST /user/{id} does with `groupIds`; unknown on the real service (§10 q3).
enum class sandbox_group_ids_on_update { rejected, add_only, replace };

struct sandbox_options {
  std::string client_id = "sandbox-client-id";
  std::string client_secret = "sandbox-client-secret";
  std::int64_t token_ttl_s = 1800;
  // Legacy X-Auth-* header auth (§1.3), accepted only when all three are set.
  std::optional<std::string> legacy_account_url;
  std::optional<std::string> legacy_login;
  std::optional<std::string> legacy_password;
  // Epoch milliseconds; the system clock when empty.
  std::function<std::int64_t()> clock;
  // Status for a duplicate login or e-mail on create/update (§4.3: 409 legacy, 400 maybe).
  int duplicate_status = 409;
  std::vector<sandbox_profile_field> custom_fields;
  // Field ids (built-in or custom) that every user must have non-empty. login always is.
  std::set<std::string> required_fields = {"login"};
  std::string root_department_name = "Root";
  sandbox_group_ids_on_update group_ids_on_update = sandbox_group_ids_on_update::rejected;
};

struct sandbox_user {
  std::string id;
  std::string department_id;
  int status = 1;
  std::string role = "learner";
  std::map<std::string, std::string> fields;  // request keys: login, email, …, custom ids
  std::vector<std::string> group_ids;         // derived from group membership
  std::string added_date;
  std::string password;
  bool send_login_email = false;

  std::string login() const;
  std::string email() const;
};

struct sandbox_department {
  std::string id;
  std::string name;
  std::optional<std::string> parent_id;  // nullopt only for the root
  std::optional<std::string> code;
};

struct sandbox_group {
  std::string id;
  std::string name;
  bool is_smart = false;
  std::vector<std::string> user_ids;
};

struct sandbox_log_entry {
  std::string method;
  std::string path;      // without the query
  std::string endpoint;  // route pattern, e.g. "POST /user/{id}/status"; "unrouted" otherwise
  int status = 0;
};

class ispring_sandbox {
 public:
  explicit ispring_sandbox(sandbox_options options = {});

  sandbox_response handle(const sandbox_request& request);

  // --- Fault injection (a later step may expose it over HTTP) ---
  // Applied by the HTTP adapter, not here: to every request, or to one route pattern's
  // ("POST /group/{id}/members": a slow group, everything else as fast as before).
  void set_latency_ms(int ms, const std::string& endpoint = {});
  int latency_ms() const;
  int latency_ms(const std::string& method, const std::string& path) const;
  // The next `count` requests other than POST /api/v3/token answer `status`
  // (with Retry-After when given).
  void fail_next(int count, int status, std::optional<int> retry_after_s = std::nullopt);
  void set_outage(bool on);  // every request 503
  // More than `max_requests_per_second` requests within one second (sliding, injected
  // clock) answer 429 with Retry-After: 1. 0 switches the limit off.
  void set_rate_limit(int max_requests_per_second);

  // --- State for assertions (copies, taken under the lock) ---
  std::vector<sandbox_user> users() const;
  std::size_t user_count() const;  // without copying a million users
  std::vector<sandbox_department> departments() const;
  std::vector<sandbox_group> groups() const;
  std::optional<sandbox_user> find_user(const std::string& id) const;
  std::optional<sandbox_user> find_user_by_login(const std::string& login) const;  // any case
  // Benchmarks: the fields of many users under one lock, without their groups (which take a
  // scan of every group's members); unknown ids are left out.
  std::map<std::string, std::map<std::string, std::string>> user_fields(
      const std::vector<std::string>& ids) const;
  // Users created or changed since `cursor` (0: the first write), oldest first, and the
  // cursor moved past them: a benchmark looks only at what changed.
  std::vector<std::string> user_writes_since(std::size_t& cursor) const;
  // Login (as given) → user id, for those that exist.
  std::map<std::string, std::string> ids_by_login(const std::vector<std::string>& logins) const;
  std::optional<sandbox_department> find_department_by_name(const std::string& name) const;
  std::optional<sandbox_group> find_group_by_name(const std::string& name) const;
  // Benchmarks: which of `user_ids` are members of the group named `group_name`, looked up in
  // its member set under one lock, without copying a 23,000-id list.
  std::vector<std::string> members_among(const std::string& group_name,
                                         const std::vector<std::string>& user_ids) const;
  std::string root_department_id() const;
  std::vector<sandbox_log_entry> request_log() const;
  // Requests per route pattern ("GET /users/v2" → 3), counted whatever their outcome.
  std::map<std::string, int> call_counts() const;
  int calls(const std::string& endpoint) const;
  std::string dump_json() const;
  // Back to a fresh account: only the root department, no tokens, no faults, empty log.
  void reset();

  // --- Seeding (throws std::invalid_argument on anything the API would refuse) ---
  std::string add_department(const std::string& name,
                             const std::optional<std::string>& parent_id = std::nullopt,
                             const std::optional<std::string>& code = std::nullopt);
  // `department_id` empty → the root. `fields` may add first_name, custom ids, ….
  std::string add_user(const std::string& login, const std::string& email,
                       const std::string& department_id = {},
                       std::map<std::string, std::string> fields = {}, int status = 1);
  // Many users at once (benchmarks): add_user's checks, with uniqueness by hash, so 100,000
  // users take well under a second. All or nothing is not promised: it stops at the first
  // user the API would refuse.
  struct seed_user {
    std::string login, email, department_id;
    std::map<std::string, std::string> fields;
    int status = 1;
  };
  std::vector<std::string> add_users(const std::vector<seed_user>& users);
  std::string add_group(const std::string& name, const std::vector<std::string>& user_ids = {},
                        bool is_smart = false);
  // A valid bearer token without going through POST /api/v3/token.
  std::string issue_token();

 private:
  struct route;
  struct call;
  // A request's member list, de-duplicated before the lock (see handle()).
  struct member_list {
    bool given = false;  // the body held "userIds"
    std::string error;   // not an array of strings
    std::vector<std::string> ids;
    std::unordered_set<std::string> set;
  };
  static member_list prepare_members(const nlohmann::json& body);

  void reset_locked();
  std::string issue_token_locked();
  std::int64_t now_ms() const;
  std::string next_id();

  // `body`: the request's JSON, parsed before the lock (discarded when it is no JSON).
  sandbox_response dispatch(const sandbox_request& request, const std::string& path,
                            const std::string& query, std::string& endpoint, nlohmann::json body,
                            member_list& members);
  std::optional<sandbox_response> check_faults(bool is_token_request);
  bool authorized(const sandbox_request& request) const;

  sandbox_response post_token(const call& c);
  sandbox_response get_users(const call& c);
  sandbox_response get_user_v1(const call& c);
  sandbox_response get_user_v2(const call& c);
  sandbox_response get_user(const call& c, bool v2);
  sandbox_response create_user(const call& c);
  sandbox_response update_user(const call& c);
  sandbox_response set_user_status(const call& c);
  sandbox_response delete_user(const call& c);
  sandbox_response remove_user_groups(const call& c);
  sandbox_response get_departments_page(const call& c);
  sandbox_response get_departments_all(const call& c);
  sandbox_response get_department(const call& c);
  sandbox_response create_department(const call& c);
  sandbox_response update_department(const call& c);
  sandbox_response delete_department(const call& c);
  sandbox_response get_groups_page(const call& c);
  sandbox_response get_groups_all(const call& c);
  sandbox_response get_group(const call& c);
  sandbox_response create_group(const call& c);
  sandbox_response rename_group(const call& c);
  sandbox_response replace_group_members(const call& c);
  sandbox_response delete_group(const call& c);
  sandbox_response get_profile_fields(const call& c);

  // Validation shared by the API and the seeding helpers: an error message, or empty.
  std::string check_user_fields(const std::map<std::string, std::string>& fields,
                                const std::string& self_id, int& status) const;
  std::string check_department_name(const std::string& name,
                                    const std::optional<std::string>& parent_id,
                                    const std::string& self_id) const;
  std::string check_group_name(const std::string& name, const std::string& self_id) const;
  bool is_known_field(const std::string& id) const;
  sandbox_user with_groups(const sandbox_user& user) const;
  std::string user_json(const sandbox_user& user, bool v2) const;
  std::string dump_json_locked() const;

  const sandbox_options options_;
  mutable std::mutex mutex_;

  std::uint64_t id_counter_ = 0;
  std::uint64_t token_counter_ = 0;
  std::string root_id_;
  // Keyed by id; ids grow with a counter, so map order is creation order (keyset paging).
  std::map<std::string, sandbox_user> users_;
  // Lower-case login and e-mail → user id: uniqueness checks stay cheap with 100,000 users.
  std::unordered_map<std::string, std::string> login_index_, email_index_;
  void index_user(const sandbox_user& user);  // also notes the write (user_writes_)
  std::vector<std::string> user_writes_;
  void unindex_user(const sandbox_user& user);
  // Ids of users_ (views of its keys): 23,000 member ids are checked in a replace.
  std::unordered_set<std::string_view> user_ids_;
  std::map<std::string, sandbox_department> departments_;
  std::map<std::string, sandbox_group> groups_;
  // Group id → its members, as a set: a user's groups are asked on every user read, and a
  // search of a 23,000-member list would hold the lock for each of them.
  std::unordered_map<std::string, std::unordered_set<std::string>> member_sets_;
  bool is_member(const std::string& group_id, const std::string& user_id) const;
  // The first group called `name`, or null. Under mutex_.
  const sandbox_group* group_named(const std::string& name) const;
  void add_member(sandbox_group& group, const std::string& user_id);
  void remove_member(sandbox_group& group, const std::string& user_id);
  std::string check_members(const member_list& members) const;
  std::map<std::string, std::int64_t> tokens_;  // token → expiry (epoch ms)

  int latency_ms_ = 0;
  std::map<std::string, int> endpoint_latency_ms_;  // by route pattern, "POST /group/{id}"
  int fail_count_ = 0;
  int fail_status_ = 0;
  std::optional<int> fail_retry_after_s_;
  bool outage_ = false;
  int rate_limit_ = 0;
  std::deque<std::int64_t> recent_requests_ms_;

  std::vector<sandbox_log_entry> log_;
  std::map<std::string, int> call_counts_;
};

}  // namespace connector::testing

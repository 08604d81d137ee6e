#pragma once
// An in-memory Salesforce org speaking the REST subset of ../shared/reference/salesforce.md §D
// (OAuth token endpoint, SOQL query with cursor paging), as a pure function from request to
// response. It is strict where Salesforce is: JWT assertions are really verified (RS256
// against the configured public key or certificate, iss, sub, aud, exp), sessions time out
// after inactivity, SOQL names are checked against the User object (INVALID_FIELD,
// INVALID_TYPE), literals against field types (INVALID_QUERY_FILTER_OPERATOR), and anything
// outside the subset we send is MALFORMED_QUERY rather than silently accepted.
//
// SOQL subset: SELECT f, Rel.f, … FROM User [WHERE c] [ORDER BY f [ASC|DESC], …]
// [LIMIT n] [OFFSET n (at most 2000)], where c is `F = v`, `F != v`, `F IN (v, …)`,
// `F NOT IN (v, …)`, `F LIKE 'pattern'` (text fields only; % _ and \% \_) with v a
// 'quoted string' (backslash escapes), true, false or null, combined with AND / OR (not
// mixed without parentheses, as in SOQL) and parentheses. Text compares ignore ASCII case,
// ids compare on 15 characters. The one relationship is Manager (via ManagerId), nestable
// (Manager.Manager.Email). Grouped: SELECT f, COUNT(f2) … GROUP BY f, … [LIMIT n] answers
// AggregateResult records with the counts named expr0, expr1…; a selected field neither
// grouped nor aggregated is MALFORMED_QUERY, a dateTime field cannot be grouped.
// GET …/sobjects/User/describe lists the fields (name, label, type, …); other objects 404.
//
// Inferred where the reference is silent (kept here to correct against a live org): a
// batchSize outside 200..2000 is clamped to it and an unreadable one ignored; a cursor lives
// 15 minutes after its last use and at most 10 are open (the oldest is dropped); the
// integration user is not a User record of the org. Grouped queries (the reference is
// silent on them): text groups ignore case (spelled as first met), and their rows come in
// one page, never with a nextRecordsUrl: more than 2000 rows is EXCEEDED_ID_LIMIT
// ("Aggregate query does not support queryMore(), use LIMIT…", the error Salesforce users
// report). Labels and types of describe are Salesforce's names, the other keys a subset.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "connector/http/message.hpp"

namespace connector::testing {

struct salesforce_sandbox_options {
  std::string client_id = "sandbox-consumer-key";  // iss of assertions, client_id of the form
  std::string client_secret = "sandbox-consumer-secret";  // empty: no client-credentials flow
  std::string username = "integration@example.com";       // the one sub that has approved the app
  // PEM public key or X.509 certificate (what a connected app holds); empty: every JWT
  // assertion is refused ("invalid assertion"). Throws std::invalid_argument if unreadable.
  std::string public_key_pem;
  std::string audience;                         // accepted aud; empty: base_url
  std::string org_id = "00D5g000004XyZaEAK";    // 15 or 18 characters; answered in 18
  std::int64_t session_timeout_s = 7200;        // inactivity timeout, reset by every call (§D.3)
  std::int64_t max_assertion_lifetime_s = 300;  // an exp further ahead is refused
  std::function<std::int64_t()> clock;          // epoch milliseconds; the system clock when empty
  // Where the org answers: the token response's instance_url and identity URL use it. The
  // HTTPS server sets it to its own URL.
  std::string base_url = "https://localhost";
  // Pages are at most this big whatever batchSize asks ("not guaranteed", §D.2).
  int max_batch_size = 2000;
};

enum class salesforce_fault_target { api, token, any };

struct salesforce_sandbox_log_entry {
  std::string method;
  std::string path;      // without the query
  std::string endpoint;  // route pattern, e.g. "GET /services/data/{version}/query"; "unrouted"
  int status = 0;
  std::string host;           // the Host header
  std::string soql;           // the decoded q of a query
  std::string query_options;  // the Sforce-Query-Options header
};

class salesforce_sandbox {
 public:
  explicit salesforce_sandbox(salesforce_sandbox_options options = {});
  ~salesforce_sandbox();
  salesforce_sandbox(const salesforce_sandbox&) = delete;
  salesforce_sandbox& operator=(const salesforce_sandbox&) = delete;

  // Any request; only `method`, `target`, `headers` (lower-case names) and `body` are read.
  http::response handle(const http::request& request);

  // --- Where it answers ---
  void set_base_url(std::string url);
  // Answer a different instance_url than the login URL (the org lives on another host).
  // API calls whose Host header is not this URL's then get 401 INVALID_SESSION_ID, like a
  // token used on the wrong instance. Empty: base_url, and no Host check.
  void set_instance_url(std::string url);
  std::string base_url() const;
  std::string instance_url() const;

  // --- Fault injection ---
  void set_latency_ms(int ms);  // applied by the HTTP adapter, not here
  int latency_ms() const;
  // The next `count` requests of `target` answer `status` with a Salesforce-shaped body:
  // [{"errorCode","message"}] on the API, {"error","error_description"} on the token
  // endpoint. An empty error_code picks one that fits the status.
  void fail_next(int count, int status, std::string error_code = {}, std::string message = {},
                 salesforce_fault_target target = salesforce_fault_target::api);
  void set_outage(bool on);  // every request 503 SERVER_UNAVAILABLE
  // After `max_api_requests` more API requests, 403 REQUEST_LIMIT_EXCEEDED. 0: no limit.
  void set_request_limit(int max_api_requests);
  void expire_tokens();  // every issued session ends now

  // --- Observation (copies, taken under the lock) ---
  std::vector<salesforce_sandbox_log_entry> request_log() const;
  std::map<std::string, int> call_counts() const;  // per route pattern, whatever the outcome
  int calls(const std::string& endpoint) const;
  std::size_t open_cursors() const;
  std::string organization_id() const;      // 18 characters
  std::string integration_user_id() const;  // the identity URL's user id
  // Users, faults, sessions, cursors, log and counts cleared; options and URLs kept.
  void reset();

  // --- Users (throw std::invalid_argument on what Salesforce would refuse) ---
  // Fields by API name (any case): Username, LastName and Email required; Username unique
  // (any case) and e-mail shaped; IsActive defaults to true, UserType to "Standard"; "" is
  // stored as null, as Salesforce does; `…__c` custom fields are created on first use (text
  // or boolean, from the value). An "Id" (valid, prefix 005) may be given, else one is made.
  // ManagerId must name an existing user. Returns the 18-character Id.
  std::string add_user(const nlohmann::json& fields);
  std::vector<std::string> add_users(const std::vector<nlohmann::json>& users);
  // `count` synthetic users, fast (100,000 in well under a second): Username and Email
  // "user<n>@sandbox.example.com", FirstName "User", LastName "Number <n>", Department
  // "Department <n % departments>", active Standard users; `common` fields are set on each
  // (n counts every generated user of the sandbox, from 1).
  std::vector<std::string> add_generated_users(
      std::size_t count, const nlohmann::json& common = nlohmann::json::object(),
      std::size_t departments = 10);
  // Sets the given fields (null clears); LastModifiedDate and SystemModstamp become now
  // unless given.
  void update_user(const std::string& id, const nlohmann::json& fields);
  // Every field of the User object (null when unset), or nullopt for an unknown id.
  std::optional<nlohmann::json> find_user(const std::string& id) const;
  std::size_t user_count() const;
  // A session without the OAuth call (demos, and tests of the API alone).
  std::string issue_token();

 private:
  struct state;
  std::unique_ptr<state> state_;
};

}  // namespace connector::testing

#pragma once
// The connector's configuration: one JSON file (design.md "Contracts"). Loading resolves
// defaults, relative paths (relative to the config file) and secrets ("env:NAME",
// "file:PATH" or a literal), and refuses unknown keys and bad values with an error that
// names the key, e.g. `server.listen: expected "host:port", got "8443"`.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "connector/expected.hpp"

namespace connector::config {

// A secret's value with a redacted printable form: it never reaches logs or errors.
class secret {
 public:
  secret() = default;
  explicit secret(std::string value) : value_(std::move(value)) {}
  const std::string& reveal() const { return value_; }
  bool empty() const { return value_.empty(); }

 private:
  std::string value_;
};

struct endpoint {
  std::string host;        // "0.0.0.0", "127.0.0.1", "::1", "localhost"
  std::uint16_t port = 0;  // 0: pick a free port (tests)
};

struct tls_server_settings {
  std::string certificate;  // PEM: leaf first, then intermediates (full chain)
  std::string private_key;
  std::optional<std::string> client_ca_file;  // turns mutual TLS on
  std::vector<std::string> client_subjects;   // allowed client certificate subjects
};

struct server_settings {
  endpoint listen{"0.0.0.0", 8443};
  tls_server_settings tls;
  std::string outbound_message_path = "/salesforce/outbound";
  std::string events_path = "/salesforce/events";
  std::vector<secret> events_signing_secrets;
  // An unguessable extra path segment for the SOAP endpoint (at least 16 characters of
  // A-Z a-z 0-9 - . _ ~, so it needs no escaping); the HTTP server decides where it goes.
  std::optional<secret> secret_path_segment;
  // Clients allowed on the public listener: addresses or CIDR blocks, as written in the
  // file ("203.0.113.0/24", "2001:db8::/32", "198.51.100.7"). Empty: everyone.
  std::vector<std::string> allowed_ips;
  std::size_t body_limit_bytes = 4 * 1024 * 1024;
  std::size_t header_limit_bytes = 16 * 1024;
  int handshake_timeout_ms = 10'000;
  int read_timeout_ms = 30'000;  // a whole request must arrive within this time
  int idle_timeout_ms = 60'000;  // keep-alive connection with no request
  std::size_t max_connections = 512;
  // Connections one client address may hold open at once: a single host cannot take every
  // slot of max_connections. Behind a proxy every client has the proxy's address.
  std::size_t max_connections_per_address = 32;
  // A non-loopback listener without mutual TLS, an allowlist or a secret path segment is
  // refused at start-up (intake_lock_problem) unless this says it is on purpose.
  bool allow_unlocked_intake = false;
  int threads = 0;  // 0: one per core
};

// An admin token with the name revisions record as who saved them.
struct admin_token {
  std::string name;
  secret token;
};

struct admin_settings {
  endpoint listen{"127.0.0.1", 8444};
  secret token;  // admin.token, else the first of admin.tokens
  // Every accepted token: admin.token (named "admin") and admin.tokens, in the file's order.
  std::vector<admin_token> tokens;
  bool tls = true;                             // false is accepted only on a loopback address
  bool allow_unauthenticated_metrics = false;  // only on a loopback listener
};

struct store_settings {
  // Exactly one engine: a SQLite file (absolute; the file and its directory may not exist
  // yet), or PostgreSQL (postgresql://user:password@host:port/db, a secret).
  std::string sqlite_path;
  std::optional<secret> postgresql_url;
  int history_retention_days = 30;              // per-user history of changes and outcomes
  std::size_t history_max_events_per_user = 0;  // 0: no cap, only the retention
  // The dedupe window: notification ids, and settled records linked to no iSpring user, are
  // pruned after it (longer than Salesforce's 24 hours of redelivery).
  int notification_retention_hours = 72;
};

// Custom platform events (`…__e`) on the events endpoint, mapped onto the source object's
// fields. Without this section platform events are refused.
struct platform_event_settings {
  std::vector<std::string> names;             // accepted event names; empty: any `…__e`
  std::string record_id_field;                // the event field holding the record id
  std::map<std::string, std::string> fields;  // event field -> record field ("Email")
};

struct salesforce_settings {
  std::vector<std::string> organization_ids;  // 15 or 18 chars, as configured
  std::string source_object = "User";         // or "Contact"
  std::string login_url = "https://login.salesforce.com";
  std::string client_id;
  std::optional<secret> client_secret;  // client-credentials flow
  std::string username;                 // JWT bearer flow subject
  std::optional<secret> private_key;    // JWT bearer flow key (PEM)
  std::optional<std::string> tls_ca_file;
  // Hosts besides Salesforce's own domains that a token answer's instance_url may name
  // ("127.0.0.1", "sf-proxy.example.com", "*.example.com"); reference salesforce.md §D.1.
  std::vector<std::string> allowed_instance_hosts;
  std::string api_version = "61.0";
  std::string query_filter = "UserType = 'Standard'";
  int query_batch_size = 2000;  // Sforce-Query-Options batchSize, 200..2000
  std::optional<platform_event_settings> platform_events;
};

struct ispring_settings {
  std::string api_url = "https://api-learn.ispringlearn.com";
  std::string auth = "client_credentials";  // or "password" (legacy header scheme)
  std::string client_id;
  secret client_secret;
  std::string account_url;  // legacy scheme: X-Auth-Account-Url
  std::string login;        // legacy scheme: X-Auth-Email
  secret password;          // legacy scheme: X-Auth-Password
  std::optional<std::string> tls_ca_file;
  int max_concurrency = 4;
  int connect_timeout_ms = 5'000;
  int request_timeout_ms = 30'000;
  // How a user joins a group (reference §6, §10 q3): "replace" (read the members, add, replace
  // the whole list; queued and coalesced per group) or "user_update" (groupIds on
  // POST /user/{id}, additive by its wording but unconfirmed: on only once a live tenant
  // shows it adds).
  std::string group_additions = "replace";
};

struct mapping_settings {
  std::string login = "Username";
  std::string email = "Email";
  std::string last_name = "LastName";
  std::string department = "Department";
  std::string groups;  // empty: no group field mapped
  std::map<std::string, std::string> fields{{"first_name", "FirstName"}};  // iSpring id -> SF field
};

struct department_rule {
  bool sync_all_users = true;
  std::optional<std::string> ispring_name;
  std::vector<std::string> users;  // usernames or record ids, when not sync_all_users
  // A connector-defined department ("Add New Department"): exactly the listed users, whatever
  // their Salesforce Department; its key is a name, never matched against Department values.
  bool custom = false;
};

enum class user_action { deactivate, ignore, remove };
// The config's word for an action: "deactivate", "ignore", "delete".
const char* to_string(user_action action);

struct sync_settings {
  std::map<std::string, department_rule> departments;  // empty: every department ("*")
  std::optional<std::vector<std::string>> groups;      // nullopt: "all"
  // "department": sync.departments selects users; "group": a user carrying one of sync.groups
  // in mapping.groups is selected, and departments only name iSpring departments.
  std::string select_by = "department";
  std::optional<std::string> parent_department;        // nullopt: the root
  user_action inactive_users = user_action::deactivate;
  user_action out_of_scope_users = user_action::deactivate;
  bool delete_empty_departments = true;
  // A count ("25") or a share ("10%") of the synchronised users.
  std::optional<std::string> max_deactivations;
  // The sync worker's cap: deactivations and deletions caused by notifications in any hour,
  // a count ("20") or a share ("5%") of the organization's linked users; nullopt ("off"): no
  // cap. On by default: a flood of notifications (forged, or a bad mass update in
  // Salesforce) must not retire users faster than an operator can look. A count, because a
  // share of a small organization rounds to almost nothing and of a large one lets
  // thousands through.
  std::optional<std::string> max_deactivations_per_hour = "20";
  int max_attempts = 10;  // then the record becomes a dead letter
  int retry_base_ms = 1'000;
  int retry_max_ms = 15 * 60'000;
  // Read every notified record back through Salesforce REST and apply what Salesforce
  // returns, never the notification's fields (anyone who knows the organization id can
  // send an outbound message). Unset: on when REST credentials are configured
  // (verifies_notifications).
  std::optional<bool> verify_notifications;
};

struct schedule_settings {
  std::string run_type = "manual";  // interval | daily | manual
  int run_interval_minutes = 60;
  std::optional<std::string> start_work_time;  // "HH:MM"
  std::optional<std::string> stop_work_time;
  std::string time_zone = "UTC";
  int check_sync_status_after_seconds = 60;
  int check_sync_status_duration_minutes = 30;
  int interval_after_expire_duration_minutes = 15;
};

struct smtp_settings {
  std::string host;
  std::uint16_t port = 587;
  std::string security = "starttls";  // starttls | tls | none (loopback only)
  std::string username;
  secret password;
  std::string from;                        // defaults to username when that is an e-mail address
  std::optional<std::string> tls_ca_file;  // an extra trusted CA, e.g. a local relay's
};

struct alerts_settings {
  std::vector<std::string> email_to;
  smtp_settings smtp;
  int min_interval_minutes = 60;            // per kind of problem
  std::optional<int> min_interval_seconds;  // the same, finer (tests); excludes the minutes
  int pending_age_threshold_minutes = 30;
  int check_interval_seconds = 30;  // how often the service's state is looked at
};

struct logging_settings {
  std::string level = "info";  // trace debug info warn error
  // json | text; empty (not configured): text on a terminal, JSON otherwise (journald, files).
  std::string format;
};

// The sections the admin page edits (design.md "Settings edited in the page"): kept in the
// store as revisions unless the file sets them (then they are file-managed, read-only).
inline constexpr const char* editable_sections[] = {"mapping", "schedule", "sync",
                                                    "alerts.email_to"};

struct settings {
  std::string config_path;  // absolute path of the file loaded
  // The file as loaded (with_stored_sections reads it again) and where relative paths start.
  // source_text may hold literal secrets: never logged.
  std::string source_text;
  std::string base_dir;
  std::vector<std::string> file_managed;  // editable_sections the file sets, in that order
  server_settings server;
  admin_settings admin;
  store_settings store;
  salesforce_settings salesforce;
  std::optional<ispring_settings> ispring;
  mapping_settings mapping;
  sync_settings sync;
  schedule_settings schedule;
  std::optional<alerts_settings> alerts;
  logging_settings logging;
};

struct config_error {
  std::string key;      // dotted path, e.g. "server.tls.certificate"
  std::string message;  // what is wrong, without secret values
  std::string to_string() const { return key.empty() ? message : key + ": " + message; }
};

// Loads and validates the file. Secrets are resolved (env:/file:) at load time.
expected<settings, config_error> load_file(const std::string& path);
// Same, from text; `base_dir` resolves relative paths.
expected<settings, config_error> load_text(const std::string& text, const std::string& base_dir);

// The effective settings: `file`'s, with each editable section the file leaves out taken
// from `stored` (a JSON object by section name, as a settings revision holds them), else its
// default. Validated exactly as the file is, errors naming the key
// ("schedule.run_interval_minutes"). A stored section the file manages is ignored; an
// unknown name in `stored` is an error. `file` must come from load_file or load_text.
expected<settings, config_error> with_stored_sections(const settings& file,
                                                      const std::string& stored_json);

// Whether the salesforce section can sign in to the REST API: a client id with either a
// username and private key (JWT bearer) or a client secret (client credentials).
bool has_rest_credentials(const salesforce_settings& salesforce);
// sync.verify_notifications as it applies: the value given, else whether REST credentials
// are configured.
bool verifies_notifications(const settings& settings);

// Parses "host:port", "[::1]:port".
std::optional<endpoint> parse_endpoint(const std::string& text);

bool is_loopback(const std::string& host);

// Why the public listener is open to anyone who knows the organization id: it listens
// beyond loopback and has none of mutual TLS, server.allowed_ips or
// server.secret_path_segment. Nothing when it is locked (or only reachable locally).
// `serve` refuses to start on this unless server.allow_unlocked_intake is true.
std::optional<std::string> intake_lock_problem(const server_settings& server);

// Standard Webhooks secrets shorter than this (decoded) are refused: an HMAC key should
// be at least as long as a guess is hard.
inline constexpr std::size_t min_webhook_secret_bytes = 24;

}  // namespace connector::config

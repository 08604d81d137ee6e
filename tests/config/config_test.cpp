// The config file, as a specification: what a minimal file yields, how paths and secrets
// are resolved, and that every refusal names the key at fault and never a secret.
#include "connector/config/config.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace connector::config {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// A folder under /tmp laid out like a deployment (certs/, conf/, var/), removed with
// everything in it when the test ends.
class temp_tree {
 public:
  temp_tree() {
    std::string pattern = (fs::temp_directory_path() / "connector-config-test.XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    root_ = pattern;
  }
  ~temp_tree() {
    std::error_code ignored;
    fs::remove_all(root_, ignored);
  }
  temp_tree(const temp_tree&) = delete;
  temp_tree& operator=(const temp_tree&) = delete;

  const fs::path& root() const { return root_; }
  fs::path path(const std::string& relative) const { return root_ / relative; }

  fs::path write(const std::string& relative, const std::string& content) const {
    const auto file = root_ / relative;
    fs::create_directories(file.parent_path());
    std::ofstream(file, std::ios::binary) << content;
    return file;
  }

 private:
  fs::path root_;
};

// Sets (or unsets) an environment variable for the lifetime of the object.
class scoped_env {
 public:
  scoped_env(std::string name, const std::optional<std::string>& value) : name_(std::move(name)) {
    if (const char* old = std::getenv(name_.c_str())) previous_ = old;
    if (value) {
      ::setenv(name_.c_str(), value->c_str(), 1);
    } else {
      ::unsetenv(name_.c_str());
    }
  }
  ~scoped_env() {
    if (previous_) {
      ::setenv(name_.c_str(), previous_->c_str(), 1);
    } else {
      ::unsetenv(name_.c_str());
    }
  }
  scoped_env(const scoped_env&) = delete;
  scoped_env& operator=(const scoped_env&) = delete;

 private:
  std::string name_;
  std::optional<std::string> previous_;
};

constexpr const char* admin_token = "0123456789abcdef0123456789abcdef";

// The smallest file that loads: the four required keys and the admin token.
json minimal_config() {
  return json::parse(R"({
    "server": { "tls": { "certificate": "../certs/server.crt", "private_key": "../certs/server.key" } },
    "admin": { "token": "0123456789abcdef0123456789abcdef" },
    "store": { "sqlite_path": "../var/connector.db" },
    "salesforce": { "organization_ids": ["00D5g000004XyZaEAK"] }
  })");
}

class config_test : public ::testing::Test {
 protected:
  void SetUp() override {
    tree_.write("certs/server.crt",
                "-----BEGIN CERTIFICATE-----\nleaf\n-----END CERTIFICATE-----\n");
    tree_.write("certs/server.key",
                "-----BEGIN PRIVATE KEY-----\nkey\n-----END PRIVATE KEY-----\n");
    tree_.write("certs/ca.crt", "-----BEGIN CERTIFICATE-----\nca\n-----END CERTIFICATE-----\n");
    tree_.write("certs/salesforce-jwt.key",
                "-----BEGIN PRIVATE KEY-----\njwt\n-----END PRIVATE KEY-----\n");
    // A private zone database, so that time-zone checks do not depend on the host's tzdata.
    tree_.write("zoneinfo/UTC", "TZif");
    tree_.write("zoneinfo/Europe/Berlin", "TZif");
    fs::create_directories(tree_.path("conf"));
  }

  // Loads `document` as if it were the file conf/connector.json.
  expected<settings, config_error> load(const json& document) const {
    return load_text(document.dump(), conf_dir());
  }

  settings load_ok(const json& document) const {
    auto result = load(document);
    if (!result) ADD_FAILURE() << "unexpected error: " << result.error().to_string();
    return result ? std::move(result).value() : settings{};
  }

  config_error load_error(const json& document) const {
    auto result = load(document);
    if (result) {
      ADD_FAILURE() << "loaded although it should not: " << document.dump();
      return {};
    }
    return result.error();
  }

  std::string conf_dir() const { return tree_.path("conf").string(); }
  std::string at(const std::string& relative) const { return tree_.path(relative).string(); }

  temp_tree tree_;
  scoped_env tzdir_{"TZDIR", tree_.path("zoneinfo").string()};
};

// --- defaults ----------------------------------------------------------------------------

TEST_F(config_test, minimal_file_gets_the_documented_defaults) {
  const auto s = load_ok(minimal_config());

  EXPECT_EQ(s.server.listen.host, "0.0.0.0");
  EXPECT_EQ(s.server.listen.port, 8443);
  EXPECT_EQ(s.server.outbound_message_path, "/salesforce/outbound");
  EXPECT_EQ(s.server.events_path, "/salesforce/events");
  EXPECT_FALSE(s.server.tls.client_ca_file);
  EXPECT_TRUE(s.server.events_signing_secrets.empty());
  EXPECT_FALSE(s.server.secret_path_segment);
  EXPECT_TRUE(s.server.allowed_ips.empty());
  EXPECT_EQ(s.server.body_limit_bytes, 4u * 1024 * 1024);
  EXPECT_EQ(s.server.threads, 0);

  EXPECT_EQ(s.admin.listen.host, "127.0.0.1");
  EXPECT_EQ(s.admin.listen.port, 8444);
  EXPECT_EQ(s.admin.token.reveal(), admin_token);
  EXPECT_TRUE(s.admin.tls);
  EXPECT_FALSE(s.admin.allow_unauthenticated_metrics);

  EXPECT_EQ(s.store.history_retention_days, 30);

  EXPECT_EQ(s.salesforce.organization_ids, std::vector<std::string>{"00D5g000004XyZaEAK"});
  EXPECT_EQ(s.salesforce.source_object, "User");
  EXPECT_EQ(s.salesforce.login_url, "https://login.salesforce.com");
  EXPECT_EQ(s.salesforce.api_version, "61.0");
  EXPECT_EQ(s.salesforce.query_filter, "UserType = 'Standard'");
  EXPECT_EQ(s.salesforce.query_batch_size, 2000);
  EXPECT_FALSE(s.salesforce.private_key);
  EXPECT_FALSE(s.salesforce.platform_events) << "platform events are refused unless configured";

  EXPECT_FALSE(s.ispring) << "the intake works without iSpring";

  EXPECT_EQ(s.mapping.login, "Username");
  EXPECT_EQ(s.mapping.email, "Email");
  EXPECT_EQ(s.mapping.last_name, "LastName");
  EXPECT_EQ(s.mapping.department, "Department");
  EXPECT_EQ(s.mapping.groups, "");
  EXPECT_EQ(s.mapping.fields, (std::map<std::string, std::string>{{"first_name", "FirstName"}}));

  // Without a sync section everything is in scope and inactive users are deactivated.
  EXPECT_TRUE(s.sync.departments.empty());
  EXPECT_FALSE(s.sync.groups);
  EXPECT_FALSE(s.sync.parent_department);
  EXPECT_EQ(s.sync.inactive_users, user_action::deactivate);
  EXPECT_EQ(s.sync.out_of_scope_users, user_action::deactivate);
  EXPECT_TRUE(s.sync.delete_empty_departments);
  EXPECT_FALSE(s.sync.max_deactivations);
  EXPECT_EQ(s.sync.max_deactivations_per_hour, "20") << "the worker's safety limit is on";
  EXPECT_EQ(s.sync.max_attempts, 10);

  EXPECT_EQ(s.schedule.run_type, "manual");
  EXPECT_FALSE(s.schedule.start_work_time);
  EXPECT_EQ(s.schedule.time_zone, "UTC");

  EXPECT_FALSE(s.alerts);
  EXPECT_EQ(s.logging.level, "info");
  EXPECT_EQ(s.logging.format, "");  // not configured: text on a terminal, JSON otherwise
  EXPECT_EQ(s.config_path, "") << "load_text has no file";
}

TEST_F(config_test, null_means_not_set) {
  auto document = minimal_config();
  document["salesforce"]["tls_ca_file"] = nullptr;
  document["ispring"] = nullptr;
  document["sync"] = {{"parent_department", nullptr}};
  const auto s = load_ok(document);
  EXPECT_FALSE(s.salesforce.tls_ca_file);
  EXPECT_FALSE(s.ispring);
  EXPECT_FALSE(s.sync.parent_department);
}

TEST_F(config_test, each_user_action_reads_back_from_its_own_name) {
  // The admin page shows config::to_string(action): the word must be the one the file takes.
  for (const auto action : {user_action::deactivate, user_action::ignore, user_action::remove}) {
    auto document = minimal_config();
    document["sync"] = {{"inactive_users", to_string(action)},
                        {"out_of_scope_users", to_string(action)}};
    const auto s = load_ok(document);
    EXPECT_EQ(s.sync.inactive_users, action) << to_string(action);
    EXPECT_EQ(s.sync.out_of_scope_users, action) << to_string(action);
  }
  EXPECT_STREQ(to_string(user_action::remove), "delete");
}

// --- paths -------------------------------------------------------------------------------

TEST_F(config_test, relative_paths_are_resolved_against_the_config_directory) {
  auto document = minimal_config();
  document["server"]["tls"]["client_ca_file"] = "./../certs/./ca.crt";
  document["server"]["tls"]["client_subjects"] = {"CN=proxy.salesforce.com"};
  document["salesforce"]["tls_ca_file"] = at("certs/ca.crt");  // absolute stays as it is
  const auto s = load_ok(document);
  EXPECT_EQ(s.server.tls.certificate, at("certs/server.crt"));
  EXPECT_EQ(s.server.tls.private_key, at("certs/server.key"));
  EXPECT_EQ(s.server.tls.client_ca_file, at("certs/ca.crt"));
  EXPECT_EQ(s.salesforce.tls_ca_file, at("certs/ca.crt"));
  EXPECT_EQ(s.store.sqlite_path, at("var/connector.db"))
      << "the database need not exist: the store creates it";
}

TEST_F(config_test, load_file_records_the_absolute_path_and_resolves_from_its_folder) {
  tree_.write("conf/connector.json", minimal_config().dump());
  const auto result = load_file(at("conf/../conf/./connector.json"));
  ASSERT_TRUE(result) << result.error().to_string();
  EXPECT_EQ(result->config_path, at("conf/connector.json"));
  EXPECT_EQ(result->server.tls.certificate, at("certs/server.crt"));
}

TEST_F(config_test, load_file_names_a_missing_file) {
  const auto result = load_file(at("conf/missing.json"));
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().to_string(),
            "cannot read config file " + at("conf/missing.json") + ": No such file or directory");
}

TEST_F(config_test, the_shipped_example_loads_in_a_fresh_checkout_layout) {
#ifdef CONNECTOR_SOURCE_DIR
  const fs::path source_dir = CONNECTOR_SOURCE_DIR;
#else
  // Built by hand (g++ … tests/config/*_test.cpp): __FILE__ is relative to where the
  // compiler ran, which only the source dir itself can resolve.
  const fs::path source_dir =
      fs::absolute(fs::path(__FILE__)).parent_path().parent_path().parent_path();
  if (!fs::exists(source_dir / "config/example.json")) {
    GTEST_SKIP() << "source dir unknown: run from the source dir or build with CMake";
  }
#endif
  std::ifstream example(source_dir / "config/example.json", std::ios::binary);
  ASSERT_TRUE(example) << "cannot open " << (source_dir / "config/example.json");
  const std::string text{std::istreambuf_iterator<char>(example), {}};
  tree_.write("config/example.json", text);
  tree_.write("var/admin-token", std::string(admin_token) + "\n");
  tree_.write("var/ispring-client-secret", "local-sandbox-secret\n");
  tree_.write("certs/ca.crt", "-----BEGIN CERTIFICATE-----\n");

  const auto result = load_file(at("config/example.json"));
  ASSERT_TRUE(result) << result.error().to_string();
  EXPECT_EQ(result->server.listen.host, "127.0.0.1");
  EXPECT_EQ(result->server.listen.port, 8443);
  EXPECT_EQ(result->admin.listen.port, 8444);
  EXPECT_EQ(result->admin.token.reveal(), admin_token);
  EXPECT_EQ(result->server.tls.certificate, at("certs/server.crt"));
  EXPECT_EQ(result->store.sqlite_path, at("var/connector.db"));
  EXPECT_EQ(result->mapping.groups, "iSpring_Groups__c");
  // The local demo pushes into the iSpring sandbox scripts/run.sh starts beside it.
  ASSERT_TRUE(result->ispring);
  EXPECT_EQ(result->ispring->api_url, "https://localhost:9443");
  EXPECT_EQ(result->ispring->client_secret.reveal(), "local-sandbox-secret");
  EXPECT_EQ(result->ispring->tls_ca_file, at("certs/ca.crt"));
}

// --- secrets -----------------------------------------------------------------------------

TEST_F(config_test, a_literal_secret_is_taken_as_written) {
  EXPECT_EQ(load_ok(minimal_config()).admin.token.reveal(), admin_token);
}

TEST_F(config_test, an_env_secret_reads_the_variable) {
  scoped_env token("CONFIG_TEST_ADMIN_TOKEN", "from-the-environment-0123456789");
  auto document = minimal_config();
  document["admin"]["token"] = "env:CONFIG_TEST_ADMIN_TOKEN";
  EXPECT_EQ(load_ok(document).admin.token.reveal(), "from-the-environment-0123456789");
}

TEST_F(config_test, an_unset_env_secret_names_key_and_variable) {
  scoped_env token("CONFIG_TEST_ADMIN_TOKEN", std::nullopt);
  auto document = minimal_config();
  document["admin"]["token"] = "env:CONFIG_TEST_ADMIN_TOKEN";
  EXPECT_EQ(load_error(document).to_string(),
            "admin.token: environment variable CONFIG_TEST_ADMIN_TOKEN is not set");
}

TEST_F(config_test, an_empty_env_secret_is_refused) {
  scoped_env token("CONFIG_TEST_ADMIN_TOKEN", "");
  auto document = minimal_config();
  document["admin"]["token"] = "env:CONFIG_TEST_ADMIN_TOKEN";
  EXPECT_EQ(load_error(document).to_string(),
            "admin.token: environment variable CONFIG_TEST_ADMIN_TOKEN is empty");
}

TEST_F(config_test, a_file_secret_is_read_relative_to_the_config_without_its_newline) {
  tree_.write("secrets/token", "from-a-file-0123456789abcdef\r\n");
  auto document = minimal_config();
  document["admin"]["token"] = "file:../secrets/token";
  EXPECT_EQ(load_ok(document).admin.token.reveal(), "from-a-file-0123456789abcdef");
}

TEST_F(config_test, an_unreadable_file_secret_names_key_and_path) {
  auto document = minimal_config();
  document["admin"]["token"] = "file:../secrets/missing";
  EXPECT_EQ(load_error(document).to_string(),
            "admin.token: cannot read " + at("secrets/missing") + ": No such file or directory");
}

TEST_F(config_test, an_empty_file_secret_is_refused) {
  tree_.write("secrets/token", "\n");
  auto document = minimal_config();
  document["admin"]["token"] = "file:../secrets/token";
  EXPECT_EQ(load_error(document).to_string(),
            "admin.token: file " + at("secrets/token") + " is empty");
}

TEST_F(config_test, every_secret_key_accepts_all_three_forms) {
  scoped_env ispring_secret("CONFIG_TEST_ISPRING_SECRET", "ispring-secret");
  scoped_env smtp_password("CONFIG_TEST_SMTP_PASSWORD", "smtp-password");
  tree_.write("secrets/events", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n");
  auto document = minimal_config();
  document["server"]["events_signing_secrets"] = {"file:../secrets/events",
                                                  "whsec_c2Vjb25kLXNlY3JldC1vZi10d2VudHktZm91cg=="};
  document["server"]["secret_path_segment"] = "Zq3v-Xk9_p2LmN8r.T~";
  document["salesforce"].update(json{{"client_id", "3MVG9"},
                                     {"username", "integration@example.com"},
                                     {"private_key", "file:../certs/salesforce-jwt.key"},
                                     {"client_secret", "salesforce-secret"}});
  document["ispring"] = {{"client_id", "ispring-client"},
                         {"client_secret", "env:CONFIG_TEST_ISPRING_SECRET"},
                         {"password", "legacy-password"}};
  document["alerts"] = {{"email_to", {"admin@example.com"}},
                        {"smtp",
                         {{"host", "smtp.example.com"},
                          {"username", "alerts@example.com"},
                          {"password", "env:CONFIG_TEST_SMTP_PASSWORD"}}}};
  const auto s = load_ok(document);
  ASSERT_EQ(s.server.events_signing_secrets.size(), 2u);
  EXPECT_EQ(s.server.events_signing_secrets[0].reveal(), "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
  EXPECT_EQ(s.server.events_signing_secrets[1].reveal(),
            "whsec_c2Vjb25kLXNlY3JldC1vZi10d2VudHktZm91cg==");
  EXPECT_EQ(s.server.secret_path_segment->reveal(), "Zq3v-Xk9_p2LmN8r.T~");
  EXPECT_EQ(s.salesforce.private_key->reveal(),
            "-----BEGIN PRIVATE KEY-----\njwt\n-----END PRIVATE KEY-----");
  EXPECT_EQ(s.salesforce.client_secret->reveal(), "salesforce-secret");
  EXPECT_EQ(s.ispring->client_secret.reveal(), "ispring-secret");
  EXPECT_EQ(s.ispring->password.reveal(), "legacy-password");
  EXPECT_EQ(s.alerts->smtp.password.reveal(), "smtp-password");
}

// Each case puts the marker where a secret goes and makes loading fail there. The marker
// has spaces, so it is not a valid token, webhook secret, path segment or PEM key.
TEST_F(config_test, secret_values_never_appear_in_error_messages) {
  const std::string marker = "Sup3r S3cr3t Marker";
  scoped_env bad_env("CONFIG_TEST_BAD_TOKEN", marker);
  tree_.write("secrets/bad-events", marker + "\n");
  const std::vector<std::pair<std::string, std::function<void(json&)>>> cases = {
      {"literal token", [&](json& d) { d["admin"]["token"] = marker; }},
      {"token from env", [&](json& d) { d["admin"]["token"] = "env:CONFIG_TEST_BAD_TOKEN"; }},
      {"events secret literal", [&](json& d) { d["server"]["events_signing_secrets"] = {marker}; }},
      {"events secret from file",
       [&](json& d) { d["server"]["events_signing_secrets"] = {"file:../secrets/bad-events"}; }},
      {"path segment", [&](json& d) { d["server"]["secret_path_segment"] = marker + "/x"; }},
      {"salesforce key not PEM",
       [&](json& d) {
         d["salesforce"].update(
             json{{"client_id", "3MVG9"}, {"username", "u@example.com"}, {"private_key", marker}});
       }},
      {"secret followed by a bad value",
       [&](json& d) {
         d["ispring"] = {{"client_id", "id"}, {"client_secret", marker}, {"max_concurrency", 0}};
       }},
  };
  for (const auto& [description, change] : cases) {
    SCOPED_TRACE(description);
    auto document = minimal_config();
    change(document);
    const auto message = load_error(document).to_string();
    EXPECT_EQ(message.find(marker), std::string::npos) << message;
  }
}

TEST_F(config_test, secrets_of_the_wrong_type_are_not_echoed) {
  auto document = minimal_config();
  document["admin"]["token"] = 918273645546372819u;
  const auto error = load_error(document);
  EXPECT_EQ(error.key, "admin.token");
  EXPECT_EQ(error.message.find("918273645546372819"), std::string::npos) << error.message;
}

TEST_F(config_test, a_postgresql_url_is_a_secret_and_replaces_the_sqlite_path) {
  auto document = minimal_config();
  document["store"].erase("sqlite_path");
  document["store"]["postgresql_url"] = "postgresql://connector:Pa55wordMarker@db.example.com/c";
  const auto s = load_ok(document);
  ASSERT_TRUE(s.store.postgresql_url);
  EXPECT_EQ(s.store.postgresql_url->reveal(),
            "postgresql://connector:Pa55wordMarker@db.example.com/c");
  EXPECT_EQ(s.store.sqlite_path, "");
  // A malformed one is refused without its password in the message.
  document["store"]["postgresql_url"] = "postgresql://connector:Pa55wordMarker@db/c?bogus=1";
  const auto error = load_error(document);
  EXPECT_EQ(error.key, "store.postgresql_url");
  EXPECT_EQ(error.to_string().find("Pa55wordMarker"), std::string::npos) << error.to_string();
}

TEST_F(config_test, invalid_json_near_a_secret_does_not_quote_it) {
  // A raw control character inside the string: the JSON lexer stops inside the token.
  const std::string text =
      std::string(R"({"admin": {"token": "Sup3rS3cr3tMarker)") + '\x01' + R"("}})";
  const auto result = load_text(text, conf_dir());
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().to_string().find("Sup3rS3cr3t"), std::string::npos)
      << result.error().to_string();
}

// --- syntax ------------------------------------------------------------------------------

TEST_F(config_test, invalid_json_reports_line_column_and_byte) {
  const auto result =
      load_text("{\n  \"server\": {\n    \"listen\" \"0.0.0.0:8443\"\n  }\n}", conf_dir());
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().key, "");
  EXPECT_NE(result.error().message.find("invalid JSON at line 3, column"), std::string::npos)
      << result.error().message;
  EXPECT_NE(result.error().message.find("(byte "), std::string::npos);
  EXPECT_NE(result.error().message.find("expected ':'"), std::string::npos);
}

TEST_F(config_test, a_key_given_twice_is_refused) {
  const auto result =
      load_text(R"({"store": {"sqlite_path": "a.db", "sqlite_path": "b.db"}})", conf_dir());
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().to_string(), "store.sqlite_path: duplicate key");
}

TEST_F(config_test, a_key_given_twice_inside_an_array_element_is_located) {
  // Keys inside arrays of objects are found by index; the path names the element.
  const auto result = load_text(R"({"a": [1, {"x": 1}, {"y": 1, "y": 2}]})", conf_dir());
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().to_string(), "a[2].y: duplicate key");
}

TEST_F(config_test, the_top_level_must_be_an_object) {
  const auto result = load_text("[]", conf_dir());
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().to_string(), "expected a JSON object at the top level, got an array");
}

TEST_F(config_test, an_unknown_key_suggests_the_close_known_one) {
  auto document = minimal_config();
  auto& tls = document["server"]["tls"];
  tls["certifcate"] = tls["certificate"];
  tls.erase("certificate");
  EXPECT_EQ(load_error(document).to_string(),
            "server.tls.certifcate: unknown key; did you mean \"certificate\"?")
      << "a typo is reported as such, not as a missing certificate";
}

TEST_F(config_test, an_unknown_key_far_from_all_known_ones_gets_no_suggestion) {
  auto document = minimal_config();
  document["server"]["colour"] = "blue";
  EXPECT_EQ(load_error(document).to_string(), "server.colour: unknown key");
}

// --- the intake's locks -------------------------------------------------------------------

TEST_F(config_test, the_default_public_listener_is_unlocked_and_says_which_keys_lock_it) {
  const auto s = load_ok(minimal_config());
  EXPECT_FALSE(s.server.allow_unlocked_intake);
  EXPECT_EQ(s.server.max_connections_per_address, 32u);
  const auto problem = intake_lock_problem(s.server);
  ASSERT_TRUE(problem) << "0.0.0.0 without any lock must be reported";
  for (const char* key :
       {"server.tls.client_ca_file", "server.tls.client_subjects", "server.allowed_ips",
        "server.secret_path_segment", "server.allow_unlocked_intake"}) {
    EXPECT_NE(problem->find(key), std::string::npos) << key << " missing from: " << *problem;
  }
}

TEST_F(config_test, each_lock_or_a_loopback_listener_is_enough) {
  auto mutual_tls = minimal_config();
  mutual_tls["server"]["tls"]["client_ca_file"] = "../certs/ca.crt";
  mutual_tls["server"]["tls"]["client_subjects"] = {"CN=proxy.salesforce.com"};
  auto allowlist = minimal_config();
  allowlist["server"]["allowed_ips"] = {"203.0.113.0/24"};
  auto segment = minimal_config();
  segment["server"]["secret_path_segment"] = "Zq3v-Xk9_p2LmN8r.T~";
  auto loopback = minimal_config();
  loopback["server"]["listen"] = "127.0.0.1:8443";
  auto loopback_v6 = minimal_config();
  loopback_v6["server"]["listen"] = "[::1]:8443";
  for (const auto& document : {mutual_tls, allowlist, segment, loopback, loopback_v6}) {
    const auto problem = intake_lock_problem(load_ok(document).server);
    EXPECT_FALSE(problem) << document["server"].dump() << ": " << problem.value_or("");
  }
  // Naming the intake unlocked on purpose changes what serve does, not what is true.
  auto on_purpose = minimal_config();
  on_purpose["server"]["allow_unlocked_intake"] = true;
  const auto s = load_ok(on_purpose);
  EXPECT_TRUE(s.server.allow_unlocked_intake);
  EXPECT_TRUE(intake_lock_problem(s.server));
}

TEST_F(config_test, webhook_secrets_of_twenty_four_bytes_and_instance_hosts_load) {
  auto document = minimal_config();
  document["server"]["events_signing_secrets"] = {"whsec_" + std::string(32, 'A')};
  document["salesforce"]["allowed_instance_hosts"] = {"127.0.0.1", "*.sf-proxy.example.com"};
  const auto s = load_ok(document);
  EXPECT_EQ(s.server.events_signing_secrets.size(), 1u);
  EXPECT_EQ(s.salesforce.allowed_instance_hosts,
            (std::vector<std::string>{"127.0.0.1", "*.sf-proxy.example.com"}));
}

// --- accepted values ---------------------------------------------------------------------

TEST_F(config_test, design_md_examples_load_together) {
  // design.md "Contracts others rely on", both examples as printed; the placeholder "…"
  // of client_ca_file is replaced by a real file, since the file must exist.
  const auto first = json::parse(R"({
  "server": {
    "listen": "0.0.0.0:8443",
    "tls": { "certificate": "../certs/server.crt", "private_key": "../certs/server.key" },
    "outbound_message_path": "/salesforce/outbound",
    "events_path": "/salesforce/events"
  },
  "admin": { "listen": "127.0.0.1:8444", "token": "env:CONNECTOR_ADMIN_TOKEN" },
  "store": { "sqlite_path": "../var/connector.db" },
  "salesforce": {
    "organization_ids": ["00D5g000004XyZaEAK"],
    "login_url": "https://login.salesforce.com",
    "client_id": "3MVG9...", "username": "integration@example.com",
    "private_key": "file:../certs/salesforce-jwt.key",
    "tls_ca_file": null
  },
  "ispring": {
    "api_url": "https://api-learn.ispringlearn.com",
    "client_id": "…", "client_secret": "env:ISPRING_CLIENT_SECRET",
    "tls_ca_file": null
  },
  "mapping": {
    "login": "Username", "email": "Email", "last_name": "LastName",
    "department": "Department", "groups": "iSpring_Groups__c",
    "fields": { "first_name": "FirstName", "job_title": "Title" }
  }
})");
  const auto second = json::parse(R"({
  "sync": {
    "departments": {
      "Sales":   { "sync_all_users": true, "ispring_name": "Sales EMEA" },
      "Support": { "users": ["jane@acme.com.prod", "0055g00000AbCdEAAZ"] },
      "*":       { "sync_all_users": true }
    },
    "groups": ["Onboarding", "Compliance"],
    "parent_department": "Salesforce",
    "inactive_users": "deactivate",
    "out_of_scope_users": "deactivate",
    "delete_empty_departments": true,
    "max_deactivations": "10%"
  },
  "schedule": {
    "run_type": "interval",
    "run_interval_minutes": 60,
    "start_work_time": "07:00", "stop_work_time": "21:00", "time_zone": "Europe/Berlin",
    "check_sync_status_after_seconds": 60,
    "check_sync_status_duration_minutes": 30,
    "interval_after_expire_duration_minutes": 15
  },
  "server": {
    "events_signing_secrets": ["env:EVENTS_SECRET"],
    "tls": { "client_ca_file": "../certs/ca.crt", "client_subjects": ["CN=…"] }
  }
})");
  scoped_env admin("CONNECTOR_ADMIN_TOKEN", admin_token);
  scoped_env ispring("ISPRING_CLIENT_SECRET", "ispring-client-secret");
  scoped_env events("EVENTS_SECRET", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
  auto document = first;
  document.merge_patch(second);

  const auto s = load_ok(document);
  EXPECT_EQ(s.server.listen.host, "0.0.0.0");
  EXPECT_EQ(s.server.tls.client_ca_file, at("certs/ca.crt"));
  EXPECT_EQ(s.server.tls.client_subjects, std::vector<std::string>{"CN=…"});
  EXPECT_EQ(s.server.events_signing_secrets.at(0).reveal(),
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
  EXPECT_EQ(s.admin.token.reveal(), admin_token);
  EXPECT_EQ(s.salesforce.username, "integration@example.com");
  EXPECT_TRUE(s.salesforce.private_key);
  EXPECT_FALSE(s.salesforce.tls_ca_file);
  ASSERT_TRUE(s.ispring);
  EXPECT_EQ(s.ispring->auth, "client_credentials");
  EXPECT_EQ(s.ispring->client_secret.reveal(), "ispring-client-secret");
  EXPECT_EQ(s.mapping.fields, (std::map<std::string, std::string>{{"first_name", "FirstName"},
                                                                  {"job_title", "Title"}}));

  ASSERT_EQ(s.sync.departments.size(), 3u);
  EXPECT_TRUE(s.sync.departments.at("Sales").sync_all_users);
  EXPECT_EQ(s.sync.departments.at("Sales").ispring_name, "Sales EMEA");
  EXPECT_FALSE(s.sync.departments.at("Support").sync_all_users)
      << "listing users means only those users";
  EXPECT_EQ(s.sync.departments.at("Support").users,
            (std::vector<std::string>{"jane@acme.com.prod", "0055g00000AbCdEAAZ"}));
  EXPECT_TRUE(s.sync.departments.at("*").sync_all_users);
  EXPECT_EQ(s.sync.groups, (std::vector<std::string>{"Onboarding", "Compliance"}));
  EXPECT_EQ(s.sync.parent_department, "Salesforce");
  EXPECT_EQ(s.sync.max_deactivations, "10%");

  EXPECT_EQ(s.schedule.run_type, "interval");
  EXPECT_EQ(s.schedule.start_work_time, "07:00");
  EXPECT_EQ(s.schedule.stop_work_time, "21:00");
  EXPECT_EQ(s.schedule.time_zone, "Europe/Berlin");
  EXPECT_EQ(s.schedule.interval_after_expire_duration_minutes, 15);
}

TEST_F(config_test, every_documented_extra_key_is_accepted) {
  auto document = minimal_config();
  document.merge_patch(json::parse(R"({
    "server": {
      "listen": "[::]:9443",
      "secret_path_segment": "k5Jd8sPq2LwX9vBn",
      "allowed_ips": ["203.0.113.0/24", "2001:db8::/32", "198.51.100.7"],
      "body_limit_bytes": 1048576, "header_limit_bytes": 8192,
      "handshake_timeout_ms": 5000, "read_timeout_ms": 10000, "idle_timeout_ms": 20000,
      "max_connections": 64, "threads": 2
    },
    "admin": { "listen": "[::1]:9444", "tls": false, "allow_unauthenticated_metrics": true },
    "store": { "history_retention_days": 90 },
    "salesforce": {
      "source_object": "Contact", "client_id": "3MVG9", "client_secret": "s",
      "api_version": "62.0", "query_filter": "", "login_url": "https://test.salesforce.com/",
      "query_batch_size": 500,
      "platform_events": { "names": ["Employee_Changed__e"], "record_id_field": "User_Id__c",
                           "fields": { "Email__c": "Email", "Title__c": "Title" } }
    },
    "ispring": {
      "api_url": "http://127.0.0.1:9081", "auth": "password",
      "account_url": "https://acme.ispringlearn.com", "login": "admin@acme.com",
      "password": "p", "max_concurrency": 8, "connect_timeout_ms": 1000,
      "request_timeout_ms": 2000, "tls_ca_file": "../certs/ca.crt",
      "group_additions": "user_update"
    },
    "sync": { "max_attempts": 3, "retry_base_ms": 10, "retry_max_ms": 100, "groups": "all",
              "inactive_users": "delete", "out_of_scope_users": "ignore",
              "max_deactivations": 25 },
    "schedule": { "run_type": "daily", "start_work_time": "02:30" },
    "alerts": {
      "email_to": ["ops@example.com"], "min_interval_minutes": 5,
      "pending_age_threshold_minutes": 10,
      "smtp": { "host": "127.0.0.1", "port": 2525, "security": "none",
                "from": "connector@example.com", "tls_ca_file": "../certs/ca.crt" }
    },
    "logging": { "level": "debug", "format": "text" }
  })"));
  const auto s = load_ok(document);
  EXPECT_EQ(s.server.listen.host, "::");
  EXPECT_EQ(s.server.listen.port, 9443);
  EXPECT_EQ(s.server.secret_path_segment->reveal(), "k5Jd8sPq2LwX9vBn");
  EXPECT_EQ(s.server.allowed_ips,
            (std::vector<std::string>{"203.0.113.0/24", "2001:db8::/32", "198.51.100.7"}));
  EXPECT_EQ(s.server.header_limit_bytes, 8192u);
  EXPECT_EQ(s.server.idle_timeout_ms, 20000);
  EXPECT_EQ(s.server.max_connections, 64u);
  EXPECT_EQ(s.server.threads, 2);
  EXPECT_FALSE(s.admin.tls);
  EXPECT_TRUE(s.admin.allow_unauthenticated_metrics);
  EXPECT_EQ(s.store.history_retention_days, 90);
  EXPECT_EQ(s.salesforce.source_object, "Contact");
  EXPECT_EQ(s.salesforce.query_filter, "") << "an empty filter means no filter";
  EXPECT_EQ(s.salesforce.login_url, "https://test.salesforce.com") << "without the trailing /";
  EXPECT_EQ(s.salesforce.query_batch_size, 500);
  ASSERT_TRUE(s.salesforce.platform_events);
  EXPECT_EQ(s.salesforce.platform_events->names, (std::vector<std::string>{"Employee_Changed__e"}));
  EXPECT_EQ(s.salesforce.platform_events->record_id_field, "User_Id__c");
  EXPECT_EQ(s.salesforce.platform_events->fields,
            (std::map<std::string, std::string>{{"Email__c", "Email"}, {"Title__c", "Title"}}));
  EXPECT_EQ(s.ispring->auth, "password");
  EXPECT_EQ(s.ispring->api_url, "http://127.0.0.1:9081") << "plain http on loopback is fine";
  EXPECT_EQ(s.ispring->tls_ca_file, at("certs/ca.crt"));
  EXPECT_EQ(s.ispring->max_concurrency, 8);
  EXPECT_EQ(s.ispring->group_additions, "user_update");
  EXPECT_EQ(s.sync.retry_max_ms, 100);
  EXPECT_FALSE(s.sync.groups) << "\"all\"";
  EXPECT_EQ(s.sync.inactive_users, user_action::remove);
  EXPECT_EQ(s.sync.out_of_scope_users, user_action::ignore);
  EXPECT_EQ(s.sync.max_deactivations, "25") << "a JSON number is a count";
  EXPECT_EQ(s.schedule.run_type, "daily");
  EXPECT_FALSE(s.schedule.stop_work_time) << "a daily run needs only its start time";
  EXPECT_EQ(s.alerts->smtp.port, 2525);
  EXPECT_EQ(s.alerts->smtp.tls_ca_file, at("certs/ca.crt"));
  EXPECT_EQ(s.alerts->pending_age_threshold_minutes, 10);
  EXPECT_EQ(s.logging.format, "text");
}

TEST_F(config_test, a_given_fields_map_replaces_the_default_one) {
  auto document = minimal_config();
  document["mapping"] = {
      {"fields", {{"job_title", "Title"}, {"USER_DEFINED_FIELD1", "Manager.Email"}}}};
  EXPECT_EQ(load_ok(document).mapping.fields,
            (std::map<std::string, std::string>{{"USER_DEFINED_FIELD1", "Manager.Email"},
                                                {"job_title", "Title"}}));
}

TEST_F(config_test, smtp_from_defaults_to_an_address_username) {
  auto document = minimal_config();
  document["alerts"] = {
      {"email_to", {"ops@example.com"}},
      {"smtp",
       {{"host", "smtp.example.com"}, {"username", "alerts@example.com"}, {"password", "pw"}}}};
  const auto s = load_ok(document);
  EXPECT_EQ(s.alerts->smtp.from, "alerts@example.com");
  EXPECT_EQ(s.alerts->smtp.security, "starttls");
  EXPECT_EQ(s.alerts->smtp.port, 587);
}

TEST_F(config_test, alert_intervals_default_to_an_hour_and_take_seconds_for_tests) {
  auto document = minimal_config();
  document["alerts"] = {{"email_to", {"ops@example.com"}},
                        {"smtp", {{"host", "smtp.example.com"}, {"from", "c@example.com"}}}};
  const auto defaults = load_ok(document);
  EXPECT_EQ(defaults.alerts->min_interval_minutes, 60);
  EXPECT_FALSE(defaults.alerts->min_interval_seconds);
  EXPECT_EQ(defaults.alerts->check_interval_seconds, 30);
  document["alerts"]["min_interval_seconds"] = 5;
  document["alerts"]["check_interval_seconds"] = 1;
  const auto fast = load_ok(document);
  EXPECT_EQ(fast.alerts->min_interval_seconds, 5);
  EXPECT_EQ(fast.alerts->check_interval_seconds, 1);
}

TEST_F(config_test, max_deactivations_takes_a_count_or_a_share) {
  for (const auto& [given, stored] : std::vector<std::pair<json, std::string>>{
           {json("25"), "25"}, {json(25), "25"}, {json("0"), "0"}, {json("100%"), "100%"}}) {
    auto document = minimal_config();
    document["sync"] = {{"max_deactivations", given}};
    EXPECT_EQ(load_ok(document).sync.max_deactivations, stored) << given.dump();
  }
}

TEST_F(config_test, verify_notifications_follows_the_rest_credentials_unless_given) {
  // No REST credentials: off, and asking for it stops start-up naming the key.
  auto document = minimal_config();
  EXPECT_FALSE(load_ok(document).sync.verify_notifications);
  EXPECT_FALSE(verifies_notifications(load_ok(document)));
  document["sync"] = {{"verify_notifications", true}};
  const auto refused = load_error(document);
  EXPECT_EQ(refused.key, "sync.verify_notifications");
  EXPECT_NE(refused.message.find("salesforce.client_id"), std::string::npos) << refused.message;
  document["sync"] = {{"verify_notifications", false}};
  EXPECT_FALSE(verifies_notifications(load_ok(document)));

  // With credentials (either flow): on by default, off only when said.
  for (const auto& credentials : {json{{"client_secret", "consumer-secret"}},
                                  json{{"username", "integration@example.com"},
                                       {"private_key", "file:../certs/salesforce-jwt.key"}}}) {
    auto configured = minimal_config();
    configured["salesforce"]["client_id"] = "consumer-key";
    configured["salesforce"].update(credentials);
    EXPECT_TRUE(verifies_notifications(load_ok(configured))) << credentials.dump();
    configured["sync"] = {{"verify_notifications", true}};
    EXPECT_TRUE(verifies_notifications(load_ok(configured))) << credentials.dump();
    configured["sync"] = {{"verify_notifications", false}};
    EXPECT_FALSE(verifies_notifications(load_ok(configured))) << credentials.dump();
    configured["sync"] = {{"verify_notifications", "yes"}};
    EXPECT_EQ(load_error(configured).key, "sync.verify_notifications");
  }
}

TEST_F(config_test, max_deactivations_per_hour_takes_a_count_a_share_or_off) {
  for (const auto& [given, stored] : std::vector<std::pair<json, std::optional<std::string>>>{
           {json("50"), "50"},
           {json(50), "50"},
           {json("0"), "0"},
           {json("5%"), "5%"},
           {json("off"), std::nullopt},
           {json(nullptr), "20"}}) {  // null is absent: the default
    auto document = minimal_config();
    document["sync"] = {{"max_deactivations_per_hour", given}};
    EXPECT_EQ(load_ok(document).sync.max_deactivations_per_hour, stored) << given.dump();
  }
}

// --- refusals: every one names its key ----------------------------------------------------

struct bad_config {
  std::string name;  // the test's name
  std::function<void(json&)> change;
  std::string key;
  std::string fragment;  // part of the message
};

std::ostream& operator<<(std::ostream& out, const bad_config& c) {
  return out << c.name;
}

std::function<void(json&)> set(const std::string& pointer, json value) {
  return [pointer, value](json& document) { document[json::json_pointer(pointer)] = value; };
}

std::function<void(json&)> erase(const std::string& parent, const std::string& name) {
  return [parent, name](json& document) {
    auto& object = parent.empty() ? document : document[json::json_pointer(parent)];
    object.erase(name);
  };
}

std::function<void(json&)> both(std::function<void(json&)> a, std::function<void(json&)> b) {
  return [a, b](json& document) {
    a(document);
    b(document);
  };
}

const json smtp_alerts = {{"email_to", {"ops@example.com"}},
                          {"smtp", {{"host", "smtp.example.com"}, {"from", "c@example.com"}}}};
const json jwt_flow = {{"client_id", "3MVG9"}, {"username", "u@example.com"}};

class bad_config_test : public config_test, public ::testing::WithParamInterface<bad_config> {};

TEST_F(config_test, custom_departments_and_choosing_by_group_are_read) {
  auto document = minimal_config();
  document["mapping"] = {{"groups", "Groups__c"}};
  document["sync"] = {
      {"select_by", "group"},
      {"groups", {"Sales Team"}},
      {"departments",
       {{"Sales", {{"ispring_name", "Sales EMEA"}}},
        {"Onboarding",
         {{"custom", true}, {"ispring_name", "New hires"}, {"users", {"jane@acme.com"}}}}}}};
  const auto s = load_ok(document);
  EXPECT_EQ(s.sync.select_by, "group");
  const auto& onboarding = s.sync.departments.at("Onboarding");
  EXPECT_TRUE(onboarding.custom);
  EXPECT_FALSE(onboarding.sync_all_users) << "a custom department holds exactly its users";
  EXPECT_EQ(onboarding.users, std::vector<std::string>{"jane@acme.com"});
  EXPECT_EQ(onboarding.ispring_name, "New hires");
  EXPECT_FALSE(s.sync.departments.at("Sales").custom);
  // The default stays today's rules.
  EXPECT_EQ(load_ok(minimal_config()).sync.select_by, "department");
}

TEST_P(bad_config_test, is_refused_naming_the_key) {
  const auto& c = GetParam();
  auto document = minimal_config();
  c.change(document);
  const auto error = load_error(document);
  EXPECT_EQ(error.key, c.key) << error.to_string();
  EXPECT_NE(error.message.find(c.fragment), std::string::npos) << error.to_string();
  EXPECT_EQ(error.to_string(), error.key + ": " + error.message);
}

INSTANTIATE_TEST_SUITE_P(
    config, bad_config_test,
    ::testing::ValuesIn(std::vector<bad_config>{
        // structure
        {"unknown_top_level_key", set("/salesfroce", json::object()), "salesfroce",
         "unknown key; did you mean \"salesforce\"?"},
        {"section_of_wrong_type", set("/server", "0.0.0.0:8443"), "server",
         "expected an object, got a string"},
        // server
        {"listen_without_port", set("/server/listen", "8443"), "server.listen",
         "expected \"host:port\", got \"8443\" (missing port)"},
        {"listen_not_a_string", set("/server/listen", 8443), "server.listen",
         "expected a string \"host:port\", got a number"},
        {"listen_port_out_of_range", set("/server/listen", "0.0.0.0:70000"), "server.listen",
         "0 to 65535"},
        {"listen_ipv6_without_brackets", set("/server/listen", "::1:8443"), "server.listen",
         "in brackets"},
        {"no_server_section", erase("", "server"), "server.tls.certificate", "required"},
        {"no_certificate", erase("/server/tls", "certificate"), "server.tls.certificate",
         "required"},
        {"empty_certificate", set("/server/tls/certificate", ""), "server.tls.certificate",
         "must not be empty"},
        {"missing_certificate_file", set("/server/tls/certificate", "../certs/none.crt"),
         "server.tls.certificate", "certs/none.crt: No such file or directory"},
        {"private_key_is_a_directory", set("/server/tls/private_key", "../certs"),
         "server.tls.private_key", "not a regular file"},
        {"missing_client_ca_file", set("/server/tls/client_ca_file", "../certs/none.crt"),
         "server.tls.client_ca_file", "No such file"},
        {"client_subjects_without_mutual_tls", set("/server/tls/client_subjects", {"CN=x"}),
         "server.tls.client_subjects", "needs server.tls.client_ca_file"},
        {"route_without_slash", set("/server/outbound_message_path", "salesforce"),
         "server.outbound_message_path", "starting with '/'"},
        {"route_with_query", set("/server/events_path", "/events?x=1"), "server.events_path",
         "'?'"},
        {"same_route_twice", set("/server/events_path", "/salesforce/outbound"),
         "server.events_path", "must differ"},
        {"signing_secrets_not_an_array", set("/server/events_signing_secrets", "whsec_AAAA"),
         "server.events_signing_secrets", "expected an array"},
        {"signing_secret_not_standard_webhooks",
         set("/server/events_signing_secrets", {"whsec_" + std::string(32, 'A'), "plain"}),
         "server.events_signing_secrets[1]", "\"whsec_\" followed by base64"},
        // 31 base64 characters decode to 23 bytes: one short of the minimum.
        {"signing_secret_too_short",
         set("/server/events_signing_secrets", {"whsec_" + std::string(31, 'A') + "="}),
         "server.events_signing_secrets[0]", "at least 24 bytes"},
        {"signing_secret_of_sixteen_bytes",
         set("/server/events_signing_secrets", {"whsec_c2Vjb25kLXNlY3JldA=="}),
         "server.events_signing_secrets[0]", "too short"},
        {"client_ca_without_subjects", set("/server/tls/client_ca_file", "../certs/ca.crt"),
         "server.tls.client_subjects", "required with server.tls.client_ca_file"},
        {"no_connections_per_address", set("/server/max_connections_per_address", 0),
         "server.max_connections_per_address", "must be at least 1, got 0"},
        {"unlocked_intake_not_a_boolean", set("/server/allow_unlocked_intake", "yes"),
         "server.allow_unlocked_intake", "expected true or false"},
        {"instance_host_with_a_path",
         set("/salesforce/allowed_instance_hosts", {"localhost", "evil.example/path"}),
         "salesforce.allowed_instance_hosts[1]", "expected a host name"},
        {"instance_host_bare_wildcard", set("/salesforce/allowed_instance_hosts", {"*."}),
         "salesforce.allowed_instance_hosts[0]", "\"*.domain\""},
        {"short_secret_path_segment", set("/server/secret_path_segment", "short"),
         "server.secret_path_segment", "at least 16 characters"},
        {"allowed_ip_prefix_too_long", set("/server/allowed_ips", {"10.0.0.0/8", "10.0.0.0/33"}),
         "server.allowed_ips[1]", "got \"10.0.0.0/33\""},
        {"allowed_ip_is_a_name", set("/server/allowed_ips", {"example.com"}),
         "server.allowed_ips[0]", "CIDR"},
        {"zero_body_limit", set("/server/body_limit_bytes", 0), "server.body_limit_bytes",
         "must be at least 1, got 0"},
        {"negative_timeout", set("/server/read_timeout_ms", -5), "server.read_timeout_ms",
         "must be at least 1, got -5"},
        {"fractional_timeout", set("/server/idle_timeout_ms", 1.5), "server.idle_timeout_ms",
         "expected a whole number"},
        {"threads_as_string", set("/server/threads", "4"), "server.threads",
         "expected a whole number, got a string"},
        // admin
        {"no_admin_section", erase("", "admin"), "admin.token", "required"},
        {"no_admin_token", erase("/admin", "token"), "admin.token", "required"},
        {"weak_admin_token", set("/admin/token", "hunter2"), "admin.token",
         "at least 16 printable characters"},
        {"admin_tls_off_on_public_address",
         both(set("/admin/listen", "0.0.0.0:8444"), set("/admin/tls", false)), "admin.tls",
         "loopback"},
        {"admin_tls_as_string", set("/admin/tls", "false"), "admin.tls",
         "expected true or false, got a string"},
        {"open_metrics_on_public_address",
         both(set("/admin/listen", "10.0.0.5:8444"),
              set("/admin/allow_unauthenticated_metrics", true)),
         "admin.allow_unauthenticated_metrics", "loopback"},
        {"admin_port_clashes_with_server", set("/admin/listen", "127.0.0.1:8443"), "admin.listen",
         "same port as server.listen"},
        // store
        {"no_store_section", erase("", "store"), "store.sqlite_path", "required"},
        {"empty_sqlite_path", set("/store/sqlite_path", ""), "store.sqlite_path",
         "must not be empty"},
        {"two_store_engines", set("/store/postgresql_url", "postgresql://c:pw@db/connector"),
         "store.postgresql_url", "only one of"},
        {"postgresql_url_of_another_scheme",
         both(erase("/store", "sqlite_path"), set("/store/postgresql_url", "mysql://c:pw@db/c")),
         "store.postgresql_url", "postgresql://"},
        {"postgresql_url_without_database",
         both(erase("/store", "sqlite_path"), set("/store/postgresql_url", "postgresql://c:pw@db")),
         "store.postgresql_url", "no database"},
        {"postgresql_url_as_number",
         both(erase("/store", "sqlite_path"), set("/store/postgresql_url", 5432)),
         "store.postgresql_url", ""},
        {"zero_retention", set("/store/history_retention_days", 0), "store.history_retention_days",
         "from 1 to 36500"},
        // salesforce
        {"no_salesforce_section", erase("", "salesforce"), "salesforce.organization_ids",
         "required"},
        {"no_organization", set("/salesforce/organization_ids", json::array()),
         "salesforce.organization_ids", "at least one"},
        {"organization_id_as_string", set("/salesforce/organization_ids", "00D5g000004XyZaEAK"),
         "salesforce.organization_ids", "expected an array of strings"},
        {"organization_id_too_short", set("/salesforce/organization_ids", {"00D5g000004XyZ"}),
         "salesforce.organization_ids[0]", "15- or 18-character"},
        {"organization_id_not_alphanumeric",
         set("/salesforce/organization_ids", {"00D5g000004XyZ-EAK"}),
         "salesforce.organization_ids[0]", "got \"00D5g000004XyZ-EAK\""},
        {"unknown_source_object", set("/salesforce/source_object", "Account"),
         "salesforce.source_object", "expected one of \"User\", \"Contact\", got \"Account\""},
        {"login_url_without_tls", set("/salesforce/login_url", "http://login.salesforce.com"),
         "salesforce.login_url", "plain http is allowed only for a loopback host"},
        {"login_url_with_credentials",
         set("/salesforce/login_url", "https://user:pw@login.salesforce.com"),
         "salesforce.login_url", "credentials"},
        {"bad_api_version", set("/salesforce/api_version", "v61"), "salesforce.api_version",
         "such as \"61.0\""},
        {"query_batch_size_below_salesforces_minimum", set("/salesforce/query_batch_size", 100),
         "salesforce.query_batch_size", "from 200 to 2000"},
        {"platform_events_without_record_id_field",
         set("/salesforce/platform_events", {{"fields", {{"Email__c", "Email"}}}}),
         "salesforce.platform_events.record_id_field", "required"},
        {"platform_events_without_fields",
         set("/salesforce/platform_events", {{"record_id_field", "UserId__c"}}),
         "salesforce.platform_events.fields", "required"},
        {"platform_events_with_empty_fields",
         set("/salesforce/platform_events",
             {{"record_id_field", "UserId__c"}, {"fields", json::object()}}),
         "salesforce.platform_events.fields", "non-empty object"},
        {"platform_event_name_without_suffix",
         set("/salesforce/platform_events", {{"names", {"Employee_Changed__c"}},
                                             {"record_id_field", "UserId__c"},
                                             {"fields", {{"Email__c", "Email"}}}}),
         "salesforce.platform_events.names[0]", "ending in \"__e\""},
        {"platform_event_field_not_an_api_name",
         set("/salesforce/platform_events",
             {{"record_id_field", "UserId__c"}, {"fields", {{"Email__c", "E-mail"}}}}),
         "salesforce.platform_events.fields.Email__c", "Salesforce field API name"},
        {"platform_event_maps_its_record_id_field",
         set("/salesforce/platform_events",
             {{"record_id_field", "UserId__c"}, {"fields", {{"UserId__c", "Id"}}}}),
         "salesforce.platform_events.fields.UserId__c", "is the record id field"},
        {"platform_events_unknown_key",
         set("/salesforce/platform_events", {{"record_id_field", "UserId__c"},
                                             {"fields", {{"Email__c", "Email"}}},
                                             {"name", "X__e"}}),
         "salesforce.platform_events.name", "unknown key"},
        {"private_key_not_pem",
         both(set("/salesforce/client_id", "3MVG9"),
              both(set("/salesforce/username", "u@example.com"),
                   set("/salesforce/private_key", "../certs/salesforce-jwt.key"))),
         "salesforce.private_key", "expected a PEM private key (use \"file:PATH\""},
        {"jwt_key_without_username",
         both(set("/salesforce/client_id", "3MVG9"),
              set("/salesforce/private_key", "file:../certs/salesforce-jwt.key")),
         "salesforce.username", "required with salesforce.private_key"},
        {"client_id_and_username_without_credentials",
         [](json& d) { d["salesforce"].update(jwt_flow); }, "salesforce.private_key",
         "needs salesforce.private_key (JWT bearer flow) or salesforce.client_secret"},
        {"client_id_alone", set("/salesforce/client_id", "3MVG9"), "salesforce.private_key",
         "or salesforce.client_secret"},
        {"client_secret_without_client_id", set("/salesforce/client_secret", "s"),
         "salesforce.client_id", "required"},
        {"missing_salesforce_ca", set("/salesforce/tls_ca_file", "none.pem"),
         "salesforce.tls_ca_file", "No such file"},
        // ispring
        {"unknown_ispring_auth", set("/ispring", {{"auth", "oauth"}}), "ispring.auth",
         "expected one of \"client_credentials\", \"password\""},
        {"unknown_group_additions",
         set("/ispring", {{"client_id", "id"}, {"client_secret", "s"}, {"group_additions", "add"}}),
         "ispring.group_additions", "expected one of \"replace\", \"user_update\""},
        {"client_credentials_without_secret", set("/ispring", {{"client_id", "id"}}),
         "ispring.client_secret", "required when ispring.auth is \"client_credentials\""},
        {"client_credentials_without_id", set("/ispring", {{"client_secret", "s"}}),
         "ispring.client_id", "required when ispring.auth is \"client_credentials\""},
        {"password_auth_without_account_url",
         set("/ispring", {{"auth", "password"}, {"login", "a@b.c"}, {"password", "p"}}),
         "ispring.account_url", "required when ispring.auth is \"password\""},
        {"password_auth_without_password",
         set("/ispring", {{"auth", "password"},
                          {"login", "a@b.c"},
                          {"account_url", "https://acme.ispringlearn.com"}}),
         "ispring.password", "required"},
        {"ispring_concurrency_zero",
         set("/ispring", {{"client_id", "id"}, {"client_secret", "s"}, {"max_concurrency", 0}}),
         "ispring.max_concurrency", "from 1 to 64"},
        {"ispring_url_without_scheme", set("/ispring", {{"api_url", "api-learn.ispringlearn.com"}}),
         "ispring.api_url", "absolute URL"},
        // mapping
        {"empty_mapped_field", set("/mapping", {{"email", ""}}), "mapping.email",
         "must not be empty"},
        {"mapped_field_not_a_string", set("/mapping", {{"email", 5}}), "mapping.email",
         "expected a string"},
        {"mapped_field_not_an_api_name", set("/mapping", {{"login", "User name"}}), "mapping.login",
         "Salesforce field API name"},
        {"empty_extra_field", set("/mapping", {{"fields", {{"job_title", ""}}}}),
         "mapping.fields.job_title", "must not be empty"},
        {"extra_field_shadows_a_mandatory_one", set("/mapping", {{"fields", {{"email", "Email"}}}}),
         "mapping.fields.email", "mapped by mapping.email"},
        {"fields_not_an_object", set("/mapping", {{"fields", {"FirstName"}}}), "mapping.fields",
         "expected an object"},
        {"mapping_typo", set("/mapping", {{"last_nam", "LastName"}}), "mapping.last_nam",
         "did you mean \"last_name\"?"},
        // sync
        {"empty_department_name", set("/sync", {{"departments", {{"", json::object()}}}}),
         "sync.departments[\"\"]", "must not be empty"},
        {"department_flag_as_string",
         set("/sync", {{"departments", {{"Sales", {{"sync_all_users", "yes"}}}}}}),
         "sync.departments.Sales.sync_all_users", "expected true or false"},
        {"department_unknown_key", set("/sync", {{"departments", {{"R&D", {{"ispring", "x"}}}}}}),
         "sync.departments[\"R&D\"].ispring", "unknown key"},
        {"department_users_ignored_by_sync_all",
         set("/sync", {{"departments", {{"Sales", {{"sync_all_users", true}, {"users", {"a"}}}}}}}),
         "sync.departments.Sales.users", "no effect"},
        {"wildcard_department_renamed",
         set("/sync", {{"departments", {{"*", {{"ispring_name", "Everyone"}}}}}}),
         "sync.departments.*.ispring_name", "not allowed"},
        {"two_departments_one_ispring_name",
         set("/sync", {{"departments",
                        {{"Sales", {{"ispring_name", "Support"}}}, {"Support", json::object()}}}}),
         "sync.departments.Support", "also the target of sync.departments.Sales"},
        {"groups_neither_all_nor_list", set("/sync", {{"groups", "some"}}), "sync.groups",
         "expected \"all\" or an array of group names"},
        {"empty_group_name", set("/sync", {{"groups", {"Onboarding", ""}}}), "sync.groups[1]",
         "must not be empty"},
        // sync: custom departments ("Add New Department")
        {"custom_without_users",
         set("/sync", {{"departments", {{"Onboarding", {{"custom", true}}}}}}),
         "sync.departments.Onboarding.users", "a custom department needs at least one user"},
        {"custom_with_empty_users",
         set("/sync",
             {{"departments", {{"Onboarding", {{"custom", true}, {"users", json::array()}}}}}}),
         "sync.departments.Onboarding.users", "a custom department needs at least one user"},
        {"custom_with_sync_all_users",
         set("/sync", {{"departments",
                        {{"Onboarding",
                          {{"custom", true}, {"sync_all_users", true}, {"users", {"a@b.c"}}}}}}}),
         "sync.departments.Onboarding.sync_all_users", "not allowed on a custom department"},
        {"custom_with_sync_all_users_false",
         set("/sync", {{"departments",
                        {{"Onboarding",
                          {{"custom", true}, {"sync_all_users", false}, {"users", {"a@b.c"}}}}}}}),
         "sync.departments.Onboarding.sync_all_users", "not allowed on a custom department"},
        {"custom_wildcard",
         set("/sync", {{"departments", {{"*", {{"custom", true}, {"users", {"a@b.c"}}}}}}}),
         "sync.departments.*.custom", "not allowed for \"*\""},
        {"custom_not_a_boolean",
         set("/sync",
             {{"departments", {{"Onboarding", {{"custom", "yes"}, {"users", {"a@b.c"}}}}}}}),
         "sync.departments.Onboarding.custom", "expected true or false"},
        {"user_in_two_custom_departments",
         set("/sync", {{"departments",
                        {{"Mentors", {{"custom", true}, {"users", {"kim@acme.com", "a@b.c"}}}},
                         {"Onboarding", {{"custom", true}, {"users", {"x@acme.com", "A@B.c"}}}}}}}),
         "sync.departments.Onboarding.users[1]",
         "a user can be added to one department only: \"A@B.c\" is also listed in "
         "sync.departments.Mentors.users"},
        {"record_id_in_two_custom_departments",
         set("/sync", {{"departments",
                        {{"Mentors", {{"custom", true}, {"users", {"0055g00000AbCdE"}}}},
                         {"Onboarding", {{"custom", true}, {"users", {"0055g00000AbCdEAAZ"}}}}}}}),
         "sync.departments.Onboarding.users[0]", "a user can be added to one department only"},
        {"custom_takes_another_departments_ispring_name",
         set("/sync", {{"departments",
                        {{"Sales", json::object()},
                         {"Onboarding",
                          {{"custom", true}, {"ispring_name", "Sales"}, {"users", {"a@b.c"}}}}}}}),
         "sync.departments.Sales", "also the target of sync.departments.Onboarding"},
        // sync: choosing users by group
        {"unknown_select_by", set("/sync", {{"select_by", "role"}}), "sync.select_by",
         "expected one of \"department\", \"group\""},
        {"select_by_group_with_all_groups",
         both(set("/mapping/groups", "Groups__c"), set("/sync", {{"select_by", "group"}})),
         "sync.groups", "must list the groups that choose users when sync.select_by is \"group\""},
        {"select_by_group_with_no_groups",
         both(set("/mapping/groups", "Groups__c"),
              set("/sync", {{"select_by", "group"}, {"groups", json::array()}})),
         "sync.groups", "must list the groups"},
        {"select_by_group_without_a_group_field",
         set("/sync", {{"select_by", "group"}, {"groups", {"Sales Team"}}}), "sync.select_by",
         "\"group\" needs mapping.groups"},
        {"select_by_group_with_a_users_list",
         both(set("/mapping/groups", "Groups__c"),
              set("/sync", {{"select_by", "group"},
                            {"groups", {"Sales Team"}},
                            {"departments", {{"Support", {{"users", {"a@b.c"}}}}}}})),
         "sync.departments.Support.users", "has no effect when sync.select_by is \"group\""},
        {"select_by_group_with_sync_all_users_off",
         both(set("/mapping/groups", "Groups__c"),
              set("/sync", {{"select_by", "group"},
                            {"groups", {"Sales Team"}},
                            {"departments", {{"Support", {{"sync_all_users", false}}}}}})),
         "sync.departments.Support.sync_all_users", "has no effect when sync.select_by"},
        {"unknown_inactive_action", set("/sync", {{"inactive_users", "remove"}}),
         "sync.inactive_users", "expected one of \"deactivate\", \"ignore\", \"delete\""},
        {"unknown_out_of_scope_action", set("/sync", {{"out_of_scope_users", "archive"}}),
         "sync.out_of_scope_users", "got \"archive\""},
        {"max_deactivations_in_words", set("/sync", {{"max_deactivations", "ten"}}),
         "sync.max_deactivations", "expected a count"},
        {"max_deactivations_over_100_percent", set("/sync", {{"max_deactivations", "150%"}}),
         "sync.max_deactivations", "0% to 100%"},
        {"max_deactivations_negative", set("/sync", {{"max_deactivations", -3}}),
         "sync.max_deactivations", "got -3"},
        {"max_deactivations_fractional", set("/sync", {{"max_deactivations", 2.5}}),
         "sync.max_deactivations", "got 2.5"},
        {"max_deactivations_with_space", set("/sync", {{"max_deactivations", "10 %"}}),
         "sync.max_deactivations", "got \"10 %\""},
        {"max_deactivations_per_hour_in_words",
         set("/sync", {{"max_deactivations_per_hour", "many"}}), "sync.max_deactivations_per_hour",
         "expected a count (25 or \"25\") or a share (\"10%\") or \"off\", got \"many\""},
        {"max_deactivations_per_hour_over_100_percent",
         set("/sync", {{"max_deactivations_per_hour", "101%"}}), "sync.max_deactivations_per_hour",
         "0% to 100%"},
        {"max_deactivations_per_hour_negative", set("/sync", {{"max_deactivations_per_hour", -1}}),
         "sync.max_deactivations_per_hour", "got -1"},
        {"max_deactivations_per_hour_false", set("/sync", {{"max_deactivations_per_hour", false}}),
         "sync.max_deactivations_per_hour", "got a boolean"},
        {"max_deactivations_off_is_only_for_the_hourly_limit",
         set("/sync", {{"max_deactivations", "off"}}), "sync.max_deactivations", "got \"off\""},
        {"retry_max_below_base", set("/sync", {{"retry_base_ms", 1000}, {"retry_max_ms", 10}}),
         "sync.retry_max_ms", "less than sync.retry_base_ms"},
        // schedule
        {"unknown_run_type", set("/schedule", {{"run_type", "hourly"}}), "schedule.run_type",
         "expected one of \"interval\", \"daily\", \"manual\""},
        {"time_without_leading_zero", set("/schedule", {{"start_work_time", "7:00"}}),
         "schedule.start_work_time", "expected \"HH:MM\""},
        {"hour_24", set("/schedule", {{"start_work_time", "24:00"}, {"stop_work_time", "23:00"}}),
         "schedule.start_work_time", "00:00 to 23:59"},
        {"minute_60", set("/schedule", {{"start_work_time", "07:00"}, {"stop_work_time", "07:60"}}),
         "schedule.stop_work_time", "got \"07:60\""},
        {"unknown_time_zone", set("/schedule", {{"time_zone", "Europe/Berln"}}),
         "schedule.time_zone", "unknown time zone \"Europe/Berln\""},
        {"time_zone_escaping_the_database", set("/schedule", {{"time_zone", "../../etc/passwd"}}),
         "schedule.time_zone", "unknown time zone"},
        {"time_zone_with_nul", set("/schedule", {{"time_zone", std::string("UTC\0x", 5)}}),
         "schedule.time_zone", "unknown time zone"},
        {"zero_run_interval", set("/schedule", {{"run_interval_minutes", 0}}),
         "schedule.run_interval_minutes", "from 1 to 10080"},
        {"negative_status_check", set("/schedule", {{"check_sync_status_after_seconds", -1}}),
         "schedule.check_sync_status_after_seconds", "must be at least 1"},
        {"daily_without_start_time", set("/schedule", {{"run_type", "daily"}}),
         "schedule.start_work_time", "required when run_type is \"daily\""},
        {"stop_without_start", set("/schedule", {{"stop_work_time", "21:00"}}),
         "schedule.start_work_time", "required with schedule.stop_work_time"},
        {"interval_window_without_stop",
         set("/schedule", {{"run_type", "interval"}, {"start_work_time", "07:00"}}),
         "schedule.stop_work_time", "required"},
        {"empty_work_window",
         set("/schedule", {{"start_work_time", "07:00"}, {"stop_work_time", "07:00"}}),
         "schedule.stop_work_time", "empty work window"},
        // alerts
        {"alerts_without_recipients",
         both(set("/alerts", smtp_alerts), set("/alerts/email_to", json::array())),
         "alerts.email_to", "at least one address"},
        {"alert_recipient_not_an_address",
         both(set("/alerts", smtp_alerts), set("/alerts/email_to", {"ops@example.com", "ops"})),
         "alerts.email_to[1]", "expected an e-mail address"},
        {"alerts_without_smtp", set("/alerts", {{"email_to", {"ops@example.com"}}}),
         "alerts.smtp.host", "required"},
        {"smtp_port_out_of_range",
         both(set("/alerts", smtp_alerts), set("/alerts/smtp/port", 70000)), "alerts.smtp.port",
         "from 1 to 65535"},
        {"smtp_in_clear_text_over_the_network",
         both(set("/alerts", smtp_alerts), set("/alerts/smtp/security", "none")),
         "alerts.smtp.security", "only for a loopback host"},
        {"unknown_smtp_security",
         both(set("/alerts", smtp_alerts), set("/alerts/smtp/security", "ssl")),
         "alerts.smtp.security", "expected one of \"starttls\", \"tls\", \"none\""},
        {"smtp_username_without_password",
         both(set("/alerts", smtp_alerts), set("/alerts/smtp/username", "alerts")),
         "alerts.smtp.password", "required with alerts.smtp.username"},
        {"smtp_without_sender", both(set("/alerts", smtp_alerts), erase("/alerts/smtp", "from")),
         "alerts.smtp.from", "required"},
        {"alert_interval_in_minutes_and_seconds",
         both(set("/alerts", smtp_alerts), both(set("/alerts/min_interval_minutes", 5),
                                                set("/alerts/min_interval_seconds", 30))),
         "alerts.min_interval_seconds", "either this or min_interval_minutes"},
        {"alert_interval_of_zero_seconds",
         both(set("/alerts", smtp_alerts), set("/alerts/min_interval_seconds", 0)),
         "alerts.min_interval_seconds", "at least 1"},
        {"alert_checks_never",
         both(set("/alerts", smtp_alerts), set("/alerts/check_interval_seconds", 0)),
         "alerts.check_interval_seconds", "from 1 to 3600"},
        {"smtp_password_from_an_unset_variable",
         both(set("/alerts", smtp_alerts),
              both(set("/alerts/smtp/username", "alerts"),
                   set("/alerts/smtp/password", "env:CONFIG_TEST_UNSET_SMTP_PASSWORD"))),
         "alerts.smtp.password", "environment variable CONFIG_TEST_UNSET_SMTP_PASSWORD is not set"},
        {"smtp_tls_ca_file_missing",
         both(set("/alerts", smtp_alerts), set("/alerts/smtp/tls_ca_file", "no-such-ca.crt")),
         "alerts.smtp.tls_ca_file", ""},
        {"alerts_unknown_key",
         both(set("/alerts", smtp_alerts), set("/alerts/email_from", "c@example.com")),
         "alerts.email_from", ""},
        // logging
        {"unknown_log_level", set("/logging", {{"level", "verbose"}}), "logging.level",
         "got \"verbose\""},
        {"unknown_log_format", set("/logging", {{"format", "xml"}}), "logging.format",
         "expected one of \"json\", \"text\""},
    }),
    [](const ::testing::TestParamInfo<bad_config>& info) { return info.param.name; });

}  // namespace
}  // namespace connector::config

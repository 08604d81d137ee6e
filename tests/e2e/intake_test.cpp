// End to end: the real binary over real TLS on loopback, a real SQLite file.
#include <gtest/gtest.h>
#include <openssl/ssl.h>

#include <nlohmann/json.hpp>

#include "connector/store/open.hpp"
#include "support/outbound_builder.hpp"
#include "support/service.hpp"

namespace connector::testing {
namespace {

const std::string outbound_path = "/salesforce/outbound";
const std::string ack_marker = "<Ack>true</Ack>";

nlohmann::json status_json(const running_service& service) {
  const auto result =
      run_connector({"status", "--json", "--config", service.config_path().string()});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  return nlohmann::json::parse(result.out);
}

class intake : public ::testing::Test {
 protected:
  temp_dir dir_;
};

TEST_F(intake, health_endpoint_answers_over_tls) {
  running_service service(dir_.path());
  auto client = service.public_client();
  const auto reply = client.get("/healthz");
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(reply.body, "ok\n");
}

TEST_F(intake, acknowledges_a_user_message_only_after_it_is_stored) {
  running_service service(dir_.path());
  auto client = service.public_client();
  const auto body = build_user_message(test_org_id, {sample_user(1, 1)});
  const auto reply = client.post_xml(outbound_path, body);
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_NE(reply.body.find(ack_marker), std::string::npos);
  EXPECT_NE(reply.header("content-type").find("text/xml"), std::string::npos);

  const auto status = status_json(service);
  EXPECT_EQ(status["notifications_received"], 1);
  EXPECT_EQ(status["pending"], 1);
  EXPECT_EQ(status["duplicates_ignored"], 0);
  EXPECT_FALSE(status["last_received_at"].is_null());
  EXPECT_EQ(service.stop(), 0);

  auto inbox = store::open_store({service.db_path().string()});
  EXPECT_TRUE(inbox->has_notification(test_org_id, make_id("04l", 1)));
  const auto record = inbox->find_record(test_org_id, make_id("005", 1));
  ASSERT_TRUE(record.has_value());
  const auto fields = nlohmann::json::parse(record->fields_json);
  EXPECT_EQ(fields["Email"], "user1@acme.example");
  EXPECT_EQ(fields["Department"], "Engineering");
}

TEST_F(intake, a_redelivered_message_is_acked_again_and_stored_once) {
  running_service service(dir_.path());
  auto client = service.public_client();
  const auto body = build_user_message(test_org_id, {sample_user(1, 1), sample_user(2, 2)});
  for (int i = 0; i < 3; ++i) {
    const auto reply = client.post_xml(outbound_path, body);
    ASSERT_EQ(reply.status, 200) << reply.body;
    EXPECT_NE(reply.body.find(ack_marker), std::string::npos);
  }
  const auto status = status_json(service);
  EXPECT_EQ(status["notifications_received"], 2);
  EXPECT_EQ(status["duplicates_ignored"], 4);
  EXPECT_EQ(status["pending"], 2);
}

TEST_F(intake, out_of_order_redelivery_keeps_the_newest_state) {
  running_service service(dir_.path());
  auto client = service.public_client();
  auto newer = sample_user(7, 2, "2026-11-02T09:00:00.000Z");
  newer.fields["Title"] = "Lead Engineer";
  auto older = sample_user(7, 1, "2026-11-01T09:00:00.000Z");
  older.fields["Title"] = "Engineer";
  ASSERT_EQ(client.post_xml(outbound_path, build_user_message(test_org_id, {newer})).status, 200);
  ASSERT_EQ(client.post_xml(outbound_path, build_user_message(test_org_id, {older})).status, 200);
  ASSERT_EQ(service.stop(), 0);

  auto inbox = store::open_store({service.db_path().string()});
  EXPECT_TRUE(inbox->has_notification(test_org_id, make_id("04l", 1)));
  const auto record = inbox->find_record(test_org_id, make_id("005", 7));
  ASSERT_TRUE(record.has_value());
  EXPECT_EQ(nlohmann::json::parse(record->fields_json)["Title"], "Lead Engineer");
}

TEST_F(intake, fifteen_character_ids_name_the_same_org_and_record) {
  running_service service(dir_.path());
  auto client = service.public_client();
  auto user = sample_user(3, 1);
  user.user_id = user.user_id.substr(0, 15);
  const auto reply = client.post_xml(
      outbound_path, build_user_message(std::string(test_org_id).substr(0, 15), {user}));
  ASSERT_EQ(reply.status, 200) << reply.body;
  ASSERT_EQ(service.stop(), 0);
  auto inbox = store::open_store({service.db_path().string()});
  EXPECT_TRUE(inbox->find_record(test_org_id, make_id("005", 3)).has_value());
}

struct refused_case {
  std::string name;
  std::string content_type;
  std::string body;
  int status;
  std::string fault_fragment;
};

// Named by its case, not dumped as bytes, in test listings.
void PrintTo(const refused_case& c, std::ostream* out) {
  *out << c.name;
}

class refused_messages : public intake, public ::testing::WithParamInterface<refused_case> {};

TEST_P(refused_messages, get_a_fault_and_leave_the_store_untouched) {
  const auto& c = GetParam();
  running_service service(dir_.path());
  auto client = service.public_client();
  const auto reply =
      client.request("POST", outbound_path, c.body, {{"Content-Type", c.content_type}});
  EXPECT_EQ(reply.status, c.status) << reply.body;
  EXPECT_EQ(reply.body.find(ack_marker), std::string::npos);
  EXPECT_NE(reply.body.find("faultstring"), std::string::npos) << reply.body;
  EXPECT_NE(reply.body.find(c.fault_fragment), std::string::npos) << reply.body;
  const auto status = status_json(service);
  EXPECT_EQ(status["notifications_received"], 0);
  EXPECT_EQ(status["pending"], 0);
  EXPECT_TRUE(status["last_received_at"].is_null());
}

INSTANTIATE_TEST_SUITE_P(
    intake, refused_messages,
    ::testing::Values(refused_case{"unknown_organization", "text/xml; charset=UTF-8",
                                   build_user_message("00D000000000001AAA", {sample_user(1, 1)}),
                                   403, "is not one of the organizations"},
                      refused_case{"wrong_object", "text/xml; charset=UTF-8",
                                   build_user_message(test_org_id, {sample_user(1, 1)}, "Lead"),
                                   403, "accepts User outbound messages only"},
                      refused_case{"not_xml", "text/xml", "{\"hello\": 1}", 400, ""},
                      refused_case{"wrong_content_type", "application/json",
                                   build_user_message(test_org_id, {sample_user(1, 1)}), 415,
                                   "Content-Type"}),
    [](const auto& info) { return info.param.name; });

TEST_F(intake, a_body_over_the_limit_is_refused_with_413) {
  running_service service(dir_.path(), {{"server", {{"body_limit_bytes", 2048}}}});
  auto client = service.public_client();
  std::vector<user_notification> many;
  for (int i = 1; i <= 20; ++i) many.push_back(sample_user(i, i));
  const auto reply = client.post_xml(outbound_path, build_user_message(test_org_id, many));
  EXPECT_EQ(reply.status, 413);
  EXPECT_EQ(status_json(service)["notifications_received"], 0);
}

TEST_F(intake, oversized_headers_are_refused_with_431) {
  running_service service(dir_.path(), {{"server", {{"header_limit_bytes", 4096}}}});
  auto client = service.public_client();
  const auto reply = client.request("GET", "/healthz", "", {{"X-Padding", std::string(8000, 'a')}});
  EXPECT_EQ(reply.status, 431);
  auto next = service.public_client();
  EXPECT_EQ(next.get("/healthz").status, 200);
}

TEST_F(intake, connections_over_the_cap_get_503_and_the_rest_are_served) {
  running_service service(dir_.path(), {{"server", {{"max_connections", 2}}}});
  auto first = service.public_client();
  auto second = service.public_client();
  ASSERT_EQ(first.get("/healthz").status, 200);
  ASSERT_EQ(second.get("/healthz").status, 200);
  auto third = service.public_client();
  EXPECT_EQ(third.get("/healthz").status, 503);
  EXPECT_EQ(first.get("/healthz").status, 200);
}

TEST_F(intake, unknown_paths_and_methods_get_404_and_405) {
  running_service service(dir_.path());
  auto client = service.public_client();
  EXPECT_EQ(client.get("/nowhere").status, 404);
  EXPECT_EQ(client.get(outbound_path).status, 405);
}

TEST_F(intake, refuses_tls_1_1_clients_during_the_handshake) {
  running_service service(dir_.path());
  client_options o;
  o.port = service.public_port();
  o.ca_file = test_certs::get().ca_crt.string();
  o.max_tls_version = TLS1_1_VERSION;
  https_client old_client(o);
  EXPECT_THROW(old_client.connect(), std::exception);
  // The next honest client is served as usual.
  auto client = service.public_client();
  EXPECT_EQ(client.get("/healthz").status, 200);
}

TEST_F(intake, sends_the_full_certificate_chain) {
  running_service service(dir_.path());
  const auto result =
      run_command({"/bin/sh", "-c",
                   "openssl s_client -connect 127.0.0.1:" + std::to_string(service.public_port()) +
                       " -servername localhost -showcerts -CAfile " +
                       test_certs::get().ca_crt.string() + " </dev/null 2>/dev/null"});
  EXPECT_NE(result.out.find("1 s:O = Connector Local, CN = Connector Local Intermediate CA"),
            std::string::npos)
      << result.out;
  EXPECT_NE(result.out.find("Verify return code: 0 (ok)"), std::string::npos);
}

TEST_F(intake, sigterm_finishes_cleanly_with_exit_code_0) {
  running_service service(dir_.path());
  auto client = service.public_client();
  ASSERT_EQ(
      client.post_xml(outbound_path, build_user_message(test_org_id, {sample_user(1, 1)})).status,
      200);
  // The keep-alive connection above is idle now; stop must not wait for its timeout.
  EXPECT_EQ(service.stop(), 0);
  EXPECT_NE(service.process().stderr_text().find("stopped cleanly"), std::string::npos);
}

TEST_F(intake, admin_status_requires_the_token) {
  running_service service(dir_.path());
  auto admin = service.admin_client();
  EXPECT_EQ(admin.get("/admin/status").status, 401);
  EXPECT_EQ(admin.get("/admin/status", {{"Authorization", "Bearer wrong"}}).status, 401);
  const auto reply =
      admin.get("/admin/status", {{"Authorization", std::string("Bearer ") + test_admin_token}});
  ASSERT_EQ(reply.status, 200);
  const auto json = nlohmann::json::parse(reply.body);
  for (const char* key :
       {"pending", "retrying", "dead_letters", "last_sync_start", "last_sync_status"}) {
    EXPECT_TRUE(json.contains(key)) << key;
  }
}

TEST(intake_config, a_bad_config_stops_start_up_naming_the_key) {
  temp_dir dir;
  auto config = test_config(dir.path(), {{"server", {{"listen", "not-an-endpoint"}}}});
  write_text(dir.path() / "config.json", config.dump());
  const auto result = run_connector({"serve", "--config", (dir.path() / "config.json").string()});
  EXPECT_NE(result.exit_code, 0);
  EXPECT_NE(result.err.find("server.listen"), std::string::npos) << result.err;
}

TEST(intake_config, an_unknown_key_stops_start_up_naming_it) {
  temp_dir dir;
  auto config = test_config(dir.path(), {{"store", {{"sqlite_pth", "x.db"}}}});
  write_text(dir.path() / "config.json", config.dump());
  const auto result = run_connector({"serve", "--config", (dir.path() / "config.json").string()});
  EXPECT_NE(result.exit_code, 0);
  EXPECT_NE(result.err.find("store.sqlite_pth"), std::string::npos) << result.err;
}

}  // namespace
}  // namespace connector::testing

namespace connector::testing {
namespace {

TEST(intake_logs, json_log_lines_stay_valid_json_whatever_the_message) {
  temp_dir dir;
  running_service service(dir.path(), {{"logging", {{"format", "json"}}}});
  auto client = service.public_client();
  client.request("POST", "/salesforce/outbound", "<\"quoted\"\n\\ broken",
                 {{"Content-Type", "text/xml"}});
  ASSERT_EQ(service.stop(), 0);
  std::istringstream lines(service.process().stderr_text());
  std::string line;
  int count = 0;
  std::vector<std::string> events;
  while (std::getline(lines, line)) {
    const auto entry = nlohmann::json::parse(line);  // throws, failing the test, if not JSON
    EXPECT_TRUE(entry.contains("time") && entry.contains("level") && entry.contains("message") &&
                entry.contains("event"))
        << line;
    events.push_back(entry.value("event", ""));
    ++count;
  }
  EXPECT_GE(count, 3);  // listening, refused, stopped
  for (const char* expected : {"service.listening", "intake.refused", "service.stopped"}) {
    EXPECT_NE(std::find(events.begin(), events.end(), expected), events.end()) << expected;
  }
}

}  // namespace
}  // namespace connector::testing

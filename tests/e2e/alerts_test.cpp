// End to end: alert e-mails from the real binary to a real SMTP server (python3-aiosmtpd,
// started by the test) over STARTTLS or implicit TLS with AUTH, checked as the server
// received and parsed them.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>

#include "support/eventually.hpp"
#include "support/ispring_sandbox_server.hpp"
#include "support/outbound_builder.hpp"
#include "support/salesforce_sandbox_server.hpp"
#include "support/sandbox_config.hpp"
#include "support/service.hpp"
#include "support/smtp_sink.hpp"

namespace connector::testing {
namespace {

using nlohmann::json;

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

class alerts_e2e : public ::testing::Test {
 protected:
  alerts_e2e() : salesforce_(jwt_salesforce_sandbox_options()) {}

  json config(const smtp_sink& sink, const json& overrides = json::object()) const {
    json c = {{"ispring", ispring_sandbox_config(ispring_)},
              {"salesforce", salesforce_sandbox_config(salesforce_)},
              {"alerts", sink.alerts_config()}};
    c.merge_patch(overrides);
    return test_config(dir_.path(), c);
  }

  command_result check(const smtp_sink& sink, const json& overrides = json::object()) {
    const auto path = dir_.path() / "config.json";
    write_text(path, config(sink, overrides).dump(2));
    return run_connector({"check", "--send-test-email", "--config", path.string()});
  }

  temp_dir dir_;
  ispring_sandbox_server ispring_;
  salesforce_sandbox_server salesforce_;
};

TEST_F(alerts_e2e, CheckSendsATestEmailOverStartTlsWithLogin) {
  smtp_sink sink(dir_.path());
  const auto result = check(sink);
  EXPECT_EQ(result.exit_code, 0) << result.out << result.err;
  EXPECT_TRUE(contains(result.out,
                       "ok    alerts: test e-mail sent to admin@example.com, "
                       "second-admin@example.com via smtp://127.0.0.1:" +
                           std::to_string(sink.port()) + " (STARTTLS)"))
      << result.out;

  const auto received = sink.messages();
  ASSERT_EQ(received.size(), 1u);
  const auto& m = received[0];
  EXPECT_TRUE(m["tls"].get<bool>());
  EXPECT_TRUE(m["authenticated"].get<bool>());
  EXPECT_EQ(m["login"], "alerts@example.com");
  EXPECT_EQ(m["mail_from"], "connector@example.com");
  EXPECT_EQ(m["rcpt_tos"], json::array({"admin@example.com", "second-admin@example.com"}));
  const auto subject = m["subject"].get<std::string>();
  EXPECT_EQ(subject.rfind("[connector", 0), 0u) << subject;  // "[connector on <host>]"
  EXPECT_TRUE(subject.ends_with("] Test e-mail")) << subject;
  EXPECT_EQ(m["content_type"], "text/plain");
  EXPECT_EQ(m["charset"], "utf-8");
  EXPECT_EQ(m["defects"], json::array()) << m["raw"];
  EXPECT_TRUE(contains(m["body"].get<std::string>(), "This is a test e-mail from connector"))
      << m["body"];
  EXPECT_EQ(smtp_sink::header(m, "X-Connector-Alert"), "test");
  EXPECT_TRUE(contains(smtp_sink::header(m, "Date"), "+0000"));
  const auto message_id = smtp_sink::header(m, "Message-ID");
  EXPECT_TRUE(message_id.front() == '<' && contains(message_id, "@example.com>")) << message_id;
  EXPECT_EQ(smtp_sink::header(m, "To"), "admin@example.com, second-admin@example.com");
  EXPECT_FALSE(contains(m["raw"].get<std::string>(), sink.options().password));
}

TEST_F(alerts_e2e, CheckSendsOverImplicitTls) {
  smtp_sink sink(dir_.path(), {"tls", "alerts@example.com", "sink-password-123"});
  const auto result = check(sink);
  EXPECT_EQ(result.exit_code, 0) << result.out << result.err;
  EXPECT_TRUE(contains(result.out,
                       "via smtps://127.0.0.1:" + std::to_string(sink.port()) + " (implicit TLS)"))
      << result.out;
  ASSERT_EQ(sink.messages().size(), 1u);
  EXPECT_TRUE(sink.messages()[0]["authenticated"].get<bool>());
}

TEST_F(alerts_e2e, CheckNamesTheSmtpErrorWithoutThePassword) {
  smtp_sink sink(dir_.path());
  const std::string wrong_password = "wrong-password-456";
  write_text(dir_.path() / "wrong-password", wrong_password);
  auto result = check(
      sink, {{"alerts",
              {{"smtp", {{"password", "file:" + (dir_.path() / "wrong-password").string()}}}}}});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_TRUE(contains(result.out, "FAIL  alerts: sending e-mail via smtp://127.0.0.1:" +
                                       std::to_string(sink.port()) +
                                       " (STARTTLS) failed: Login denied"))
      << result.out;
  EXPECT_TRUE(contains(result.out, "535")) << result.out;
  EXPECT_FALSE(contains(result.out + result.err, wrong_password));
  EXPECT_TRUE(sink.messages().empty());

  // The relay's certificate is checked: without the test CA it is not trusted.
  result = check(sink, {{"alerts", {{"smtp", {{"tls_ca_file", nullptr}}}}}});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_TRUE(contains(result.out, "FAIL  alerts:")) << result.out;
  EXPECT_TRUE(contains(result.out, "certificate")) << result.out;
  EXPECT_TRUE(sink.messages().empty());
}

class alerts_service_e2e : public alerts_e2e {
 protected:
  void start(const smtp_sink& sink, const json& overrides) {
    service_ = std::make_unique<running_service>(dir_.path(), config(sink, overrides));
  }
  std::int64_t reconcile() {
    auto client = service_->admin_client();
    const auto reply =
        client.request("POST", "/admin/reconcile", {},
                       {{"Authorization", std::string("Bearer ") + test_admin_token}});
    EXPECT_EQ(reply.status, 202) << reply.body;
    return json::parse(reply.body)["id"].get<std::int64_t>();
  }
  std::string run_status(std::int64_t id) {
    auto client = service_->admin_client();
    const auto reply =
        client.request("GET", "/admin/runs/" + std::to_string(id), {},
                       {{"Authorization", std::string("Bearer ") + test_admin_token}});
    return reply.status == 200 ? json::parse(reply.body).value("status", "") : "";
  }
  // The e-mails received about `kind`, oldest first.
  static std::vector<json> about(const smtp_sink& sink, const std::string& kind) {
    std::vector<json> out;
    for (auto& m : sink.messages())
      if (smtp_sink::header(m, "X-Connector-Alert") == kind) out.push_back(std::move(m));
    return out;
  }
  static std::string type(const json& m) { return smtp_sink::header(m, "X-Connector-Alert-Type"); }
  static std::string body(const json& m) { return m["body"].get<std::string>(); }

  std::unique_ptr<running_service> service_;
};

TEST_F(alerts_service_e2e, ABurstOfFailedRunsIsOneEmailThenADigestThenARecovery) {
  smtp_sink sink(dir_.path());
  salesforce_.sandbox().add_user({{"Username", "kim@acme.example.prod"},
                                  {"Email", "kim@acme.example"},
                                  {"LastName", "Tester"},
                                  {"Department", "Sales"},
                                  {"IsActive", true}});
  // The next three sign-ins are refused, as with a revoked connected app.
  salesforce_.sandbox().fail_next(3, 400, "invalid_grant", "authentication failure",
                                  salesforce_fault_target::token);
  // Short intervals so the digest comes within the test; seconds, not minutes.
  start(sink, {{"alerts", {{"min_interval_seconds", 5}, {"check_interval_seconds", 1}}}});

  const auto first = reconcile();
  ASSERT_TRUE(eventually([&] { return run_status(first) == "failed"; }));
  ASSERT_TRUE(eventually([&] { return about(sink, "reconciliation").size() == 1; }));
  // The burst: two more failures right after the first e-mail, within its interval.
  const auto second = reconcile();
  const auto third = reconcile();
  ASSERT_TRUE(eventually([&] { return run_status(third) == "failed"; }));
  EXPECT_EQ(run_status(second), "failed");

  ASSERT_TRUE(eventually([&] { return about(sink, "reconciliation").size() == 2; }));
  auto mails = about(sink, "reconciliation");
  EXPECT_EQ(type(mails[0]), "problem");
  EXPECT_TRUE(contains(mails[0]["subject"], "Reconciliation did not succeed"))
      << mails[0]["subject"];
  EXPECT_TRUE(contains(body(mails[0]), "run " + std::to_string(first) + " (admin) failed: "))
      << body(mails[0]);
  EXPECT_TRUE(contains(body(mails[0]), "invalid_grant")) << body(mails[0]);
  EXPECT_FALSE(contains(body(mails[0]), "run " + std::to_string(second) + " "));
  EXPECT_EQ(type(mails[1]), "digest");
  EXPECT_TRUE(contains(mails[1]["subject"], "Digest: Reconciliation did not succeed (2 more)"))
      << mails[1]["subject"];
  EXPECT_TRUE(contains(body(mails[1]), "run " + std::to_string(second) + " (admin) failed"));
  EXPECT_TRUE(contains(body(mails[1]), "run " + std::to_string(third) + " (admin) failed"));
  // The credentials' problem is one e-mail, however many runs it failed.
  auto credentials = about(sink, "salesforce_credentials");
  ASSERT_EQ(credentials.size(), 1u);
  EXPECT_EQ(type(credentials[0]), "problem");
  EXPECT_TRUE(contains(body(credentials[0]), "Salesforce refused the credentials"));

  // Salesforce accepts the sign-in again: the next run succeeds, and both clear.
  const auto fourth = reconcile();
  ASSERT_TRUE(eventually([&] { return run_status(fourth) == "succeeded"; }));
  ASSERT_TRUE(eventually([&] { return about(sink, "reconciliation").size() == 3; }));
  ASSERT_TRUE(eventually([&] { return about(sink, "salesforce_credentials").size() == 2; }));
  mails = about(sink, "reconciliation");
  EXPECT_EQ(type(mails[2]), "recovery");
  EXPECT_TRUE(contains(mails[2]["subject"], "Resolved: Reconciliation succeeds again"));
  EXPECT_TRUE(contains(body(mails[2]), "run " + std::to_string(fourth) + " (admin) succeeded."));
  EXPECT_EQ(type(about(sink, "salesforce_credentials")[1]), "recovery");

  // Nothing else was mailed, and every e-mail is well formed and went over TLS with AUTH.
  const auto all = sink.messages();
  EXPECT_EQ(all.size(), 5u);
  for (const auto& m : all) {
    EXPECT_TRUE(m["tls"].get<bool>());
    EXPECT_TRUE(m["authenticated"].get<bool>());
    EXPECT_EQ(m["defects"], json::array()) << m["raw"];
  }
  EXPECT_FALSE(contains(service_->process().stderr_text(), sink.options().password));
}

TEST_F(alerts_service_e2e, RefusedIspringCredentialsAreMailedOnceAndTheirRecoveryToo) {
  smtp_sink sink(dir_.path());
  start(sink, {{"alerts", {{"min_interval_seconds", 5}, {"check_interval_seconds", 1}}}});
  salesforce_.sandbox().add_user({{"Username", "lou@acme.example.prod"},
                                  {"Email", "lou@acme.example"},
                                  {"LastName", "Tester"},
                                  {"Department", "Sales"},
                                  {"IsActive", true}});
  // The run's first iSpring call answers 401, and so does its repeat with a fresh token:
  // the API client was revoked.
  ispring_.sandbox().fail_next(2, 401);
  const auto failing = reconcile();
  ASSERT_TRUE(eventually([&] { return run_status(failing) == "failed"; }));
  ASSERT_TRUE(eventually([&] { return about(sink, "ispring_credentials").size() == 1; }));
  const auto problem = about(sink, "ispring_credentials")[0];
  EXPECT_EQ(type(problem), "problem");
  EXPECT_TRUE(contains(problem["subject"], "iSpring Learn refuses the connector's credentials"));
  EXPECT_TRUE(contains(body(problem), "HTTP 401")) << body(problem);
  EXPECT_FALSE(contains(problem["raw"].get<std::string>(), "sandbox-client-secret"));

  // iSpring Learn accepts them again: the next run gets through, and one e-mail says so.
  const auto passing = reconcile();
  ASSERT_TRUE(eventually([&] { return run_status(passing) == "succeeded"; }));
  ASSERT_TRUE(eventually([&] { return about(sink, "ispring_credentials").size() == 2; }));
  const auto recovery = about(sink, "ispring_credentials")[1];
  EXPECT_EQ(type(recovery), "recovery");
  EXPECT_TRUE(contains(body(recovery), "iSpring Learn accepted the credentials again"));
}

TEST_F(alerts_service_e2e, UsersHeldByTheSafetyLimitAreMailedAndTheirReleaseClearsIt) {
  smtp_sink sink(dir_.path());
  std::vector<std::string> ids;
  for (const std::string name : {"mo", "noa"})
    ids.push_back(salesforce_.sandbox().add_user({{"Username", name + "@acme.example.prod"},
                                                  {"Email", name + "@acme.example"},
                                                  {"LastName", "Tester"},
                                                  {"Department", "Sales"},
                                                  {"IsActive", true}}));
  start(sink, {{"alerts", {{"min_interval_seconds", 5}, {"check_interval_seconds", 1}}},
               {"sync", {{"max_deactivations_per_hour", 1}}}});
  const auto run = reconcile();  // creates and links both
  ASSERT_TRUE(eventually([&] { return run_status(run) == "succeeded"; }));

  // Both leave in Salesforce and are notified: one is deactivated, one held.
  std::vector<user_notification> leaving;
  for (std::size_t i = 0; i < ids.size(); ++i) {
    salesforce_.sandbox().update_user(ids[i], {{"IsActive", false}});
    const auto user = *salesforce_.sandbox().find_user(ids[i]);
    leaving.push_back({make_id("04l", 100 + i),
                       ids[i],
                       {{"Username", user["Username"].get<std::string>()},
                        {"Email", user["Email"].get<std::string>()},
                        {"LastName", "Tester"},
                        {"Department", "Sales"},
                        {"IsActive", "false"},
                        {"SystemModstamp", "2026-11-01T10:00:00.000Z"}}});
  }
  auto client = service_->public_client();
  const auto reply =
      client.post_xml("/salesforce/outbound", build_user_message(test_org_id, leaving));
  ASSERT_EQ(reply.status, 200) << reply.body;
  ASSERT_TRUE(eventually([&] { return about(sink, "held_by_safety_limit").size() == 1; }))
      << service_->process().stderr_text();
  const auto problem = about(sink, "held_by_safety_limit")[0];
  EXPECT_EQ(type(problem), "problem");
  EXPECT_TRUE(contains(problem["subject"], "Deactivations are held by the safety limit"))
      << problem["subject"];
  EXPECT_TRUE(contains(body(problem), "1 user held by the safety limit (1 held now): "))
      << body(problem);
  EXPECT_TRUE(contains(body(problem), "sync.max_deactivations_per_hour allows 1")) << body(problem);
  EXPECT_TRUE(contains(body(problem), "connector release --all")) << body(problem);
  EXPECT_TRUE(contains(service_->process().stderr_text(), "[user.held]"))
      << service_->process().stderr_text();

  // The operator lets it through: one more e-mail says nothing is held any more.
  const auto released =
      run_connector({"release", "--all", "--config", service_->config_path().string()});
  EXPECT_EQ(released.exit_code, 0) << released.err;
  ASSERT_TRUE(eventually([&] { return about(sink, "held_by_safety_limit").size() == 2; }));
  const auto recovery = about(sink, "held_by_safety_limit")[1];
  EXPECT_EQ(type(recovery), "recovery");
  EXPECT_TRUE(
      contains(recovery["subject"], "Resolved: Nothing is held by the safety limit any more"))
      << recovery["subject"];
  ASSERT_TRUE(eventually([&] {
    return ispring_.sandbox().find_user_by_login("mo@acme.example.prod")->status == 3 &&
           ispring_.sandbox().find_user_by_login("noa@acme.example.prod")->status == 3;
  }));
}

}  // namespace
}  // namespace connector::testing

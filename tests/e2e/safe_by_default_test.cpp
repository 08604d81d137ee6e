// End to end, issue 15 "Safe by default", through the real binary over TLS: a stamp from the
// future is refused and stores nothing; serve refuses a public listener without a lock
// (and starts with each lock, or when told the intake is open on purpose, which `check`
// then reports); half-configured mutual TLS and short webhook secrets stop start-up; one
// address cannot hold every connection; wrong admin tokens are slowed down; a token answer
// naming a host off Salesforce's domains is never followed; a store error is not echoed to
// the unauthenticated sender.
#include <gtest/gtest.h>

#include <ctime>
#include <filesystem>
#include <stdexcept>

#include "connector/app/status_report.hpp"
#include "support/eventually.hpp"
#include "support/outbound_builder.hpp"
#include "support/raw_sqlite.hpp"
#include "support/salesforce_sandbox_server.hpp"
#include "support/sandbox_config.hpp"
#include "support/service.hpp"
#include "support/signed_events.hpp"

namespace connector::testing {
namespace {

using nlohmann::json;

const std::string outbound_path = "/salesforce/outbound";
const std::string admin_bearer = std::string("Bearer ") + test_admin_token;

std::int64_t notifications(const std::filesystem::path& config) {
  const auto out = run_connector({"status", "--json", "--config", config.string()}).out;
  return json::parse(out)["notifications_received"].get<std::int64_t>();
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// `connector serve` on a config that must not start: its result (it exits by itself).
command_result serve_refused(const std::filesystem::path& dir, const json& overrides) {
  const auto config = dir / "config.json";
  write_text(config, test_config(dir, overrides).dump(2));
  return run_connector({"serve", "--config", config.string()});
}

const json public_listener = {{"server", {{"listen", "0.0.0.0:0"}}}};

json with(json base, const json& patch) {
  base.merge_patch(patch);
  return base;
}

double metric(const std::string& exposition, const std::string& sample) {
  const auto at = exposition.find("\n" + sample + " ");
  if (at == std::string::npos) return -1;
  return std::stod(exposition.substr(at + sample.size() + 2));
}

std::string metrics_of(const running_service& service) {
  auto admin = service.admin_client();
  return "\n" + admin.get("/metrics", {{"Authorization", admin_bearer}}).body;
}

class safe_by_default : public ::testing::Test {
 protected:
  temp_dir dir_;
};

// --- refuse the future ------------------------------------------------------------------------

TEST_F(safe_by_default, AFarFutureModstampIsRefusedWithAFaultAndNothingIsStored) {
  running_service service(dir_.path());
  auto client = service.public_client();
  // The forged stamp of the issue, beside a genuine change in the same request.
  const auto forged = sample_user(2, 2, "2099-01-01T00:00:00.000Z");
  auto reply =
      client.post_xml(outbound_path, build_user_message(test_org_id, {sample_user(1, 1), forged}));
  EXPECT_GE(reply.status, 400) << reply.body;
  EXPECT_FALSE(contains(reply.body, "<Ack>")) << reply.body;
  EXPECT_TRUE(contains(reply.body, "soapenv:Fault")) << reply.body;
  EXPECT_TRUE(contains(reply.body, forged.user_id)) << "names the record: " << reply.body;
  EXPECT_TRUE(contains(reply.body, "SystemModstamp")) << reply.body;
  EXPECT_EQ(notifications(service.config_path()), 0) << "a request is all or nothing";

  // A genuine change is still taken.
  reply = client.post_xml(outbound_path, build_user_message(test_org_id, {sample_user(1, 3)}));
  EXPECT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(notifications(service.config_path()), 1);
}

TEST_F(safe_by_default, TheServicesClockDecidesWhatIsTheFuture) {
  running_service service(dir_.path());
  auto client = service.public_client();
  // An hour ahead of now is refused; once the service's clock has caught up it is not.
  const auto stamp = app::format_utc(system_clock().now() + 3'600'000);
  const auto message = build_user_message(test_org_id, {sample_user(5, 5, stamp)});
  EXPECT_GE(client.post_xml(outbound_path, message).status, 400);
  service.advance_clock(2 * 3'600'000);
  const auto reply = client.post_xml(outbound_path, message);
  EXPECT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(notifications(service.config_path()), 1);
}

TEST_F(safe_by_default, AnEventFromTheFutureGetsTheEventsErrorAnswer) {
  running_service service(dir_.path(),
                          {{"server", {{"events_signing_secrets", {test_events_secret}}}}});
  auto client = service.public_client();
  const auto record = make_id("005", 3);
  const auto far = 4'070'908'800'000;  // 2099-01-01
  auto reply = post_signed_event(client, title_change_event(record, "Pinned", far), "msg_future");
  EXPECT_EQ(reply.status, 422) << reply.body;
  const auto error = json::parse(reply.body).value("error", "");
  EXPECT_TRUE(contains(error, record) && contains(error, "commitTimestamp")) << reply.body;
  EXPECT_EQ(notifications(service.config_path()), 0) << "not even the webhook id";
  reply = post_signed_event(client, title_change_event(record, "Lead", now_seconds() * 1000),
                            "msg_now");
  EXPECT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(json::parse(reply.body).value("stored", 0), 1) << reply.body;
}

// --- a locked intake by default ---------------------------------------------------------------

TEST_F(safe_by_default, ServeRefusesAPublicListenerWithoutALockNamingTheKeys) {
  const auto result = serve_refused(dir_.path(), public_listener);
  EXPECT_EQ(result.exit_code, 2) << result.err;
  for (const char* key :
       {"server.tls.client_ca_file", "server.tls.client_subjects", "server.allowed_ips",
        "server.secret_path_segment", "server.allow_unlocked_intake"}) {
    EXPECT_TRUE(contains(result.err, key)) << key << " not named in: " << result.err;
  }
  EXPECT_FALSE(std::filesystem::exists(dir_.path() / "connector.db")) << "refused before anything";
  // `check` says the same, as a failure.
  const auto check = run_connector({"check", "--config", (dir_.path() / "config.json").string()});
  EXPECT_NE(check.exit_code, 0);
  EXPECT_TRUE(contains(check.out, "FAIL  intake: serve refuses to start")) << check.out;
}

TEST_F(safe_by_default, APublicListenerStartsWithEachLock) {
  const auto& certs = test_certs::get();
  const std::vector<std::pair<std::string, json>> locks{
      {"mutual TLS",
       {{"server",
         {{"tls",
           {{"client_ca_file", certs.ca_crt.string()},
            {"client_subjects", {"CN=proxy.salesforce.test"}}}}}}}},
      {"allowlist", {{"server", {{"allowed_ips", {"127.0.0.0/8"}}}}}},
      {"secret path", {{"server", {{"secret_path_segment", "Zq3-unguessable_path.segment~42"}}}}},
  };
  for (const auto& [name, lock] : locks) {
    temp_dir dir;
    running_service service(dir.path(), with(public_listener, lock));
    EXPECT_TRUE(service.process().running()) << name;
    EXPECT_EQ(service.stop(), 0) << name << ": " << service.process().stderr_text();
  }
}

TEST_F(safe_by_default, AllowUnlockedIntakeStartsAndCheckAndThePageWarn) {
  running_service service(dir_.path(),
                          with(public_listener, {{"server", {{"allow_unlocked_intake", true}}}}));
  auto client = service.public_client();
  const auto reply =
      client.post_xml(outbound_path, build_user_message(test_org_id, {sample_user(1, 1)}));
  EXPECT_EQ(reply.status, 200) << reply.body;
  EXPECT_TRUE(contains(service.process().stderr_text(), "the intake is unlocked"))
      << service.process().stderr_text();

  const auto check = run_connector({"check", "--config", service.config_path().string()});
  EXPECT_TRUE(
      contains(check.out, "warn  intake: unlocked on purpose (server.allow_unlocked_intake)"))
      << check.out;
  auto admin = service.admin_client();
  const auto config =
      json::parse(admin.get("/admin/config", {{"Authorization", admin_bearer}}).body);
  EXPECT_TRUE(config["server"]["intake_warning"].is_string()) << config["server"].dump();
  EXPECT_EQ(config["server"]["intake_locks"], json::array());
}

TEST_F(safe_by_default, AClientCaFileWithoutSubjectsIsRefusedAtLoad) {
  const auto result = serve_refused(
      dir_.path(),
      {{"server", {{"tls", {{"client_ca_file", test_certs::get().ca_crt.string()}}}}}});
  EXPECT_EQ(result.exit_code, 2) << result.err;
  EXPECT_TRUE(
      contains(result.err, "server.tls.client_subjects: required with server.tls.client_ca_file"))
      << result.err;
}

// --- hardening --------------------------------------------------------------------------------

TEST_F(safe_by_default, AShortWebhookSecretStopsStartUpNamingTheKey) {
  const std::string short_secret = "whsec_c2VjcmV0LXNpeHRlZW4tYg==";  // 16 bytes
  const auto result =
      serve_refused(dir_.path(), {{"server", {{"events_signing_secrets", {short_secret}}}}});
  EXPECT_EQ(result.exit_code, 2) << result.err;
  EXPECT_TRUE(contains(result.err, "server.events_signing_secrets[0]: too short")) << result.err;
  EXPECT_FALSE(contains(result.err, short_secret)) << "never quoted";
}

TEST_F(safe_by_default, OneAddressCannotHoldMoreConnectionsThanItsCap) {
  running_service service(dir_.path(), {{"server", {{"max_connections_per_address", 2}}}});
  auto first = service.public_client();
  auto second = service.public_client();
  ASSERT_EQ(first.get("/healthz").status, 200);
  ASSERT_EQ(second.get("/healthz").status, 200);
  {
    auto third = service.public_client();
    EXPECT_THROW(
        {
          third.connect();
          third.get("/healthz");
        },
        std::exception)
        << "the third connection is closed before TLS";
  }
  const auto sample =
      "connector_connections_refused_total{listener=\"public\",reason=\"per_address_cap\"}";
  EXPECT_EQ(metric(metrics_of(service), sample), 1) << metrics_of(service);
  // The kept connections are served; once one closes, a new one is welcome again.
  EXPECT_EQ(first.get("/healthz").status, 200);
  second.close();
  EXPECT_TRUE(eventually([&] {
    auto next = service.public_client();
    try {
      return next.get("/healthz").status == 200;
    } catch (const std::exception&) {
      return false;
    }
  }));
}

TEST_F(safe_by_default, WrongAdminTokensAreSlowedDownAndTheRightOneWorksAfterTheDelay) {
  running_service service(dir_.path());
  auto admin = service.admin_client();
  const std::string guess = "guessed-token-that-is-wrong-0001";
  for (int i = 0; i < 6; ++i) {
    EXPECT_EQ(admin.get("/admin/status", {{"Authorization", "Bearer " + guess}}).status, 401) << i;
  }
  const auto throttled = admin.get("/admin/status", {{"Authorization", admin_bearer}});
  EXPECT_EQ(throttled.status, 429) << throttled.body;
  EXPECT_EQ(throttled.header("retry-after"), "1");
  // Waiting is the service's clock passing, not ours.
  service.advance_clock(1'000);
  EXPECT_EQ(admin.get("/admin/status", {{"Authorization", admin_bearer}}).status, 200);

  const auto exposition = metrics_of(service);
  EXPECT_EQ(metric(exposition, "connector_admin_auth_failures_total"), 6) << exposition;
  EXPECT_EQ(metric(exposition, "connector_admin_auth_throttled_total"), 1) << exposition;
  const auto log = service.process().stderr_text();
  EXPECT_TRUE(contains(log, "wrong admin token from 127.0.0.1")) << log;
  EXPECT_FALSE(contains(log, guess)) << "the presented token is never logged";
}

TEST_F(safe_by_default, ATokenAnswerWithAForeignInstanceUrlIsNeverFollowed) {
  salesforce_sandbox_server salesforce(jwt_salesforce_sandbox_options());
  salesforce.sandbox().set_instance_url("https://attacker.example.net");
  const auto config = dir_.path() / "config.json";
  write_text(
      config,
      test_config(dir_.path(), {{"salesforce", salesforce_sandbox_config(salesforce)}}).dump(2));
  const auto check = run_connector({"check", "--config", config.string()});
  EXPECT_NE(check.exit_code, 0);
  EXPECT_TRUE(contains(check.out, "'https://attacker.example.net' is not on a Salesforce domain"))
      << check.out;
  EXPECT_TRUE(contains(check.out, "salesforce.allowed_instance_hosts")) << check.out;
  for (const auto& entry : salesforce.sandbox().request_log()) {
    EXPECT_EQ(entry.endpoint, "POST /services/oauth2/token") << "only the sign-in was sent";
  }
  // The sandbox's own host, named in salesforce.allowed_instance_hosts, is followed.
  salesforce.sandbox().set_instance_url("");
  const auto ok = run_connector({"check", "--config", config.string()});
  EXPECT_TRUE(contains(ok.out, "ok    salesforce: signed in")) << ok.out;
}

TEST_F(safe_by_default, AStoreErrorIsNotEchoedToTheSender) {
  running_service service(dir_.path());
  auto client = service.public_client();
  ASSERT_EQ(
      client.post_xml(outbound_path, build_user_message(test_org_id, {sample_user(1, 1)})).status,
      200);
  {
    // Another process holds the write lock past the store's busy timeout: the commit fails.
    raw_sqlite other(service.db_path().string(), 10'000);
    other.exec("BEGIN EXCLUSIVE");
    const auto reply =
        client.post_xml(outbound_path, build_user_message(test_org_id, {sample_user(2, 2)}));
    EXPECT_EQ(reply.status, 500) << reply.body;
    EXPECT_FALSE(contains(reply.body, "<Ack>"));
    EXPECT_TRUE(contains(reply.body, "could not store the notification; it was not acknowledged"))
        << reply.body;
    EXPECT_FALSE(contains(reply.body, "locked")) << reply.body;
    EXPECT_FALSE(contains(reply.body, service.db_path().string())) << reply.body;
    other.exec("ROLLBACK");
  }
  EXPECT_TRUE(contains(service.process().stderr_text(), "could not store outbound message"))
      << "the cause goes to the log";
  const auto reply =
      client.post_xml(outbound_path, build_user_message(test_org_id, {sample_user(2, 2)}));
  EXPECT_EQ(reply.status, 200) << "delivered again, stored: " << reply.body;
  EXPECT_EQ(notifications(service.config_path()), 2);
}

}  // namespace
}  // namespace connector::testing

// The Salesforce REST client against the sandbox over real TLS on loopback: both OAuth
// flows and their refusals, query paging, token renewal, failure kinds, instance_url and the
// organization id. Clocks are injected; nothing sleeps.
#include "connector/salesforce/rest_client.hpp"

#include <atomic>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/rsa_keys.hpp"
#include "support/salesforce_sandbox_server.hpp"
#include "support/service.hpp"

namespace connector::salesforce {
namespace {

using connector::testing::salesforce_fault_target;
using connector::testing::salesforce_sandbox;
using connector::testing::salesforce_sandbox_options;
using connector::testing::salesforce_sandbox_server;
using connector::testing::test_certs;
using connector::testing::test_rsa_key;
using nlohmann::json;

constexpr std::int64_t start_ms = 1'714'557'600'000;
constexpr const char* endpoint_token = "POST /services/oauth2/token";
constexpr const char* endpoint_query = "GET /services/data/{version}/query";
constexpr const char* endpoint_query_more = "GET /services/data/{version}/query/{locator}";

::testing::AssertionResult contains(const std::string& text, const std::string& part) {
  if (text.find(part) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "'" << text << "' does not contain '" << part << "'";
}

class RestClient : public ::testing::Test {
 protected:
  void start(salesforce_sandbox_options options = {}) {
    options.public_key_pem = test_rsa_key(0).public_key_pem;
    options.clock = [this] { return sandbox_now_.load(); };
    server_ = std::make_unique<salesforce_sandbox_server>(std::move(options));
  }

  config::salesforce_settings jwt_settings(int key = 0) const {
    config::salesforce_settings s;
    s.login_url = server_->base_url();
    s.client_id = "sandbox-consumer-key";
    s.username = "integration@example.com";
    s.private_key = config::secret(test_rsa_key(key).private_key_pem);
    s.tls_ca_file = test_certs::get().ca_crt.string();
    s.allowed_instance_hosts = {"localhost", "127.0.0.1"};  // the sandbox's names
    return s;
  }
  config::salesforce_settings client_credentials_settings(std::string secret) const {
    config::salesforce_settings s;
    s.login_url = server_->base_url();
    s.client_id = "sandbox-consumer-key";
    s.client_secret = config::secret(std::move(secret));
    s.tls_ca_file = test_certs::get().ca_crt.string();
    s.allowed_instance_hosts = {"localhost", "127.0.0.1"};  // the sandbox's names
    return s;
  }

  std::unique_ptr<rest_client> make(const config::salesforce_settings& s, int batch = 2000) {
    rest_client_options options;
    options.batch_size = batch;
    return std::make_unique<rest_client>(s, client_clock_, options);
  }

  // Every record of a query, or the failure.
  rest_result<std::vector<json>> read_all(rest_api& api, const std::string& soql) {
    std::vector<json> all;
    auto delivered = api.query(soql, [&all](std::vector<json>& records) {
      for (auto& r : records) all.push_back(std::move(r));
      return true;
    });
    if (!delivered) return unexpected{delivered.error()};
    EXPECT_EQ(*delivered, all.size());
    return all;
  }

  // A message must not carry any secret the client holds.
  void expect_no_secrets(const rest_failure& f, const config::salesforce_settings& s) {
    const std::string text = f.to_string();
    if (s.private_key) {
      const std::string& pem = s.private_key->reveal();
      // Any line of the key body would be a leak.
      const auto body_line = pem.substr(pem.find('\n') + 1, 40);
      EXPECT_FALSE(contains(text, body_line)) << text;
    }
    if (s.client_secret) EXPECT_FALSE(contains(text, s.client_secret->reveal())) << text;
    EXPECT_FALSE(contains(text, "eyJ")) << text;  // no JWT (base64url of '{"')
    EXPECT_FALSE(contains(text, "!AQ")) << text;  // no access token
  }

  salesforce_sandbox& sandbox() { return server_->sandbox(); }

  std::atomic<std::int64_t> sandbox_now_{start_ms};
  manual_clock client_clock_{start_ms};
  std::unique_ptr<salesforce_sandbox_server> server_;
};

// --- JWT bearer -----------------------------------------------------------------------------

TEST_F(RestClient, JwtBearerSignsInAndQueries) {
  start();
  const std::string jane = sandbox().add_user({{"Username", "jane@acme.com.prod"},
                                               {"Email", "jane@acme.com"},
                                               {"LastName", "Doe"},
                                               {"Department", "Sales"}});
  auto api = make(jwt_settings());
  const auto records = read_all(*api, "SELECT Id, Email, Department, Title FROM User");
  ASSERT_TRUE(records) << records.error().to_string();
  ASSERT_EQ(records->size(), 1u);
  EXPECT_EQ(
      (*records)[0],
      json(
          {{"Id", jane}, {"Email", "jane@acme.com"}, {"Department", "Sales"}, {"Title", nullptr}}));
  EXPECT_EQ(sandbox().calls(endpoint_token), 1);
  const auto stats = api->stats();
  EXPECT_EQ(stats.token_requests, 1);
  EXPECT_EQ(stats.requests, 1);
  EXPECT_EQ(stats.token_renewals, 0);
  EXPECT_EQ(stats.failures, 0);
  // The token is cached: a second query and verify() sign in no more.
  ASSERT_TRUE(read_all(*api, "SELECT Id FROM User"));
  ASSERT_TRUE(api->verify());
  EXPECT_EQ(sandbox().calls(endpoint_token), 1);
}

TEST_F(RestClient, AWrongKeyIsRefusedWithTheCauseAndNoSecrets) {
  start();
  const auto s = jwt_settings(1);
  auto api = make(s);
  const auto result = api->verify();
  ASSERT_FALSE(result);
  const rest_failure& f = result.error();
  EXPECT_EQ(f.kind, rest_failure_kind::auth);
  EXPECT_FALSE(f.retryable());
  EXPECT_EQ(f.http_status, 400);
  EXPECT_EQ(f.error_code, "invalid_grant");
  EXPECT_TRUE(contains(f.to_string(),
                       "Salesforce sign-in (JWT bearer) failed: HTTP 400 invalid_grant: invalid "
                       "assertion (the signature does not verify against the certificate on the "
                       "connected app: check salesforce.private_key)"));
  expect_no_secrets(f, s);
  EXPECT_EQ(api->stats().failures, 1);
  // A query reports the same refusal and never reaches the API.
  const auto q = read_all(*api, "SELECT Id FROM User");
  ASSERT_FALSE(q);
  EXPECT_EQ(q.error().error_code, "invalid_grant");
  EXPECT_EQ(sandbox().calls(endpoint_query), 0);
}

TEST_F(RestClient, AWrongUsernameIsRefusedWithTheCause) {
  start();
  auto s = jwt_settings();
  s.username = "someone@else.com";
  const auto result = make(s)->verify();
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().kind, rest_failure_kind::auth);
  EXPECT_TRUE(contains(result.error().to_string(), "user hasn't approved this consumer"));
  EXPECT_TRUE(contains(result.error().to_string(), "check salesforce.username"));
  expect_no_secrets(result.error(), s);
}

TEST_F(RestClient, AnAssertionExpiredByClockSkewIsRefusedWithTheCause) {
  start();
  client_clock_.set(start_ms - 10 * 60'000);  // this machine runs ten minutes late
  const auto result = make(jwt_settings())->verify();
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().kind, rest_failure_kind::auth);
  EXPECT_TRUE(contains(result.error().message, "expired authorization code"));
  EXPECT_TRUE(contains(result.error().message, "check this machine's clock"));
}

TEST_F(RestClient, TheAssertionCarriesTheConfiguredClaims) {
  start();
  auto s = jwt_settings();
  s.client_id = "another-app";
  auto result = make(s)->verify();
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().error_code, "invalid_client_id");
  EXPECT_TRUE(contains(result.error().message, "check salesforce.client_id"));
  // aud is the login URL as configured: a sandbox expecting another audience refuses it.
  server_.reset();
  start({.audience = "https://test.salesforce.com"});
  result = make(jwt_settings())->verify();
  ASSERT_FALSE(result);
  EXPECT_TRUE(contains(result.error().message, "audience is invalid"));
  EXPECT_TRUE(contains(result.error().message, "check salesforce.login_url"));
}

TEST_F(RestClient, AnUnreadablePrivateKeyFailsWithoutARequest) {
  start();
  auto s = jwt_settings();
  s.private_key = config::secret(
      "-----BEGIN PRIVATE KEY-----\nTUlJQ2VBSUJBREFOQmdrcWhraUc5dzBCQVFFRkFBU0NBbUl3Z2dKZUFn\n"
      "-----END PRIVATE KEY-----\n");
  auto api = make(s);
  const auto result = api->verify();
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().kind, rest_failure_kind::auth);
  EXPECT_TRUE(
      contains(result.error().message, "salesforce.private_key: cannot read the private key"));
  EXPECT_FALSE(contains(result.error().to_string(), "TUlJQ2VBSUJB"));
  EXPECT_EQ(api->stats().token_requests, 0);
  EXPECT_EQ(sandbox().calls(endpoint_token), 0);
}

// --- Client credentials ----------------------------------------------------------------------

TEST_F(RestClient, ClientCredentialsSignInAndQuery) {
  start();
  sandbox().add_generated_users(3);
  auto api = make(client_credentials_settings("sandbox-consumer-secret"));
  const auto records = read_all(*api, "SELECT Id, Username FROM User");
  ASSERT_TRUE(records) << records.error().to_string();
  EXPECT_EQ(records->size(), 3u);
  const auto log = sandbox().request_log();
  ASSERT_FALSE(log.empty());
  EXPECT_EQ(log.front().endpoint, endpoint_token);
  EXPECT_EQ(log.front().status, 200);
}

TEST_F(RestClient, AWrongClientSecretIsRefusedWithoutShowingIt) {
  start();
  const auto s = client_credentials_settings("wrong-but-secret-Sup3rS3cr3t");
  const auto result = make(s)->verify();
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().kind, rest_failure_kind::auth);
  EXPECT_EQ(result.error().error_code, "invalid_client");
  EXPECT_TRUE(contains(result.error().to_string(),
                       "Salesforce sign-in (client credentials) failed: HTTP 400 invalid_client"));
  EXPECT_TRUE(
      contains(result.error().message, "check salesforce.client_id and salesforce.client_secret"));
  expect_no_secrets(result.error(), s);
}

TEST_F(RestClient, JwtBearerWinsWhenBothFlowsAreConfigured) {
  start();
  auto s = jwt_settings();
  s.client_secret = config::secret("not-used-secret");
  // The sandbox would refuse this secret: success means the assertion was used.
  ASSERT_TRUE(make(s)->verify());
  EXPECT_EQ(sandbox().calls(endpoint_token), 1);
}

// --- Paging ----------------------------------------------------------------------------------

TEST_F(RestClient, PagesOf200DeliverEveryRecordOnceInOrder) {
  start();
  const auto ids = sandbox().add_generated_users(1050);
  auto api = make(jwt_settings(), 200);
  std::vector<std::string> seen;
  std::vector<std::size_t> page_sizes;
  const auto delivered = api->query("SELECT Id FROM User ORDER BY Id", [&](auto& records) {
    page_sizes.push_back(records.size());
    for (const auto& r : records) seen.push_back(r.at("Id").template get<std::string>());
    return true;
  });
  ASSERT_TRUE(delivered) << delivered.error().to_string();
  EXPECT_EQ(*delivered, 1050u);
  EXPECT_EQ(seen, ids);
  EXPECT_EQ(page_sizes, (std::vector<std::size_t>{200, 200, 200, 200, 200, 50}));
  EXPECT_EQ(sandbox().calls(endpoint_query), 1);
  EXPECT_EQ(sandbox().calls(endpoint_query_more), 5);
  for (const auto& entry : sandbox().request_log()) {
    if (entry.endpoint != endpoint_token) EXPECT_EQ(entry.query_options, "batchSize=200");
  }
  EXPECT_EQ(api->stats().requests, 6);
  // One keep-alive connection to the login URL, one to the instance (same server here).
  EXPECT_EQ(server_->counters().connections_accepted, 2u);
}

TEST_F(RestClient, BatchSizeFromTheConfigurationAndClampedToSalesforcesRange) {
  start();
  sandbox().add_generated_users(10);
  auto s = jwt_settings();
  s.query_batch_size = 500;
  EXPECT_EQ(client_options_for(s).batch_size, 500);
  ASSERT_TRUE(read_all(*make(s, 50), "SELECT Id FROM User"));
  ASSERT_TRUE(read_all(*make(s, 9000), "SELECT Id FROM User"));
  const auto log = sandbox().request_log();
  std::vector<std::string> options;
  for (const auto& entry : log) {
    if (entry.endpoint == endpoint_query) options.push_back(entry.query_options);
  }
  EXPECT_EQ(options, (std::vector<std::string>{"batchSize=200", "batchSize=2000"}));
}

TEST_F(RestClient, OnPageReturningFalseStopsEarly) {
  start();
  sandbox().add_generated_users(1000);
  auto api = make(jwt_settings(), 200);
  int pages = 0;
  const auto delivered = api->query("SELECT Id FROM User", [&pages](auto&) {
    ++pages;
    return false;
  });
  ASSERT_TRUE(delivered);
  EXPECT_EQ(*delivered, 200u);
  EXPECT_EQ(pages, 1);
  EXPECT_EQ(sandbox().calls(endpoint_query_more), 0);
}

TEST_F(RestClient, AnEmptyResultDeliversNothing) {
  start();
  auto api = make(jwt_settings());
  int pages = 0;
  const auto delivered = api->query("SELECT Id FROM User", [&pages](auto&) {
    ++pages;
    return true;
  });
  ASSERT_TRUE(delivered);
  EXPECT_EQ(*delivered, 0u);
  EXPECT_EQ(pages, 0);
}

TEST_F(RestClient, RelationshipFieldsArriveNestedWithoutAttributes) {
  start();
  const std::string boss = sandbox().add_user(
      {{"Username", "boss@acme.com.prod"}, {"Email", "boss@acme.com"}, {"LastName", "Boss"}});
  sandbox().add_user({{"Username", "jane@acme.com.prod"},
                      {"Email", "jane@acme.com"},
                      {"LastName", "Doe"},
                      {"ManagerId", boss}});
  const auto records =
      read_all(*make(jwt_settings()), "SELECT Username, Manager.Email, Manager.Name FROM User");
  ASSERT_TRUE(records) << records.error().to_string();
  ASSERT_EQ(records->size(), 2u);
  EXPECT_TRUE((*records)[0]["Manager"].is_null());
  EXPECT_EQ((*records)[1]["Manager"], json({{"Email", "boss@acme.com"}, {"Name", "Boss"}}));
}

// --- Renewal and failures -----------------------------------------------------------------------

TEST_F(RestClient, ATokenExpiringMidPagingIsRenewedOnceAndPagingGoesOn) {
  start();
  sandbox().add_generated_users(600);
  auto api = make(jwt_settings(), 200);
  int pages = 0;
  const auto delivered = api->query("SELECT Id FROM User", [&](auto&) {
    if (++pages == 1) sandbox().expire_tokens();
    return true;
  });
  ASSERT_TRUE(delivered) << delivered.error().to_string();
  EXPECT_EQ(*delivered, 600u);
  const auto stats = api->stats();
  EXPECT_EQ(stats.token_requests, 2);
  EXPECT_EQ(stats.token_renewals, 1);
  EXPECT_EQ(stats.requests, 4);  // 3 pages and the refused one
  EXPECT_EQ(stats.failures, 0);
  EXPECT_EQ(sandbox().calls(endpoint_token), 2);
}

TEST_F(RestClient, ATokenExpiringByInactivityIsRenewed) {
  start({.session_timeout_s = 60});
  auto api = make(jwt_settings());
  ASSERT_TRUE(read_all(*api, "SELECT Id FROM User"));
  sandbox_now_ += 61'000;
  client_clock_.advance(61'000);
  ASSERT_TRUE(read_all(*api, "SELECT Id FROM User"));
  EXPECT_EQ(api->stats().token_renewals, 1);
}

TEST_F(RestClient, APersistent401IsAnAuthFailureAfterOneRenewal) {
  start();
  sandbox().fail_next(5, 401, "INVALID_SESSION_ID", "Session expired or invalid");
  auto api = make(jwt_settings());
  const auto result = read_all(*api, "SELECT Id FROM User");
  ASSERT_FALSE(result);
  const rest_failure& f = result.error();
  EXPECT_EQ(f.kind, rest_failure_kind::auth);
  EXPECT_EQ(f.http_status, 401);
  EXPECT_EQ(f.error_code, "INVALID_SESSION_ID");
  EXPECT_EQ(f.operation, "query");
  EXPECT_TRUE(contains(f.to_string(),
                       "Salesforce query failed: HTTP 401 INVALID_SESSION_ID: "
                       "Session expired or invalid"));
  EXPECT_EQ(api->stats().token_requests, 2);
  EXPECT_EQ(api->stats().token_renewals, 1);
  EXPECT_EQ(sandbox().calls(endpoint_query), 2);
}

TEST_F(RestClient, ServerErrorsAreRetryableServerFailures) {
  start();
  auto api = make(jwt_settings());
  for (const int status : {500, 503}) {
    sandbox().fail_next(1, status);
    const auto result = read_all(*api, "SELECT Id FROM User");
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().kind, rest_failure_kind::server);
    EXPECT_EQ(result.error().http_status, status);
    EXPECT_TRUE(result.error().retryable());
  }
  EXPECT_EQ(api->stats().token_renewals, 0);
  // The same on the token endpoint.
  sandbox().fail_next(1, 503, "", "down for maintenance", salesforce_fault_target::token);
  const auto sign_in = make(jwt_settings())->verify();
  ASSERT_FALSE(sign_in);
  EXPECT_EQ(sign_in.error().kind, rest_failure_kind::server);
  EXPECT_TRUE(
      contains(sign_in.error().to_string(), "Salesforce sign-in (JWT bearer) failed: HTTP 503"));
}

TEST_F(RestClient, TheRequestLimitIsRateLimited) {
  start();
  sandbox().set_request_limit(1);
  auto api = make(jwt_settings());
  ASSERT_TRUE(read_all(*api, "SELECT Id FROM User"));
  const auto result = read_all(*api, "SELECT Id FROM User");
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().kind, rest_failure_kind::rate_limited);
  EXPECT_EQ(result.error().error_code, "REQUEST_LIMIT_EXCEEDED");
  EXPECT_TRUE(result.error().retryable());
}

TEST_F(RestClient, BadQueriesAreRejectedWithSalesforcesMessage) {
  start();
  auto api = make(jwt_settings());
  const auto field = read_all(*api, "SELECT Id, Foo FROM User");
  ASSERT_FALSE(field);
  EXPECT_EQ(field.error().kind, rest_failure_kind::rejected);
  EXPECT_FALSE(field.error().retryable());
  EXPECT_TRUE(contains(field.error().to_string(),
                       "Salesforce query failed: HTTP 400 INVALID_FIELD: No such column 'Foo' on "
                       "entity 'User'"));
  const auto malformed = read_all(*api, "SELECT Id FRM User");
  ASSERT_FALSE(malformed);
  EXPECT_EQ(malformed.error().kind, rest_failure_kind::rejected);
  EXPECT_EQ(malformed.error().error_code, "MALFORMED_QUERY");
  EXPECT_TRUE(contains(malformed.error().message, "unexpected token: 'FRM'"));
  EXPECT_EQ(api->stats().failures, 2);
}

TEST_F(RestClient, DescribeReadsAnObjectsFieldsAndRefusesOtherPaths) {
  start();
  auto client = make(jwt_settings());
  const auto user = client->describe("User");
  ASSERT_TRUE(user) << user.error().to_string();
  EXPECT_EQ((*user)["name"], "User");
  EXPECT_FALSE((*user)["fields"].empty());
  const auto other = client->describe("Account");
  ASSERT_FALSE(other);
  EXPECT_EQ(other.error().kind, rest_failure_kind::rejected);
  EXPECT_EQ(other.error().http_status, 404);
  const auto requests = server_->sandbox().request_log().size();
  for (const char* name : {"", "User/../query", "User.Manager", "User?x=1"}) {
    const auto refused = client->describe(name);
    ASSERT_FALSE(refused) << name;
    EXPECT_EQ(refused.error().kind, rest_failure_kind::rejected) << name;
  }
  EXPECT_EQ(server_->sandbox().request_log().size(), requests);  // none of them was sent
}

TEST_F(RestClient, AClosedPortIsARetryableNetworkFailure) {
  start();
  auto s = jwt_settings();
  const std::string url = server_->base_url();
  server_->stop();
  s.login_url = url;
  const auto result = make(s)->verify();
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().kind, rest_failure_kind::network);
  EXPECT_TRUE(result.error().retryable());
  EXPECT_TRUE(contains(result.error().to_string(), "Salesforce sign-in (JWT bearer) failed: "));
}

// --- Instance URL and identity ----------------------------------------------------------------

TEST_F(RestClient, CallsGoToTheInstanceUrlNotTheLoginUrl) {
  start();
  sandbox().set_instance_url(server_->loopback_ip_url());  // login: localhost, instance: 127.0.0.1
  sandbox().add_generated_users(5);
  auto api = make(jwt_settings(), 200);
  const auto records = read_all(*api, "SELECT Id FROM User");
  ASSERT_TRUE(records) << records.error().to_string();
  EXPECT_EQ(records->size(), 5u);
  const auto port = std::to_string(server_->port());
  for (const auto& entry : sandbox().request_log()) {
    EXPECT_EQ(entry.host, (entry.endpoint == endpoint_token ? "localhost:" : "127.0.0.1:") + port)
        << entry.endpoint;
  }
}

TEST_F(RestClient, OrganizationIdComesFromTheIdentityUrl) {
  start({.org_id = "00D5g000004XyZa"});
  auto api = make(jwt_settings());
  const auto org = api->organization_id();
  ASSERT_TRUE(org) << org.error().to_string();
  EXPECT_EQ(*org, "00D5g000004XyZaEAK");
  EXPECT_EQ(*org, sandbox().organization_id());
  ASSERT_TRUE(api->verify());
  EXPECT_EQ(sandbox().calls(endpoint_token), 1);
}

// --- Threads and the query builder ---------------------------------------------------------------

TEST_F(RestClient, ConcurrentQueriesShareOneSignIn) {
  start();
  sandbox().add_generated_users(450);
  auto api = make(jwt_settings(), 200);
  std::atomic<int> good{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      if (auto r = read_all(*api, "SELECT Id FROM User"); r && r->size() == 450) ++good;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(good, 4);
  EXPECT_EQ(sandbox().calls(endpoint_token), 1);
}

TEST_F(RestClient, BuiltQueriesRunAgainstTheSandbox) {
  start();
  const auto ids = sandbox().add_generated_users(4);
  sandbox().update_user(ids[1], {{"UserType", "CsnOnly"}});
  auto s = jwt_settings();
  auto api = make(s);
  const auto all =
      read_all(*api, build_query(s, {"Id", "Username", "Email", "LastName", "Department",
                                     "IsActive", "Manager.Email", "username"}));
  ASSERT_TRUE(all) << all.error().to_string();
  EXPECT_EQ(all->size(), 3u);  // the default filter keeps Standard users only
  const auto some = read_all(*api, build_query_for_ids(s, {"Id"}, {ids[0], ids[1], ids[3]}));
  ASSERT_TRUE(some) << some.error().to_string();
  ASSERT_EQ(some->size(), 2u);
  EXPECT_EQ((*some)[0]["Id"], ids[0]);
  EXPECT_EQ((*some)[1]["Id"], ids[3]);
}

}  // namespace
}  // namespace connector::salesforce

namespace connector::salesforce {
namespace {

// The alerts read this: a refused sign-in or a persistent 401 refuses the credentials, the
// next sign-in or answer accepts them again; a server error says nothing about them.
TEST_F(RestClient, CredentialsStateFollowsSignInsAndAnswers) {
  start();
  auto api = make(jwt_settings());
  EXPECT_EQ(api->credentials().current().state, credentials_state::verdict::unknown);
  sandbox().fail_next(1, 400, "invalid_grant", "authentication failure",
                      salesforce_fault_target::token);
  ASSERT_FALSE(api->verify());
  auto state = api->credentials().current();
  EXPECT_EQ(state.state, credentials_state::verdict::refused);
  EXPECT_TRUE(contains(state.reason, "invalid_grant")) << state.reason;
  EXPECT_FALSE(contains(state.reason, "eyJ")) << state.reason;

  ASSERT_TRUE(api->verify());
  EXPECT_EQ(api->credentials().current().state, credentials_state::verdict::accepted);

  sandbox().fail_next(1, 503, "SERVER_UNAVAILABLE", "down");
  ASSERT_FALSE(read_all(*api, "SELECT Id FROM User"));
  EXPECT_EQ(api->credentials().current().state, credentials_state::verdict::accepted);

  sandbox().fail_next(2, 401, "INVALID_SESSION_ID", "Session expired or invalid");
  ASSERT_FALSE(read_all(*api, "SELECT Id FROM User"));
  state = api->credentials().current();
  EXPECT_EQ(state.state, credentials_state::verdict::refused);
  EXPECT_EQ(state.refusals, 2u);
}

}  // namespace
}  // namespace connector::salesforce

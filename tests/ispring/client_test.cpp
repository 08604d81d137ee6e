// The iSpring HTTPS client against the sandbox over real TLS on loopback: token caching and
// renewal, status → failure mapping, retries with injected sleeps (no real waiting), paging,
// legacy header auth, bounded concurrency, and the sandbox's control endpoints.
#include "connector/ispring/client.hpp"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "connector/http/client.hpp"
#include "connector/http/server.hpp"
#include "support/ispring_sandbox_server.hpp"
#include "support/service.hpp"

namespace connector::ispring {
namespace {

using connector::testing::ispring_sandbox;
using connector::testing::ispring_sandbox_server;
using connector::testing::sandbox_options;
using connector::testing::test_certs;
using nlohmann::json;
using std::chrono::milliseconds;

constexpr std::int64_t start_ms = 1'700'000'000'000;

::testing::AssertionResult contains(const std::string& text, const std::string& part) {
  if (text.find(part) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "'" << text << "' does not contain '" << part << "'";
}

class IspringClient : public ::testing::Test {
 protected:
  void start(sandbox_options options = {}) {
    options.clock = [this] { return sandbox_now_.load(); };
    server_ = std::make_unique<ispring_sandbox_server>(std::move(options));
  }

  config::ispring_settings settings() const {
    config::ispring_settings s;
    s.api_url = server_->base_url();
    s.client_id = "sandbox-client-id";
    s.client_secret = config::secret("sandbox-client-secret");
    s.tls_ca_file = test_certs::get().ca_crt.string();
    return s;
  }

  std::unique_ptr<https_api> make_api(const config::ispring_settings& s, retry_policy retry = {}) {
    return std::make_unique<https_api>(
        s, retry,
        [this](milliseconds d) {
          std::lock_guard lock(sleeps_mutex_);
          sleeps_.push_back(d);
        },
        client_clock_);
  }
  std::unique_ptr<https_api> make_api() { return make_api(settings()); }

  ispring_sandbox& sandbox() { return server_->sandbox(); }
  std::vector<milliseconds> sleeps() {
    std::lock_guard lock(sleeps_mutex_);
    return sleeps_;
  }
  int logged_with_status(int status) {
    const auto log = sandbox().request_log();
    return static_cast<int>(std::count_if(
        log.begin(), log.end(), [status](const auto& entry) { return entry.status == status; }));
  }

  std::atomic<std::int64_t> sandbox_now_{start_ms};
  manual_clock client_clock_{start_ms};
  std::mutex sleeps_mutex_;
  std::vector<milliseconds> sleeps_;
  std::unique_ptr<ispring_sandbox_server> server_;
};

TEST_F(IspringClient, TokenIsFetchedOnceAndReused) {
  start();
  auto api = make_api();
  ASSERT_TRUE(api->profile_fields());
  ASSERT_TRUE(api->list_departments());
  ASSERT_TRUE(api->list_groups());
  ASSERT_TRUE(api->list_users({}));
  EXPECT_EQ(sandbox().calls("POST /api/v3/token"), 1);
  const auto stats = api->stats();
  EXPECT_EQ(stats.tokens_fetched, 1u);
  EXPECT_EQ(stats.tokens_rejected, 0u);
  EXPECT_EQ(stats.requests.at("POST /api/v3/token").at(200), 1u);
  EXPECT_EQ(stats.requests.at("GET /user/profile/fields").at(200), 1u);
  EXPECT_EQ(stats.requests.at("GET /departments").at(200), 1u);
  // Every call went over one kept-alive connection.
  EXPECT_EQ(server_->counters().connections_accepted, 1u);
}

TEST_F(IspringClient, ExpiredTokenIsRenewedOnceAndTheCallSucceeds) {
  start();
  auto api = make_api();
  ASSERT_TRUE(api->list_groups());
  sandbox_now_ += 1801 * 1000;  // the sandbox expired it; our clock still trusts it

  const auto groups = api->list_groups();
  ASSERT_TRUE(groups) << groups.error().to_string();
  EXPECT_EQ(sandbox().calls("POST /api/v3/token"), 2);
  EXPECT_EQ(logged_with_status(401), 1);
  EXPECT_EQ(api->stats().tokens_fetched, 2u);
  EXPECT_EQ(api->stats().tokens_rejected, 1u);
  EXPECT_TRUE(sleeps().empty());  // a renewal is not a back-off
}

TEST_F(IspringClient, TokenIsRenewedAMinuteBeforeItExpires) {
  start();
  auto api = make_api();
  ASSERT_TRUE(api->list_groups());
  client_clock_.advance((1800 - 60) * 1000);
  ASSERT_TRUE(api->list_groups());
  EXPECT_EQ(sandbox().calls("POST /api/v3/token"), 2);
  EXPECT_EQ(logged_with_status(401), 0);
  EXPECT_EQ(api->stats().tokens_rejected, 0u);
}

TEST_F(IspringClient, WrongSecretIsAnAuthFailureThatDoesNotShowTheSecret) {
  start();
  auto s = settings();
  s.client_secret = config::secret("wrong-but-secret-Sup3rS3cr3t");
  auto api = make_api(s);
  const auto users = api->list_users({});
  ASSERT_FALSE(users);
  const failure& f = users.error();
  EXPECT_EQ(f.kind, failure_kind::auth);
  EXPECT_EQ(f.http_status, 401);
  EXPECT_FALSE(f.retryable());
  EXPECT_TRUE(contains(f.message, "iSpring refused the client credentials"));
  EXPECT_TRUE(contains(f.message, "Invalid client credentials"));
  EXPECT_FALSE(contains(f.to_string(), "Sup3rS3cr3t"));
  EXPECT_EQ(sandbox().calls("POST /api/v3/token"), 1);  // no retry of a refusal
  EXPECT_EQ(sandbox().calls("GET /users/v2"), 0);
  EXPECT_TRUE(sleeps().empty());
}

TEST_F(IspringClient, RateLimitIsRetriedAfterTheServersRetryAfter) {
  start();
  auto api = make_api();
  sandbox().fail_next(2, 429, 3);
  const auto fields = api->profile_fields();
  ASSERT_TRUE(fields) << fields.error().to_string();
  EXPECT_EQ(sleeps(), (std::vector<milliseconds>{milliseconds(3000), milliseconds(3000)}));
  const auto stats = api->stats();
  EXPECT_EQ(stats.retries, 2u);
  EXPECT_EQ(stats.requests.at("GET /user/profile/fields").at(429), 2u);
  EXPECT_EQ(stats.requests.at("GET /user/profile/fields").at(200), 1u);
}

TEST_F(IspringClient, RetryAfterIsCappedAndAttemptsRunOut) {
  start();
  auto api = make_api();
  sandbox().fail_next(10, 429, 3600);
  const auto groups = api->list_groups();
  ASSERT_FALSE(groups);
  EXPECT_EQ(groups.error().kind, failure_kind::rate_limited);
  EXPECT_EQ(groups.error().retry_after_s, 3600);  // for the caller's own scheduling
  EXPECT_EQ(sleeps(), std::vector<milliseconds>(3, milliseconds(60'000)));
}

TEST_F(IspringClient, OutageEndsAsServerFailureAfterMaxAttempts) {
  start();
  auto api = make_api();
  ASSERT_TRUE(api->list_groups());
  sandbox().set_outage(true);
  const auto groups = api->list_groups();
  ASSERT_FALSE(groups);
  EXPECT_EQ(groups.error().kind, failure_kind::server);
  EXPECT_EQ(groups.error().http_status, 503);
  EXPECT_TRUE(groups.error().retryable());
  EXPECT_TRUE(contains(groups.error().message, "outage injected"));
  EXPECT_EQ(sandbox().calls("GET /groups"), 1 + 4);
  // Full jitter below 200, 400, 800 ms.
  const auto slept = sleeps();
  ASSERT_EQ(slept.size(), 3u);
  for (std::size_t i = 0; i < slept.size(); ++i) {
    EXPECT_GE(slept[i].count(), 0);
    EXPECT_LE(slept[i].count(), 200 << i) << "retry " << i;
  }
}

TEST_F(IspringClient, BackOffGrowsToItsCap) {
  start();
  auto api = make_api(settings(), retry_policy{8, milliseconds(1000), milliseconds(3000),
                                               std::chrono::seconds(60)});
  ASSERT_TRUE(api->list_groups());
  sandbox().fail_next(7, 502);
  ASSERT_TRUE(api->list_groups());
  const auto slept = sleeps();
  ASSERT_EQ(slept.size(), 7u);
  const long ceilings[] = {1000, 2000, 3000, 3000, 3000, 3000, 3000};
  for (std::size_t i = 0; i < slept.size(); ++i) EXPECT_LE(slept[i].count(), ceilings[i]);
}

TEST_F(IspringClient, UnreachableServiceIsANetworkFailure) {
  std::uint16_t closed_port = 0;
  {
    start();
    closed_port = server_->port();
    server_.reset();
  }
  config::ispring_settings s;
  s.api_url = "https://127.0.0.1:" + std::to_string(closed_port);
  s.client_id = "id";
  s.client_secret = config::secret("never-sent-anywhere");
  s.tls_ca_file = test_certs::get().ca_crt.string();
  auto api = make_api(s, retry_policy{2});
  const auto users = api->list_users({});
  ASSERT_FALSE(users);
  EXPECT_EQ(users.error().kind, failure_kind::network);
  EXPECT_EQ(users.error().message, "cannot get an access token: connect to 127.0.0.1:" +
                                       std::to_string(closed_port) + " failed: Connection refused");
  EXPECT_EQ(sleeps().size(), 1u);
  EXPECT_EQ(api->stats().requests.at("POST /api/v3/token").at(0), 2u);
}

TEST_F(IspringClient, CreateReturnsTheNewIdAndTheUserReadsBack) {
  start();
  auto api = make_api();
  const auto id =
      api->create_user(sandbox().root_department_id(),
                       {{"login", "ada"}, {"email", "ada@example.com"}, {"first_name", "Ada"}});
  ASSERT_TRUE(id) << id.error().to_string();
  ASSERT_TRUE(sandbox().find_user(*id));

  const auto user = api->get_user(*id);
  ASSERT_TRUE(user) << user.error().to_string();
  EXPECT_EQ(user->login, "ada");
  EXPECT_EQ(user->email, "ada@example.com");
  EXPECT_EQ(user->fields.at("first_name"), "Ada");
  EXPECT_EQ(user->department_id, sandbox().root_department_id());
}

TEST_F(IspringClient, DuplicateLoginIsAConflict) {
  start();
  auto api = make_api();
  const auto root = sandbox().root_department_id();
  ASSERT_TRUE(api->create_user(root, {{"login", "ada"}, {"email", "ada@example.com"}}));
  const auto again = api->create_user(root, {{"login", "ADA"}, {"email", "other@example.com"}});
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().kind, failure_kind::conflict);
  EXPECT_EQ(again.error().http_status, 409);
  EXPECT_TRUE(contains(again.error().message, "already registered"));
}

TEST_F(IspringClient, DuplicateAnsweredWith400IsStillAConflict) {
  sandbox_options o;
  o.duplicate_status = 400;  // reference §4.3 / §10 q5: the current API may say 400
  start(o);
  auto api = make_api();
  const auto root = sandbox().root_department_id();
  ASSERT_TRUE(api->create_user(root, {{"login", "ada"}, {"email", "ada@example.com"}}));
  const auto again = api->create_user(root, {{"login", "bob"}, {"email", "ada@example.com"}});
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().kind, failure_kind::conflict);
  EXPECT_EQ(again.error().http_status, 400);

  // Any other 400 on create is the request's fault.
  const auto lost = api->create_user("00000000-0000-1000-8000-00000000ffff", {{"login", "cy"}});
  ASSERT_FALSE(lost);
  EXPECT_EQ(lost.error().kind, failure_kind::rejected);
  EXPECT_EQ(lost.error().message, "Department not found");
}

TEST_F(IspringClient, UnknownAndUnsafeIds) {
  start();
  auto api = make_api();
  const auto missing = api->get_user("00000000-0000-1000-8000-00000000ffff");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().kind, failure_kind::not_found);
  EXPECT_EQ(missing.error().http_status, 404);

  const auto calls_before = sandbox().request_log().size();
  for (const std::string bad : {"../user/x", "", "a/b", "id?x=1", ".."}) {
    const auto refused = api->set_user_status(bad, user_status_inactive);
    ASSERT_FALSE(refused) << bad;
    EXPECT_EQ(refused.error().kind, failure_kind::rejected) << bad;
    EXPECT_EQ(refused.error().http_status, 0) << bad;
  }
  EXPECT_FALSE(api->get_group("%2e%2e"));
  EXPECT_EQ(sandbox().request_log().size(), calls_before);  // nothing was sent
}

TEST_F(IspringClient, PagesThroughAllUsers) {
  start();
  for (int i = 0; i < 2500; ++i) {
    sandbox().add_user("user" + std::to_string(i), "user" + std::to_string(i) + "@example.com");
  }
  auto api = make_api();
  const auto all = api->list_users({});
  ASSERT_TRUE(all) << all.error().to_string();
  EXPECT_EQ(all->size(), 2500u);
  EXPECT_EQ(sandbox().calls("GET /users/v2"), 3);  // 1000 + 1000 + 500
  std::set<std::string> ids;
  for (const auto& u : *all) ids.insert(u.id);
  EXPECT_EQ(ids.size(), 2500u);

  auto first = api->list_users_page("", 1000);
  ASSERT_TRUE(first) << first.error().to_string();
  EXPECT_EQ(first->items.size(), 1000u);
  ASSERT_FALSE(first->is_last());
  auto second = api->list_users_page(first->next_page_token, 2000);  // the sandbox caps at 1000
  ASSERT_TRUE(second) << second.error().to_string();
  EXPECT_EQ(second->items.size(), 1000u);
  EXPECT_NE(second->items.front().id, first->items.front().id);
}

TEST_F(IspringClient, FiltersAreEncoded) {
  start();
  const auto wanted = sandbox().add_user("a+b&c=d", "a+b@example.com");
  sandbox().add_user("other", "other@example.com");
  auto api = make_api();
  user_filter filter;
  filter.logins = {"a+b&c=d"};
  const auto found = api->list_users(filter);
  ASSERT_TRUE(found) << found.error().to_string();
  ASSERT_EQ(found->size(), 1u);
  EXPECT_EQ(found->front().id, wanted);

  user_filter by_email;
  by_email.emails = {"a+b@example.com", "other@example.com"};
  const auto both = api->list_users(by_email);
  ASSERT_TRUE(both) << both.error().to_string();
  EXPECT_EQ(both->size(), 2u);
}

TEST_F(IspringClient, LegacyHeaderAuth) {
  sandbox_options o;
  o.legacy_account_url = "https://acme.ispringlearn.com";
  o.legacy_login = "admin@acme.example";
  o.legacy_password = "legacy-Passw0rd";
  start(o);
  auto s = settings();
  s.auth = "password";
  s.account_url = "https://acme.ispringlearn.com";
  s.login = "admin@acme.example";
  s.password = config::secret("legacy-Passw0rd");
  auto api = make_api(s);
  const auto fields = api->profile_fields();
  ASSERT_TRUE(fields) << fields.error().to_string();
  EXPECT_FALSE(fields->empty());
  EXPECT_EQ(sandbox().calls("POST /api/v3/token"), 0);

  s.password = config::secret("wrong-Passw0rd-xyz");
  const auto refused = make_api(s)->profile_fields();
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().kind, failure_kind::auth);
  EXPECT_FALSE(contains(refused.error().to_string(), "wrong-Passw0rd-xyz"));
}

TEST_F(IspringClient, EveryEndpointAgainstTheSandbox) {
  start();
  auto api = make_api();
  const std::string root = sandbox().root_department_id();

  const auto sales = api->create_department("Sales", root);
  ASSERT_TRUE(sales) << sales.error().to_string();
  ASSERT_TRUE(api->rename_department(*sales, "Sales EMEA"));
  EXPECT_TRUE(sandbox().find_department_by_name("Sales EMEA"));
  const auto departments = api->list_departments();
  ASSERT_TRUE(departments) << departments.error().to_string();
  ASSERT_EQ(departments->size(), 2u);
  EXPECT_EQ(departments->at(1).parent_id, root);

  const auto user = api->create_user(*sales, {{"login", "ada"}, {"email", "ada@example.com"}});
  ASSERT_TRUE(user) << user.error().to_string();
  ASSERT_TRUE(api->update_user(*user, root, {{"first_name", "Ada"}}));
  EXPECT_EQ(sandbox().find_user(*user)->department_id, root);
  EXPECT_EQ(sandbox().find_user(*user)->fields.at("first_name"), "Ada");
  ASSERT_TRUE(api->set_user_status(*user, user_status_inactive));
  EXPECT_EQ(sandbox().find_user(*user)->status, user_status_inactive);

  const auto team = api->create_group("Team \"A\"");
  ASSERT_TRUE(team) << team.error().to_string();
  ASSERT_TRUE(api->set_group_members(*team, {*user}));
  const auto read = api->get_group(*team);
  ASSERT_TRUE(read) << read.error().to_string();
  EXPECT_EQ(read->name, "Team \"A\"");
  EXPECT_EQ(read->user_ids, std::vector<std::string>{*user});
  const auto groups = api->list_groups();
  ASSERT_TRUE(groups);
  ASSERT_EQ(groups->size(), 1u);
  ASSERT_TRUE(api->remove_user_from_groups(*user, {*team}));
  EXPECT_TRUE(sandbox().find_group_by_name("Team \"A\"")->user_ids.empty());

  ASSERT_TRUE(api->delete_user(*user));
  EXPECT_FALSE(sandbox().find_user(*user));
  ASSERT_TRUE(api->delete_department(*sales));
  EXPECT_FALSE(sandbox().find_department_by_name("Sales EMEA"));
  // The sandbox refuses with 403, which reads as a permission problem (api.hpp's mapping).
  const auto root_delete = api->delete_department(root);
  ASSERT_FALSE(root_delete);
  EXPECT_EQ(root_delete.error().http_status, 403);
  EXPECT_EQ(root_delete.error().message, "The root department cannot be deleted");

  const auto missing_group = api->get_group("00000000-0000-1000-8000-00000000ffff");
  ASSERT_FALSE(missing_group);
  EXPECT_EQ(missing_group.error().kind, failure_kind::not_found);
}

TEST_F(IspringClient, AtMostMaxConcurrencyRequestsInFlight) {
  // A stand-in answering after 30 ms, counting requests in flight.
  std::atomic<int> in_flight{0}, most{0};
  std::mutex replies_mutex;
  std::vector<std::thread> replies;
  http::server_options options;
  const auto& certs = test_certs::get();
  options.tls = http::tls_options{certs.server_crt.string(), certs.server_key.string(), {}, {}};
  http::server slow(options, {{"GET", "/*", [&](http::request&&, http::respond_fn respond) {
                                 const int now = ++in_flight;
                                 int seen = most.load();
                                 while (now > seen && !most.compare_exchange_weak(seen, now)) {
                                 }
                                 std::lock_guard lock(replies_mutex);
                                 replies.emplace_back([&in_flight, respond] {
                                   std::this_thread::sleep_for(milliseconds(30));
                                   --in_flight;
                                   respond(http::response::json(200, "[]"));
                                 });
                               }}});
  std::thread serving([&slow] { slow.run(4); });

  config::ispring_settings s;
  s.api_url = "https://localhost:" + std::to_string(slow.port());
  s.auth = "password";
  s.account_url = "https://acme.ispringlearn.com";
  s.login = "admin";
  s.password = config::secret("pw");
  s.tls_ca_file = certs.ca_crt.string();
  s.max_concurrency = 2;
  auto api = make_api(s);
  std::atomic<int> ok{0};
  std::vector<std::thread> callers;
  for (int t = 0; t < 6; ++t) {
    callers.emplace_back([&api, &ok] {
      for (int i = 0; i < 3; ++i) ok += api->profile_fields() ? 1 : 0;
    });
  }
  for (auto& t : callers) t.join();
  {
    std::lock_guard lock(replies_mutex);
    for (auto& t : replies) t.join();
  }
  slow.stop();
  serving.join();
  EXPECT_EQ(ok.load(), 18);
  EXPECT_LE(most.load(), 2);
  EXPECT_GE(most.load(), 1);
}

TEST_F(IspringClient, ControlEndpointsDriveTheSandbox) {
  start();
  http::client control(
      http::client_options{server_->base_url(), test_certs::get().ca_crt.string()});
  const auto post = [&control](const std::string& target, const json& body) {
    auto reply =
        control.send({"POST", target, {{"Content-Type", "application/json"}}, body.dump()});
    EXPECT_TRUE(reply) << reply.error();
    return reply ? *reply : http::client_response{};
  };

  const auto seeded =
      post("/_sandbox/seed",
           {{"departments", {{{"name", "Sales"}}, {{"name", "EMEA"}, {"parent", "Sales"}}}},
            {"users", {{{"login", "ada"}, {"email", "ada@example.com"}, {"department", "EMEA"}}}},
            {"groups", {{{"name", "Team"}, {"members", {"ada"}}}}}});
  ASSERT_EQ(seeded.status, 200) << seeded.body;
  const json ids = json::parse(seeded.body);
  const std::string ada = ids["users"]["ada"];
  EXPECT_EQ(sandbox().find_user(ada)->department_id, ids["departments"]["EMEA"]);
  EXPECT_EQ(sandbox().find_group_by_name("Team")->user_ids, std::vector<std::string>{ada});
  EXPECT_EQ(
      post("/_sandbox/seed", {{"users", {{{"login", "x"}, {"department", "Nowhere"}}}}}).status,
      400);

  EXPECT_EQ(post("/_sandbox/fail", {{"count", 1}, {"status", 500}}).status, 200);
  auto api = make_api();
  const auto user = api->get_user(ada);
  ASSERT_TRUE(user) << user.error().to_string();
  EXPECT_EQ(sleeps().size(), 1u);

  EXPECT_EQ(post("/_sandbox/outage", {{"on", true}}).status, 200);
  EXPECT_FALSE(api->get_user(ada));
  EXPECT_EQ(post("/_sandbox/outage", {{"on", false}}).status, 200);

  EXPECT_EQ(post("/_sandbox/latency", {{"ms", 20}}).status, 200);
  EXPECT_EQ(sandbox().latency_ms(), 20);
  EXPECT_TRUE(api->get_user(ada));

  const auto calls = control.send({"GET", "/_sandbox/calls", {}, {}});
  ASSERT_TRUE(calls);
  EXPECT_GE(json::parse(calls->body).at("GET /user/{id}/v2").get<int>(), 3);
  const auto state = control.send({"GET", "/_sandbox/state", {}, {}});
  ASSERT_TRUE(state);
  EXPECT_TRUE(contains(state->body, "ada@example.com"));

  EXPECT_EQ(post("/_sandbox/reset", json::object()).status, 200);
  EXPECT_TRUE(sandbox().users().empty());
  EXPECT_EQ(post("/_sandbox/nonsense", json::object()).status, 404);
}

}  // namespace
}  // namespace connector::ispring

namespace connector::ispring {
namespace {

// The alerts read this: refused by an auth failure, accepted again by the next success,
// untouched by failures that say nothing about the credentials.
TEST_F(IspringClient, CredentialsStateFollowsWhatTheCallsLearn) {
  start();
  auto api = make_api();
  EXPECT_EQ(api->credentials().current().state, credentials_state::verdict::unknown);
  ASSERT_TRUE(api->list_users({}));
  EXPECT_EQ(api->credentials().current().state, credentials_state::verdict::accepted);

  sandbox().fail_next(2, 401);  // the call and its repeat after a fresh token
  client_clock_.advance(1000);
  ASSERT_FALSE(api->list_users({}));
  auto state = api->credentials().current();
  EXPECT_EQ(state.state, credentials_state::verdict::refused);
  EXPECT_EQ(state.since, start_ms + 1000);
  EXPECT_EQ(state.refusals, 1u);
  EXPECT_TRUE(contains(state.reason, "401")) << state.reason;

  sandbox().fail_next(4, 503);  // an outage (every attempt) is no verdict on the credentials
  ASSERT_FALSE(api->list_users({}));
  EXPECT_EQ(api->credentials().current().state, credentials_state::verdict::refused);

  ASSERT_TRUE(api->list_users({}));
  EXPECT_EQ(api->credentials().current().state, credentials_state::verdict::accepted);
}

TEST_F(IspringClient, ARefusedTokenRefusesTheCredentialsWithoutTheSecret) {
  start();
  auto s = settings();
  s.client_secret = config::secret("wrong-but-secret-Sup3rS3cr3t");
  auto api = make_api(s);
  ASSERT_FALSE(api->list_users({}));
  const auto state = api->credentials().current();
  EXPECT_EQ(state.state, credentials_state::verdict::refused);
  EXPECT_TRUE(contains(state.reason, "iSpring refused the client credentials")) << state.reason;
  EXPECT_FALSE(contains(state.reason, "Sup3rS3cr3t"));
}

}  // namespace
}  // namespace connector::ispring

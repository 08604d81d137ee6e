// The admin page's routes, called in process over a real SQLite inbox: the token on every
// data route, the security headers on every answer, secrets never in /admin/config,
// findings from /admin/check, dead letters re-queued, notifications counted per hour and
// a plan read a page at a time. (The page in a browser: tests/browser/admin_page_test.py.)
#include "connector/app/admin_page.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <future>

#include "connector/app/admin_api.hpp"
#include "connector/store/open.hpp"
#include "support/inbox_input.hpp"
#include "support/service.hpp"

namespace connector::app {
namespace {

constexpr const char* org = "00D5g000004XyZaEAK";
constexpr const char* user_a = "0055g00000AbCdEAAZ";
constexpr const char* user_b = "0055g00000AbCdFAAZ";
// 2026-11-29T10:30:00Z
constexpr epoch_ms now_ms = 1'795'948'200'000;
constexpr epoch_ms hour = 3'600'000;

// Values no answer may ever contain.
constexpr const char* ispring_secret = "ispring-client-secret-value-71f3";
constexpr const char* smtp_secret = "smtp-password-value-a81c";
constexpr const char* events_secret = "whsec_c2VjcmV0LXNpZ25pbmcta2V5LXZhbHVlLTEyMzQ1Ng==";
constexpr const char* path_secret = "path-segment-secret-0d9e2b";

std::string header(const http::response& r, const std::string& name) {
  for (const auto& [n, v] : r.headers)
    if (n == name) return v;
  return {};
}

class admin_page : public ::testing::Test {
 protected:
  admin_page() {
    auto config = testing::test_config(dir_.path());
    config["ispring"] = {{"api_url", "https://127.0.0.1:1"},
                         {"client_id", "connector-test"},
                         {"client_secret", ispring_secret},
                         {"connect_timeout_ms", 500}};
    config["server"]["events_signing_secrets"] = {events_secret};
    config["server"]["secret_path_segment"] = path_secret;
    config["alerts"] = {{"email_to", {"admin@example.com"}},
                        {"smtp",
                         {{"host", "127.0.0.1"},
                          {"port", 2525},
                          {"security", "none"},
                          {"username", "connector@example.com"},
                          {"password", smtp_secret}}}};
    config["mapping"] = {{"groups", "iSpring_Groups__c"}, {"fields", {{"job_title", "Title"}}}};
    config["sync"] = {{"departments",
                       {{"Sales", {{"sync_all_users", true}, {"ispring_name", "Sales EMEA"}}},
                        {"Support", {{"sync_all_users", false}, {"users", {"jane@acme.com"}}}}}},
                      {"groups", {"Onboarding"}},
                      {"inactive_users", "delete"}};
    auto loaded = config::load_text(config.dump(), dir_.path().string());
    if (!loaded) throw std::runtime_error(loaded.error().to_string());
    settings_ = std::move(*loaded);
    routes_ = with_admin_page(
        make_admin_routes(settings_, *inbox_, counters_, nullptr, "off"),
        {&settings_, inbox_.get(), inbox_.get(), nullptr, &clock_, [this] { ++wakes_; }});
  }

  // The first route matching, as http::server picks it; the answer, waited for.
  http::response call(const std::string& method, const std::string& target,
                      const std::string& token = testing::test_admin_token) {
    http::request req;
    req.method = method;
    req.target = target;
    const auto q = target.find('?');
    req.path = target.substr(0, q);
    req.query = q == std::string::npos ? "" : target.substr(q + 1);
    if (!token.empty()) req.headers.emplace_back("authorization", "Bearer " + token);
    for (const auto& r : routes_) {
      const bool prefix = r.path.back() == '*';
      const bool matches =
          prefix ? req.path.compare(0, r.path.size() - 1, r.path, 0, r.path.size() - 1) == 0
                 : req.path == r.path;
      if (!matches || r.method != method) continue;
      auto answer = std::make_shared<std::promise<http::response>>();
      auto future = answer->get_future();
      r.handler(std::move(req), [answer](http::response resp) { answer->set_value(resp); });
      return future.get();
    }
    ADD_FAILURE() << "no route for " << method << " " << target;
    return {};
  }

  nlohmann::json json_of(const http::response& r) { return nlohmann::json::parse(r.body); }

  void receive(const char* record_id, epoch_ms at, const std::string& notification_id) {
    using testing::inbox_input::change;
    using testing::inbox_input::request;
    const auto r = request({change(notification_id, record_id, R"({"LastName":"X"})")}, at);
    ASSERT_TRUE(inbox_->submit_and_wait(r).committed);
  }

  static store::store_settings store_options(const testing::temp_dir& dir,
                                             const connector::clock& clock) {
    store::store_settings options{(dir.path() / "connector.db").string()};
    options.time = &clock;  // history pruned by the test's time, not the machine's
    return options;
  }

  testing::temp_dir dir_;
  manual_clock clock_{now_ms};
  std::unique_ptr<store::store> inbox_ = store::open_store(store_options(dir_, clock_));
  intake_counters counters_;
  config::settings settings_;
  int wakes_ = 0;
  std::vector<http::route> routes_;
};

TEST_F(admin_page, every_data_route_refuses_a_missing_or_wrong_token) {
  const std::pair<const char*, const char*> routes[] = {{"GET", "/admin/config"},
                                                        {"GET", "/admin/schedule"},
                                                        {"GET", "/admin/activity"},
                                                        {"POST", "/admin/check"},
                                                        {"POST", "/admin/dead-letters/retry"},
                                                        {"POST", "/admin/release"},
                                                        {"GET", "/admin/runs/1/plan"},
                                                        {"GET", "/admin/status"}};
  for (const auto& [method, path] : routes) {
    for (const std::string token : {"", "wrong-token"}) {
      const auto r = call(method, path, token);
      EXPECT_EQ(r.status, 401) << method << " " << path << " token '" << token << "'";
      EXPECT_EQ(header(r, "WWW-Authenticate"), "Bearer") << path;
      EXPECT_EQ(header(r, "Cache-Control"), "no-store") << path;
    }
  }
}

TEST_F(admin_page, the_page_is_served_without_a_token_under_a_strict_policy) {
  const auto page = call("GET", "/", "");
  ASSERT_EQ(page.status, 200);
  EXPECT_EQ(page.content_type, "text/html; charset=utf-8");
  EXPECT_NE(page.body.find("role=\"tablist\""), std::string::npos);
  EXPECT_EQ(header(page, "Content-Security-Policy"),
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'");
  EXPECT_EQ(header(page, "X-Content-Type-Options"), "nosniff");
  EXPECT_EQ(header(page, "Referrer-Policy"), "no-referrer");
  EXPECT_EQ(header(page, "X-Frame-Options"), "DENY");
  // The policy forbids inline code: every script is a file, no style attribute or element.
  for (std::size_t at = page.body.find("<script"); at != std::string::npos;
       at = page.body.find("<script", at + 1))
    EXPECT_EQ(page.body.compare(at, 13, "<script src=\""), 0) << page.body.substr(at, 40);
  EXPECT_EQ(page.body.find("style="), std::string::npos);
  EXPECT_EQ(page.body.find("<style"), std::string::npos);

  const auto script = call("GET", "/static/app.js", "");
  ASSERT_EQ(script.status, 200);
  EXPECT_EQ(script.content_type, "text/javascript; charset=utf-8");
  EXPECT_NE(script.body.find("sessionStorage"), std::string::npos);
  EXPECT_EQ(call("GET", "/static/app.css", "").content_type, "text/css; charset=utf-8");
  EXPECT_EQ(call("GET", "/static/missing.js", "").status, 404);
  EXPECT_EQ(call("GET", "/static/../index.html", "").status, 404);
}

TEST_F(admin_page, the_admin_api_answers_carry_the_security_headers_too) {
  const auto status = call("GET", "/admin/status");
  ASSERT_EQ(status.status, 200);
  EXPECT_FALSE(header(status, "Content-Security-Policy").empty());
  EXPECT_EQ(header(status, "Cache-Control"), "no-store");
  // /admin/runs/{id} is still the admin API's, beside /admin/runs/{id}/plan.
  const auto run = call("GET", "/admin/runs/7");
  EXPECT_EQ(run.status, 404);
  EXPECT_EQ(json_of(run)["error"], "no such run");
  EXPECT_EQ(json_of(call("GET", "/admin/runs/7/plan"))["error"], "run 7 has no plan");
}

TEST_F(admin_page, the_config_shows_every_setting_and_no_secret) {
  const auto r = call("GET", "/admin/config");
  ASSERT_EQ(r.status, 200);
  for (const char* secret :
       {ispring_secret, smtp_secret, events_secret, path_secret, testing::test_admin_token})
    EXPECT_EQ(r.body.find(secret), std::string::npos) << secret;
  const auto c = json_of(r);
  EXPECT_EQ(c["ispring"]["client_secret"], "[redacted]");
  EXPECT_EQ(c["ispring"]["client_id"], "connector-test");
  EXPECT_EQ(c["admin"]["token"], "[redacted]");
  EXPECT_EQ(c["alerts"]["smtp"]["password"], "[redacted]");
  EXPECT_EQ(c["server"]["secret_path_segment"], "[redacted]");
  EXPECT_EQ(c["server"]["events_signing_secrets"][0], "[redacted]");
  EXPECT_TRUE(c["salesforce"]["client_secret"].is_null());
  EXPECT_EQ(c["salesforce"]["flow"], "none");
  // The seed's five mandatory fields first, in its order, then the extra ones.
  const auto& mandatory = c["mapping"]["mandatory"];
  ASSERT_EQ(mandatory.size(), 5u);
  EXPECT_EQ(mandatory[0]["ispring"], "last_name");
  EXPECT_EQ(mandatory[4]["salesforce"], "iSpring_Groups__c");
  EXPECT_EQ(c["mapping"]["fields"][0]["ispring"], "job_title");
  const auto& departments = c["sync"]["departments"];
  ASSERT_EQ(departments.size(), 2u);
  EXPECT_EQ(departments[0]["ispring_name"], "Sales EMEA");
  EXPECT_EQ(departments[1]["sync_all_users"], false);
  EXPECT_EQ(departments[1]["users"][0], "jane@acme.com");
  EXPECT_EQ(c["sync"]["groups"][0], "Onboarding");
  EXPECT_EQ(c["sync"]["inactive_users"], "delete");
  EXPECT_EQ(c["schedule"]["run_type"], "manual");
  EXPECT_EQ(c["schedule"]["time_zone"], "UTC");
}

TEST_F(admin_page, check_returns_each_finding_without_secrets) {
  const auto r = call("POST", "/admin/check");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.body.find(ispring_secret), std::string::npos);
  const auto answer = json_of(r);
  EXPECT_FALSE(answer["ok"]);
  const auto& findings = answer["findings"];
  ASSERT_EQ(findings.size(), 4u) << findings.dump();
  EXPECT_EQ(findings[0]["name"], "configuration");
  EXPECT_TRUE(findings[0]["ok"]);
  // Nothing listens on port 1: the finding names the endpoint.
  EXPECT_EQ(findings[1]["name"], "ispring");
  EXPECT_EQ(findings[1]["level"], "fail");
  EXPECT_NE(findings[1]["message"].get<std::string>().find("https://127.0.0.1:1"),
            std::string::npos);
  // No Salesforce REST credentials: a warning, not a failure.
  EXPECT_EQ(findings[2]["name"], "salesforce");
  EXPECT_EQ(findings[2]["level"], "warn");
  EXPECT_TRUE(findings[2]["ok"]);
  // The alerts section is described; the Verify button never sends a test e-mail.
  EXPECT_EQ(findings[3]["name"], "alerts");
  EXPECT_NE(findings[3]["message"].get<std::string>().find("--send-test-email sends one"),
            std::string::npos)
      << findings[3];
}

TEST_F(admin_page, retry_requeues_one_dead_letter_or_all) {
  receive(user_a, now_ms, "04l-a");
  receive(user_b, now_ms, "04l-b");
  for (const auto& record : inbox_->take_due(now_ms, 10))
    inbox_->mark_failed(org, record.record_id, record.version, "iSpring: 400 bad e-mail", now_ms,
                        true);
  ASSERT_EQ(inbox_->stats().dead_letters, 2);

  auto r = call("POST", std::string("/admin/dead-letters/retry?record_id=") + user_a);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json_of(r)["requeued"], 1);
  EXPECT_EQ(inbox_->find_record(org, user_a)->state, store::record_state::pending);
  EXPECT_EQ(inbox_->find_record(org, user_b)->state, store::record_state::dead);
  EXPECT_EQ(wakes_, 1);

  r = call("POST", std::string("/admin/dead-letters/retry?record_id=") + user_a);
  EXPECT_EQ(r.status, 404);

  r = call("POST", "/admin/dead-letters/retry");
  EXPECT_EQ(json_of(r)["requeued"], 1);
  EXPECT_EQ(inbox_->stats().dead_letters, 0);
  EXPECT_EQ(inbox_->stats().pending, 2);
}

TEST_F(admin_page, release_lets_one_or_every_held_record_through_and_wakes_the_worker) {
  receive(user_a, now_ms - 1000, "n1");
  receive(user_b, now_ms - 1000, "n2");
  for (const auto& record : inbox_->take_due(now_ms, 10))
    inbox_->mark_held(org, record.record_id, record.version, "held by the safety limit: …");
  ASSERT_EQ(inbox_->stats().held, 2);
  const auto held = json_of(call("GET", "/admin/status"));
  EXPECT_EQ(held["held"], 2);
  ASSERT_EQ(held["held_records"].size(), 2u);
  EXPECT_EQ(held["held_records"][0]["reason"], "held by the safety limit: …");

  auto r = call("POST", std::string("/admin/release?record_id=") + user_a);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json_of(r)["released"], 1);
  const auto released = inbox_->find_record(org, user_a);
  EXPECT_EQ(released->state, store::record_state::pending);
  EXPECT_TRUE(released->released);
  EXPECT_EQ(inbox_->find_record(org, user_b)->state, store::record_state::held);
  EXPECT_EQ(wakes_, 1);

  r = call("POST", std::string("/admin/release?record_id=") + user_a);
  EXPECT_EQ(r.status, 404);
  EXPECT_NE(json_of(r)["error"].get<std::string>().find("no record held"), std::string::npos);

  r = call("POST", "/admin/release");
  EXPECT_EQ(json_of(r)["released"], 1);
  EXPECT_EQ(inbox_->stats().held, 0);
  EXPECT_EQ(inbox_->stats().pending, 2);
}

TEST_F(admin_page, activity_counts_notifications_per_hour_of_the_last_day) {
  receive(user_a, now_ms - 10 * 60'000, "n1");              // this hour (10:20)
  receive(user_b, now_ms - 5 * 60'000, "n2");               // this hour (10:25)
  receive(user_a, now_ms - 2 * hour, "n3");                 // 08:30
  receive(user_a, now_ms - 23 * hour - 20 * 60'000, "n4");  // 11:10 yesterday: first bucket
  receive(user_a, now_ms - 25 * hour, "n5");                // too old
  const auto r = call("GET", "/admin/activity");
  ASSERT_EQ(r.status, 200);
  const auto a = json_of(r);
  EXPECT_EQ(a["bucket_minutes"], 60);
  ASSERT_EQ(a["starts"].size(), 24u);
  EXPECT_EQ(a["starts"][0], "2026-11-28T11:00:00.000Z");
  EXPECT_EQ(a["starts"][23], "2026-11-29T10:00:00.000Z");
  EXPECT_EQ(a["series"][0]["name"], "notifications_received");
  const auto values = a["series"][0]["values"].get<std::vector<std::int64_t>>();
  ASSERT_EQ(values.size(), 24u);
  EXPECT_EQ(values[23], 2);
  EXPECT_EQ(values[21], 1);
  EXPECT_EQ(values[0], 1);
  std::int64_t total = 0;
  for (const auto v : values) total += v;
  EXPECT_EQ(total, 4);

  // No history yet: the applied series is there, all zeros.
  ASSERT_EQ(a["series"].size(), 2u);
  EXPECT_EQ(a["series"][1]["name"], "users_applied");
  for (const auto& v : a["series"][1]["values"]) EXPECT_EQ(v, 0);

  EXPECT_EQ(call("GET", "/admin/activity?hours=0").status, 400);
  EXPECT_EQ(call("GET", "/admin/activity?hours=x").status, 400);
  EXPECT_EQ(json_of(call("GET", "/admin/activity?hours=3"))["starts"].size(), 3u);
}

TEST_F(admin_page, activity_counts_users_applied_by_the_worker_and_by_runs) {
  const auto event = [](epoch_ms at, const char* kind, const char* details = "{}") {
    return testing::inbox_input::event(user_a, at, kind, details);
  };
  namespace kinds = store::history_kinds;
  // Written in time order, as the service writes them; many old events in front, so the
  // window's start is found among them.
  std::vector<store::history_event> events;
  for (int i = 0; i < 500; ++i) events.push_back(event(now_ms - 40 * hour + i, kinds::applied));
  events.push_back(event(now_ms - 23 * hour - 20 * 60'000, kinds::applied));  // first bucket
  events.push_back(event(now_ms - 2 * hour, kinds::reconciled, R"({"run_id":1,"ok":true})"));
  events.push_back(event(now_ms - 2 * hour, kinds::reconciled, R"({"run_id":1,"ok":false})"));
  events.push_back(event(now_ms - 2 * hour, kinds::skipped));
  events.push_back(event(now_ms - 10 * 60'000, kinds::mapped));
  events.push_back(event(now_ms - 10 * 60'000, kinds::applied));
  events.push_back(event(now_ms - 5 * 60'000, kinds::applied));
  inbox_->record_history(std::move(events));
  receive(user_b, now_ms, "n-after");  // committed after the history: it is written

  const auto a = json_of(call("GET", "/admin/activity"));
  ASSERT_EQ(a["series"].size(), 2u);
  EXPECT_EQ(a["series"][1]["label"], "Users applied to iSpring");
  const auto values = a["series"][1]["values"].get<std::vector<std::int64_t>>();
  ASSERT_EQ(values.size(), 24u);
  EXPECT_EQ(values[0], 1);
  EXPECT_EQ(values[21], 1);  // the run's successful change, not its failure nor the skip
  EXPECT_EQ(values[23], 2);
  std::int64_t total = 0;
  for (const auto v : values) total += v;
  EXPECT_EQ(total, 4);
}

TEST_F(admin_page, schedule_says_when_no_run_is_coming) {
  const auto s = json_of(call("GET", "/admin/schedule"));
  EXPECT_EQ(s["run_type"], "manual");
  EXPECT_FALSE(s["reconciliation_available"]);
  EXPECT_TRUE(s["next_run"].is_null());
}

TEST_F(admin_page, a_stored_plan_is_read_a_page_at_a_time_filtered_by_action) {
  nlohmann::json users = nlohmann::json::array();
  for (int i = 0; i < 250; ++i)
    users.push_back(
        {{"record_id", "r" + std::to_string(i)},
         {"login", "u" + std::to_string(i)},
         {"actions", i % 5 == 0 ? nlohmann::json{"create"} : nlohmann::json{"update", "groups"}}});
  const nlohmann::json plan = {{"counts", {{"create", 50}, {"update", 200}, {"groups", 200}}},
                               {"users", users},
                               {"departments", {{"create", {"Sales"}}}},
                               {"safety", {{"exceeded", false}}}};
  const auto id = inbox_->create_run("admin", true, now_ms);
  inbox_->start_run(id, now_ms);
  inbox_->finish_run(id, "succeeded", now_ms + 1000, {{"create", 50}}, "", plan.dump());

  const auto base = "/admin/runs/" + std::to_string(id) + "/plan";
  auto page = json_of(call("GET", base + "?action=create&offset=10&limit=20"));
  EXPECT_EQ(page["total"], 50);
  ASSERT_EQ(page["users"].size(), 20u);
  EXPECT_EQ(page["users"][0]["record_id"], "r50");  // the 11th of every fifth
  EXPECT_EQ(page["counts"]["update"], 200);
  EXPECT_EQ(page["departments"]["create"][0], "Sales");
  EXPECT_EQ(page["run_id"], id);

  page = json_of(call("GET", base + "?offset=240"));
  EXPECT_EQ(page["total"], 250);
  EXPECT_EQ(page["users"].size(), 10u);
  EXPECT_EQ(json_of(call("GET", base + "?action=remove"))["total"], 0);
  EXPECT_EQ(call("GET", base + "?offset=-1").status, 400);
  // The run itself is still the admin API's answer.
  EXPECT_EQ(json_of(call("GET", "/admin/runs/" + std::to_string(id) + "?plan=false"))["status"],
            "succeeded");
}

TEST(plan_page, keeps_only_the_page_and_counts_every_match) {
  const std::string plan = R"({"counts":{"create":2,"update":1},
    "users":[{"record_id":"a","actions":["create"]},{"record_id":"b","actions":["update"]},
             {"record_id":"c","actions":["create","groups"],"changes":[{"nested":{"users":[]}}]}],
    "departments":{"create":[],"rename":[],"delete":[]},"safety":{"exceeded":false}})";
  auto page = plan_page(plan, "create", 1, 5);
  EXPECT_EQ(page["total"], 2);
  ASSERT_EQ(page["users"].size(), 1u);
  EXPECT_EQ(page["users"][0]["record_id"], "c");
  EXPECT_EQ(page["users"][0]["changes"][0]["nested"]["users"].size(), 0u);
  page = plan_page(plan, "", 0, 2);
  EXPECT_EQ(page["total"], 3);
  ASSERT_EQ(page["users"].size(), 2u);
  EXPECT_EQ(page["users"][1]["record_id"], "b");
  EXPECT_TRUE(plan_page("not json", "", 0, 10).is_null());
  EXPECT_TRUE(plan_page("", "", 0, 10).is_null());
}

}  // namespace
}  // namespace connector::app

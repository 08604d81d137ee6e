// End to end: GET /metrics of the real binary. Who may scrape it, that `promtool check
// metrics` accepts what it says, and that its counters move by exactly what the test sent
// through the intakes, the worker (to the iSpring sandbox) and a reconciliation (from the
// Salesforce sandbox) — requests checked one by one against the sandboxes' own logs.
#include <gtest/gtest.h>

#include <map>
#include <regex>
#include <sstream>

#include "connector/salesforce/rest_wire.hpp"
#include "support/eventually.hpp"
#include "support/ispring_sandbox_server.hpp"
#include "support/outbound_builder.hpp"
#include "support/salesforce_sandbox_server.hpp"
#include "support/sandbox_config.hpp"
#include "support/service.hpp"
#include "support/signed_events.hpp"

namespace connector::testing {
namespace {

using nlohmann::json;

const std::string outbound_path = "/salesforce/outbound";

// Samples of an exposition, by series ("name{labels}") — comments and types skipped.
using samples = std::map<std::string, double>;

samples parse_samples(const std::string& text) {
  samples out;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.empty() || line[0] == '#') continue;
    const auto space = line.rfind(' ');
    out[line.substr(0, space)] = std::stod(line.substr(space + 1));
  }
  return out;
}

double value(const samples& s, const std::string& series) {
  const auto it = s.find(series);
  return it == s.end() ? 0.0 : it->second;
}

// name{a="x",b="y"} → {a: x, b: y}
std::map<std::string, std::string> labels_of(const std::string& series) {
  static const std::regex label(R"re(([a-zA-Z_]+)="([^"]*)")re");
  std::map<std::string, std::string> out;
  for (std::sregex_iterator it(series.begin(), series.end(), label), end; it != end; ++it)
    out[(*it)[1]] = (*it)[2];
  return out;
}

// "METHOD /route/{id} CODE" → count, from a client's connector_<api>_requests_total.
std::map<std::string, double> requests_by_route(const samples& s, const std::string& family) {
  std::map<std::string, double> out;
  for (const auto& [series, v] : s) {
    if (!series.starts_with(family + "{")) continue;
    auto l = labels_of(series);
    if (v > 0) out[l["method"] + " " + l["endpoint"] + " " + l["code"]] += v;
  }
  return out;
}

// The sum of every series of a family (all label sets).
double total(const samples& s, const std::string& family) {
  double sum = 0;
  for (const auto& [series, v] : s)
    if (series == family || series.starts_with(family + "{")) sum += v;
  return sum;
}

class metrics_e2e : public ::testing::Test {
 protected:
  metrics_e2e() : salesforce_(jwt_salesforce_sandbox_options()) {}

  json config(const json& overrides = json::object()) const {
    json c = {{"server", {{"events_signing_secrets", {test_events_secret}}}},
              {"ispring", ispring_sandbox_config(ispring_)},
              {"salesforce", salesforce_sandbox_config(salesforce_)},
              {"mapping",
               {{"groups", "iSpring_Groups__c"},
                {"fields", {{"first_name", "FirstName"}, {"job_title", "Title"}}}}},
              {"sync", {{"retry_base_ms", 20}, {"retry_max_ms", 200}, {"max_attempts", 50}}}};
    c.merge_patch(overrides);
    return c;
  }

  void start(const json& overrides = json::object()) {
    service_ = std::make_unique<running_service>(dir_.path(), config(overrides));
    public_ = std::make_unique<https_client>(service_->public_client());
  }

  http_reply scrape(const std::string& token = test_admin_token) {
    auto client = service_->admin_client();
    std::vector<std::pair<std::string, std::string>> headers;
    if (!token.empty()) headers.emplace_back("Authorization", "Bearer " + token);
    return client.get("/metrics", headers);
  }
  samples metrics() {
    const auto reply = scrape();
    EXPECT_EQ(reply.status, 200) << reply.body;
    return parse_samples(reply.body);
  }

  void post_outbound(const std::vector<user_notification>& users, int expected_status = 200,
                     const std::string& org = test_org_id) {
    const auto reply = public_->post_xml(outbound_path, build_user_message(org, users));
    EXPECT_EQ(reply.status, expected_status) << reply.body;
  }
  void post_event(const std::string& body, const std::string& id, int expected_status = 200,
                  const std::string& key = test_events_secret) {
    const auto reply = post_signed_event(*public_, body, id, now_seconds(), key);
    EXPECT_EQ(reply.status, expected_status) << reply.body;
  }
  bool drained() {
    const auto m = metrics();
    return value(m, "connector_pending_records") == 0 &&
           value(m, "connector_retrying_records") == 0;
  }

  // What the sandboxes logged, in the shape of requests_by_route.
  std::map<std::string, double> ispring_log() {
    std::map<std::string, double> out;
    for (const auto& e : ispring_.sandbox().request_log())
      out[e.endpoint + " " + std::to_string(e.status)] += 1;
    return out;
  }
  std::map<std::string, double> salesforce_log() {
    std::map<std::string, double> out;
    for (const auto& e : salesforce_.sandbox().request_log())
      out[e.endpoint + " " + std::to_string(e.status)] += 1;
    return out;
  }

  temp_dir dir_;
  ispring_sandbox_server ispring_;
  salesforce_sandbox_server salesforce_;
  std::unique_ptr<running_service> service_;
  std::unique_ptr<https_client> public_;
};

// Fails (never skips) without promtool: scripts/install-deps.sh installs it.
command_result promtool_check(const std::filesystem::path& exposition) {
  const auto found = run_command({"/bin/sh", "-c", "command -v promtool"});
  EXPECT_EQ(found.exit_code, 0) << "promtool not found: run scripts/install-deps.sh "
                                   "(Debian package prometheus)";
  return run_command({"/bin/sh", "-c", "promtool check metrics < '" + exposition.string() + "'"});
}

TEST_F(metrics_e2e, CountersMoveByWhatWasSentAndPromtoolAcceptsTheText) {
  salesforce_.sandbox().add_user({{"Id", make_id("005", 900)},  // beside users 1, 2, 3, 6
                                  {"Username", "ann@acme.example.prod"},
                                  {"Email", "ann@acme.example"},
                                  {"FirstName", "ann"},
                                  {"LastName", "Tester"},
                                  {"Title", "Engineer"},
                                  {"Department", "Sales"},
                                  {"IsActive", true},
                                  {"iSpring_Groups__c", ""}});
  // The users the notifications below name, as Salesforce holds them: with REST credentials
  // every notification is verified by a read, and only what Salesforce returns is applied.
  for (const int n : {1, 2, 3, 6})
    salesforce_.sandbox().add_user(salesforce_user_of(sample_user(n, n)));
  start();

  // Only with the admin token.
  const auto anonymous = scrape("");
  EXPECT_EQ(anonymous.status, 401);
  EXPECT_EQ(anonymous.header("www-authenticate"), "Bearer");
  EXPECT_EQ(anonymous.body.find("connector_"), std::string::npos);
  EXPECT_EQ(scrape("wrong-token-0123456789abcdef").status, 401);
  const auto first = scrape();
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_EQ(first.header("content-type"), "text/plain; version=0.0.4; charset=utf-8");
  const samples before = parse_samples(first.body);
  const double started_scraping = static_cast<double>(now_seconds());
  EXPECT_EQ(value(before, "connector_reconciliation_last_success_timestamp_seconds"), 0);
  EXPECT_EQ(value(before, "connector_ispring_token_renewals_total{result=\"obtained\"}"), 0);

  // 1. Outbound messages: 3 new notifications, 2 again, one refused; the worker applies them.
  post_outbound({sample_user(1, 1), sample_user(2, 2)});
  post_outbound({sample_user(3, 3)});
  post_outbound({sample_user(1, 1), sample_user(2, 2)});          // redelivered: duplicates
  post_outbound({sample_user(4, 4)}, 403, "00D000000000001AAA");  // another organization
  ASSERT_TRUE(eventually([&] { return ispring_.sandbox().users().size() == 3 && drained(); }))
      << service_->process().stderr_text();

  // 2. Events: one new (user 1's title), the same webhook-id again, one badly signed.
  // Stamped as Salesforce stamps the change event: at the change (not earlier than the state
  // the worker read back for step 1, which would make it stale).
  salesforce_.sandbox().update_user(make_id("005", 1), {{"Title", "Lead"}});
  const auto changed_at = salesforce::parse_rest_datetime_ms(
      salesforce_.sandbox().find_user(make_id("005", 1))->at("SystemModstamp").get<std::string>());
  ASSERT_TRUE(changed_at);
  const auto event = title_change_event(make_id("005", 1), "Lead", *changed_at);
  post_event(event, "msg_1");
  post_event(event, "msg_1");  // a redelivery: answered, not stored
  post_event(event, "msg_2", 401, "whsec_" + std::string(32, 'A'));
  ASSERT_TRUE(eventually([&] {
    const auto u = ispring_.sandbox().find_user_by_login("user1@acme.example.prod");
    return u && u->fields.at("job_title") == "Lead" && drained();
  }));

  // 3. iSpring fails for a while: the change waits, retried, and the gauges show it.
  ispring_.sandbox().set_outage(true);
  post_outbound({sample_user(6, 6)});
  ASSERT_TRUE(eventually([&] {
    const auto m = metrics();
    return value(m, "connector_retrying_records") + value(m, "connector_pending_records") == 1 &&
           value(m, "connector_oldest_waiting_change_age_seconds") > 0 &&
           value(m, "connector_worker_applies_total{result=\"failed\"}") >= 2;
  }));
  ispring_.sandbox().set_outage(false);
  ASSERT_TRUE(eventually([&] { return ispring_.sandbox().users().size() == 4 && drained(); }));

  // 4. A reconciliation by the admin API: it reads ann from Salesforce and creates her.
  auto admin = service_->admin_client();
  const auto queued = admin.request("POST", "/admin/reconcile", {},
                                    {{"Authorization", std::string("Bearer ") + test_admin_token}});
  ASSERT_EQ(queued.status, 202) << queued.body;
  ASSERT_TRUE(eventually([&] {
    return value(metrics(),
                 "connector_reconciliation_runs_total{status=\"succeeded\",dry_run="
                 "\"false\"}") == 1;
  })) << service_->process().stderr_text();
  ASSERT_TRUE(ispring_.sandbox().find_user_by_login("ann@acme.example.prod"));

  const auto last = scrape();
  ASSERT_EQ(last.status, 200);
  const samples after = parse_samples(last.body);
  const auto moved = [&](const std::string& series) {
    return value(after, series) - value(before, series);
  };

  // Intake, per notification and per request.
  const std::string n = "connector_notifications_received_total{source=";
  EXPECT_EQ(moved(n + "\"outbound_message\",result=\"stored\"}"), 4);
  EXPECT_EQ(moved(n + "\"outbound_message\",result=\"duplicate\"}"), 2);
  EXPECT_EQ(moved(n + "\"outbound_message\",result=\"failed\"}"), 0);
  EXPECT_EQ(moved(n + "\"event\",result=\"stored\"}"), 1);
  EXPECT_EQ(moved(n + "\"event\",result=\"duplicate\"}"), 1);
  const std::string r = "connector_intake_requests_total{source=";
  EXPECT_EQ(moved(r + "\"outbound_message\",result=\"acked\"}"), 4);
  EXPECT_EQ(moved(r + "\"outbound_message\",result=\"refused_not_allowed\"}"), 1);
  EXPECT_EQ(moved(r + "\"event\",result=\"acked\"}"), 2);
  EXPECT_EQ(moved(r + "\"event\",result=\"refused_signature\"}"), 1);
  const std::string ack = "connector_intake_ack_duration_seconds";
  EXPECT_EQ(moved(ack + "_count{source=\"outbound_message\"}"), 4);
  EXPECT_EQ(moved(ack + "_bucket{source=\"outbound_message\",le=\"+Inf\"}"), 4);
  EXPECT_EQ(moved(ack + "_count{source=\"event\"}"), 2);
  EXPECT_GT(moved(ack + "_sum{source=\"outbound_message\"}"), 0);

  // Group commits: every stored request was in one (with the worker's outcomes).
  EXPECT_GE(moved("connector_store_commit_group_size_count"), 1);
  EXPECT_GE(moved("connector_store_commit_group_size_sum"), 5);  // 4 outbound + 1 event commit

  // The worker: users 1, 2, 3, user 1 again (the event), user 6 after the outage.
  EXPECT_EQ(moved("connector_worker_applies_total{result=\"applied\"}"), 5);
  EXPECT_EQ(moved("connector_worker_applies_total{result=\"skipped\"}"), 0);
  EXPECT_GE(moved("connector_worker_applies_total{result=\"failed\"}"), 2);
  EXPECT_EQ(moved("connector_worker_applies_total{result=\"dead\"}"), 0);
  EXPECT_EQ(value(after, "connector_pending_records"), 0);
  EXPECT_EQ(value(after, "connector_retrying_records"), 0);
  EXPECT_EQ(value(after, "connector_dead_letter_records"), 0);
  EXPECT_EQ(value(after, "connector_oldest_waiting_change_age_seconds"), 0);

  // iSpring and Salesforce requests: exactly what each sandbox answered, route by route
  // (templates, never ids), and one latency observation per request.
  EXPECT_EQ(requests_by_route(after, "connector_ispring_requests_total"), ispring_log());
  EXPECT_EQ(requests_by_route(after, "connector_salesforce_requests_total"), salesforce_log());
  double answered_503 = 0;
  for (const auto& [route, count] : requests_by_route(after, "connector_ispring_requests_total"))
    if (route.ends_with(" 503")) answered_503 += count;
  EXPECT_GT(answered_503, 0);  // the outage
  for (const char* api : {"connector_ispring", "connector_salesforce"}) {
    const std::string prefix(api);
    EXPECT_EQ(total(after, prefix + "_requests_total"), [&] {
      double count = 0;
      for (const auto& [series, v] : after)
        if (series.starts_with(prefix + "_request_duration_seconds_count{")) count += v;
      return count;
    }()) << api;
    EXPECT_EQ(moved(prefix + "_token_renewals_total{result=\"obtained\"}"), 1) << api;
    EXPECT_EQ(moved(prefix + "_token_renewals_total{result=\"failed\"}"), 0) << api;
  }
  for (const auto& [series, v] : after) {
    if (series.find("endpoint=") == std::string::npos) continue;
    for (const auto& u : ispring_.sandbox().users())
      EXPECT_EQ(series.find(u.id), std::string::npos) << "an id in a label: " << series;
  }

  // The verification reads: one query per read, as the sandbox saw them (by id, not the
  // reconciliation's), and every notified user returned.
  int reads_by_id = 0;
  for (const auto& e : salesforce_.sandbox().request_log())
    if (e.soql.find(" Id IN (") != std::string::npos && e.status == 200) ++reads_by_id;
  EXPECT_GE(reads_by_id, 1);
  EXPECT_EQ(moved("connector_verification_queries_total{result=\"succeeded\"}"), reads_by_id);
  EXPECT_EQ(moved("connector_verification_queries_total{result=\"failed\"}"), 0);
  EXPECT_GE(moved("connector_verification_records_total{result=\"returned\"}"), 5);
  EXPECT_EQ(moved("connector_verification_records_total{result=\"not_returned\"}"), 0);

  // The reconciliation.
  EXPECT_EQ(moved("connector_reconciliation_runs_total{status=\"succeeded\",dry_run=\"false\"}"),
            1);
  EXPECT_EQ(moved("connector_reconciliation_runs_total{status=\"failed\",dry_run=\"false\"}"), 0);
  EXPECT_EQ(moved("connector_reconciliation_duration_seconds_count{dry_run=\"false\"}"), 1);
  const double last_success =
      value(after, "connector_reconciliation_last_success_timestamp_seconds");
  EXPECT_GE(last_success, started_scraping - 1);
  EXPECT_LE(last_success, static_cast<double>(now_seconds()) + 1);

  // The process.
  const double now = static_cast<double>(now_seconds());
  EXPECT_LE(value(after, "process_start_time_seconds"), now + 1);
  EXPECT_GT(value(after, "process_start_time_seconds"), now - 600);
  EXPECT_GT(value(after, "process_resident_memory_bytes"), 1e6);
  EXPECT_GE(value(after, "process_open_fds"), 5);
  EXPECT_GE(value(after, "process_max_fds"), value(after, "process_open_fds"));
  EXPECT_GE(value(after, "process_cpu_seconds_total"), value(before, "process_cpu_seconds_total"));

  // The format, as Prometheus' own linter reads it.
  const auto file = dir_.path() / "metrics.txt";
  write_text(file, last.body);
  const auto check = promtool_check(file);
  EXPECT_EQ(check.exit_code, 0) << check.out << check.err << "\n" << last.body;
}

TEST_F(metrics_e2e, TheSwitchOpensOnlyMetricsOnALoopbackListener) {
  start({{"admin", {{"allow_unauthenticated_metrics", true}}}});
  const auto open = scrape("");
  EXPECT_EQ(open.status, 200);
  EXPECT_NE(open.body.find("connector_notifications_received_total"), std::string::npos);
  auto admin = service_->admin_client();
  EXPECT_EQ(admin.get("/admin/status").status, 401);  // the rest still needs the token
  service_->stop();

  // Refused at start-up, naming the key, when the admin listener is not on loopback.
  auto exposed = test_config(
      dir_.path(),
      config({{"admin", {{"listen", "0.0.0.0:0"}, {"allow_unauthenticated_metrics", true}}}}));
  const auto path = dir_.path() / "exposed.json";
  write_text(path, exposed.dump(2));
  // (`status` loads the configuration like `serve` does, and would not stay up if it passed.)
  const auto refused = run_connector({"status", "--config", path.string()});
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_NE(refused.err.find("admin.allow_unauthenticated_metrics"), std::string::npos)
      << refused.out << refused.err;
}

}  // namespace
}  // namespace connector::testing

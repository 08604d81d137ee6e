// The intake handler's promise, with a store that fails on demand: no commit, no ack.
#include "connector/app/outbound_intake.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "support/outbound_builder.hpp"
#include "support/service.hpp"

namespace connector::app {
namespace {

using testing::build_user_message;
using testing::sample_user;
using testing::test_org_id;

// A store whose commits succeed or fail as the test says, answering at once.
class scripted_inbox final : public store::intake_sink {
 public:
  bool fail = false;
  std::vector<store::intake_request> committed;

  void submit(store::intake_request request,
              std::function<void(store::intake_outcome)> done) override {
    store::intake_outcome outcome;
    if (fail) {
      outcome.error = "disk I/O error";
    } else {
      outcome.committed = true;
      outcome.stored = request.changes.size();
      committed.push_back(std::move(request));
    }
    done(outcome);
  }
};

http::response call(const http::handler_fn& handler, std::string body,
                    std::string content_type = "text/xml; charset=UTF-8") {
  http::request req;
  req.method = "POST";
  req.path = "/salesforce/outbound";
  req.headers.emplace_back("content-type", std::move(content_type));
  req.body = std::move(body);
  std::optional<http::response> answer;
  handler(std::move(req), [&](http::response r) { answer = std::move(r); });
  EXPECT_TRUE(answer.has_value()) << "the handler must answer exactly once";
  return answer.value_or(http::response{});
}

class outbound_intake_handler : public ::testing::Test {
 protected:
  scripted_inbox inbox_;
  // 2027-01-15: after every stamp the fixtures use (sample_user: 2026-11-01).
  manual_clock clock_{1'800'000'000'000};
  intake_counters counters_;
  http::handler_fn handler_ = make_outbound_intake_handler(
      inbox_, salesforce::acceptance_rules{{test_org_id}, "User"}, clock_, counters_);
};

TEST_F(outbound_intake_handler, acks_after_the_store_commits) {
  const auto r = call(handler_, build_user_message(test_org_id, {sample_user(1, 1)}));
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(r.body.find("<Ack>true</Ack>"), std::string::npos);
  ASSERT_EQ(inbox_.committed.size(), 1u);
  EXPECT_EQ(inbox_.committed[0].received_at, clock_.now());
  EXPECT_EQ(counters_.messages_acked, 1u);
}

TEST_F(outbound_intake_handler, a_failed_commit_is_a_500_fault_never_an_ack) {
  inbox_.fail = true;
  const auto r = call(handler_, build_user_message(test_org_id, {sample_user(1, 1)}));
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(r.body.find("<Ack>"), std::string::npos);
  EXPECT_NE(r.body.find("soapenv:Server"), std::string::npos);
  EXPECT_NE(r.body.find("could not store the notification; it was not acknowledged"),
            std::string::npos)
      << r.body;
  // The store's own words (SQLite's message, paths) are for the log, not the sender.
  EXPECT_EQ(r.body.find("disk I/O error"), std::string::npos) << r.body;
  EXPECT_EQ(counters_.commit_failures, 1u);
  EXPECT_EQ(counters_.messages_acked, 0u);
}

TEST_F(outbound_intake_handler, normalises_ids_and_keeps_fields_as_json) {
  auto user = sample_user(4, 9, "2026-11-03T08:00:00.000Z");
  user.user_id = user.user_id.substr(0, 15);
  call(handler_, build_user_message(std::string(test_org_id).substr(0, 15), {user}));
  ASSERT_EQ(inbox_.committed.size(), 1u);
  const auto& request = inbox_.committed[0];
  EXPECT_EQ(request.organization_id, test_org_id);
  EXPECT_EQ(request.source, "outbound_message");
  ASSERT_EQ(request.changes.size(), 1u);
  const auto& change = request.changes[0];
  EXPECT_EQ(change.record_id, testing::make_id("005", 4));
  EXPECT_EQ(change.object_type, "User");
  EXPECT_EQ(change.modstamp, std::optional<epoch_ms>(1'793'692'800'000));  // 2026-11-03T08:00Z
  const auto fields = nlohmann::json::parse(change.fields_json);
  EXPECT_EQ(fields["Email"], "user4@acme.example");
  EXPECT_FALSE(fields.contains("Id"));
}

TEST_F(outbound_intake_handler, refuses_a_message_for_another_org_before_storing) {
  const auto r = call(handler_, build_user_message("00D000000000001AAA", {sample_user(1, 1)}));
  EXPECT_EQ(r.status, 403);
  EXPECT_TRUE(inbox_.committed.empty());
  EXPECT_EQ(counters_.rejected, 1u);
}

TEST_F(outbound_intake_handler, refuses_a_stamp_from_the_future_and_stores_nothing_of_it) {
  // 2099: a forged SystemModstamp would win over every real change until then.
  const auto forged = sample_user(2, 2, "2099-01-01T00:00:00.000Z");
  const auto r = call(handler_, build_user_message(test_org_id, {sample_user(1, 1), forged}));
  EXPECT_EQ(r.status, 422);
  EXPECT_EQ(r.body.find("<Ack>"), std::string::npos);
  EXPECT_NE(r.body.find("soapenv:Client"), std::string::npos);
  EXPECT_NE(r.body.find(forged.user_id), std::string::npos) << "names the record: " << r.body;
  EXPECT_NE(r.body.find("SystemModstamp"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("ahead of the connector"), std::string::npos) << r.body;
  EXPECT_TRUE(inbox_.committed.empty()) << "all or nothing: the good notification waits too";
  EXPECT_EQ(counters_.rejected, 1u);

  // Within five minutes of the clock is Salesforce's own time running a little ahead.
  clock_.set(1'793'527'200'000 - 4 * 60'000);  // 2026-11-01T10:00Z minus four minutes
  EXPECT_EQ(call(handler_, build_user_message(test_org_id, {sample_user(1, 1)})).status, 200);
  clock_.set(1'793'527'200'000 - 5 * 60'000 - 1);
  EXPECT_EQ(call(handler_, build_user_message(test_org_id, {sample_user(1, 1)})).status, 422);
  EXPECT_EQ(inbox_.committed.size(), 1u);
}

TEST_F(outbound_intake_handler, a_future_last_modified_date_counts_when_it_is_the_stamp_used) {
  auto user = sample_user(3, 3);
  user.fields.erase("SystemModstamp");
  user.fields["LastModifiedDate"] = "2030-06-01T00:00:00Z";
  const auto r = call(handler_, build_user_message(test_org_id, {user}));
  EXPECT_EQ(r.status, 422);
  EXPECT_NE(r.body.find("LastModifiedDate"), std::string::npos) << r.body;
  EXPECT_TRUE(inbox_.committed.empty());
  // A future LastModifiedDate beside a plausible SystemModstamp orders nothing: accepted.
  auto both = sample_user(4, 4);
  both.fields["LastModifiedDate"] = "2030-06-01T00:00:00Z";
  EXPECT_EQ(call(handler_, build_user_message(test_org_id, {both})).status, 200);
}

// The metrics the intake records, read back from its registry's exposition.
class outbound_intake_metrics : public outbound_intake_handler {
 protected:
  bool has(const std::string& line) {
    return registry_.render().find(line + "\n") != std::string::npos;
  }

  metrics::registry registry_;
  http::handler_fn measured_ =
      make_outbound_intake_handler(inbox_, salesforce::acceptance_rules{{test_org_id}, "User"},
                                   clock_, counters_, {}, &registry_);
};

TEST_F(outbound_intake_metrics, counts_notifications_requests_and_ack_latency_by_result) {
  call(measured_, build_user_message(test_org_id, {sample_user(1, 1), sample_user(2, 1)}));
  call(measured_, build_user_message(test_org_id, {sample_user(3, 1)}));
  inbox_.fail = true;
  call(measured_, build_user_message(test_org_id, {sample_user(4, 1), sample_user(5, 1)}));
  call(measured_, "<not soap/>");
  call(measured_, build_user_message("00D000000000001AAA", {sample_user(1, 1)}));
  call(measured_, "{}", "application/json");
  call(measured_, build_user_message(test_org_id, {sample_user(6, 1, "2099-01-01T00:00:00Z")}));
  const std::string n = "connector_notifications_received_total{source=\"outbound_message\",";
  EXPECT_TRUE(has(n + "result=\"stored\"} 3")) << registry_.render();
  EXPECT_TRUE(has(n + "result=\"duplicate\"} 0"));
  EXPECT_TRUE(has(n + "result=\"failed\"} 2"));
  const std::string r = "connector_intake_requests_total{source=\"outbound_message\",";
  EXPECT_TRUE(has(r + "result=\"acked\"} 2"));
  EXPECT_TRUE(has(r + "result=\"failed\"} 1"));
  EXPECT_TRUE(has(r + "result=\"refused_malformed\"} 1"));
  EXPECT_TRUE(has(r + "result=\"refused_not_allowed\"} 1"));
  EXPECT_TRUE(has(r + "result=\"refused_media_type\"} 1"));
  EXPECT_TRUE(has(r + "result=\"refused_future_stamp\"} 1"));
  // Only acknowledgements are timed.
  EXPECT_TRUE(has("connector_intake_ack_duration_seconds_count{source=\"outbound_message\"} 2"));
}

}  // namespace
}  // namespace connector::app

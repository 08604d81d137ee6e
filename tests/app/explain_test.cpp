// `connector explain` / GET /admin/users/{id}: finding the user by each kind of name, the
// sections of the answer, iSpring read live or not (down, offline), and each event in words.
#include "connector/app/explain.hpp"

#include <gtest/gtest.h>

#include "connector/app/commands.hpp"
#include "connector/salesforce/ids.hpp"
#include "connector/store/open.hpp"
#include "support/in_process_ispring.hpp"
#include "support/ispring_sandbox.hpp"
#include "support/service.hpp"

namespace connector::app {
namespace {

using nlohmann::json;

constexpr const char* org = "00D5g000004XyZaEAK";
constexpr const char* jane_15 = "0055g00000AbCdE";
const std::string jane = *salesforce::to_18_char_id(jane_15);
const std::string john = *salesforce::to_18_char_id("0055g00000AbCdF");

class explain_test : public ::testing::Test {
 protected:
  explain_test() {
    settings_.salesforce.organization_ids = {org};
    settings_.store.sqlite_path = (dir_.path() / "e.db").string();
    settings_.sync.departments["Sales"] = {true, std::nullopt, {}};
    inbox_ = store::open_store(store_settings_for(settings_));
  }

  void receive(const std::string& record, const json& fields, const std::string& id) {
    store::intake_request r;
    r.organization_id = org;
    r.source = "outbound_message";
    r.received_at = 1'700'000'000'000;
    store::incoming_change c;
    c.notification_id = id;
    c.record_id = record;
    c.object_type = "User";
    c.fields_json = fields.dump();
    c.modstamp = 1'699'999'999'000;
    r.changes.push_back(c);
    ASSERT_TRUE(inbox_->submit_and_wait(r).committed);
  }

  // What the worker's outcome does to the store (the keys to find users by follow it).
  void apply_all() {
    for (const auto& r : inbox_->take_due(4'000'000'000'000, 100))
      inbox_->mark_done(org, r.record_id, r.version, "applied");
  }

  static json person(const std::string& login, const std::string& email,
                     const std::string& department) {
    return {{"Username", login},
            {"Email", email},
            {"LastName", "Doe"},
            {"Department", department},
            {"IsActive", "true"}};
  }

  expected<json, explain_error> explain(const std::string& who, ispring::api* api = nullptr) {
    return explain_user(who, settings_, facts_of(*inbox_), api, {});
  }

  testing::temp_dir dir_;
  config::settings settings_;
  std::unique_ptr<store::store> inbox_;
  testing::ispring_sandbox sandbox_;
  testing::in_process_ispring api_{sandbox_};
};

TEST_F(explain_test, finds_a_user_by_record_id_username_email_or_ispring_id) {
  receive(jane, person("Jane@acme.com.prod", "jane@acme.com", "Sales"), "n1");
  receive(john, person("john@acme.com.prod", "john@acme.com", "Sales"), "n2");
  apply_all();
  inbox_->set_link(org, jane, "isp-jane");
  for (const std::string who :
       {std::string(jane), std::string(jane_15), std::string("jane@ACME.com.prod"),
        std::string("JANE@acme.com"), std::string("isp-jane")}) {
    const auto answer = explain(who);
    ASSERT_TRUE(answer) << who << ": " << answer.error().message;
    EXPECT_EQ((*answer)["record_id"], jane) << who;
    EXPECT_EQ((*answer)["link"]["ispring_user_id"], "isp-jane");
  }
  const auto unknown = explain("nobody@acme.com");
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().status, 404);
  EXPECT_NE(unknown.error().message.find("nobody@acme.com"), std::string::npos);
}

TEST_F(explain_test, a_name_two_users_share_asks_for_the_record_id) {
  receive(jane, person("jane@acme.com.prod", "shared@acme.com", "Sales"), "n1");
  receive(john, person("john@acme.com.prod", "shared@acme.com", "Sales"), "n2");
  apply_all();
  const auto answer = explain("shared@acme.com");
  ASSERT_FALSE(answer);
  EXPECT_EQ(answer.error().status, 409);
  EXPECT_NE(answer.error().message.find(jane), std::string::npos);
  EXPECT_NE(answer.error().message.find(john), std::string::npos);
}

TEST_F(explain_test, offline_shows_salesforce_values_scope_and_timeline_without_ispring) {
  receive(jane, person("jane@acme.com.prod", "jane@acme.com", "Engineering"), "n1");
  const auto answer = explain(jane);
  ASSERT_TRUE(answer);
  const json& a = *answer;
  EXPECT_EQ(a["link"], nullptr);
  EXPECT_EQ(a["salesforce"]["fields"]["Department"], "Engineering");
  EXPECT_EQ(a["salesforce"]["queue"]["state"], "pending");
  EXPECT_EQ(a["now"]["scope"]["reason"], "department 'Engineering' is not selected");
  EXPECT_EQ(a["now"]["scope"]["action"], "deactivate");
  EXPECT_EQ(a["ispring"]["checked"], false);
  ASSERT_EQ(a["timeline"].size(), 1u);
  EXPECT_EQ(a["timeline"][0]["kind"], "received");
  EXPECT_EQ(a["timeline"][0]["text"],
            "notification received (outbound message n1, modstamp 2023-11-14T22:13:19.000Z)");
  const auto text = explain_to_text(a);
  EXPECT_NE(text.find("out of scope: department 'Engineering' is not selected → deactivate"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("notification received"), std::string::npos) << text;
}

TEST_F(explain_test, live_ispring_gives_the_user_and_the_plan_of_what_would_change) {
  receive(jane, person("jane@acme.com.prod", "new@acme.com", "Sales"), "n1");
  sandbox_.add_user("jane@acme.com.prod", "old@acme.com");
  const auto answer = explain(jane, &api_);
  ASSERT_TRUE(answer);
  const json& a = *answer;
  ASSERT_EQ(a["ispring"]["checked"], true) << a.dump(2);
  EXPECT_EQ(a["ispring"]["matched_by"], "login");
  EXPECT_EQ(a["ispring"]["user"]["email"], "old@acme.com");
  EXPECT_EQ(a["now"]["summary"], "iSpring differs from the Salesforce state last seen");
  const std::string plan = a["now"]["plan"].dump();
  EXPECT_NE(plan.find("old@acme.com"), std::string::npos) << plan;
  EXPECT_NE(plan.find("new@acme.com"), std::string::npos) << plan;
  // Nothing was written: explaining is reading.
  EXPECT_EQ(sandbox_.find_user_by_login("jane@acme.com.prod")->email(), "old@acme.com");
}

TEST_F(explain_test, the_plan_places_the_user_in_its_keys_linked_department) {
  receive(jane, person("jane@acme.com.prod", "jane@acme.com", "Sales"), "n1");
  // The connector's Sales, renamed by an administrator; another "Sales" is nobody's.
  const auto linked = sandbox_.add_department("Sales (renamed by hand)");
  sandbox_.add_department("Sales");
  sandbox_.add_user("jane@acme.com.prod", "jane@acme.com", linked, {{"last_name", "Doe"}});
  inbox_->set_department_links(org, {{"Sales", linked, "Sales"}});
  const auto reader = store::open_store_reader(store_settings_for(settings_));
  for (const auto& facts : {facts_of(*inbox_), facts_of(*reader)}) {
    const auto answer = explain_user(jane, settings_, facts, &api_, {});
    ASSERT_TRUE(answer);
    const json& a = *answer;
    EXPECT_EQ(a["now"]["department_link"]["ispring_department_id"], linked) << a.dump(2);
    EXPECT_EQ(a["now"]["summary"], "iSpring already matches the Salesforce state last seen")
        << a["now"]["plan"].dump();
  }
}

TEST_F(explain_test, ispring_down_is_said_and_the_rest_still_answers) {
  receive(jane, person("jane@acme.com.prod", "jane@acme.com", "Sales"), "n1");
  sandbox_.set_outage(true);
  const auto answer = explain(jane, &api_);
  ASSERT_TRUE(answer);
  EXPECT_EQ((*answer)["ispring"]["checked"], false);
  EXPECT_NE((*answer)["ispring"]["error"].get<std::string>().find("503"), std::string::npos);
  EXPECT_EQ((*answer)["now"]["scope"]["in_scope"], true);
  EXPECT_EQ((*answer)["timeline"].size(), 1u);
}

TEST_F(explain_test, a_user_only_a_reconciliation_touched_is_found_by_record_id) {
  store::history_event e;
  e.organization_id = org;
  e.record_id = john;
  e.time = 1'000;
  e.kind = store::history_kinds::reconciled;
  e.details_json = R"({"run_id":7,"action":"upsert","reason":"department 'Sales' is selected",)"
                   R"("ok":true,"changes":["create: created user u-1"]})";
  inbox_->record_history({e});
  inbox_->remove_link(org, "flush");
  const auto answer = explain(john);
  ASSERT_TRUE(answer) << answer.error().message;
  EXPECT_EQ((*answer)["salesforce"], nullptr);
  EXPECT_EQ((*answer)["timeline"][0]["text"],
            "reconciliation run 7: upsert (department 'Sales' is selected); create: created "
            "user u-1");
}

store::history_event event(const std::string& kind, const json& details) {
  store::history_event e;
  e.kind = kind;
  e.details_json = details.dump();
  return e;
}

store::history_event at(const std::string& kind, epoch_ms time, const json& details = {}) {
  auto e = event(kind, details.is_null() ? json::object() : details);
  e.time = time;
  return e;
}

json coalesced_of(const store::history_event& e) {
  return json::parse(e.details_json).value("coalesced_since", json());
}

TEST(note_merges, a_notification_joins_the_change_still_waiting_until_it_is_applied) {
  // Newest first, as the store returns them.
  std::vector<store::history_event> h{
      at("received", 90, {{"notification_id", "n5"}}),  // after the dead letter's re-queue
      at("requeued", 80),
      at("dead_letter", 70),
      at("received", 60, {{"notification_id", "n4"}}),  // a new wait: n3 was applied
      at("applied", 50),
      at("superseded", 45),
      at("received", 40, {{"source", "event"}, {"notification_id", "n3"}}),  // n1 retrying
      at("failed", 30),
      at("stale", 25),
      at("duplicate", 22),
      at("received", 20, {{"notification_id", "n2"}, {"coalesced_since", 5}}),  // stored note
      at("received", 10, {{"notification_id", "n1"}}),
  };
  note_merges(h);
  EXPECT_EQ(coalesced_of(h[0]), 80);  // the re-queue started the wait
  EXPECT_EQ(coalesced_of(h[3]), json());
  EXPECT_EQ(coalesced_of(h[6]), 10);
  EXPECT_EQ(coalesced_of(h[10]), 5);  // an older version's stored note is kept
  EXPECT_EQ(coalesced_of(h[11]), json());
  EXPECT_EQ(json::parse(h[6].details_json)["notification_id"], "n3");
  EXPECT_EQ(describe_event(h[6]),
            "notification received (event n3); merged into the change waiting since "
            "1970-01-01T00:00:00.010Z");
  // Stale and duplicate notifications neither start a wait nor are merged.
  std::vector<store::history_event> ignored{at("received", 30), at("stale", 20),
                                            at("duplicate", 10)};
  note_merges(ignored);
  EXPECT_EQ(coalesced_of(ignored[0]), json());
}

TEST(describe_event, says_in_words_that_a_reset_forgot_the_link) {
  EXPECT_EQ(describe_event(event("organization_reset", {{"ispring_user_id", "u-1"},
                                                        {"from", "a@https://old.example"},
                                                        {"to", "a@https://new.example"},
                                                        {"by", "ops"}})),
            "link to iSpring user u-1 forgotten by ops: the store was reset from iSpring "
            "organization a@https://old.example to a@https://new.example; the next change or "
            "reconciliation matches or creates the user there");
}

TEST(describe_event, says_why_a_user_was_read_from_salesforce_and_what_it_found) {
  EXPECT_EQ(describe_event(event(
                "read",
                {{"purpose", "verify"}, {"returned", true}, {"differing", {"Email", "IsActive"}}})),
            "verified with Salesforce: read over REST; the notification's Email, IsActive "
            "differed from Salesforce and were not used: Salesforce's values are applied");
  EXPECT_EQ(describe_event(event("read", {{"purpose", "verify"}, {"returned", true}})),
            "verified with Salesforce: read over REST; Salesforce confirms the notification");
  EXPECT_EQ(describe_event(event("read", {{"purpose", "verify"}, {"returned", false}})),
            "verified with Salesforce: read over REST; Salesforce does not return the user "
            "(unknown id, deleted, or outside salesforce.query_filter), so nothing is applied");
  EXPECT_EQ(describe_event(event("read", {{"purpose", "incomplete"},
                                          {"missing", {"Department", "Email"}},
                                          {"returned", true}})),
            "read over REST to complete the notification, which lacked Department, Email");
  EXPECT_EQ(describe_event(event(
                "read",
                {{"purpose", "incomplete"}, {"missing", {"Department"}}, {"without_rest", true}})),
            "the notification lacked Department, and no Salesforce REST credentials are "
            "configured to read the user: the last state received is applied");
  EXPECT_EQ(describe_event(event(
                "stale",
                {{"source", "outbound_message"}, {"notification_id", "n1"}, {"read_again", true}})),
            "notification ignored (outbound message n1): older than the state already held; "
            "the waiting user is read from Salesforce again all the same");
}

TEST(describe_event, says_each_kind_in_words) {
  EXPECT_EQ(describe_event(event("duplicate", {{"source", "event"}, {"notification_id", "e1"}})),
            "duplicate notification ignored (event e1 was received before)");
  EXPECT_EQ(describe_event(event("received", {{"source", "outbound_message"},
                                              {"notification_id", "n2"},
                                              {"coalesced_since", 0}})),
            "notification received (outbound message n2); merged into the change waiting since "
            "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(describe_event(event(
                "received", {{"source", "event"}, {"notification_id", "d1"}, {"no_data", true}})),
            "notification received (event d1); the record was deleted before delivery");
  EXPECT_EQ(describe_event(event(
                "received", {{"source", "event"}, {"notification_id", "g1"}, {"reread", true}})),
            "notification received (event g1); Salesforce sent it without data (GAP event): the "
            "user is read over REST first");
  EXPECT_EQ(
      describe_event(event("stale", {{"source", "outbound_message"}, {"notification_id", "n0"}})),
      "notification ignored (outbound message n0): older than the state already held");
  EXPECT_EQ(describe_event(event("superseded", {{"applied_version", 3}})),
            "a newer state arrived while version 3 was applied; the newer one is applied next");
  EXPECT_EQ(describe_event(event("mapped", {{"login", "j@a"},
                                            {"email", "j@a.com"},
                                            {"department", ""},
                                            {"active", false},
                                            {"groups", {"A", "B"}}})),
            "mapped: login 'j@a', e-mail 'j@a.com', no department, inactive, groups 'A', 'B'");
  EXPECT_EQ(describe_event(event(
                "scope",
                {{"in_scope", false}, {"action", "deactivate"}, {"reason", "IsActive = false"}})),
            "out of scope: IsActive = false → deactivate");
  EXPECT_EQ(describe_event(event("ispring_call", {{"call", "POST /user"}, {"ok", true}})),
            "iSpring POST /user: ok");
  EXPECT_EQ(describe_event(event("ispring_call", {{"call", "POST /user"},
                                                  {"ok", false},
                                                  {"status", 400},
                                                  {"error", "rejected (HTTP 400): bad email"}})),
            "iSpring POST /user: rejected (HTTP 400): bad email");
  EXPECT_EQ(describe_event(event("applied", {{"outcome", "applied (upsert): nothing to change"}})),
            "applied (upsert): nothing to change");
  EXPECT_EQ(describe_event(event("skipped", {{"outcome", "skipped: no department"}})),
            "skipped: no department");
  EXPECT_EQ(describe_event(event("failed", {{"attempt", 2},
                                            {"error", "server (HTTP 503): down"},
                                            {"next_attempt_at", 60'000}})),
            "attempt 2 failed: server (HTTP 503): down; next attempt at 1970-01-01T00:01:00.000Z");
  EXPECT_EQ(describe_event(event(
                "dead_letter",
                {{"attempt", 1}, {"error", "rejected (HTTP 400): no"}, {"retryable", false}})),
            "dead letter after attempt 1: rejected (HTTP 400): no (not worth retrying)");
  EXPECT_EQ(describe_event(event("requeued", json::object())),
            "dead letter re-queued by the operator");
  EXPECT_EQ(describe_event(event("reconciled", {{"run_id", 4},
                                                {"action", "deactivate"},
                                                {"reason", "no department"},
                                                {"ok", false},
                                                {"error", "network: reset"}})),
            "reconciliation run 4: deactivate (no department); failed: network: reset");
}

}  // namespace
}  // namespace connector::app

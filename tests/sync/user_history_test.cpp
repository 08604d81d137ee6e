// What the worker writes into a user's history: the mapping, the scope decision with its
// reason, each iSpring call with its answer, the outcome, retries with their due time, and
// dead-lettering — through the real chain (user_sync over the in-process sandbox) and a real
// SQLite inbox, with an injected clock.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "connector/store/open.hpp"
#include "connector/sync/ispring_calls.hpp"
#include "connector/sync/user_sync.hpp"
#include "connector/sync/worker.hpp"
#include "support/in_process_ispring.hpp"
#include "support/ispring_sandbox.hpp"
#include "support/service.hpp"

namespace connector::sync {
namespace {

using nlohmann::json;

constexpr const char* org = "00D5g000004XyZaEAK";
constexpr const char* jane = "0055g00000AbCdEAAZ";

class user_history : public ::testing::Test {
 protected:
  user_history() {
    settings_.mapping.fields = {{"first_name", "FirstName"}};
    settings_.sync.departments["Sales"] = {true, std::nullopt, {}};
    store::store_settings o;
    o.sqlite_path = (dir_.path() / "u.db").string();
    o.time = &clock_;
    inbox_ = store::open_store(o);
  }

  void receive(const json& fields, const std::string& notification) {
    store::intake_request r;
    r.organization_id = org;
    r.source = "outbound_message";
    r.received_at = clock_.now();
    store::incoming_change c;
    c.notification_id = notification;
    c.record_id = jane;
    c.object_type = "User";
    c.fields_json = fields.dump();
    r.changes.push_back(c);
    ASSERT_TRUE(inbox_->submit_and_wait(r).committed);
  }

  static json jane_in(const std::string& department, bool active = true) {
    return {{"Username", "jane@acme.com.prod"},
            {"Email", "jane@acme.com"},
            {"LastName", "Doe"},
            {"FirstName", "Jane"},
            {"Department", department},
            {"IsActive", active ? "true" : "false"}};
  }

  // Events since the last call, oldest first, as (kind, details).
  std::vector<std::pair<std::string, json>> new_events() {
    auto all = inbox_->read_history(org, jane, 1000);
    std::vector<std::pair<std::string, json>> out;
    for (auto it = all.rbegin(); it != all.rend(); ++it) {
      if (it->id <= seen_) continue;
      seen_ = it->id;
      out.emplace_back(it->kind, json::parse(it->details_json));
    }
    return out;
  }

  static std::vector<std::string> kinds(const std::vector<std::pair<std::string, json>>& events) {
    std::vector<std::string> out;
    for (const auto& e : events) out.push_back(e.first);
    return out;
  }

  std::size_t run_worker() {
    worker w(*inbox_, chain_.processor(), clock_, options_);
    return w.run_once();
  }

  testing::temp_dir dir_;
  manual_clock clock_{1'700'000'000'000};
  testing::ispring_sandbox sandbox_;
  testing::in_process_ispring api_{sandbox_};
  config::settings settings_;
  user_sync chain_{settings_, api_};
  std::unique_ptr<store::store> inbox_;
  worker_options options_{1, 2, 1'000, 60'000, 64, 1'000};
  std::int64_t seen_ = 0;
};

TEST_F(user_history, a_created_user_has_mapping_scope_each_call_and_the_outcome) {
  receive(jane_in("Sales"), "n1");
  ASSERT_EQ(run_worker(), 1u);
  const auto events = new_events();
  ASSERT_GE(events.size(), 5u);
  EXPECT_EQ(events[0].first, "received");
  EXPECT_EQ(events[1].first, "mapped");
  EXPECT_EQ(events[1].second["login"], "jane@acme.com.prod");
  EXPECT_EQ(events[1].second["department"], "Sales");
  EXPECT_EQ(events[1].second["active"], true);
  EXPECT_EQ(events[2].first, "scope");
  EXPECT_EQ(events[2].second, (json{{"in_scope", true},
                                    {"action", "upsert"},
                                    {"reason", "department 'Sales' is selected"},
                                    {"department", "Sales"}}));
  std::vector<std::string> calls;
  for (const auto& [kind, details] : events)
    if (kind == "ispring_call") {
      EXPECT_TRUE(details["ok"].get<bool>()) << details.dump();
      calls.push_back(details["call"]);
    }
  EXPECT_NE(std::find(calls.begin(), calls.end(), "POST /user"), calls.end());
  EXPECT_EQ(events.back().first, "applied");
  const auto link = inbox_->find_link(org, jane);
  ASSERT_TRUE(link);
  EXPECT_EQ(events.back().second["ispring_user_id"], *link);
  EXPECT_EQ(events.back().second["outcome"].get<std::string>().rfind("applied (upsert)", 0), 0u);
}

TEST_F(user_history, out_of_scope_records_the_reason_and_makes_no_call_when_ignored) {
  settings_.sync.out_of_scope_users = config::user_action::ignore;
  receive(jane_in("Engineering"), "n1");
  ASSERT_EQ(run_worker(), 1u);
  const auto events = new_events();
  EXPECT_EQ(kinds(events), (std::vector<std::string>{"received", "mapped", "scope", "skipped"}));
  EXPECT_EQ(events[2].second["reason"], "department 'Engineering' is not selected");
  EXPECT_EQ(events[2].second["in_scope"], false);
  EXPECT_EQ(events[2].second["action"], "ignore");
  EXPECT_EQ(events[3].second["outcome"], "skipped: department 'Engineering' is not selected");
}

TEST_F(user_history, a_failed_call_keeps_its_status_and_error_and_the_retry_time) {
  receive(jane_in("Sales"), "n1");
  sandbox_.set_outage(true);
  ASSERT_EQ(run_worker(), 1u);
  const auto failed = new_events();
  ASSERT_FALSE(failed.empty());
  const auto& call = *std::find_if(failed.begin(), failed.end(),
                                   [](const auto& e) { return e.first == "ispring_call"; });
  EXPECT_EQ(call.second["ok"], false);
  EXPECT_EQ(call.second["status"], 503);
  EXPECT_NE(call.second["error"].get<std::string>().find("503"), std::string::npos);
  EXPECT_EQ(failed.back().first, "failed");
  EXPECT_EQ(failed.back().second["attempt"], 1);
  const auto record = inbox_->find_record(org, jane);
  EXPECT_EQ(failed.back().second["next_attempt_at"], record->due_at);
  EXPECT_GT(record->due_at, clock_.now());

  // The second failure is the last allowed attempt: a dead letter, no next attempt.
  clock_.set(record->due_at);
  ASSERT_EQ(run_worker(), 1u);
  const auto dead = new_events();
  EXPECT_EQ(dead.back().first, "dead_letter");
  EXPECT_EQ(dead.back().second["attempt"], 2);
  EXPECT_FALSE(dead.back().second.contains("next_attempt_at"));
  // Never a secret in the history: the sandbox's client secret and tokens stay out.
  for (const auto& e : inbox_->read_history(org, jane, 1000))
    EXPECT_EQ(e.details_json.find("Bearer"), std::string::npos) << e.details_json;
}

TEST(call_recorder_test, notes_calls_only_inside_a_recording_on_its_own_thread) {
  testing::ispring_sandbox sandbox;
  testing::in_process_ispring inner(sandbox);
  call_recorder calls(inner);
  ASSERT_TRUE(calls.list_departments());  // outside a scope: forwarded, not noted
  call_recorder::recording recording;
  ASSERT_TRUE(calls.list_groups());
  EXPECT_FALSE(calls.get_user("no-such-user"));
  std::thread other([&] { (void)calls.list_groups(); });
  other.join();
  ASSERT_EQ(recording.calls().size(), 2u);
  EXPECT_EQ(recording.calls()[0].call, "GET /groups");
  EXPECT_TRUE(recording.calls()[0].ok);
  EXPECT_EQ(recording.calls()[1].call, "GET /user/no-such-user/v2");
  EXPECT_FALSE(recording.calls()[1].ok);
  EXPECT_FALSE(recording.calls()[1].error.empty());
}

}  // namespace
}  // namespace connector::sync

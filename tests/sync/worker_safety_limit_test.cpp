// The worker's safety limit through the real chain: notifications in a real SQLite inbox,
// the worker, user_sync and the applier over the in-process iSpring sandbox, on an injected
// clock. Deactivations over the cap are not sent and their records wait as held; a newer
// state that no longer deactivates is applied and frees the record; the operator's release
// lets the rest through, even over the cap and through a failed attempt; what is not a
// deactivation is never held.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "connector/store/open.hpp"
#include "connector/sync/deactivation_limit.hpp"
#include "connector/sync/user_sync.hpp"
#include "connector/sync/worker.hpp"
#include "support/in_process_ispring.hpp"
#include "support/ispring_sandbox.hpp"
#include "support/service.hpp"

namespace connector::sync {
namespace {

using nlohmann::json;

constexpr const char* org = "00D5g000004XyZaEAK";
constexpr epoch_ms hour = 60LL * 60 * 1000;

std::string user_id(int n) {
  std::string digits = std::to_string(n);
  return "0055g" + std::string(10 - digits.size(), '0') + digits + "AAA";
}
std::string login(int n) {
  return "user" + std::to_string(n) + "@acme.com";
}

class worker_safety_limit : public ::testing::Test {
 protected:
  void start(const std::string& cap,
             config::user_action inactive = config::user_action::deactivate) {
    settings_.sync.inactive_users = inactive;
    settings_.mapping.fields = {{"job_title", "Title"}};
    store::store_settings o;
    o.sqlite_path = (dir_.path() / "w.db").string();
    o.time = &clock_;
    inbox_ = store::open_store(o);
    limiter_ = std::make_unique<deactivation_limiter>(cap, clock_, journal_in(*inbox_, *inbox_));
    chain_ = std::make_unique<user_sync>(settings_, api_);
    chain_->limit_deactivations(*limiter_);
  }

  // A notification of user n, as intake stores it; each newer than the one before, and due
  // after it, so the worker takes them in this order.
  void notify(int n, bool active, const std::string& title = "Engineer") {
    clock_.advance(1);
    store::intake_request r;
    r.organization_id = org;
    r.source = "outbound_message";
    r.received_at = clock_.now();
    store::incoming_change c;
    c.notification_id = "04l-" + std::to_string(++notifications_);
    c.record_id = user_id(n);
    c.object_type = "User";
    c.modstamp = clock_.now() + notifications_;
    c.fields_json =
        json{{"Username", login(n)},  {"Email", login(n)}, {"LastName", "User" + std::to_string(n)},
             {"Department", "Sales"}, {"Title", title},    {"IsActive", active}}
            .dump();
    r.changes.push_back(c);
    ASSERT_TRUE(inbox_->submit_and_wait(r).committed);
  }

  std::size_t run_worker() {
    worker w(*inbox_, chain_->processor(), clock_, worker_options{2, 5, 1'000, 60'000, 64, 1'000});
    return w.run_once();
  }

  // Users 1..5, created active and linked (creates are never held).
  void five_active_linked_users() {
    for (int n = 1; n <= 5; ++n) notify(n, true);
    ASSERT_EQ(run_worker(), 5u);
    for (int n = 1; n <= 5; ++n) ASSERT_TRUE(inbox_->find_link(org, user_id(n))) << n;
    clock_.advance(1000);
  }

  int status_of(int n) { return sandbox_.find_user_by_login(login(n))->status; }
  int active_users() {
    int active = 0;
    for (const auto& u : sandbox_.users()) active += u.status == 1 ? 1 : 0;
    return active;
  }
  store::record_state state_of(int n) { return inbox_->find_record(org, user_id(n))->state; }

  testing::temp_dir dir_;
  manual_clock clock_{1'700'000'000'000};
  testing::ispring_sandbox sandbox_;
  testing::in_process_ispring api_{sandbox_};
  config::settings settings_;
  std::unique_ptr<store::store> inbox_;
  std::unique_ptr<deactivation_limiter> limiter_;
  std::unique_ptr<user_sync> chain_;
  int notifications_ = 0;
};

TEST_F(worker_safety_limit, over_the_cap_nothing_is_sent_and_the_rest_wait_as_held) {
  start("2");
  five_active_linked_users();
  const int status_calls_before = sandbox_.calls("POST /user/{id}/status");
  for (int n = 1; n <= 5; ++n) notify(n, false);
  EXPECT_EQ(run_worker(), 5u);

  EXPECT_EQ(active_users(), 3);
  EXPECT_EQ(sandbox_.users().size(), 5u) << "nothing deleted, nothing created";
  EXPECT_EQ(sandbox_.calls("POST /user/{id}/status") - status_calls_before, 2);
  int held = 0;
  for (int n = 1; n <= 5; ++n) {
    const auto record = inbox_->find_record(org, user_id(n));
    if (record->state == store::record_state::held) {
      ++held;
      EXPECT_EQ(status_of(n), 1) << "a held user stays active";
      EXPECT_EQ(record->last_outcome.rfind("held by the safety limit: 2 users were deactivated", 0),
                0u)
          << record->last_outcome;
      const auto history = inbox_->read_history(org, user_id(n), 1);
      ASSERT_EQ(history.size(), 1u);
      EXPECT_EQ(history[0].kind, store::history_kinds::held);
    } else {
      EXPECT_EQ(record->state, store::record_state::done);
      EXPECT_EQ(status_of(n), 3);
    }
  }
  EXPECT_EQ(held, 3);
  EXPECT_EQ(inbox_->stats().held, 3);
  EXPECT_EQ(run_worker(), 0u) << "held records are not taken again";
  // Kept for the hour in the store.
  EXPECT_EQ(inbox_->retirements_since(org, 0).size(), 2u);
}

TEST_F(worker_safety_limit, a_newer_state_that_no_longer_deactivates_is_applied_and_frees_it) {
  start("1");
  five_active_linked_users();
  notify(1, false);
  notify(2, false);
  ASSERT_EQ(run_worker(), 2u);
  ASSERT_EQ(state_of(2), store::record_state::held);
  // Re-activated in Salesforce (the mass update undone), with a new title.
  notify(2, true, "Lead Engineer");
  EXPECT_EQ(run_worker(), 1u);
  EXPECT_EQ(state_of(2), store::record_state::done);
  const auto user = sandbox_.find_user_by_login(login(2));
  EXPECT_EQ(user->status, 1);
  EXPECT_EQ(user->fields.at("job_title"), "Lead Engineer");
  EXPECT_EQ(inbox_->stats().held, 0);
}

TEST_F(worker_safety_limit, a_newer_deactivation_of_a_held_user_is_judged_by_the_limit_again) {
  start("1");
  five_active_linked_users();
  notify(1, false);
  notify(2, false);
  ASSERT_EQ(run_worker(), 2u);
  notify(2, false, "Leaver");  // still a deactivation, and the hour is still full
  EXPECT_EQ(run_worker(), 1u);
  EXPECT_EQ(state_of(2), store::record_state::held);
  EXPECT_EQ(status_of(2), 1);
}

TEST_F(worker_safety_limit, an_hour_later_new_ones_pass_but_the_held_ones_wait_for_the_operator) {
  start("2");
  five_active_linked_users();
  for (int n = 1; n <= 4; ++n) notify(n, false);
  ASSERT_EQ(run_worker(), 4u);
  ASSERT_EQ(inbox_->stats().held, 2);
  clock_.advance(hour + 1);
  notify(5, false);
  EXPECT_EQ(run_worker(), 1u);
  EXPECT_EQ(status_of(5), 3) << "the cap counts afresh";
  EXPECT_EQ(inbox_->stats().held, 2) << "held ones are not retried by themselves";
}

TEST_F(worker_safety_limit, released_records_are_applied_over_the_cap_and_count_toward_the_hour) {
  start("2");
  five_active_linked_users();
  for (int n = 1; n <= 5; ++n) notify(n, false);
  ASSERT_EQ(run_worker(), 5u);
  ASSERT_EQ(inbox_->stats().held, 3);
  // The first attempt of a released one fails in iSpring: its retry is not held either.
  sandbox_.fail_next(1, 500);
  EXPECT_EQ(inbox_->release_held("", clock_.now()), 3u);
  EXPECT_EQ(run_worker(), 3u);
  clock_.advance(120'000);
  run_worker();
  EXPECT_EQ(active_users(), 0);
  EXPECT_EQ(inbox_->stats().held, 0);
  EXPECT_EQ(inbox_->stats().retrying, 0);
  for (int n = 1; n <= 5; ++n) EXPECT_EQ(state_of(n), store::record_state::done) << n;
  EXPECT_EQ(limiter_->taken(org), 5u) << "released ones took their places";
  EXPECT_EQ(inbox_->retirements_since(org, 0).size(), 5u);
}

TEST_F(worker_safety_limit, what_is_not_a_deactivation_is_never_held) {
  start("0");                  // every deactivation would be held
  five_active_linked_users();  // five creates: not held
  for (int n = 1; n <= 5; ++n) notify(n, true, "Manager");
  EXPECT_EQ(run_worker(), 5u);
  for (int n = 1; n <= 5; ++n) {
    EXPECT_EQ(state_of(n), store::record_state::done) << n;
    EXPECT_EQ(sandbox_.find_user_by_login(login(n))->fields.at("job_title"), "Manager");
  }
  EXPECT_EQ(inbox_->stats().held, 0);
}

TEST_F(worker_safety_limit, a_user_already_inactive_or_absent_is_not_held_and_takes_no_place) {
  start("0");
  five_active_linked_users();
  // User 1 deactivated in iSpring by hand; user 9 never reached iSpring.
  ASSERT_TRUE(api_.set_user_status(sandbox_.find_user_by_login(login(1))->id, 3));
  notify(1, false);
  notify(9, false);
  EXPECT_EQ(run_worker(), 2u);
  EXPECT_EQ(state_of(1), store::record_state::done);
  EXPECT_EQ(state_of(9), store::record_state::done);
  EXPECT_EQ(limiter_->taken(org), 0u);
}

TEST_F(worker_safety_limit, deletions_are_held_like_deactivations) {
  start("1", config::user_action::remove);
  five_active_linked_users();
  notify(1, false);
  notify(2, false);
  ASSERT_EQ(run_worker(), 2u);
  EXPECT_EQ(sandbox_.users().size(), 4u);
  EXPECT_TRUE(sandbox_.find_user_by_login(login(2)));
  EXPECT_EQ(state_of(2), store::record_state::held);
}

}  // namespace
}  // namespace connector::sync

// The worker's state machine against a real SQLite inbox, with a scripted processor and an
// injected clock.
#include "connector/sync/worker.hpp"
#include "connector/store/open.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <thread>

#include "support/inbox_input.hpp"
#include "support/service.hpp"

namespace connector::sync {
namespace {

constexpr const char* org = "00D5g000004XyZaEAK";
using testing::inbox_input::change;
using testing::inbox_input::request;

class worker_test : public ::testing::Test {
 protected:
  testing::temp_dir dir_;
  std::unique_ptr<store::store> inbox_ = store::open_store({(dir_.path() / "w.db").string()});
  manual_clock clock_{1'000'000};
  worker_options options_{1, 3, 1'000, 60'000, 64, 1'000};

  void submit(const std::string& record, const std::string& notification,
              const std::string& fields = R"({"LastName":"A"})") {
    ASSERT_TRUE(
        inbox_->submit_and_wait(request({change(notification, record, fields)}, clock_.now()))
            .committed);
  }
};

TEST(retry_delay, doubles_per_attempt_within_jitter_and_stops_at_the_cap) {
  EXPECT_EQ(retry_delay_ms(1, 1000, 60'000, 0.0), 500);
  EXPECT_EQ(retry_delay_ms(1, 1000, 60'000, 0.999999), 999);
  EXPECT_EQ(retry_delay_ms(2, 1000, 60'000, 0.0), 1000);
  EXPECT_EQ(retry_delay_ms(3, 1000, 60'000, 1.0), 4000);
  EXPECT_EQ(retry_delay_ms(20, 1000, 60'000, 1.0), 60'000);
  EXPECT_EQ(retry_delay_ms(500, 1000, 60'000, 0.0), 30'000);
}

TEST_F(worker_test, an_applied_record_leaves_the_queue_and_its_link_is_kept) {
  submit("005A", "n1");
  std::optional<std::string> seen_link = "not called";
  worker w(
      *inbox_,
      [&](const store::pending_record& r, const std::optional<std::string>& link) {
        if (!link) EXPECT_EQ(r.fields_json, R"({"LastName":"A"})");
        seen_link = link;
        return record_result::applied("applied: created", "isp-1");
      },
      clock_, options_);
  EXPECT_EQ(w.run_once(), 1u);
  EXPECT_EQ(seen_link, std::nullopt);
  EXPECT_EQ(inbox_->find_link(org, "005A"), "isp-1");
  EXPECT_EQ(inbox_->find_record(org, "005A")->state, store::record_state::done);
  EXPECT_EQ(inbox_->stats().pending, 0);

  // The next change of the same user is applied with the stored link.
  submit("005A", "n2", R"({"LastName":"B"})");
  EXPECT_EQ(w.run_once(), 1u);
  EXPECT_EQ(seen_link, "isp-1");
}

TEST_F(worker_test, a_skipped_record_says_why_in_the_store) {
  submit("005A", "n1");
  worker w(
      *inbox_, [](const auto&, const auto&) { return record_result::skipped("no department"); },
      clock_, options_);
  w.run_once();
  EXPECT_EQ(inbox_->find_record(org, "005A")->last_outcome, "skipped: no department");
  EXPECT_EQ(inbox_->stats().skipped, 1);
}

TEST_F(worker_test, a_retryable_failure_backs_off_then_dead_letters_after_max_attempts) {
  submit("005A", "n1");
  int calls = 0;
  worker w(
      *inbox_,
      [&](const auto&, const auto&) {
        ++calls;
        return record_result::failed("503: iSpring is down", true);
      },
      clock_, options_);
  EXPECT_EQ(w.run_once(), 1u);
  auto record = *inbox_->find_record(org, "005A");
  EXPECT_EQ(record.state, store::record_state::retrying);
  EXPECT_EQ(record.attempts, 1);
  EXPECT_EQ(record.last_error, "503: iSpring is down");
  EXPECT_GE(record.due_at, clock_.now() + 500);
  EXPECT_LE(record.due_at, clock_.now() + 1000);

  EXPECT_EQ(w.run_once(), 0u);  // not due yet: nothing happens before its time
  clock_.advance(1000);
  EXPECT_EQ(w.run_once(), 1u);
  EXPECT_EQ(inbox_->find_record(org, "005A")->attempts, 2);
  clock_.advance(2000);
  EXPECT_EQ(w.run_once(), 1u);
  record = *inbox_->find_record(org, "005A");
  EXPECT_EQ(record.state, store::record_state::dead);
  EXPECT_EQ(record.attempts, 3);
  EXPECT_EQ(calls, 3);
  clock_.advance(3'600'000);
  EXPECT_EQ(w.run_once(), 0u);  // dead letters wait for an operator
  EXPECT_EQ(inbox_->stats().dead_letters, 1);
}

TEST_F(worker_test, counts_applies_by_result_in_the_metrics) {
  metrics::registry registry;
  options_.metrics = &registry;
  submit("005A", "n1");
  submit("005B", "n2");
  submit("005C", "n3");
  int failures = 0;
  worker w(
      *inbox_,
      [&](const store::pending_record& r, const auto&) {
        if (r.record_id == "005A") return record_result::applied("applied", "u1");
        if (r.record_id == "005B") return record_result::skipped("no department");
        ++failures;
        return record_result::failed("503", true);
      },
      clock_, options_);
  w.run_once();  // applied, skipped, failed
  clock_.advance(1000);
  w.run_once();  // failed again
  clock_.advance(2000);
  w.run_once();  // third attempt: dead
  EXPECT_EQ(failures, 3);
  const auto text = registry.render();
  const std::string family = "connector_worker_applies_total{result=";
  for (const auto& line : {family + "\"applied\"} 1\n", family + "\"skipped\"} 1\n",
                           family + "\"failed\"} 2\n", family + "\"dead\"} 1\n"}) {
    EXPECT_NE(text.find(line), std::string::npos) << line << text;
  }
}

TEST_F(worker_test, a_held_record_waits_apart_with_its_reason_history_and_metric) {
  metrics::registry registry;
  options_.metrics = &registry;
  submit("005A", "n1");
  int calls = 0;
  worker w(
      *inbox_,
      [&](const store::pending_record&, const auto&) {
        ++calls;
        return record_result::held("held by the safety limit: 2 an hour");
      },
      clock_, options_);
  EXPECT_EQ(w.run_once(), 1u);
  const auto record = *inbox_->find_record(org, "005A");
  EXPECT_EQ(record.state, store::record_state::held);
  EXPECT_EQ(record.last_outcome, "held by the safety limit: 2 an hour");
  EXPECT_EQ(record.attempts, 0) << "held is not a failure";
  const auto history = inbox_->read_history(org, "005A", 1);
  ASSERT_EQ(history.size(), 1u);
  EXPECT_EQ(history[0].kind, store::history_kinds::held);
  EXPECT_NE(history[0].details_json.find("held by the safety limit"), std::string::npos);
  clock_.advance(3'600'000);
  EXPECT_EQ(w.run_once(), 0u) << "held records wait for the operator";
  EXPECT_EQ(calls, 1);
  EXPECT_NE(registry.render().find("connector_worker_applies_total{result=\"held\"} 1\n"),
            std::string::npos);
}

TEST_F(worker_test, a_user_created_before_a_failure_is_linked_for_the_retry) {
  submit("005A", "n1");
  worker w(
      *inbox_,
      [](const auto&, const auto&) {
        auto r = record_result::failed("503 while adding to group 'Onboarding'", true);
        r.ispring_user_id = "isp-9";
        return r;
      },
      clock_, options_);
  w.run_once();
  EXPECT_EQ(inbox_->find_link(org, "005A"), "isp-9");
  EXPECT_EQ(inbox_->find_record(org, "005A")->state, store::record_state::retrying);
}

TEST_F(worker_test, a_permanent_rejection_is_a_dead_letter_at_once) {
  submit("005A", "n1");
  worker w(
      *inbox_,
      [](const auto&, const auto&) {
        return record_result::failed("400: email is not valid", false);
      },
      clock_, options_);
  w.run_once();
  const auto record = *inbox_->find_record(org, "005A");
  EXPECT_EQ(record.state, store::record_state::dead);
  EXPECT_EQ(record.last_error, "400: email is not valid");
}

TEST_F(worker_test, a_newer_state_arriving_during_an_apply_is_applied_next) {
  submit("005A", "n1", R"({"Title":"old"})");
  std::vector<std::string> applied;
  worker w(
      *inbox_,
      [&](const store::pending_record& r, const auto&) {
        applied.push_back(r.fields_json);
        if (applied.size() == 1) submit("005A", "n2", R"({"Title":"new"})");
        return record_result::applied("applied", std::nullopt);
      },
      clock_, options_);
  // The first apply's mark_done does not finish the newer version, so the same pass takes
  // the record again.
  EXPECT_EQ(w.run_once(), 2u);
  ASSERT_EQ(applied.size(), 2u);
  EXPECT_EQ(applied[1], R"({"Title":"new"})");
  EXPECT_EQ(inbox_->find_record(org, "005A")->state, store::record_state::done);
}

TEST_F(worker_test, threads_drain_the_queue_never_applying_one_record_twice_at_once) {
  constexpr int users = 200;
  for (int i = 0; i < users; ++i) submit("005-" + std::to_string(i), "n" + std::to_string(i));
  std::mutex m;
  std::set<std::string> active;
  std::atomic<int> overlaps{0}, calls{0};
  options_.concurrency = 4;
  worker w(
      *inbox_,
      [&](const store::pending_record& r, const auto&) {
        {
          std::lock_guard lock(m);
          if (!active.insert(r.record_id).second) ++overlaps;
        }
        std::this_thread::yield();
        {
          std::lock_guard lock(m);
          active.erase(r.record_id);
        }
        ++calls;
        return record_result::applied("applied", std::nullopt);
      },
      clock_, options_);
  w.start();
  w.wake();
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (inbox_->stats().pending > 0 && std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  w.stop();
  EXPECT_EQ(inbox_->stats().pending, 0);
  EXPECT_EQ(overlaps, 0);
  EXPECT_GE(calls, users);
}

}  // namespace
}  // namespace connector::sync

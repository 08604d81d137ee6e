// The run coordinator: runs one at a time in request order, scheduled runs on their own,
// the seed's status check (expiry) and the work window, with an injected clock, a real
// SQLite store and the iSpring sandbox in-process. Salesforce is a scripted reader whose
// pages can wait for the test or move the clock.
#include "connector/app/reconcile_runs.hpp"
#include "connector/store/open.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

#include "support/eventually.hpp"
#include "support/in_process_ispring.hpp"
#include "support/ispring_sandbox.hpp"
#include "support/service.hpp"

namespace connector::app {
namespace {

using nlohmann::json;

// 2026-11-30 08:00 UTC, a Monday.
constexpr epoch_ms monday_0800 = 1'796'025'600'000;
constexpr epoch_ms minute = 60'000;

json salesforce_user(int n) {
  const std::string name = "user" + std::to_string(n);
  return {
      {"Id", "005000000000" + std::string(3 - std::to_string(n).size(), '0') + std::to_string(n)},
      {"Username", name + "@acme.example"},
      {"Email", name + "@acme.example"},
      {"LastName", "Tester"},
      {"Department", "Sales"},
      {"IsActive", true}};
}

class RunCoordinator : public ::testing::Test {
 protected:
  RunCoordinator() {
    settings_.ispring = config::ispring_settings{};
    settings_.store.sqlite_path = (dir_.path() / "connector.db").string();
    store_ = store::open_store({settings_.store.sqlite_path});
  }

  ~RunCoordinator() override {
    release();
    if (runs_) runs_->stop();
  }

  // Two pages of users; `between_pages` runs after the first.
  sync::salesforce_reader reader() {
    return [this](const auto& on_page) -> expected<std::size_t, std::string> {
      std::vector<json> first{salesforce_user(1), salesforce_user(2)};
      if (!on_page(first)) return 2;
      {
        std::unique_lock lock(mutex_);
        ++pages_waiting_;
        changed_.notify_all();
        changed_.wait(lock, [this] { return released_; });
        --pages_waiting_;
      }
      if (between_pages_) between_pages_();
      std::vector<json> second{salesforce_user(3)};
      on_page(second);
      return 3;
    };
  }

  void start(std::optional<config::schedule_settings> schedule_settings = std::nullopt) {
    run_environment env;
    env.settings = &settings_;
    env.store = store_.get();
    env.ispring = &api_;
    env.read_salesforce = reader();
    env.organization_id = [] { return expected<std::string, std::string>(testing::test_org_id); };
    env.time = &clock_;
    std::optional<sync::schedule> schedule;
    if (schedule_settings) schedule = *sync::schedule::make(*schedule_settings);
    runs_ = std::make_unique<run_coordinator>(std::move(env), std::move(schedule));
    runs_->start();
  }

  void release() {
    std::lock_guard lock(mutex_);
    released_ = true;
    changed_.notify_all();
  }
  void wait_for_a_page() {
    std::unique_lock lock(mutex_);
    ASSERT_TRUE(
        changed_.wait_for(lock, std::chrono::seconds(30), [this] { return pages_waiting_ > 0; }));
  }

  std::string status(std::int64_t id) {
    const auto run = store_->find_run(id);
    return run ? run->status : "";
  }
  // Waits for the coordinator's thread, not for time to pass.
  bool ends(std::int64_t id) {
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (std::chrono::steady_clock::now() < give_up) {
      if (store::is_finished_run_status(status(id))) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return false;
  }

  testing::temp_dir dir_;
  config::settings settings_;
  std::unique_ptr<store::store> store_;
  testing::ispring_sandbox sandbox_;
  testing::in_process_ispring api_{sandbox_};
  manual_clock clock_{monday_0800};
  std::unique_ptr<run_coordinator> runs_;
  std::mutex mutex_;
  std::condition_variable changed_;
  int pages_waiting_ = 0;
  bool released_ = false;
  std::function<void()> between_pages_;
};

TEST_F(RunCoordinator, RunsNeverOverlapAndRunInTheOrderAskedFor) {
  start();
  const auto first = runs_->request("admin", false);
  wait_for_a_page();
  const auto second = runs_->request("admin", true);
  EXPECT_EQ(status(first), "running");
  EXPECT_EQ(status(second), "queued");
  // The first page is mapped on the reconciler's own thread: wait for it to show.
  std::optional<json> live;
  ASSERT_TRUE(testing::eventually([&] {
    live = runs_->describe(first, false);
    return live && live->contains("progress") && (*live)["progress"]["salesforce_read"] == 2;
  })) << (live ? live->dump() : "");
  EXPECT_EQ((*live)["phase"], "reading");
  release();
  ASSERT_TRUE(ends(second));
  const auto a = store_->find_run(first);
  const auto b = store_->find_run(second);
  EXPECT_EQ(a->status, "succeeded") << a->message;
  EXPECT_EQ(b->status, "succeeded") << b->message;
  EXPECT_LE(*a->ended_at, *b->started_at);
  EXPECT_EQ(sandbox_.users().size(), 3u);  // the dry run after it found nothing to do
  EXPECT_EQ(b->counts.at("to_apply"), 0);
}

TEST_F(RunCoordinator, AScheduledRunStartsOnItsOwnAndNotAgainBeforeTheInterval) {
  config::schedule_settings every_hour;
  every_hour.run_type = "interval";
  every_hour.run_interval_minutes = 60;
  release();
  start(every_hour);
  ASSERT_TRUE(ends(1));
  EXPECT_EQ(store_->find_run(1)->trigger, "scheduled");
  EXPECT_EQ(status(1), "succeeded");
  EXPECT_EQ(runs_->next_scheduled_run(), monday_0800 + 60 * minute);
  EXPECT_EQ(store_->list_runs(10).size(), 1u);
  clock_.set(monday_0800 + 60 * minute);
  ASSERT_TRUE(ends(2));
  EXPECT_EQ(store_->find_run(2)->trigger, "scheduled");
}

TEST_F(RunCoordinator, ARunStillGoingAfterTheCheckDurationExpires) {
  config::schedule_settings manual;  // supervision applies to every run
  manual.check_sync_status_after_seconds = 60;
  manual.check_sync_status_duration_minutes = 30;
  between_pages_ = [this] { clock_.set(monday_0800 + 31 * minute); };
  release();
  start(manual);
  const auto id = runs_->request("admin", false);
  ASSERT_TRUE(ends(id));
  const auto run = store_->find_run(id);
  EXPECT_EQ(run->status, "expired");
  EXPECT_NE(run->message.find("still running after 31 minutes"), std::string::npos) << run->message;
  EXPECT_TRUE(sandbox_.users().empty());  // stopped while reading: nothing applied
}

TEST_F(RunCoordinator, AScheduledRunStopsWhenTheWindowClosesButAManualOneDoesNot) {
  config::schedule_settings window;
  window.run_type = "interval";
  window.start_work_time = "07:00";
  window.stop_work_time = "08:30";
  window.check_sync_status_duration_minutes = 600;
  between_pages_ = [this] { clock_.set(monday_0800 + 31 * minute); };
  release();
  start(window);
  ASSERT_TRUE(ends(1));
  const auto scheduled = store_->find_run(1);
  EXPECT_EQ(scheduled->trigger, "scheduled");
  EXPECT_EQ(scheduled->status, "stopped");
  EXPECT_NE(scheduled->message.find("the work window closed"), std::string::npos);
  // Outside the window now: nothing scheduled until tomorrow 07:00, but a manual run goes.
  const auto manual = runs_->request("admin", false);
  ASSERT_TRUE(ends(manual));
  EXPECT_EQ(status(manual), "succeeded");
  EXPECT_EQ(sandbox_.users().size(), 3u);
}

TEST_F(RunCoordinator, StoppingRecordsQueuedRunsAsStopped) {
  start();
  const auto first = runs_->request("admin", false);
  wait_for_a_page();
  const auto queued = runs_->request("admin", false);
  std::thread stopper([this] { runs_->stop(); });
  while (!runs_->stopping()) std::this_thread::yield();
  release();
  stopper.join();
  EXPECT_EQ(status(first), "stopped");
  EXPECT_EQ(status(queued), "stopped");
  EXPECT_EQ(store_->find_run(queued)->message, "the service stopped before the run started");
}

// Two instances on one store (a second store on the same file acting for instance "b",
// with its own coordinator): runs asked of both at once never overlap, because the second
// waits, queued, for the reconciliation lease the first holds while it runs.
TEST_F(RunCoordinator, RunsOfTwoInstancesOnOneStoreNeverOverlap) {
  store::store_settings as_b;
  as_b.sqlite_path = settings_.store.sqlite_path;
  as_b.instance_id = "b";
  auto store_b = store::open_store(as_b);
  // Both beat (the clock moves less than a stale heartbeat's age during the test).
  store_->heartbeat(store::this_instance("serve", monday_0800, monday_0800));
  store_b->heartbeat({"b", "host-b", 2, "serve", "test", monday_0800, monday_0800});
  between_pages_ = [this] { clock_.advance(1'000); };
  start();
  run_environment env_b;
  env_b.settings = &settings_;
  env_b.store = store_b.get();
  env_b.ispring = &api_;
  env_b.read_salesforce = reader();
  env_b.organization_id = [] { return expected<std::string, std::string>(testing::test_org_id); };
  env_b.time = &clock_;
  env_b.instance_id = "b";
  run_coordinator runs_b(std::move(env_b), std::nullopt);
  runs_b.start();

  const auto on_a = runs_->request("admin", false);
  wait_for_a_page();  // a's run holds the lease, in the middle of reading
  EXPECT_EQ(store_b->lease_holder(store::leases::reconciliation), store::this_instance_id());
  const auto on_b = runs_b.request("manual", false);
  EXPECT_EQ(status(on_b), "queued");
  EXPECT_TRUE(store_b->running_run());  // a's, live: the CLI would refuse too
  release();
  ASSERT_TRUE(ends(on_a));
  ASSERT_TRUE(ends(on_b));
  runs_b.stop();
  const auto a = store_->find_run(on_a);
  const auto b = store_->find_run(on_b);
  EXPECT_EQ(a->status, "succeeded") << a->message;
  EXPECT_EQ(b->status, "succeeded") << b->message;
  // b started once a had ended, a's 1-second page later: [started, ended] never intersect.
  EXPECT_LE(*a->ended_at, *b->started_at);
  EXPECT_GT(*b->started_at, *a->started_at);
  EXPECT_EQ(sandbox_.users().size(), 3u);                              // each user created once
  EXPECT_EQ(store_->lease_holder(store::leases::reconciliation), "");  // freed after each run
}

}  // namespace
}  // namespace connector::app

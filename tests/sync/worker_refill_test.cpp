// The worker's refill against a real SQLite store behind a queue that behaves like the
// store's writer: take_due waits for a write whose commit callback wakes the worker (an
// intake ack calls wake()), on another thread. Taking due records under the worker's lock
// deadlocks there; a record claimed for the worker must never be taken twice or dropped.
#include "connector/store/open.hpp"
#include "connector/sync/worker.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

#include "support/eventually.hpp"
#include "support/inbox_input.hpp"
#include "support/service.hpp"

namespace connector::sync {
namespace {

constexpr const char* org = "00D5g000004XyZaEAK";
using testing::eventually;
using testing::inbox_input::change;
using testing::inbox_input::request;

// Forwards to the real store. take_due first runs a "commit callback" on a writer thread and
// waits for it, as the group-commit writer makes its callers wait; the callback wakes the
// worker. A hook after mark_done lets a test hold the marking thread at that point.
class writer_like_queue : public store::work_queue {
 public:
  explicit writer_like_queue(store::store& inner) : inner_(inner) {}
  worker* to_wake = nullptr;
  // How many of the next take_due calls wake the worker: the first few (each wake asks for a
  // refill, so waking on every one would refill without end).
  std::atomic<int> waking_takes{0};
  std::function<void(const std::string&record_id, std::int64_t version)> before_mark, after_mark;

  std::vector<store::pending_record> take_due(epoch_ms now, std::size_t limit) override {
    if (to_wake && waking_takes.fetch_sub(1) > 0) {
      std::thread writer([this] { to_wake->wake(); });
      writer.join();  // never returns if the caller holds the worker's lock
    }
    auto due = inner_.take_due(now, limit);
    {
      std::lock_guard lock(mutex_);
      ++takes_;
    }
    changed_.notify_all();
    return due;
  }
  // Waits until take_due returned `count` times in all.
  void wait_for_takes(int count) {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return takes_ >= count; });
  }
  int takes() {
    std::lock_guard lock(mutex_);
    return takes_;
  }

  void mark_done(const std::string& o, const std::string& r, std::int64_t v,
                 const std::string& outcome) override {
    if (before_mark) before_mark(r, v);
    inner_.mark_done(o, r, v, outcome);
    if (after_mark) after_mark(r, v);
  }
  // take_claimed fails (the store still away) this many times first.
  std::atomic<int> failing_take_backs{0};
  std::atomic<int> take_backs{0};
  std::optional<store::pending_record> take_claimed(const std::string& o, const std::string& r,
                                                    epoch_ms now) override {
    ++take_backs;
    if (failing_take_backs.fetch_sub(1) > 0) throw std::runtime_error("store: still away");
    return inner_.take_claimed(o, r, now);
  }
  std::vector<std::string> due_rereads(const std::string& o, epoch_ms now, std::size_t limit,
                                       bool every_due) override {
    return inner_.due_rereads(o, now, limit, every_due);
  }
  void mark_failed(const std::string& o, const std::string& r, std::int64_t v,
                   const std::string& error, epoch_ms retry_at, bool dead) override {
    inner_.mark_failed(o, r, v, error, retry_at, dead);
  }
  void save_reread(const std::string& o, const std::string& r, std::int64_t v,
                   const std::string& fields, std::optional<epoch_ms> modstamp,
                   bool replace) override {
    inner_.save_reread(o, r, v, fields, modstamp, replace);
  }
  std::size_t requeue_dead(const std::string& r, epoch_ms now) override {
    return inner_.requeue_dead(r, now);
  }
  void mark_held(const std::string& o, const std::string& r, std::int64_t v,
                 const std::string& reason) override {
    inner_.mark_held(o, r, v, reason);
  }
  std::size_t release_held(const std::string& r, epoch_ms now) override {
    return inner_.release_held(r, now);
  }
  void note_retirement(const std::string& o, const std::string& r, epoch_ms at,
                       epoch_ms prune_before) override {
    inner_.note_retirement(o, r, at, prune_before);
  }
  std::vector<epoch_ms> retirements_since(const std::string& o, epoch_ms since) override {
    return inner_.retirements_since(o, since);
  }
  std::vector<store::pending_record> records_in_flight(const std::string& o) override {
    return inner_.records_in_flight(o);
  }

 private:
  store::store& inner_;
  std::mutex mutex_;
  std::condition_variable changed_;
  int takes_ = 0;
};

class worker_refill_test : public ::testing::Test {
 protected:
  testing::temp_dir dir_;
  std::unique_ptr<store::store> store_ = store::open_store({(dir_.path() / "w.db").string()});
  writer_like_queue queue_{*store_};
  manual_clock clock_{1'000'000};
  // Polls an hour apart: only a refill the worker asks for takes anything.
  worker_options options_{2, 3, 1'000, 60'000, 64, 3'600'000};

  void submit(const std::string& record, const std::string& notification,
              const std::string& fields = R"({"LastName":"A"})") {
    ASSERT_TRUE(
        store_->submit_and_wait(request({change(notification, record, fields)}, clock_.now()))
            .committed);
  }
  std::size_t pending() { return static_cast<std::size_t>(store_->stats().pending); }
};

TEST_F(worker_refill_test, a_take_due_that_waits_for_a_callback_waking_the_worker_goes_through) {
  constexpr int users = 40;
  for (int i = 0; i < users; ++i) submit("005-" + std::to_string(i), "n" + std::to_string(i));
  std::mutex m;
  std::map<std::string, int> applies;
  options_.batch = 8;  // several refills, each waiting for its callback
  worker w(
      {queue_, *store_, *store_},
      [&](const store::pending_record& r, const auto&) {
        std::lock_guard lock(m);
        ++applies[r.record_id];
        return record_result::applied("applied", std::nullopt);
      },
      clock_, options_);
  queue_.to_wake = &w;
  queue_.waking_takes = 3;
  w.start();
  w.wake();
  ASSERT_TRUE(eventually([&] { return pending() == 0; }));
  w.stop();
  std::lock_guard lock(m);
  EXPECT_EQ(applies.size(), static_cast<std::size_t>(users));
  for (const auto& [id, count] : applies) EXPECT_EQ(count, 1) << id << " applied twice";
}

// Between the older state's mark (which frees the record's newer state) and the worker
// forgetting the older one, another thread's refill takes the newer state: it must wait in
// the worker for its turn, not be dropped (it is claimed for this instance: nobody else
// would ever take it) nor applied beside the older one.
TEST_F(worker_refill_test, a_newer_state_taken_while_the_older_is_being_marked_is_applied_next) {
  submit("005A", "n1", R"({"Title":"old"})");
  std::mutex m;
  std::vector<std::string> applied;
  int at_once = 0, most_at_once = 0;
  worker w(
      {queue_, *store_, *store_},
      [&](const store::pending_record& r, const auto&) {
        {
          std::lock_guard lock(m);
          applied.push_back(r.fields_json);
          most_at_once = std::max(most_at_once, ++at_once);
        }
        if (r.fields_json == R"({"Title":"old"})") submit("005A", "n2", R"({"Title":"new"})");
        std::lock_guard lock(m);
        --at_once;
        return record_result::applied("applied", std::nullopt);
      },
      clock_, options_);
  queue_.after_mark = [&](const std::string&, std::int64_t version) {
    if (version != 1) return;
    // The older state is marked, the newer one due: the other thread refills now, while
    // this one still counts the record as being applied.
    const int before = queue_.takes();
    w.wake();
    queue_.wait_for_takes(before + 1);
  };
  w.start();
  w.wake();
  ASSERT_TRUE(eventually([&] {
    std::lock_guard lock(m);
    return applied.size() == 2 && pending() == 0;
  })) << "the newer state was dropped";
  w.stop();
  EXPECT_EQ(store_->find_record(org, "005A")->state, store::record_state::done);
  std::lock_guard lock(m);
  EXPECT_EQ(applied, (std::vector<std::string>{R"({"Title":"old"})", R"({"Title":"new"})"}));
  EXPECT_EQ(most_at_once, 1);
}

// A store that cannot record an outcome leaves the record claimed for this instance: the
// worker tries it again after a wait rather than leaving it to nobody.
TEST_F(worker_refill_test, a_record_whose_outcome_could_not_be_recorded_comes_back) {
  submit("005A", "n1");
  int calls = 0;
  bool store_down = true;
  queue_.before_mark = [&](const std::string&, std::int64_t) {
    if (store_down) {
      store_down = false;
      throw std::runtime_error("store: the database is away");
    }
  };
  worker w(
      {queue_, *store_, *store_},
      [&](const auto&, const auto&) {
        ++calls;
        return record_result::applied("applied", std::nullopt);
      },
      clock_, options_);
  EXPECT_EQ(w.run_once(), 1u);
  EXPECT_EQ(w.run_once(), 0u) << "not before its wait";
  clock_.advance(options_.retry_base_ms);
  EXPECT_EQ(w.run_once(), 1u);
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(store_->find_record(org, "005A")->state, store::record_state::done);
}

// The outcome of a parked record was not recorded, so the store still holds the state that
// was applied, or a newer one: the worker must read which when the record comes back. The
// state it applied, kept in memory, would put old fields over iSpring's newer ones.
TEST_F(worker_refill_test, a_parked_record_comes_back_in_its_newest_state_never_the_old_one) {
  submit("005A", "n1", R"({"FirstName":"v1"})");
  std::vector<std::string> applied;
  bool store_down = true;
  queue_.before_mark = [&](const std::string&, std::int64_t) {
    if (!store_down) return;
    store_down = false;
    submit("005A", "n2", R"({"FirstName":"v2"})");  // committed while the mark fails
    throw std::runtime_error("store: the database is away");
  };
  worker w(
      {queue_, *store_, *store_},
      [&](const store::pending_record& r, const auto&) {
        applied.push_back(r.fields_json);
        return record_result::applied("applied", std::nullopt);
      },
      clock_, options_);
  EXPECT_EQ(w.run_once(), 1u);
  queue_.failing_take_backs = 1;  // the first attempt to read it back fails too: parked again
  clock_.advance(options_.retry_base_ms);
  EXPECT_EQ(w.run_once(), 0u);
  EXPECT_EQ(queue_.take_backs, 1);
  EXPECT_EQ(w.run_once(), 0u) << "not before its next wait";
  clock_.advance(options_.retry_base_ms);
  EXPECT_EQ(w.run_once(), 1u);
  EXPECT_EQ(applied, (std::vector<std::string>{R"({"FirstName":"v1"})", R"({"FirstName":"v2"})"}));
  const auto record = store_->find_record(org, "005A");
  EXPECT_EQ(record->state, store::record_state::done);
  EXPECT_EQ(record->version, 2);
  EXPECT_EQ(w.run_once(), 0u);
}

// Another instance took this one for dead while the store was away (no beats for 15 s) and
// applied a newer state: the parked record is settled, and must not be applied again at all.
TEST_F(worker_refill_test, a_parked_record_another_instance_applied_meanwhile_is_left_alone) {
  submit("005A", "n1", R"({"FirstName":"v1"})");
  std::vector<std::string> applied;
  bool store_down = true;
  queue_.before_mark = [&](const std::string&, std::int64_t) {
    if (!store_down) return;
    store_down = false;
    throw std::runtime_error("store: the database is away");
  };
  worker w(
      {queue_, *store_, *store_},
      [&](const store::pending_record& r, const auto&) {
        applied.push_back(r.fields_json);
        return record_result::applied("applied", std::nullopt);
      },
      clock_, options_);
  EXPECT_EQ(w.run_once(), 1u);

  store::store_settings other;
  other.sqlite_path = (dir_.path() / "w.db").string();
  other.instance_id = "other";
  auto b = store::open_store(other);
  submit("005A", "n2", R"({"FirstName":"v2"})");
  b->heartbeat({"other", "host-b", 7, "serve", "test", clock_.now(), clock_.now()});
  const auto taken = b->take_due(clock_.now(), 10);
  ASSERT_EQ(taken.size(), 1u) << "this worker's instance never beat: its claim passes";
  EXPECT_EQ(taken[0].fields_json, R"({"FirstName":"v2"})");
  b->mark_done(org, "005A", taken[0].version, "applied");

  clock_.advance(options_.retry_base_ms);
  EXPECT_EQ(w.run_once(), 0u);
  EXPECT_EQ(queue_.take_backs, 1);
  EXPECT_EQ(applied, (std::vector<std::string>{R"({"FirstName":"v1"})"}));
  EXPECT_EQ(store_->find_record(org, "005A")->state, store::record_state::done);
  clock_.advance(options_.retry_base_ms);
  EXPECT_EQ(w.run_once(), 0u);
  EXPECT_EQ(queue_.take_backs, 1) << "dropped, not parked again";
}

}  // namespace
}  // namespace connector::sync

#pragma once
// Group commit, for any store engine: one writer thread takes whatever writes are waiting
// (intake requests first among equals, worker outcomes, links, history), up to
// max_batch_requests, and commits them in ONE transaction, so one fsync acknowledges many HTTP
// requests. Outcomes are reported only after the commit: a request hears committed=true only
// once its transaction is durable, and every request of a failed batch hears committed=false
// (all of the batch or none of it). Between batches, and while idle, the writer runs the
// engine's maintenance (pruning) at most once per interval, and in a row while it has a
// backlog and nothing else to do.
//
// How an engine plugs in: it implements group_commit_engine (begin, apply one intake request,
// before_commit, commit, rollback, and optionally after_batch and maintain), owns a
// group_commit built on it, calls start() once its connection is ready and stop() first in its
// destructor. Every other write is a function run on the writer thread inside the next
// transaction: run() waits until it is durable, post() does not.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "connector/store/types.hpp"

namespace connector::store {

// What the writer needs from an engine. Called on the writer thread only.
class group_commit_engine {
 public:
  virtual ~group_commit_engine() = default;

  // Opens the batch's transaction.
  virtual void begin() = 0;
  // Applies one request inside it, counting outcome.stored and outcome.duplicates.
  virtual void apply_intake(const intake_request& request, intake_outcome& outcome) = 0;
  // Writes what the batch gathered (counters, staged history), just before commit().
  virtual void before_commit() {}
  virtual void commit() = 0;
  // After a failure: rolls back if a transaction is still open. Never throws.
  virtual void rollback() noexcept = 0;
  // After a failure rolled back: whether the same batch may simply run again (another
  // instance's transaction won a deadlock or a serialization conflict on a shared database).
  // Every job is applied again from the start, so each must write only through the
  // transaction and state the engine resets in begin().
  virtual bool may_retry(const std::exception& failure) const noexcept {
    (void)failure;
    return false;
  }
  // After the batch's outcomes were reported, committed or not (a WAL checkpoint).
  virtual void after_batch() {}
  // One step of housekeeping in a transaction of its own, after the acks; a failure is the
  // engine's to swallow (intake reports it). Returns true when more is left to do.
  virtual bool maintain(bool idle) {
    (void)idle;
    return false;
  }
};

class group_commit {
 public:
  struct settings {
    std::size_t max_batch_requests = 256;
    // Housekeeping at most this often while busy, and at least this often while idle.
    std::chrono::milliseconds maintenance_interval{1000};
    // After each successful commit, with the number of jobs it made durable (metrics).
    std::function<void(std::size_t writes)> on_commit;
    const char* thread_name = "store-writer";  // for `top -H` and the benchmarks
  };

  group_commit(group_commit_engine& engine, settings settings);
  ~group_commit();  // stop()
  group_commit(const group_commit&) = delete;
  group_commit& operator=(const group_commit&) = delete;

  // Starts the writer thread.
  void start();
  // Graceful: the writer finishes every job accepted before this point. Idempotent.
  void stop();

  // Queues `request` (fields that are no JSON object become "{}": the caller parsed untrusted
  // input); `done` runs on the writer thread after the commit or its failure, and must
  // neither block nor throw. After stop(), it hears a failure at once.
  void submit(intake_request request, std::function<void(intake_outcome)> done);
  // Runs `apply` inside the writer's next transaction and returns once it is durable; throws
  // std::runtime_error with the batch's error when the transaction failed, or when stopping.
  // Must not be called from the writer thread (a `done` callback): it would wait for itself.
  void run(std::function<void()> apply);
  // Queues `apply` for the next transaction without waiting: a failed batch loses it.
  // Returns false (and drops it) once stopping.
  bool post(std::function<void()> apply);

  // Transactions committed since start.
  std::size_t commits() const { return commits_.load(std::memory_order_relaxed); }

 private:
  struct intake_job {
    intake_request request;
    std::function<void(intake_outcome)> done;
    intake_outcome outcome;  // counts so far; reported only if the batch commits
  };
  struct waited_job {
    std::function<void()> apply;
    std::promise<void> finished;
  };
  struct posted_job {
    std::function<void()> apply;
  };
  using job = std::variant<intake_job, waited_job, posted_job>;

  bool enqueue(job& job);  // moves it into the queue unless stopping
  void write_loop();
  void commit_batch(std::vector<job>& batch);
  // One attempt: begin, every job, commit. Throws what failed, rolled back.
  void try_batch(std::vector<job>& batch);
  static void report(std::vector<job>& batch, const std::string& failure) noexcept;
  bool maintenance_due() const;
  void maintain(bool idle);

  group_commit_engine& engine_;
  const settings settings_;

  std::mutex queue_mutex_;
  std::condition_variable queue_ready_;
  std::deque<job> queue_;
  bool stopping_ = false;
  std::atomic<std::size_t> commits_{0};

  // Writer thread only.
  std::chrono::steady_clock::time_point last_maintenance_ = std::chrono::steady_clock::now();
  bool backlog_ = false;

  std::thread writer_;
};

}  // namespace connector::store

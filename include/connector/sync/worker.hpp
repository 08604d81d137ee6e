#pragma once
// The sync worker: takes due records from the store's pending queue, hands each to a
// processor (mapping, scope rules, applier), and records the outcome. Nothing leaves the
// queue until the processor reports it applied (or skipped, with the reason); failures
// back off exponentially and, after the configured attempts, become dead letters.
//
// Per-record ordering comes from the store: it keeps only the newest state of a record and
// a version, so two states of one record are never applied at once here (a record being
// applied is not taken again) and an older apply never marks a newer state done.
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "connector/clock.hpp"
#include "connector/metrics/registry.hpp"
#include "connector/store/group_queue.hpp"
#include "connector/store/interfaces.hpp"

namespace connector::sync {

struct record_result {
  // held: kept back by the safety limit (sync.max_deactivations_per_hour); outcome says why.
  enum class kind { applied, skipped, failed, held };
  kind result = kind::failed;
  std::string outcome;  // for applied/skipped: "applied", "skipped: no department"
  std::optional<std::string> ispring_user_id;  // the link to remember
  std::string error;                           // for failed: readable, never a secret
  bool retryable = true;
  // What the processor read from Salesforce for a record that needs_reread (a GAP event), is
  // incomplete or is verified: saved with the record whatever the outcome, so a retry of a
  // GAP event does not read it again.
  struct reread_data {
    std::string fields_json;  // JSON object, merged into the stored fields
    std::optional<epoch_ms> modstamp;
    bool replace = false;  // verified: the read replaces the stored state (save_reread)
  };
  std::optional<reread_data> reread;
  // What led here, for the user's history (mapped, scope, iSpring calls); the worker stamps
  // the record and the time and adds the outcome.
  std::vector<store::history_event> history;
  // Applied, with groups left to the group drainer (ispring.group_additions "replace"): queued
  // durably before the record is marked done. The worker stamps queued_at.
  std::vector<store::group_addition> group_additions;

  static record_result applied(std::string outcome, std::optional<std::string> user_id);
  static record_result skipped(std::string reason);
  static record_result failed(std::string error, bool retryable);
  static record_result held(std::string reason);
};

// Applies one record; `link` is the iSpring user id stored for it, if any. Must not throw
// (an exception is treated as a retryable failure).
using record_processor = std::function<record_result(const store::pending_record& record,
                                                     const std::optional<std::string>& link)>;

// How failures are retried (sync.max_attempts, sync.retry_base_ms, sync.retry_max_ms).
struct retry_settings {
  int max_attempts = 10;  // then the record becomes a dead letter
  int retry_base_ms = 1'000;
  int retry_max_ms = 15 * 60'000;
};

struct worker_options {
  int concurrency = 4;  // records applied at once
  int max_attempts = 10;
  int retry_base_ms = 1'000;
  int retry_max_ms = 15 * 60'000;
  std::size_t batch = 64;    // records read from the queue at a time
  int idle_poll_ms = 1'000;  // look at the queue at least this often
  // Receives connector_worker_applies_total{result}; null records nothing.
  metrics::registry* metrics = nullptr;
  // Where group additions wait for the drainer; needed when the processor leaves any
  // (record_result::group_additions), else such a record fails and is retried.
  store::group_queue* group_queue = nullptr;
  // Additions were queued: wakes the drainer.
  std::function<void()> on_group_additions;
  // Settings edited in the page: the retry settings in force, asked at each failure (a retry
  // already scheduled keeps its time); none: max_attempts, retry_base_ms and retry_max_ms.
  std::function<retry_settings()> retries;
};

// The group additions a processor left (record_result::group_additions), stamped with their
// record and `now`, each with its "queued" event added to result.history: as the worker and
// `connector sync-user` put them in the group queue, before the record is marked done.
void stamp_group_additions(const store::pending_record& record, record_result& result,
                           epoch_ms now);

// Exponential back-off with "equal jitter": half the delay fixed, half random, so retries
// of many users spread out but never come back sooner than half the nominal delay.
// `attempts` counts failures so far (1 after the first); `jitter` is in [0, 1).
std::int64_t retry_delay_ms(int attempts, int base_ms, int max_ms, double jitter);

// What the worker uses of the store: the queue, the links it makes, the users' history.
struct worker_store {
  worker_store(store::work_queue& queue, store::user_links& links, store::history_log& history)
      : queue(queue), links(links), history(history) {}
  worker_store(store::store& all)  // NOLINT(google-explicit-constructor): every part of one
      : worker_store(all, all, all) {}

  store::work_queue& queue;
  store::user_links& links;
  store::history_log& history;
};

class worker {
 public:
  worker(worker_store store, record_processor processor, const clock& clock,
         worker_options options);
  ~worker();
  worker(const worker&) = delete;
  worker& operator=(const worker&) = delete;

  void start();
  // Finishes the records being applied, then returns. Those taken but not started stay
  // claimed for this instance until it retires (cluster::retire_instance, on a clean stop)
  // or stops beating.
  void stop();
  // Something was committed: look at the queue now instead of at the next poll.
  void wake();

  // Applies every record due now on the calling thread and returns how many were
  // processed (CLI and tests; not while started).
  std::size_t run_once();

 private:
  // Only the key: the state applied may be stale by the time it comes back (a newer one
  // applied meanwhile, here or by an instance that took this one for dead), so the record is
  // read again through the store (work_queue::take_claimed).
  struct parked_record {
    std::string organization_id;
    std::string record_id;
    epoch_ms until = 0;
  };

  void thread_loop();
  std::optional<store::pending_record> next_due(std::unique_lock<std::mutex>& lock);
  std::optional<store::pending_record> take_ready_locked();
  void refill(std::unique_lock<std::mutex>& lock);
  std::vector<parked_record> unpark_locked(epoch_ms now);
  std::vector<store::pending_record> take_back(std::vector<parked_record> parked,
                                               const std::vector<store::pending_record>& due,
                                               epoch_ms now);
  void keep_new_locked(std::vector<store::pending_record> records);
  bool should_wake_locked() const;
  void process(const store::pending_record& record);
  void record_failure(const store::pending_record& record, record_result& result, epoch_ms now);
  void park(const store::pending_record& record, epoch_ms until);
  void park_locked(std::string organization_id, std::string record_id, epoch_ms until);
  bool queue_group_additions(const store::pending_record& record, record_result& result,
                             epoch_ms now);
  retry_settings retries_now() const;

  worker_store store_;
  record_processor processor_;
  const clock& clock_;
  worker_options options_;

  std::mutex mutex_;
  std::condition_variable wakeup_;
  bool stopping_ = false;
  bool woken_ = false;       // something was committed since the last refill began
  std::uint64_t wakes_ = 0;  // wake() calls, to tell whether one came during an apply
  bool refilling_ = false;   // a thread is asking the store, without mutex_
  std::vector<store::pending_record> ready_;  // taken from the store, not yet started
  std::set<std::string> in_flight_;           // record ids being applied
  // Applied, but the store could not record the outcome: read again at the time given.
  std::vector<parked_record> parked_;
  std::optional<epoch_ms> earliest_retry_;  // when a retry we scheduled falls due
  std::vector<std::thread> threads_;
  // connector_worker_applies_total by result: applied, skipped, failed (to retry), dead.
  metrics::counter* applied_ = nullptr;
  metrics::counter* skipped_ = nullptr;
  metrics::counter* failed_ = nullptr;
  metrics::counter* dead_ = nullptr;
  metrics::counter* held_ = nullptr;
};

}  // namespace connector::sync

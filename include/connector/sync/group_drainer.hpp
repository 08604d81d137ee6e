#pragma once
// The group drainer: adds the users the worker queued (store::group_queue) to their iSpring
// groups, one group at a time, with ONE read and ONE replace of its members for everyone
// queued for it so far (reference §6: a member list can only be replaced whole). So a large
// group costs one replace per batch instead of one per user, and no worker slot waits on it.
//
// A group is claimed with a lease in the store before its members are read, so that no two
// drainers (threads, processes, instances on one database) and no reconciliation replace one
// group at once; a killed drainer's claim passes on when its lease expires. A failed replace
// keeps every addition and is retried with back-off, shown in status and metrics, never
// dropped; the users' histories tell what happened. The one exception: iSpring refuses a
// replace naming a user it no longer has (deleted there since it was queued), which would
// hold every other user of the batch forever; so after a refused replace the batch's users
// are read back by id, those iSpring does not return are left out (their histories say so)
// and the rest are added at once.
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "connector/clock.hpp"
#include "connector/metrics/registry.hpp"
#include "connector/store/group_queue.hpp"
#include "connector/store/types.hpp"
#include "connector/sync/applier.hpp"
#include "connector/sync/worker.hpp"

namespace connector::sync {

struct group_drainer_options {
  // Unique per process (group_owner_id); each drainer thread adds "/N".
  std::string owner;
  int threads = 2;                 // groups drained at once
  std::int64_t lease_ms = 60'000;  // longer than a read and a replace, retries included
  std::size_t batch = 2'000;       // additions per replace
  int retry_base_ms = 1'000;
  int retry_max_ms = 5 * 60'000;
  // Settings edited in the page: sync.retry_base_ms and retry_max_ms in force, asked at each
  // failed replace (max_attempts does not apply: additions are never dropped); none: the two
  // fields above.
  std::function<retry_settings()> retries;
  int idle_poll_ms = 1'000;  // look at the queue at least this often
  // After a replace the group rests as long as iSpring took on it (the wall time less the
  // drainer's own CPU time), at most this long (pacing).
  std::int64_t max_rest_ms = 1'000;
  // Receives connector_group_replaces_total{result}, the queue gauges; null records nothing.
  metrics::registry* metrics = nullptr;
};

// The drainer's own history kind, beside store::group_history_kinds: left out of the
// replace because iSpring no longer has the user (read, not guessed); details.group,
// ispring_user_id, batch (the others, added without it).
inline constexpr const char* group_dropped_kind = "group_dropped";

// "hostname:pid:random": who holds a group's claim, in the store and in logs.
std::string group_owner_id();

// Runs `replace` while `owner` holds the claim on `group_id` (store::group_queue::claim_group),
// so it never races a drainer's replace of the same group: waits while another owner holds
// it (a replace takes milliseconds; a killed holder's lease expires). Returns false, without
// running it, once `give_up` says so while waiting.
bool with_group_claim(store::group_queue& queue, const std::string& group_id,
                      const std::string& owner, const std::function<epoch_ms()>& now,
                      std::int64_t lease_ms, const std::function<bool()>& give_up,
                      const std::function<void()>& replace);

class group_drainer {
 public:
  using history_sink = std::function<void(std::vector<store::history_event>)>;

  // The read-union-replace goes to `api` (applier::add_to_group, with a directory of its
  // own); `history` records per-user events (store::history_log::record_history). All must
  // outlive the drainer.
  group_drainer(store::group_queue& queue, ispring::api& api, history_sink history,
                const clock& time, group_drainer_options options);
  ~group_drainer();
  group_drainer(const group_drainer&) = delete;
  group_drainer& operator=(const group_drainer&) = delete;

  void start();
  // Finishes the replaces in progress, then returns.
  void stop();
  // Additions were queued: look now instead of at the next poll.
  void wake();

  // Drains every group due now on the calling thread; returns how many batches it handled
  // (tests; not while started).
  std::size_t drain_once();

 private:
  void thread_loop(const std::string& owner);
  // Claims one due group and adds its batch; false when none was due.
  bool drain_one(const std::string& owner);
  // The replace, leaving out the users iSpring turns out not to have (into `gone`).
  ispring::result<std::vector<apply_step>> add_batch(const std::string& group_name,
                                                     std::vector<std::string>& users,
                                                     std::vector<std::string>& gone);
  // Which of `users` iSpring does not return when asked for them by id.
  ispring::result<std::vector<std::string>> missing_users(const std::vector<std::string>& users);
  void finish(const store::group_claim& claim, const std::vector<apply_step>& steps,
              std::size_t members, epoch_ms due_again_at, const std::vector<std::string>& gone);
  void fail(const store::group_claim& claim, const std::string& error);
  // Runs a write that lets go of a claim (finish, release); one the store refused (the
  // database away) is kept and run again before the next claim, so the group waits for the
  // store, not for its lease to expire.
  void settle(std::function<void()> write);
  void retry_unsettled();

  store::group_queue& queue_;
  ispring::api& api_;
  directory directory_;
  applier apply_;
  history_sink history_;
  const clock& clock_;
  group_drainer_options options_;

  std::mutex mutex_;
  std::condition_variable wakeup_;
  bool stopping_ = false;
  bool woken_ = false;
  std::optional<epoch_ms> resting_until_;         // the earliest a group this process paced is due
  std::vector<std::function<void()>> unsettled_;  // settle()'s writes the store refused
  std::vector<std::thread> threads_;
  metrics::counter* succeeded_ = nullptr;
  metrics::counter* failed_ = nullptr;
  metrics::counter* users_added_ = nullptr;
};

}  // namespace connector::sync

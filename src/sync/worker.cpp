#include "connector/sync/worker.hpp"

#include <algorithm>
#include <cmath>
#include <random>

#include <nlohmann/json.hpp>

#include "connector/log.hpp"

namespace connector::sync {

record_result record_result::applied(std::string outcome, std::optional<std::string> user_id) {
  record_result r;
  r.result = kind::applied;
  r.outcome = std::move(outcome);
  r.ispring_user_id = std::move(user_id);
  return r;
}

record_result record_result::skipped(std::string reason) {
  record_result r;
  r.result = kind::skipped;
  r.outcome = "skipped: " + reason;
  return r;
}

record_result record_result::failed(std::string error, bool retryable) {
  record_result r;
  r.result = kind::failed;
  r.error = std::move(error);
  r.retryable = retryable;
  return r;
}

record_result record_result::held(std::string reason) {
  record_result r;
  r.result = kind::held;
  r.outcome = std::move(reason);
  return r;
}

std::int64_t retry_delay_ms(int attempts, int base_ms, int max_ms, double jitter) {
  const int exponent = std::clamp(attempts - 1, 0, 30);
  const double nominal =
      std::min(static_cast<double>(max_ms), static_cast<double>(base_ms) * std::pow(2.0, exponent));
  return static_cast<std::int64_t>(nominal / 2 + nominal / 2 * std::clamp(jitter, 0.0, 1.0));
}

worker::worker(worker_store store, record_processor processor, const clock& clock,
               worker_options options)
    : store_(store), processor_(std::move(processor)), clock_(clock), options_(options) {
  if (options_.metrics) {
    auto& applies = options_.metrics->counter(
        "connector_worker_applies_total",
        "Records the sync worker finished an attempt at, by result: applied, skipped (nothing "
        "to do, with a reason), failed (will be retried), dead (dead-lettered) or held (by the "
        "safety limit, for the operator)",
        {"result"});
    applied_ = &applies.with({"applied"});
    skipped_ = &applies.with({"skipped"});
    failed_ = &applies.with({"failed"});
    dead_ = &applies.with({"dead"});
    held_ = &applies.with({"held"});
  }
}

worker::~worker() {
  stop();
}

void worker::start() {
  std::lock_guard lock(mutex_);
  stopping_ = false;
  for (int i = 0; i < std::max(1, options_.concurrency); ++i) {
    threads_.emplace_back([this] { thread_loop(); });
  }
}

void worker::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wakeup_.notify_all();
  for (auto& t : threads_) t.join();
  threads_.clear();
}

void worker::wake() {
  {
    std::lock_guard lock(mutex_);
    woken_ = true;
    ++wakes_;
  }
  wakeup_.notify_all();
}

// Under mutex_: the first ready record whose older state is not being applied (a newer state
// taken while the older one is applied waits its turn: it is claimed for us, so dropping it
// would leave it to nobody while this instance lives).
std::optional<store::pending_record> worker::take_ready_locked() {
  const auto next = std::find_if(ready_.begin(), ready_.end(), [this](const auto& record) {
    return !in_flight_.contains(record.record_id);
  });
  if (next == ready_.end()) return std::nullopt;
  auto record = std::move(*next);
  ready_.erase(next);
  in_flight_.insert(record.record_id);
  return record;
}

// Under `lock`: the next record to apply, refilling from the store when none is ready. One
// thread refills at a time, the others wait for it (wait_predicate).
std::optional<store::pending_record> worker::next_due(std::unique_lock<std::mutex>& lock) {
  if (auto record = take_ready_locked()) return record;
  if (refilling_) return std::nullopt;
  refill(lock);
  return take_ready_locked();
}

// Taking due records is a write that waits for the store's writer, whose callbacks (an ack
// that wakes the worker) take mutex_: so the store is asked without it. What it returns is
// claimed for this instance and due for nobody else, this refill included, until marked, so
// no record is in ready_ twice or taken while it is applied. Parked records are read again
// here too, outside the lock, for the same reason.
void worker::refill(std::unique_lock<std::mutex>& lock) {
  refilling_ = true;
  woken_ = false;  // what is committed from now on, this refill may not see
  const auto now = clock_.now();
  if (earliest_retry_ && *earliest_retry_ <= now) earliest_retry_.reset();
  auto parked = unpark_locked(now);
  lock.unlock();
  std::vector<store::pending_record> due;
  try {
    due = store_.queue.take_due(now, options_.batch);
  } catch (const std::exception& e) {
    // The database away (PostgreSQL restarting): the next wake or poll asks again.
    log::warn("worker.queue_failed", "could not take due records: {}", e.what());
  }
  auto back = take_back(std::move(parked), due, now);
  lock.lock();
  refilling_ = false;
  ready_.insert(ready_.end(), std::make_move_iterator(due.begin()),
                std::make_move_iterator(due.end()));
  keep_new_locked(std::move(back));
  wakeup_.notify_all();  // the threads that found this refill going
}

// Under mutex_: the parked records whose wait is over, out of parked_.
std::vector<worker::parked_record> worker::unpark_locked(epoch_ms now) {
  const auto back = std::stable_partition(parked_.begin(), parked_.end(),
                                          [now](const auto& p) { return p.until > now; });
  std::vector<parked_record> over(std::make_move_iterator(back),
                                  std::make_move_iterator(parked_.end()));
  parked_.erase(back, parked_.end());
  return over;
}

// Without mutex_: the parked records' current states, from the store. One done, held, or
// another live instance's meanwhile is dropped (that one applies it); one `due` holds already
// needs no second copy; the store still away parks the key again.
std::vector<store::pending_record> worker::take_back(std::vector<parked_record> parked,
                                                     const std::vector<store::pending_record>& due,
                                                     epoch_ms now) {
  std::vector<store::pending_record> back;
  for (auto& p : parked) {
    const bool taken = std::any_of(due.begin(), due.end(), [&](const auto& r) {
      return r.organization_id == p.organization_id && r.record_id == p.record_id;
    });
    if (taken) continue;
    try {
      if (auto record = store_.queue.take_claimed(p.organization_id, p.record_id, now)) {
        back.push_back(std::move(*record));
      } else {
        log::info("user.unparked", "user {}: settled meanwhile, not applied again", p.record_id);
      }
    } catch (const std::exception& e) {
      log::warn("worker.queue_failed", "could not read back user {}: {}", p.record_id, e.what());
      const auto until = now + retries_now().retry_base_ms;  // asked outside mutex_
      std::lock_guard lock(mutex_);
      park_locked(std::move(p.organization_id), std::move(p.record_id), until);
    }
  }
  return back;
}

// Under mutex_: records taken back from parked_ into ready_, unless a refill took them
// meanwhile and they are there or being applied: that copy's mark (version-checked) or park
// settles them.
void worker::keep_new_locked(std::vector<store::pending_record> records) {
  for (auto& record : records) {
    const bool known =
        in_flight_.contains(record.record_id) ||
        std::any_of(ready_.begin(), ready_.end(), [&](const auto& r) {
          return r.organization_id == record.organization_id && r.record_id == record.record_id;
        });
    if (!known) ready_.push_back(std::move(record));
  }
}

bool worker::should_wake_locked() const {
  if (stopping_) return true;
  if (refilling_) return false;  // the refiller wakes everyone when it is done
  return woken_ || std::any_of(ready_.begin(), ready_.end(), [this](const auto& record) {
           return !in_flight_.contains(record.record_id);
         });
}

void worker::thread_loop() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    auto record = next_due(lock);
    if (!record) {
      auto wait = std::chrono::milliseconds(options_.idle_poll_ms);
      // While another thread refills, its end wakes us; a retry already due would spin.
      if (earliest_retry_ && !refilling_) {
        wait = std::min(wait, std::chrono::milliseconds(
                                  std::max<std::int64_t>(0, *earliest_retry_ - clock_.now())));
      }
      wakeup_.wait_for(lock, wait, [this] { return should_wake_locked(); });
      continue;
    }
    const auto wakes_before = wakes_;
    lock.unlock();
    process(*record);
    lock.lock();
    in_flight_.erase(record->record_id);
    // Committed during the apply, maybe this record's newer state: a refill meanwhile could
    // not take it (it was claimed until the mark), so the next one looks again.
    if (wakes_ != wakes_before) woken_ = true;
    wakeup_.notify_all();
  }
}

std::size_t worker::run_once() {
  std::size_t processed = 0;
  for (;;) {
    std::optional<store::pending_record> record;
    {
      std::unique_lock lock(mutex_);
      record = next_due(lock);
    }
    if (!record) return processed;
    process(*record);
    {
      std::lock_guard lock(mutex_);
      in_flight_.erase(record->record_id);
    }
    ++processed;
  }
}

void worker::park(const store::pending_record& record, epoch_ms until) {
  std::lock_guard lock(mutex_);
  park_locked(record.organization_id, record.record_id, until);
}

void worker::park_locked(std::string organization_id, std::string record_id, epoch_ms until) {
  parked_.push_back({std::move(organization_id), std::move(record_id), until});
  earliest_retry_ = std::min(earliest_retry_.value_or(until), until);
}

namespace {

// The outcome as the user's history keeps it, after what led to it (result.history).
std::vector<store::history_event> history_of(const store::pending_record& record,
                                             record_result& result, epoch_ms now, const char* kind,
                                             nlohmann::json details) {
  auto events = std::move(result.history);
  store::history_event outcome;
  outcome.kind = kind;
  outcome.details_json = details.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  events.push_back(std::move(outcome));
  for (auto& e : events) {
    e.organization_id = record.organization_id;
    e.record_id = record.record_id;
    if (e.time == 0) e.time = now;
  }
  return events;
}

}  // namespace

void stamp_group_additions(const store::pending_record& record, record_result& result,
                           epoch_ms now) {
  for (auto& a : result.group_additions) {
    a.organization_id = record.organization_id;
    a.record_id = record.record_id;
    a.queued_at = now;
    store::history_event queued;
    queued.kind = store::group_history_kinds::queued;
    queued.details_json = nlohmann::json{{"group", a.group_name}, {"group_id", a.group_id}}.dump(
        -1, ' ', false, nlohmann::json::error_handler_t::replace);
    result.history.push_back(std::move(queued));
  }
}

// Durable before the record is marked done: a crash in between leaves the record pending (and
// maybe the additions queued twice, which a union ignores), never an applied user whose
// groups are forgotten. Throws when the store cannot commit: the record stays as it was.
bool worker::queue_group_additions(const store::pending_record& record, record_result& result,
                                   epoch_ms now) {
  if (!options_.group_queue) return false;
  stamp_group_additions(record, result, now);
  options_.group_queue->queue_group_additions(result.group_additions);
  if (options_.on_group_additions) options_.on_group_additions();
  return true;
}

retry_settings worker::retries_now() const {
  if (options_.retries) return options_.retries();
  return {options_.max_attempts, options_.retry_base_ms, options_.retry_max_ms};
}

// A failed attempt: retried after a delay, or a dead letter once attempts run out or the
// error is not worth retrying. Throws when the store cannot record it.
void worker::record_failure(const store::pending_record& record, record_result& result,
                            epoch_ms now) {
  const int attempts = record.attempts + 1;
  const auto retry = retries_now();  // the revision in force at this failure
  const bool dead = !result.retryable || attempts >= retry.max_attempts;
  thread_local std::mt19937_64 random{std::random_device{}()};
  const auto delay = retry_delay_ms(attempts, retry.retry_base_ms, retry.retry_max_ms,
                                    std::uniform_real_distribution<double>(0, 1)(random));
  const auto retry_at = now + delay;
  nlohmann::json details = {{"attempt", attempts},
                            {"error", result.error},
                            {"retryable", result.retryable},
                            {"version", record.version}};
  if (!dead) details["next_attempt_at"] = retry_at;
  store_.history.record_history(
      history_of(record, result, now,
                 dead ? store::history_kinds::dead_letter : store::history_kinds::failed, details));
  store_.queue.mark_failed(record.organization_id, record.record_id, record.version, result.error,
                           retry_at, dead);
  if (applied_) (dead ? dead_ : failed_)->inc();
  if (dead) {
    log::error("user.dead_letter", "user {}: dead letter after {} attempt(s): {}", record.record_id,
               attempts, result.error);
  } else {
    log::warn("user.retry", "user {}: attempt {} failed, retrying in {} ms: {}", record.record_id,
              attempts, delay, result.error);
    std::lock_guard lock(mutex_);
    earliest_retry_ = std::min(earliest_retry_.value_or(retry_at), retry_at);
  }
}

void worker::process(const store::pending_record& record) {
  const log::scope user("record_id", record.record_id);
  record_result result;
  try {
    result = processor_(record, store_.links.find_link(record.organization_id, record.record_id));
  } catch (const std::exception& e) {
    result = record_result::failed(std::string("internal error: ") + e.what(), true);
  }
  const auto now = clock_.now();
  try {
    // Linked whatever the outcome: a user created before a later step failed must be
    // updated, not created again, on the retry.
    if (result.ispring_user_id) {
      store_.links.set_link(record.organization_id, record.record_id, *result.ispring_user_id);
    }
    if (result.reread) {
      // Not waited for: the outcome below waits for the same commit.
      store_.queue.save_reread_soon(record.organization_id, record.record_id, record.version,
                                    result.reread->fields_json, result.reread->modstamp,
                                    result.reread->replace);
    }
    if (result.result == record_result::kind::held) {
      nlohmann::json details = {{"reason", result.outcome}, {"version", record.version}};
      store_.history.record_history(
          history_of(record, result, now, store::history_kinds::held, details));
      store_.queue.mark_held(record.organization_id, record.record_id, record.version,
                             result.outcome);
      log::warn("user.held", "user {}: {}", record.record_id, result.outcome);
      if (held_) held_->inc();
      return;
    }
    if (result.result == record_result::kind::applied && !result.group_additions.empty() &&
        !queue_group_additions(record, result, now))
      result = record_result::failed("internal error: group additions left without a queue", true);
    if (result.result != record_result::kind::failed) {
      const bool applied = result.result == record_result::kind::applied;
      nlohmann::json details = {{"outcome", result.outcome}, {"version", record.version}};
      if (result.ispring_user_id) details["ispring_user_id"] = *result.ispring_user_id;
      // Recorded before mark_done: the events ride along its group commit.
      store_.history.record_history(history_of(
          record, result, now,
          applied ? store::history_kinds::applied : store::history_kinds::skipped, details));
      store_.queue.mark_done(record.organization_id, record.record_id, record.version,
                             result.outcome);
      log::info("user.applied", "user {}: {}", record.record_id, result.outcome);
      if (applied_) (result.result == record_result::kind::applied ? applied_ : skipped_)->inc();
      return;
    }
    record_failure(record, result, now);
  } catch (const std::exception& e) {
    // The store could not record the outcome (disk full, the database away): the record
    // stays as it was in the queue, claimed for this instance, so it comes back here after
    // a wait, read again from the store (a newer state may have been applied meanwhile);
    // nothing is lost, it may only be applied again.
    log::error("user.store_failed", "user {}: could not record the outcome: {}", record.record_id,
               e.what());
    park(record, now + retries_now().retry_base_ms);
  }
}

}  // namespace connector::sync

#include "group_commit.hpp"

#include <pthread.h>

#include <algorithm>
#include <cassert>
#include <exception>
#include <iterator>
#include <stdexcept>
#include <utility>

#include "connector/store/fields_json.hpp"

namespace connector::store {

namespace {

// With maintenance left over the writer waits only a moment for work: idle means that nothing
// arrived for a while, not the gap between an ack and the next request.
constexpr std::chrono::milliseconds idle_grace{50};

// What every request of a failed batch hears. An engine's own errors (runtime_error: SQLite's,
// PostgreSQL's) say what failed already.
std::string describe_failure(const std::exception& e) {
  if (dynamic_cast<const std::runtime_error*>(&e) != nullptr) return e.what();
  return std::string("store: batch failed: ") + e.what();
}

}  // namespace

group_commit::group_commit(group_commit_engine& engine, settings settings)
    : engine_(engine), settings_(std::move(settings)) {}

group_commit::~group_commit() {
  stop();
}

void group_commit::start() {
  assert(!writer_.joinable());
  writer_ = std::thread([this] { write_loop(); });
  pthread_setname_np(writer_.native_handle(), settings_.thread_name);
}

void group_commit::stop() {
  {
    std::lock_guard lock(queue_mutex_);
    stopping_ = true;
  }
  queue_ready_.notify_one();
  if (writer_.joinable()) writer_.join();
}

bool group_commit::enqueue(job& job) {
  std::lock_guard lock(queue_mutex_);
  if (stopping_) return false;
  queue_.push_back(std::move(job));
  queue_ready_.notify_one();
  return true;
}

void group_commit::submit(intake_request request, std::function<void(intake_outcome)> done) {
  // Checked here, on the caller's thread, to keep the single writer busy with the engine only.
  for (auto& change : request.changes) {
    if (change.has_data && !is_json_object(change.fields_json)) change.fields_json = "{}";
  }
  job queued = intake_job{std::move(request), std::move(done), {}};
  if (enqueue(queued)) return;
  auto& refused = std::get<intake_job>(queued);
  if (refused.done) refused.done(intake_outcome{false, 0, 0, "store: the inbox is shutting down"});
}

void group_commit::run(std::function<void()> apply) {
  // The writer thread runs `done` callbacks; waiting for itself would never end.
  assert(std::this_thread::get_id() != writer_.get_id() && "store write called from a callback");
  waited_job waited{std::move(apply), {}};
  auto finished = waited.finished.get_future();
  job queued = std::move(waited);
  if (!enqueue(queued)) throw std::runtime_error("store: the inbox is shutting down");
  finished.get();
}

bool group_commit::post(std::function<void()> apply) {
  job queued = posted_job{std::move(apply)};
  return enqueue(queued);
}

void group_commit::write_loop() {
  std::vector<job> batch;
  batch.reserve(settings_.max_batch_requests);
  const auto max_batch = std::max<std::size_t>(settings_.max_batch_requests, 1);
  for (;;) {
    {
      std::unique_lock lock(queue_mutex_);
      // Idle, the writer waits at most one maintenance interval, so old history goes even
      // when nothing arrives.
      queue_ready_.wait_for(lock, backlog_ ? idle_grace : settings_.maintenance_interval,
                            [this] { return !queue_.empty() || stopping_; });
      if (queue_.empty() && stopping_) return;  // every accepted job was answered
      const auto count = static_cast<std::ptrdiff_t>(std::min(queue_.size(), max_batch));
      std::move(queue_.begin(), queue_.begin() + count, std::back_inserter(batch));
      queue_.erase(queue_.begin(), queue_.begin() + count);
    }
    const bool idle = batch.empty();
    if (!idle) {
      commit_batch(batch);
      batch.clear();
    }
    // Busy, at most once per interval; idle, also while there is a backlog.
    if (maintenance_due() || (idle && backlog_)) maintain(idle);
  }
}

bool group_commit::maintenance_due() const {
  return std::chrono::steady_clock::now() - last_maintenance_ >= settings_.maintenance_interval;
}

void group_commit::maintain(bool idle) {
  last_maintenance_ = std::chrono::steady_clock::now();
  backlog_ = engine_.maintain(idle);
}

// A batch another instance's transaction deadlocked with runs again, a few times, rather
// than faulting its intake requests and failing its writers: the conflict is gone once the
// other transaction has committed.
void group_commit::commit_batch(std::vector<job>& batch) {
  constexpr int attempts = 8;
  std::string failure;
  for (int attempt = 1; attempt <= attempts; ++attempt) {
    try {
      try_batch(batch);
      failure.clear();
      break;
    } catch (const std::exception& e) {
      failure = describe_failure(e);
      if (!engine_.may_retry(e)) break;
    }
  }
  report(batch, failure);
  if (failure.empty() && settings_.on_commit) settings_.on_commit(batch.size());
  engine_.after_batch();
}

void group_commit::try_batch(std::vector<job>& batch) {
  try {
    engine_.begin();
    for (auto& queued : batch) {
      if (auto* intake = std::get_if<intake_job>(&queued)) {
        intake->outcome = {};  // counted again on a retry
        engine_.apply_intake(intake->request, intake->outcome);
      } else if (auto* waited = std::get_if<waited_job>(&queued)) {
        waited->apply();
      } else {
        std::get<posted_job>(queued).apply();
      }
    }
    engine_.before_commit();
    engine_.commit();
    commits_.fetch_add(1, std::memory_order_relaxed);
  } catch (...) {
    // Some errors (a full disk, an I/O error) may already have rolled back; others leave
    // the transaction open.
    engine_.rollback();
    throw;
  }
}

// noexcept: a throwing `done` stops the process at the bug instead of leaving the rest of
// the batch unanswered.
void group_commit::report(std::vector<job>& batch, const std::string& failure) noexcept {
  for (auto& queued : batch) {
    if (auto* intake = std::get_if<intake_job>(&queued)) {
      if (!intake->done) continue;
      if (failure.empty()) {
        intake->outcome.committed = true;
        intake->done(std::move(intake->outcome));
      } else {
        intake->done(intake_outcome{false, 0, 0, failure});
      }
    } else if (auto* waited = std::get_if<waited_job>(&queued)) {
      if (failure.empty()) {
        waited->finished.set_value();
      } else {
        waited->finished.set_exception(std::make_exception_ptr(std::runtime_error(failure)));
      }
    }  // posted jobs: nobody waits; a failed batch loses them
  }
}

}  // namespace connector::store

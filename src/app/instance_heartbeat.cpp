#include "connector/app/instance_heartbeat.hpp"

#include <chrono>
#include <exception>

#include "connector/log.hpp"

namespace connector::app {

instance_heartbeat::instance_heartbeat(store::store& store, const clock& time, std::string role,
                                       std::string instance_id)
    : store_(store), time_(time) {
  const epoch_ms now = time_.now();
  self_ = store::this_instance(role, now, now);
  if (!instance_id.empty()) self_.id = std::move(instance_id);
  store_.heartbeat(self_);
  log::debug("instance.registered", "instance {} registered ({} on {}, pid {})", self_.id,
             self_.role, self_.host, self_.pid);
}

instance_heartbeat::~instance_heartbeat() {
  stop();
}

void instance_heartbeat::start() {
  thread_ = std::thread([this] {
    std::unique_lock lock(mutex_);
    while (!stopping_) {
      wake_.wait_for(lock, std::chrono::milliseconds(store::heartbeat_interval_ms));
      if (stopping_) break;
      lock.unlock();
      beat();
      lock.lock();
    }
  });
}

void instance_heartbeat::beat() {
  try {
    self_.last_seen = time_.now();
    store_.heartbeat(self_);
    if (const auto failed = store_.fail_interrupted_runs(self_.last_seen); failed != 0)
      log::warn("runs.interrupted",
                "{} reconciliation run(s) of an instance that stopped beating were "
                "interrupted; marked failed",
                failed);
  } catch (const std::exception& e) {
    // The database away: intake faults meanwhile; the next beat tries again.
    log::warn("instance.heartbeat_failed", "instance heartbeat failed: {}", e.what());
  }
}

void instance_heartbeat::stop() {
  {
    std::lock_guard lock(mutex_);
    if (retired_) return;
    stopping_ = true;
    retired_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  try {
    store_.retire_instance(self_.id);
  } catch (const std::exception& e) {
    // Others see it as gone once its heartbeat is stale.
    log::warn("instance.retire_failed", "instance {} could not retire: {}", self_.id, e.what());
  }
}

}  // namespace connector::app

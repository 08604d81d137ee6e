#pragma once
// This process as an instance of the cluster (store/cluster.hpp): registered in the store
// when it starts, its last_seen moved every heartbeat_interval_ms, retired when it stops
// cleanly. Other instances judge its runs and leases by it; `status` and the admin page
// list it. A beat also fails the runs of instances whose heartbeat stopped, so a run a
// killed instance left shows as failed within seconds, not at the next restart.
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include "connector/clock.hpp"
#include "connector/store/interfaces.hpp"

namespace connector::app {

class instance_heartbeat {
 public:
  // Registers at once (throws when the store refuses: an instance that cannot register must
  // not run reconciliations others cannot see). `store` and `time` must outlive it.
  instance_heartbeat(store::store& store, const clock& time, std::string role,
                     std::string instance_id = {});
  ~instance_heartbeat();
  instance_heartbeat(const instance_heartbeat&) = delete;
  instance_heartbeat& operator=(const instance_heartbeat&) = delete;

  // Beats every heartbeat_interval_ms (real time) on a thread of its own.
  void start();
  // Stops beating and retires the instance: it leaves the list and its leases free at once.
  // Idempotent.
  void stop();

  // One beat now, at `time`'s clock: what the thread does (tests call it with their clock).
  // A store that fails is logged and tried again at the next beat.
  void beat();

  const std::string& id() const { return self_.id; }

 private:
  store::store& store_;
  const clock& time_;
  store::instance_record self_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  bool retired_ = false;
  std::thread thread_;
};

}  // namespace connector::app

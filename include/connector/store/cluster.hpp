#pragma once
// Several instances on one store (design.md "Store engines and several instances"): who is
// live, and what only one of them may do at a time. Liveness is a heartbeat in the store,
// never a pid: instances on other hosts share the database.
#include <cstdint>
#include <string>
#include <vector>

#include "connector/clock.hpp"

namespace connector::store {

// One running connector process (`serve`, or a CLI command that writes runs).
struct instance_record {
  std::string id;  // "<random>@<host>/<pid>": unique even when a pid is reused or hosts share
  std::string host;
  std::int64_t pid = 0;
  std::string role;  // "serve", "cli"
  std::string version;
  epoch_ms started_at = 0;
  epoch_ms last_seen = 0;
};

// A live instance beats every heartbeat_interval_ms. Three beats missed and it is taken for
// gone: its runs fail as interrupted, its leases pass to others. Three, not one, so that a
// slow commit or a short stall of the database never takes a live instance for dead (a live
// run must never be failed); 15 s is still short next to a reconciliation.
inline constexpr epoch_ms heartbeat_interval_ms = 5'000;
inline constexpr epoch_ms instance_stale_after_ms = 3 * heartbeat_interval_ms;

// The oldest last_seen of a live instance at `now`.
inline epoch_ms live_since(epoch_ms now) {
  return now - instance_stale_after_ms;
}

// This process's instance id, made once per pid (a forked child is another instance).
const std::string& this_instance_id();
// This process as an instance record, last seen `now`.
instance_record this_instance(const std::string& role, epoch_ms started_at, epoch_ms now);

// The names of what only one instance holds at a time.
namespace leases {
inline constexpr const char* reconciliation = "reconciliation";
}

class cluster {
 public:
  virtual ~cluster() = default;

  // Registers the instance the first time and moves its last_seen to `self.last_seen`.
  virtual void heartbeat(const instance_record& self) = 0;
  // A clean stop: the instance leaves the list at once, and its leases and record claims
  // (take_due) are released, so others take its records at once rather than 15 s later.
  virtual void retire_instance(const std::string& id) = 0;
  // Instances whose last heartbeat is at most instance_stale_after_ms before `now`, oldest
  // start first.
  virtual std::vector<instance_record> live_instances(epoch_ms now) = 0;

  // Takes the lease `name` for `holder` when nobody holds it, `holder` already does, or its
  // holder is no longer live at `now`. The lease lasts as long as the holder's heartbeat,
  // until release_lease. True when `holder` holds it now.
  virtual bool take_lease(const std::string& name, const std::string& holder, epoch_ms now) = 0;
  // Released only by its holder; anyone else's call changes nothing.
  virtual void release_lease(const std::string& name, const std::string& holder) = 0;
  // Who holds the lease, live or not ("" when nobody).
  virtual std::string lease_holder(const std::string& name) = 0;

  // Claims the due time `due` of the slot `name` (the schedule) for `holder`: true for exactly
  // one caller per due time, however many instances ask. A due time claimed by an instance
  // that died before its run started may be claimed again by another.
  virtual bool claim_slot(const std::string& name, epoch_ms due, const std::string& holder,
                          epoch_ms now) = 0;
};

}  // namespace connector::store

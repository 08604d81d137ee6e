#pragma once
// Group additions waiting for their group (issue 18 §3, issue 17 §3). iSpring can only replace
// a group's member list whole (reference §6), so adding a user is read, union, replace; done
// per user under a lock, one large group stalls every worker slot, and done by two instances at
// once, one replace drops the other's members. So the worker applies a user's own fields at
// once and queues the additions here, durably, before the record leaves the work queue; a
// drainer claims one group at a time with a lease (one claimant per group across every
// instance and process) and adds everyone queued for it with one read and one replace.
//
// A narrow store interface of its own, part of every engine's `store` (interfaces.hpp); the
// read-only store_reader gives its stats (group_stats) to the CLI's status.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "connector/clock.hpp"

namespace connector::store {

// One user to add to one iSpring group.
struct group_addition {
  std::string group_id;    // iSpring
  std::string group_name;  // as iSpring spells it: history, status and logs
  std::string ispring_user_id;
  // The Salesforce record it came from, whose history tells what became of it.
  std::string organization_id;
  std::string record_id;
  epoch_ms queued_at = 0;
  std::int64_t id = 0;  // set when read back: the queue's order, grows with every addition
};

// A group claimed for one owner until lease_until, with the additions waiting for it.
struct group_claim {
  std::string group_id;
  std::string owner;
  epoch_ms lease_until = 0;
  int attempts = 0;        // replaces of this group that failed since the last success
  std::string last_error;  // of the last failure
  std::vector<group_addition> additions;  // oldest first
  // The newest addition claimed: finish_group removes those up to it, and no later ones.
  std::int64_t up_to() const { return additions.empty() ? 0 : additions.back().id; }
};

// What `status` and the metrics show of the queue.
struct group_queue_stats {
  std::int64_t additions = 0;  // users waiting to join a group
  std::int64_t groups = 0;     // groups they wait for
  std::int64_t retrying = 0;   // of those, groups backing off after a failed replace
  std::optional<epoch_ms> oldest_queued_at;
  std::string last_error;  // the newest failure of a group still backing off
};

class group_queue {
 public:
  virtual ~group_queue() = default;

  // Durable once it returns (the worker marks the record done only afterwards). Throws
  // std::runtime_error when the commit failed: the record then stays in the work queue.
  virtual void queue_group_additions(const std::vector<group_addition>& additions) = 0;

  // The group whose additions have waited longest, among those due (not backing off) that no
  // other owner holds with a live lease (an expired lease passes on): claimed for `owner`
  // until `lease_until`, with its oldest `limit` additions. None: nothing to do now.
  virtual std::optional<group_claim> claim_next_group(const std::string& owner, epoch_ms now,
                                                      epoch_ms lease_until, std::size_t limit) = 0;

  // Claims (or renews) one group whether or not additions wait for it, so that anyone else
  // replacing its members (the full reconciliation) never races the drainer. False when
  // another owner holds a live lease on it.
  virtual bool claim_group(const std::string& group_id, const std::string& owner, epoch_ms now,
                           epoch_ms lease_until) = 0;

  // Applied: removes the group's additions up to `up_to` (group_claim::up_to; 0 removes none),
  // so those queued meanwhile stay for the next batch, and lets go of the claim if `owner`
  // still holds it; the group is next claimed by claim_next_group at `due_again_at` or later
  // (the drainer's pacing). Returns once durable.
  virtual void finish_group(const std::string& group_id, const std::string& owner,
                            std::int64_t up_to, epoch_ms due_again_at = 0) = 0;

  // Failed: the additions stay; the group is due again at `retry_at`, its failure counted
  // and `error` kept for status. Lets go of the claim if `owner` still holds it.
  virtual void release_group(const std::string& group_id, const std::string& owner,
                             epoch_ms retry_at, const std::string& error) = 0;

  virtual group_queue_stats group_stats() = 0;
};

// The history kinds of group additions (history_event::kind), what `connector explain` tells.
namespace group_history_kinds {
inline constexpr const char* queued = "group_queued";  // details.group, group_id
inline constexpr const char* added = "group_added";    // details.group, members, ok
inline constexpr const char* failed = "group_failed";  // details.group, error, next_attempt_at
}  // namespace group_history_kinds

}  // namespace connector::store

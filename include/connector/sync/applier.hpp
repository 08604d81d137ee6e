#pragma once
// The applier: one desired user → the smallest set of iSpring calls that makes iSpring agree.
// One applier serves the notification worker and the full reconciliation (design.md "The
// way data flows"), so the two paths cannot drift apart.
//
// Every step is idempotent: the applier stops at the first failure and returns it, the caller
// retries durably, and a retry converges because each step compares before it changes.
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "connector/ispring/api.hpp"
#include "connector/sync/plan.hpp"

namespace connector::sync {

// The account's departments and groups, shared by every apply (and thread-safe): read once,
// re-read on a miss before anything is created, so concurrent applies create a department
// or group once, not once each.
class directory {
 public:
  explicit directory(ispring::api& api);

  // The current snapshot (read from iSpring on first use). Snapshots are immutable; a refresh
  // or a creation publishes a new one.
  ispring::result<std::shared_ptr<const directory_snapshot>> snapshot();
  ispring::result<std::shared_ptr<const directory_snapshot>> refresh_groups();

  struct ensured {
    std::string id;
    std::string name;       // as iSpring spells it
    bool is_smart = false;  // groups only
    // What was created, for the steps: "'Salesforce' under the root".
    std::vector<std::string> created;
    std::string renamed_from;  // departments: renamed in place from this name
    std::string note;          // departments: a rename left undone, and why
  };
  // The department for a department key. Linked (`link`, and iSpring still has it under
  // `parent`): that one, renamed in place to `name` when the connector last gave it another
  // name (design.md "Trust": only owned departments are renamed). Otherwise `name` under
  // `parent` (nullopt: the root; the parent itself sits under the root), adopted when it
  // exists, else created with its parent.
  ispring::result<ensured> ensure_department(
      const std::optional<std::string>& parent, const std::string& name,
      const std::optional<linked_department>& link = std::nullopt);
  ispring::result<ensured> ensure_group(const std::string& name);

  // Forgets the snapshot: the next use reads departments and groups again.
  void invalidate();

  // Group members are replaced as a whole (reference §6), so read-union-replace on one group
  // is serialised within this process; hold the lock across get_group and set_group_members.
  std::unique_lock<std::mutex> lock_group_members(const std::string& group_id);

 private:
  std::shared_ptr<const directory_snapshot> current();
  void publish(std::shared_ptr<const directory_snapshot> snapshot);
  ispring::result<std::shared_ptr<const directory_snapshot>> load_departments(
      const std::shared_ptr<const directory_snapshot>& base);
  ispring::result<std::shared_ptr<const directory_snapshot>> load_groups(
      const std::shared_ptr<const directory_snapshot>& base);
  // Under create_mutex_: the department `name` under `parent_id`, created when missing.
  ispring::result<ensured> ensure_child_locked(const std::string& parent_id,
                                               const std::string& parent_text,
                                               const std::string& name);
  // Under create_mutex_: renames the linked department to `name`, unless a sibling holds that
  // name already (then it is left as it is, with a note).
  ispring::result<ensured> rename_locked(const ispring::department& linked,
                                         const std::string& name);

  ispring::api& api_;
  std::mutex state_mutex_;   // guards snapshot_ and group_locks_; never held across a call
  std::mutex create_mutex_;  // serialises loading and creating, which do call iSpring
  std::shared_ptr<const directory_snapshot> snapshot_;
  std::map<std::string, std::shared_ptr<std::mutex>> group_locks_;
};

enum class step_outcome {
  unchanged,  // checked, nothing to do
  changed,    // a call changed iSpring
  failed,
};

struct apply_step {
  std::string stage;  // match, scope, department, create, update, groups, status, delete
  std::string text;   // "linked user 0000… by login 'jane@acme.com'"
  step_outcome outcome = step_outcome::unchanged;
  std::string to_string() const { return stage + ": " + text; }
};

struct apply_result {
  bool ok = false;
  // The iSpring user the record is linked to afterwards: the caller stores the link, also when
  // ok is false (a failure after the create must not lead to a second user on retry). Empty
  // when there is none (not found, or deleted); for an ignored user, the link passed in.
  std::string ispring_user_id;
  std::vector<apply_step> steps;
  std::optional<ispring::failure> error;  // the first failure; its message names the step
  // With group_mode::deferred: the groups (ensured to exist, not smart) the user still
  // has to be added to; the caller adds many users to a group with one read and one replace.
  std::vector<group_ref> deferred_group_additions;
  // The department the user's key is linked to afterwards, when it differs from the
  // desired_user's link (adopted, created, renamed): the caller stores it, also when ok is
  // false (a department created before a later failure is owned all the same).
  std::optional<linked_department> department_link;
  // The deactivation or deletion was due and apply_options::may_retire said no: nothing was
  // sent (ok is true; the caller holds the record).
  bool held = false;
};

// How the applier adds a user to a group (ispring.group_additions).
enum class group_mode {
  at_once,    // read the members, add, replace them now (one user at a time)
  deferred,   // left to the caller (apply_result::deferred_group_additions)
  by_update,  // groupIds on POST /user/{id} (additive by its wording, unconfirmed)
};

struct apply_options {
  group_mode join_groups = group_mode::at_once;
  // The worker's safety limit, asked just before a deactivation or deletion is sent (only
  // when iSpring has the user active or at all, so a no-op is never held); false holds it.
  // None: no limit (the reconciliation checks its whole plan instead).
  std::function<bool()> may_retire;
};

class applier {
 public:
  // Both must outlive the applier. Thread-safe: applies may run concurrently (for different
  // users; one user's applies are serialised by the caller).
  applier(ispring::api& api, directory& directory);

  // The notification path: match by the stored link (verified with get_user), else by login,
  // else by e-mail — so an existing iSpring user is linked, never duplicated — then apply.
  apply_result operator()(const desired_user& user,
                          const std::optional<std::string>& linked_user_id,
                          apply_options options = {}) const;

  // The reconciliation path: `actual` was matched by the caller from full lists.
  apply_result apply_matched(const desired_user& user, const std::optional<ispring::user>& actual,
                             apply_options options = {}) const;

  // Adds users to one group with one read and one replace of its members (reference §6):
  // the reconciliation's deferred additions. Steps describe what happened.
  ispring::result<std::vector<apply_step>> add_to_group(
      const std::string& group_name, const std::vector<std::string>& user_ids) const;

 private:
  struct run;  // one apply's state and steps
  ispring::api& api_;
  directory& directory_;
};

}  // namespace connector::sync

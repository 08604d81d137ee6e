#pragma once
// The sync worker's safety limit (sync.max_deactivations_per_hour, issue 15 §4): a flood of
// notifications — forged, or a bad mass update in Salesforce — must not deactivate or delete
// any number of iSpring users. Deactivations and deletions the worker makes are counted per
// organization over a sliding hour; one over the cap is not made, and its record waits as
// "held" for the operator (`connector release`), whose release lets it through and still
// counts. The full reconciliation has its own limit (sync.max_deactivations).
#include <cstddef>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "connector/clock.hpp"
#include "connector/store/interfaces.hpp"

namespace connector::sync {

inline constexpr epoch_ms safety_window_ms = 60LL * 60 * 1000;

// The hour's cap for an organization with `linked` users: a count ("20"), or a share ("5%")
// of them, rounded down but at least one, so a share of a small organization does not hold
// every deactivation ("0" does, on purpose). nullopt: no cap (unset, "off", unreadable).
std::optional<std::size_t> hourly_cap(const std::optional<std::string>& setting,
                                      std::size_t linked);

// Where the limiter keeps what it counted, so the hour survives a restart.
struct retirement_journal {
  // The organization's retirements at or after `since`.
  std::function<std::vector<epoch_ms>(const std::string& organization_id, epoch_ms since)> read;
  // One retirement made; older than `prune_before` may be forgotten.
  std::function<void(const std::string& organization_id, const std::string& record_id, epoch_ms at,
                     epoch_ms prune_before)>
      write;
  // The organization's linked users (a share's base).
  std::function<std::size_t(const std::string& organization_id)> linked_users;
};

// The store's worker_retirements and links.
retirement_journal journal_in(store::work_queue& queue, store::user_links& links);

class deactivation_limiter {
 public:
  // `setting` is sync.max_deactivations_per_hour ("off": none, unless reserve is given one).
  deactivation_limiter(std::string setting, const clock& time, retirement_journal journal);

  struct verdict {
    bool allowed = false;
    epoch_ms at = 0;     // allowed: the reserved place, for confirm or cancel
    std::string reason;  // not allowed: why, as the operator reads it
  };
  // Before a deactivation or deletion of one of the organization's users: reserves a place in
  // the hour, or tells why not. `released`: the operator let this one through, so it is
  // allowed over the cap and still takes a place. Thread-safe: concurrent applies never
  // reserve more than the cap between them.
  verdict reserve(const std::string& organization_id, bool released);
  // The same under `setting` instead of the one given at construction: the revision in force
  // (settings edited in the page). The hour is the same whatever the setting: a cap lowered
  // or turned on counts what was made within the hour before ("off" still counts).
  verdict reserve(const std::string& organization_id, bool released,
                  const std::optional<std::string>& setting);
  // After the call: made (kept in the journal), or not made (the place is given back).
  void confirm(const std::string& organization_id, const std::string& record_id, epoch_ms at);
  void cancel(const std::string& organization_id, epoch_ms at);

  // Places taken in the organization's current hour (tests, messages).
  std::size_t taken(const std::string& organization_id);

 private:
  struct window {
    bool loaded = false;
    std::multiset<epoch_ms> times;  // retirements and reservations within the hour
    std::size_t linked = 0;
    std::optional<epoch_ms> linked_read_at;
  };
  window& current_locked(const std::string& organization_id, epoch_ms now, bool share);

  std::string setting_;
  const clock& clock_;
  retirement_journal journal_;
  std::mutex mutex_;
  std::map<std::string, window> windows_;
};

}  // namespace connector::sync

#pragma once
// When an alert e-mail goes out (issue 7 §5): at most one e-mail per kind of problem per
// interval. The first problem is mailed at once; what happens during the interval is
// gathered and mailed as one digest when it ends; a recovery e-mail says when the problem
// has cleared. A send that fails changes nothing, so it is tried again at the next look.
//
// Pure apart from the mailer: time comes in with every call, so tests drive it with a
// manual clock and a fake mailer.
#include <array>
#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "connector/alerts/mailer.hpp"
#include "connector/clock.hpp"

namespace connector::alerts {

enum class alert_kind {
  reconciliation,          // a run failed, expired or was stopped by the safety limit
  dead_letters,            // users the worker gave up on
  ispring_credentials,     // iSpring Learn refuses the API client
  salesforce_credentials,  // Salesforce refuses the connected app
  pending_age,             // the oldest waiting change is older than the threshold
  held_by_safety_limit,    // deactivations over sync.max_deactivations_per_hour wait
};
inline constexpr std::array<alert_kind, 6> all_alert_kinds = {
    alert_kind::reconciliation,         alert_kind::dead_letters, alert_kind::ispring_credentials,
    alert_kind::salesforce_credentials, alert_kind::pending_age,  alert_kind::held_by_safety_limit};

// "reconciliation", "dead_letters", … (the X-Connector-Alert header, logs).
std::string_view kind_name(alert_kind kind);

struct alert_event {
  epoch_ms at = 0;
  std::string text;  // one line, e.g. "run 12 (scheduled) failed: …"; never a secret
};

// What one look found about one kind.
struct kind_observation {
  std::vector<alert_event> events;  // problems that happened since the previous look
  bool problem_now = false;         // the problem holds now
  std::string recovery_text;        // when it does not: what shows it cleared
};

struct observation {
  std::array<kind_observation, all_alert_kinds.size()> kinds;
  kind_observation& operator[](alert_kind kind) { return kinds[static_cast<std::size_t>(kind)]; }
  const kind_observation& operator[](alert_kind kind) const {
    return kinds[static_cast<std::size_t>(kind)];
  }
};

struct alert_policy_options {
  std::chrono::milliseconds min_interval{std::chrono::minutes(60)};
  std::size_t max_events_listed = 50;      // per e-mail; the rest are counted
  std::string service_name = "connector";  // names the sender in subjects and bodies
};

class alert_policy {
 public:
  alert_policy(alert_policy_options options, mailer& out);

  // Takes in one look's findings and sends what is due now. Returns how many e-mails went
  // out; a failed send is logged and tried again at the next call.
  std::size_t observe(epoch_ms now, const observation& found);

  // For tests and status: whether a problem e-mail went out and its recovery has not yet.
  bool is_open(alert_kind kind) const { return state(kind).open; }
  std::size_t waiting_events(alert_kind kind) const { return state(kind).waiting.size(); }

 private:
  struct kind_state {
    std::vector<alert_event> waiting;  // not mailed yet
    std::size_t not_kept = 0;          // events beyond max_events_listed, only counted
    bool open = false;
    std::optional<epoch_ms> last_problem_mail;
    bool problem_now = false;
    std::string recovery_text;
  };
  kind_state& state(alert_kind kind) { return states_[static_cast<std::size_t>(kind)]; }
  const kind_state& state(alert_kind kind) const { return states_[static_cast<std::size_t>(kind)]; }
  bool send(alert_kind kind, const email& message);
  email problem_email(alert_kind kind, const kind_state& s, epoch_ms now) const;
  email recovery_email(alert_kind kind, const kind_state& s) const;

  alert_policy_options options_;
  mailer& mailer_;
  std::array<kind_state, all_alert_kinds.size()> states_;
};

}  // namespace connector::alerts

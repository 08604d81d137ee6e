#include "connector/alerts/alert_policy.hpp"

#include "connector/log.hpp"

namespace connector::alerts {
namespace {

// What the administrator reads about each kind.
struct kind_text {
  const char* title;           // the problem, as a subject
  const char* recovery_title;  // the subject once it has cleared
  const char* meaning;         // what it means for the users
  const char* advice;          // what to do
};

kind_text text_of(alert_kind kind) {
  switch (kind) {
    case alert_kind::reconciliation:
      return {"Reconciliation did not succeed", "Reconciliation succeeds again",
              "The full reconciliation (Salesforce users into iSpring Learn) failed, expired or "
              "was stopped by the safety limit (sync.max_deactivations), so iSpring Learn may "
              "differ from Salesforce.",
              "`connector runs` lists the recent runs with their messages; `connector reconcile "
              "--dry-run` shows what a run would change."};
    case alert_kind::dead_letters:
      return {"Users were dead-lettered", "No dead letters left",
              "The connector gave up on these users (after sync.max_attempts attempts, or at "
              "once on an error retrying cannot fix): their changes are not in iSpring Learn.",
              "`connector status` lists the dead letters with their errors; once the cause is "
              "fixed, `connector retry --all` queues them again."};
    case alert_kind::ispring_credentials:
      return {"iSpring Learn refuses the connector's credentials",
              "iSpring Learn accepts the credentials again",
              "No change reaches iSpring Learn while this lasts; changes wait, stored, and are "
              "retried.",
              "Check ispring.client_id and ispring.client_secret (and the API client in iSpring "
              "Learn), then run `connector check`."};
    case alert_kind::salesforce_credentials:
      return {"Salesforce refuses the connector's credentials",
              "Salesforce accepts the credentials again",
              "The full reconciliation cannot read users from Salesforce while this lasts; "
              "outbound messages still arrive and are applied.",
              "Check salesforce.client_id with salesforce.private_key or salesforce."
              "client_secret, and that the integration user may use the connected app, then run "
              "`connector check`."};
    case alert_kind::pending_age:
      return {"Changes wait too long for iSpring Learn",
              "Waiting changes are back under the threshold",
              "The oldest change waiting to be applied to iSpring Learn is older than "
              "alerts.pending_age_threshold_minutes.",
              "`connector status` shows what waits; records being retried carry their last "
              "error."};
    case alert_kind::held_by_safety_limit:
      return {"Deactivations are held by the safety limit",
              "Nothing is held by the safety limit any more",
              "Notifications asked to deactivate or delete more iSpring Learn users in an hour "
              "than sync.max_deactivations_per_hour allows. Those over the limit were not "
              "changed: they wait for you. A flood like this may be a bad mass update in "
              "Salesforce or forged notifications.",
              "`connector status` lists the held users and `connector explain USER` tells why; "
              "if the deactivations are right, `connector release --all` (or \"Release all\" on "
              "the admin page) applies them. A newer notification for a held user that no "
              "longer deactivates it is applied and releases it."};
  }
  return {"Alert", "Resolved", "", ""};
}

std::string describe_interval(std::chrono::milliseconds interval) {
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(interval).count();
  if (seconds % 60 == 0) {
    const auto minutes = seconds / 60;
    return std::to_string(minutes) + (minutes == 1 ? " minute" : " minutes");
  }
  return std::to_string(seconds) + (seconds == 1 ? " second" : " seconds");
}

}  // namespace

std::string_view kind_name(alert_kind kind) {
  switch (kind) {
    case alert_kind::reconciliation:
      return "reconciliation";
    case alert_kind::dead_letters:
      return "dead_letters";
    case alert_kind::ispring_credentials:
      return "ispring_credentials";
    case alert_kind::salesforce_credentials:
      return "salesforce_credentials";
    case alert_kind::pending_age:
      return "pending_age";
    case alert_kind::held_by_safety_limit:
      return "held_by_safety_limit";
  }
  return "unknown";
}

alert_policy::alert_policy(alert_policy_options options, mailer& out)
    : options_(std::move(options)), mailer_(out) {}

std::size_t alert_policy::observe(epoch_ms now, const observation& found) {
  std::size_t sent = 0;
  for (const auto kind : all_alert_kinds) {
    auto& s = state(kind);
    const auto& seen = found[kind];
    for (const auto& event : seen.events) {
      if (s.waiting.size() < options_.max_events_listed) {
        s.waiting.push_back(event);
      } else {
        ++s.not_kept;
      }
    }
    s.problem_now = seen.problem_now;
    if (!seen.recovery_text.empty()) s.recovery_text = seen.recovery_text;

    if (!s.waiting.empty()) {
      const bool interval_over =
          !s.last_problem_mail || now - *s.last_problem_mail >= options_.min_interval.count();
      if (!interval_over) continue;  // gathered into the digest at the interval's end
      if (!send(kind, problem_email(kind, s, now))) continue;
      ++sent;
      s.last_problem_mail = now;
      s.open = s.problem_now;  // a digest of a problem that has cleared doubles as recovery
      s.waiting.clear();
      s.not_kept = 0;
    } else if (s.open && !s.problem_now) {
      if (!send(kind, recovery_email(kind, s))) continue;
      ++sent;
      s.open = false;
    }
  }
  return sent;
}

bool alert_policy::send(alert_kind kind, const email& message) {
  auto result = mailer_.send(message);
  if (result) {
    log::info("alerts.sent", "alert e-mail sent ({}): {}", kind_name(kind), message.subject);
    return true;
  }
  log::warn("alerts.not_sent", "alert e-mail ({}) not sent, trying again at the next check: {}",
            kind_name(kind), result.error());
  return false;
}

email alert_policy::problem_email(alert_kind kind, const kind_state& s, epoch_ms now) const {
  const auto text = text_of(kind);
  const bool digest = s.open;
  const std::size_t count = s.waiting.size() + s.not_kept;
  email message;
  message.subject = "[" + options_.service_name + "] " + (digest ? "Digest: " : "") + text.title;
  if (digest) {
    message.subject += " (" + std::to_string(count) + " more)";
  } else if (count > 1) {
    message.subject += " (" + std::to_string(count) + " times)";
  }
  if (!s.problem_now) message.subject += ", cleared since";
  message.headers = {{"X-Connector-Alert", std::string(kind_name(kind))},
                     {"X-Connector-Alert-Type", digest ? "digest" : "problem"}};

  std::string body = std::string(text.meaning) + "\n\n";
  body += digest ? "What happened since the last e-mail (UTC):\n" : "What happened (UTC):\n";
  for (const auto& event : s.waiting)
    body += "  " + utc_clock_time(event.at) + "  " + event.text + "\n";
  if (s.not_kept > 0) body += "  … and " + std::to_string(s.not_kept) + " more.\n";
  body += "\n";
  if (s.problem_now) {
    body += "Now (" + utc_clock_time(now) + " UTC): the problem persists.\n";
  } else {
    body += "Now (" + utc_clock_time(now) + " UTC): cleared";
    body += s.recovery_text.empty() ? ".\n" : ": " + s.recovery_text + "\n";
  }
  body += "\n" + std::string(text.advice) + "\n\n-- \n" + options_.service_name +
          ": at most one e-mail per kind of problem every " +
          describe_interval(options_.min_interval) +
          "; what happens in between comes as one digest, and an e-mail says when it clears.\n";
  message.body = std::move(body);
  return message;
}

email alert_policy::recovery_email(alert_kind kind, const kind_state& s) const {
  const auto text = text_of(kind);
  email message;
  message.subject = "[" + options_.service_name + "] Resolved: " + text.recovery_title;
  message.headers = {{"X-Connector-Alert", std::string(kind_name(kind))},
                     {"X-Connector-Alert-Type", "recovery"}};
  message.body = std::string("Resolved: ") + text.title + ".\n\n" +
                 (s.recovery_text.empty() ? std::string() : s.recovery_text + "\n\n") + "-- \n" +
                 options_.service_name + "\n";
  return message;
}

}  // namespace connector::alerts

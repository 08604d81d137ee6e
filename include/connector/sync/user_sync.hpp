#pragma once
// One Salesforce record through the whole chain: mapping, scope rules, applier. The sync
// worker calls it for every due record; `connector sync-user` calls it for one and prints
// the steps.
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "connector/config/config.hpp"
#include "connector/expected.hpp"
#include "connector/ispring/api.hpp"
#include "connector/metrics/registry.hpp"
#include "connector/store/interfaces.hpp"
#include "connector/sync/applier.hpp"
#include "connector/sync/deactivation_limit.hpp"
#include "connector/sync/ispring_calls.hpp"
#include "connector/sync/mapping.hpp"
#include "connector/sync/plan.hpp"
#include "connector/sync/settings_snapshot.hpp"
#include "connector/sync/worker.hpp"

namespace connector::sync {

struct user_sync_report {
  record_result result;           // its history: mapped, scope, one event per iSpring call
  std::string scope_reason;       // why the user is (not) synchronised
  std::vector<apply_step> steps;  // empty when nothing was sent to iSpring
};

// Reads records from Salesforce over REST by id (the mapping's fields, within
// salesforce.query_filter): those the query returns, by 18-character id (an id missing: the
// query no longer returns it), or why the read failed.
using record_reader = std::function<expected<std::map<std::string, nlohmann::json>, std::string>(
    const std::vector<std::string>& record_ids)>;

// Records Salesforce sent without data (GAP events), and records whose stored fields lack a
// field the mapping reads (partial change events), are read before they are applied; with
// `verify`, every record is.
struct reread_options {
  record_reader read;  // none (no REST credentials): the last state received is applied
  // sync.verify_notifications (needs `read`): every record is read before it is applied,
  // and only what Salesforce returns is applied and kept; a record it does not return
  // changes nothing.
  bool verify = false;
  // Other records of the organization due for a re-read, read in the same query (up to
  // 300 ids); none: one query per record.
  std::function<std::vector<std::string>(const store::pending_record& record)> others_due;
  // Stamps each read: a read is used for a record only if made after the record's state
  // arrived (its due time); none: nothing read ahead is used.
  const clock* time = nullptr;
  // Receives connector_verification_queries_total{result} and
  // connector_verification_records_total{result}; null records nothing.
  metrics::registry* metrics = nullptr;
};

// What the history keeps of the mapping's result and of the scope decision (`explain` shows
// the same for what would happen now): the match keys, department, active flag and groups;
// in scope or not, the action and the reason in words.
nlohmann::json mapping_details(const mapped_user& user);
nlohmann::json scope_details(const desired_user& user);
nlohmann::json call_details(const ispring_call& call);
// The user a record maps to and what the scope rules make of it, without any call.
desired_user desired_from_record(const store::pending_record& record,
                                 const config::settings& settings, mapped_user* mapped = nullptr);

class user_sync {
 public:
  // `links` keeps the department links (the service's and sync-user's store); none: departments
  // are found by name only.
  user_sync(const config::settings& settings, ispring::api& api, reread_options reread = {},
            store::department_links* links = nullptr);

  user_sync_report run(const store::pending_record& record, const std::optional<std::string>& link);

  // The worker's safety limit: a deactivation or deletion over its cap is not made and the
  // result is record_result::held. Without it (sync-user, "off") none is held.
  void limit_deactivations(deactivation_limiter& limiter) { limiter_ = &limiter; }

  // How users join groups (ispring.group_additions): the service defers them to its group
  // drainer (record_result::group_additions) or sends groupIds on the user's update; without
  // a call (sync-user), at once.
  void join_groups(group_mode mode) { join_groups_ = mode; }

  // Settings edited in the admin page: each record is applied on the newest snapshot
  // `source` gives (its revision recorded in the record's scope event), its
  // sync.verify_notifications and sync.max_deactivations_per_hour included. Without it, the
  // settings given at construction, reread_options::verify and the limiter's own cap.
  void follow(settings_source source) { source_ = std::move(source); }

  // For the worker.
  record_processor processor();

 private:
  settings_snapshot settings_now() const;
  user_sync_report run_with_fields(const settings_snapshot& settings,
                                   const store::pending_record& record,
                                   const nlohmann::json& fields,
                                   const std::optional<std::string>& link);

  // The record as Salesforce has it now: the record, none when the query no longer returns
  // it, or why the read failed. Reads the other due records along and keeps them for their
  // turn. Several worker threads share this: a thread whose record a read in progress asks
  // for waits for that read; the others read at once, side by side, each asking for the due
  // records no read in progress asks for.
  expected<std::optional<nlohmann::json>, std::string> read_again(
      const store::pending_record& record);

  struct read_ahead {
    std::optional<nlohmann::json> record;
    epoch_ms read_at = 0;
  };
  struct read_in_progress {
    std::set<std::string> ids;
    epoch_ms read_at = 0;
    bool done = false;
    std::optional<std::string> error;  // the read failed
  };

  const config::settings& settings_;
  settings_source source_;
  reread_options reread_;
  store::department_links* links_;
  std::mutex reread_mutex_;
  std::condition_variable read_done_;
  std::map<std::string, read_ahead> read_ahead_;  // by record id
  std::vector<std::shared_ptr<read_in_progress>> reads_in_progress_;
  // The reads: queries that succeeded or failed; ids returned or not returned.
  metrics::counter* queries_ok_ = nullptr;
  metrics::counter* queries_failed_ = nullptr;
  metrics::counter* records_returned_ = nullptr;
  metrics::counter* records_not_returned_ = nullptr;
  call_recorder calls_;  // notes each call of an apply for the user's history
  directory directory_;
  applier applier_;
  deactivation_limiter* limiter_ = nullptr;
  group_mode join_groups_ = group_mode::at_once;
};

}  // namespace connector::sync

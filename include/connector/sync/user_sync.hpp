#pragma once
// One Salesforce record through the whole chain: mapping, scope rules, applier. The sync
// worker calls it for every due record; `connector sync-user` calls it for one and prints
// the steps.
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "connector/expected.hpp"

#include "connector/config/config.hpp"
#include "connector/ispring/api.hpp"
#include "connector/store/inbox.hpp"
#include "connector/sync/applier.hpp"
#include "connector/sync/worker.hpp"

namespace connector::sync {

struct user_sync_report {
  record_result result;
  std::string scope_reason;       // why the user is (not) synchronised
  std::vector<apply_step> steps;  // empty when nothing was sent to iSpring
};

// Reads one record from Salesforce over REST (the mapping's fields): the record, none when
// the query no longer returns it, or why the read failed.
using record_reader = std::function<expected<std::optional<nlohmann::json>, std::string>(
    const std::string& record_id)>;

class user_sync {
 public:
  // `reread` serves records Salesforce sent without data (GAP events); without it (no
  // Salesforce REST credentials) such a record is applied from the last state received.
  user_sync(const config::settings& settings, ispring::api& api, record_reader reread = {});

  user_sync_report run(const store::pending_record& record, const std::optional<std::string>& link);

  // For the worker.
  record_processor processor();

 private:
  user_sync_report run_with_fields(const store::pending_record& record,
                                   const nlohmann::json& fields,
                                   const std::optional<std::string>& link);

  const config::settings& settings_;
  record_reader reread_;
  directory directory_;
  applier applier_;
};

}  // namespace connector::sync

#pragma once
// One Salesforce record through the whole chain: mapping, scope rules, applier. The sync
// worker calls it for every due record; `connector sync-user` calls it for one and prints
// the steps.
#include <optional>
#include <string>

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

class user_sync {
 public:
  user_sync(const config::settings& settings, ispring::api& api);

  user_sync_report run(const store::pending_record& record, const std::optional<std::string>& link);

  // For the worker.
  record_processor processor();

 private:
  const config::settings& settings_;
  directory directory_;
  applier applier_;
};

}  // namespace connector::sync

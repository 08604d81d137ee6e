#pragma once
// Who owns a run: an instance (cluster.hpp), judged live by its heartbeat in the store, so
// that an instance on another host can tell. The pid is kept for the operator's eyes only.
#include <cstdint>
#include <string>
#include <vector>

#include "connector/store/cluster.hpp"

namespace connector::store {

struct process_identity {
  std::int64_t pid = 0;
  std::string instance;  // the owner instance's id
};

// The owner a store acting for `instance_id` (empty: this process's) writes into its runs.
process_identity run_owner(const std::string& instance_id);

// Whether a run of `owner_instance` belongs to a live instance: the store's own (`self`) is,
// others are when `live` (live_instances at the store's clock) lists them.
bool owner_is_live(const std::string& owner_instance, const std::string& self,
                   const std::vector<instance_record>& live);

}  // namespace connector::store

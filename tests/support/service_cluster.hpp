#pragma once
// Several real `connector serve` instances on one PostgreSQL database, as an operator runs
// them behind a load balancer: each in a folder of its own (its config, its ready file, its
// clock offset), one store, one sandbox pair. And a poster that spreads Outbound Messages
// over them from several connections, the way Salesforce's deliveries land on any instance.
#include <chrono>
#include <cstddef>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "support/service.hpp"

namespace connector::testing {

// The "store" section of a service on PostgreSQL at `url`: the SQLite file removed.
nlohmann::json postgres_store_config(const std::string& url);

class service_cluster {
 public:
  // A fresh database on the process's PostgreSQL server (postgres_server::shared()) and
  // `instances` services started on it one after the other, each with `overrides`.
  service_cluster(int instances, const nlohmann::json& overrides);
  ~service_cluster();
  service_cluster(const service_cluster&) = delete;
  service_cluster& operator=(const service_cluster&) = delete;

  running_service& operator[](std::size_t i) { return *services_.at(i); }
  std::size_t size() const { return services_.size(); }
  std::vector<running_service*> services();
  // The database's name on the shared server, for postgres_server::admin_sql.
  const std::string& database() const { return database_; }

 private:
  std::string database_;
  std::vector<std::unique_ptr<temp_dir>> dirs_;
  std::vector<std::unique_ptr<running_service>> services_;
};

// One message's delivery: its HTTP status (0 when the connection failed: the instance is
// down) and when it was sent and answered.
struct delivery {
  int status = 0;
  std::string body;
  std::chrono::steady_clock::time_point sent, answered;
};

// Posts `bodies` to /salesforce/outbound from `connections` threads, message i to
// targets[i % targets.size()]; never retries. The deliveries, in the order of `bodies`.
std::vector<delivery> post_spread(const std::vector<running_service*>& targets,
                                  const std::vector<std::string>& bodies, int connections = 4);

}  // namespace connector::testing

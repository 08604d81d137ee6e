#include "support/service_cluster.hpp"

#include <atomic>
#include <optional>
#include <thread>

#include "support/postgres_server.hpp"

namespace connector::testing {

nlohmann::json postgres_store_config(const std::string& url) {
  return {{"sqlite_path", nullptr}, {"postgresql_url", url}};
}

service_cluster::service_cluster(int instances, const nlohmann::json& overrides) {
  auto& server = postgres_server::shared();
  const auto url = server.create_database();
  database_ = url.substr(url.rfind('/') + 1);
  auto config = overrides;
  config["store"] = postgres_store_config(url);
  // One after the other: the first migrates the empty database, the others find it current.
  for (int i = 0; i < instances; ++i) {
    dirs_.push_back(std::make_unique<temp_dir>());
    services_.push_back(std::make_unique<running_service>(dirs_.back()->path(), config));
  }
}

service_cluster::~service_cluster() {
  services_.clear();  // stopped before their folders go
}

std::vector<running_service*> service_cluster::services() {
  std::vector<running_service*> all;
  for (auto& s : services_) all.push_back(s.get());
  return all;
}

namespace {

// One connection's delivery of one message; a client that failed is dropped, and the next
// message opens a new one (the instance may be back, or it is down for good).
delivery deliver(std::optional<https_client>& client, const running_service& target,
                 const std::string& body) {
  delivery d;
  d.sent = std::chrono::steady_clock::now();
  try {
    if (!client) client.emplace(target.public_client());
    const auto reply = client->post_xml("/salesforce/outbound", body);
    d.status = reply.status;
    d.body = reply.body;
  } catch (const std::exception&) {
    client.reset();
  }
  d.answered = std::chrono::steady_clock::now();
  return d;
}

}  // namespace

std::vector<delivery> post_spread(const std::vector<running_service*>& targets,
                                  const std::vector<std::string>& bodies, int connections) {
  std::vector<delivery> deliveries(bodies.size());
  std::atomic<std::size_t> next{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < connections; ++t)
    threads.emplace_back([&] {
      // One keep-alive connection per instance on each thread.
      std::vector<std::optional<https_client>> clients(targets.size());
      for (auto i = next.fetch_add(1); i < bodies.size(); i = next.fetch_add(1)) {
        const auto which = i % targets.size();
        deliveries[i] = deliver(clients[which], *targets[which], bodies[i]);
      }
    });
  for (auto& t : threads) t.join();
  return deliveries;
}

}  // namespace connector::testing

#pragma once
// The iSpring Learn REST client: ispring::api over HTTPS (reference §1.2, §8, §9). It owns
// the token (cached until 60 s before expiry, renewed once on a 401), retries transient
// failures (429, 5xx, network) with capped exponential back-off and full jitter, honours
// Retry-After, and keeps at most `max_concurrency` requests in flight across threads.
// Failures that survive the retries go back to the caller, a durable worker that retries
// later.
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "connector/clock.hpp"
#include "connector/config/config.hpp"
#include "connector/credentials_state.hpp"
#include "connector/ispring/api.hpp"
#include "connector/metrics/registry.hpp"

namespace connector::ispring {

struct retry_policy {
  int max_attempts = 4;  // in total, the first included
  std::chrono::milliseconds base_delay{200};
  std::chrono::milliseconds max_delay{10'000};
  std::chrono::seconds max_retry_after{60};  // a longer Retry-After is cut to this
};

// Counters for metrics, as a snapshot.
struct api_stats {
  // Endpoint pattern ("POST /user/{id}/status") → HTTP status → count. Status 0 counts
  // transport failures (no response at all).
  std::map<std::string, std::map<int, std::uint64_t>> requests;
  std::uint64_t tokens_fetched = 0;   // tokens obtained, the first one included
  std::uint64_t tokens_rejected = 0;  // 401s on a cached token that made us renew it
  std::uint64_t retries = 0;          // back-off retries after 429, 5xx or network failures
};

using sleep_fn = std::function<void(std::chrono::milliseconds)>;

// The defaults of https_api: really sleep, and the system clock.
void sleep_for_real(std::chrono::milliseconds duration);
const connector::clock& wall_clock();

class https_api final : public api {
 public:
  // Throws std::invalid_argument on an unusable api_url and std::runtime_error on an
  // unreadable tls_ca_file (configuration mistakes, found at start-up). No request is made
  // here: the first call fetches the token. `metrics` (optional) receives
  // connector_ispring_* (metrics/remote_api.hpp).
  explicit https_api(config::ispring_settings settings, retry_policy retry = {},
                     sleep_fn sleep = sleep_for_real, const connector::clock& clock = wall_clock(),
                     metrics::registry* metrics = nullptr);
  ~https_api() override;
  https_api(const https_api&) = delete;
  https_api& operator=(const https_api&) = delete;

  result<std::vector<user>> list_users(const user_filter& filter) override;
  result<page<user>> list_users_page(const std::string& page_token, int page_size) override;
  result<ok> list_users_paged(const user_filter& filter,
                              const std::function<bool(std::vector<user>&)>& on_page) override;
  result<user> get_user(const std::string& user_id) override;
  result<std::string> create_user(const std::string& department_id,
                                  const field_map& fields) override;
  result<ok> add_user_to_groups(const std::string& user_id,
                                const std::vector<std::string>& group_ids,
                                const field_map& fields) override;
  result<ok> update_user(const std::string& user_id,
                         const std::optional<std::string>& department_id,
                         const field_map& fields) override;
  result<ok> set_user_status(const std::string& user_id, int status) override;
  result<ok> delete_user(const std::string& user_id) override;
  result<ok> remove_user_from_groups(const std::string& user_id,
                                     const std::vector<std::string>& group_ids) override;

  result<std::vector<department>> list_departments() override;
  result<std::string> create_department(const std::string& name,
                                        const std::string& parent_id) override;
  result<ok> rename_department(const std::string& department_id, const std::string& name) override;
  result<ok> delete_department(const std::string& department_id) override;

  result<std::vector<group>> list_groups() override;
  result<group> get_group(const std::string& group_id) override;
  result<std::string> create_group(const std::string& name) override;
  result<ok> set_group_members(const std::string& group_id,
                               const std::vector<std::string>& user_ids) override;

  result<std::vector<profile_field>> profile_fields() override;

  api_stats stats() const;
  // Whether iSpring accepted the credentials on the last authenticated call (alerts).
  const credentials_state& credentials() const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace connector::ispring

#pragma once
// A PostgreSQL connection that comes back: after the server restarted or our backend was
// terminated, the next use reconnects, with a back-off between failed attempts (so a server
// that is down costs a refused connect now and then, not one per request).
#include <chrono>
#include <memory>
#include <string>

#include "connector/store/postgres.hpp"

namespace connector::store {

class postgres_session {
 public:
  explicit postgres_session(std::string url) : url_(std::move(url)) {}

  // The connection, connecting first when there is none. While the back-off after a failed
  // attempt lasts, throws at once (connection_lost) without trying.
  postgres_connection& get();
  // After a failed call: a lost connection is dropped (the next get() reconnects).
  void after_failure(const postgres_error& error);

  // Runs `work(connection)`; a lost connection is reconnected and `work` run once more. For
  // reads and other work that may safely run twice.
  template <typename Work>
  auto retrying(Work work) {
    try {
      return work(get());
    } catch (const postgres_error& e) {
      after_failure(e);
      if (!e.connection_lost()) throw;
      return work(get());
    }
  }

 private:
  static constexpr std::chrono::milliseconds first_backoff{50};
  static constexpr std::chrono::milliseconds max_backoff{5000};

  std::string url_;
  std::unique_ptr<postgres_connection> connection_;
  std::chrono::steady_clock::time_point next_attempt_{};
  std::chrono::milliseconds backoff_{0};
  std::string last_failure_;
};

}  // namespace connector::store

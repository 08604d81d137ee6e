#include "postgres_session.hpp"

#include <algorithm>

namespace connector::store {

postgres_connection& postgres_session::get() {
  if (connection_ && connection_->usable()) return *connection_;
  connection_.reset();
  const auto now = std::chrono::steady_clock::now();
  if (now < next_attempt_) {
    throw postgres_error(
        "postgresql: reconnecting after the connection was lost (" + last_failure_ + ")", "", true);
  }
  try {
    connection_ = std::make_unique<postgres_connection>(url_);
    backoff_ = std::chrono::milliseconds(0);
    return *connection_;
  } catch (const postgres_error& e) {
    backoff_ = std::clamp(backoff_ * 2, first_backoff, max_backoff);
    next_attempt_ = now + backoff_;
    last_failure_ = e.what();
    throw;
  }
}

void postgres_session::after_failure(const postgres_error& error) {
  // Without a connection the failure is get()'s own (told already, or the back-off's).
  if (!error.connection_lost() || !connection_) return;
  connection_.reset();
  last_failure_ = error.what();
}

}  // namespace connector::store

#pragma once
// What the last calls with one set of credentials (iSpring Learn's API client, Salesforce's
// connected app) learned about them. The clients write it as a side effect of their calls;
// the alerts read it, so "the credentials stopped working" needs no probing request.
#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>

#include "connector/clock.hpp"

namespace connector {

class credentials_state {
 public:
  enum class verdict { unknown, accepted, refused };
  struct snapshot {
    verdict state = verdict::unknown;
    std::string reason;          // why they were last refused, as the client said (never a secret)
    epoch_ms since = 0;          // when the verdict last changed
    std::uint64_t refusals = 0;  // ever: a refusal cleared before anyone looked still counts
  };

  // Called on every successful call: only the first after a refusal takes the lock.
  void accepted(epoch_ms now) {
    if (verdict_.load(std::memory_order_relaxed) == verdict::accepted) return;
    std::lock_guard lock(mutex_);
    if (state_.state != verdict::accepted) {
      state_.state = verdict::accepted;
      state_.since = now;
    }
    verdict_ = verdict::accepted;
  }
  void refused(std::string reason, epoch_ms now) {
    std::lock_guard lock(mutex_);
    if (state_.state != verdict::refused) state_.since = now;
    state_.state = verdict::refused;
    state_.reason = std::move(reason);
    ++state_.refusals;
    verdict_ = verdict::refused;
  }
  snapshot current() const {
    std::lock_guard lock(mutex_);
    return state_;
  }

 private:
  std::atomic<verdict> verdict_{verdict::unknown};
  mutable std::mutex mutex_;
  snapshot state_;
};

}  // namespace connector

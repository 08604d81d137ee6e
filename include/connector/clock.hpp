#pragma once
// The wall clock, behind an interface so tests can inject time (style.md: never sleep
// waiting for time to pass).
#include <atomic>
#include <chrono>
#include <cstdint>

namespace connector {

// Milliseconds since the Unix epoch, UTC.
using epoch_ms = std::int64_t;

class clock {
 public:
  virtual ~clock() = default;
  virtual epoch_ms now() const = 0;
};

class system_clock final : public clock {
 public:
  epoch_ms now() const override {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
};

// A clock that moves only when told to.
class manual_clock final : public clock {
 public:
  explicit manual_clock(epoch_ms start) : now_(start) {}
  epoch_ms now() const override { return now_.load(); }
  void advance(std::int64_t ms) { now_ += ms; }
  void set(epoch_ms t) { now_ = t; }

 private:
  std::atomic<epoch_ms> now_;
};

}  // namespace connector

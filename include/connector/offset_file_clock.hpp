#pragma once
// The system clock shifted by a number of milliseconds read from a file, re-read whenever the
// file changes: `serve --clock-offset-file` (hidden, for tests), so end-to-end tests can pass
// hours (retention windows, hourly caps) through the real binary without sleeping. A missing
// or unreadable file is an offset of 0.
#include <atomic>
#include <cstdint>
#include <string>

#include "connector/clock.hpp"

namespace connector {

class offset_file_clock final : public clock {
 public:
  explicit offset_file_clock(std::string path);
  epoch_ms now() const override;

 private:
  std::string path_;
  mutable std::atomic<std::int64_t> offset_{0};
  mutable std::atomic<std::int64_t> seen_mtime_ns_{-1};
  mutable std::atomic<std::int64_t> seen_size_{-1};
};

}  // namespace connector

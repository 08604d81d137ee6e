#include "connector/app/service_notifier.hpp"

#include <systemd/sd-daemon.h>

#include <algorithm>
#include <condition_variable>
#include <cstdint>
#include <mutex>

namespace connector::app {
namespace {

// A newline would end the STATUS= assignment and start another one.
std::string one_line(std::string_view text) {
  std::string line(text);
  std::replace(line.begin(), line.end(), '\n', ' ');
  return line;
}

}  // namespace

service_notifier::service_notifier()
    : send_([](const std::string& state) {
        // sd_notify does nothing without NOTIFY_SOCKET; a failed send (systemd gone) must
        // not stop the service, and systemd notices a missing READY or WATCHDOG by itself.
        sd_notify(0, state.c_str());
      }) {}

service_notifier::service_notifier(send_fn send) : send_(std::move(send)) {}

void service_notifier::ready(std::string_view status) {
  send_("READY=1\nSTATUS=" + one_line(status));
}

void service_notifier::reloading(std::string_view status) {
  // MONOTONIC_USEC lets a newer systemd tell this reload from an earlier one.
  const auto now = std::chrono::duration_cast<std::chrono::microseconds>(
      std::chrono::steady_clock::now().time_since_epoch());
  send_("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(now.count()) +
        "\nSTATUS=" + one_line(status));
}

void service_notifier::stopping(std::string_view status) {
  send_("STOPPING=1\nSTATUS=" + one_line(status));
}

void service_notifier::status(std::string_view status) {
  send_("STATUS=" + one_line(status));
}

void service_notifier::watchdog() {
  send_("WATCHDOG=1");
}

std::optional<std::chrono::microseconds> watchdog_ping_interval() {
  std::uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0) return std::nullopt;
  return std::chrono::microseconds(std::max<std::uint64_t>(usec / 2, 1));
}

struct watchdog_pinger::probe_state {
  std::mutex mutex;
  std::condition_variable changed;
  bool out = false;       // a probe was started and has not answered yet
  bool answered = false;  // a probe answered since the last ping
  bool stopping = false;
};

watchdog_pinger::watchdog_pinger(service_notifier& notifier, std::chrono::microseconds interval,
                                 health_probe probe, std::string probe_name,
                                 std::string healthy_status)
    : notifier_(notifier),
      interval_(interval),
      probe_(std::move(probe)),
      probe_name_(std::move(probe_name)),
      healthy_status_(std::move(healthy_status)),
      state_(std::make_shared<probe_state>()),
      thread_([this] { loop(); }) {}

watchdog_pinger::~watchdog_pinger() {
  {
    std::lock_guard lock(state_->mutex);
    state_->stopping = true;
  }
  state_->changed.notify_all();
  thread_.join();
}

void watchdog_pinger::loop() {
  using steady = std::chrono::steady_clock;
  bool paused = false;
  auto deadline = steady::now() + interval_;
  std::unique_lock lock(state_->mutex);
  while (!state_->stopping) {
    if (!state_->out) {
      state_->out = true;
      lock.unlock();
      probe_([state = state_] {
        {
          std::lock_guard answer_lock(state->mutex);
          state->out = false;
          state->answered = true;
        }
        state->changed.notify_all();
      });
      lock.lock();
    }
    state_->changed.wait_until(lock, deadline,
                               [this] { return state_->stopping || state_->answered; });
    if (state_->stopping) break;
    if (state_->answered) {
      state_->answered = false;
      lock.unlock();
      if (paused) notifier_.status(healthy_status_);
      paused = false;
      notifier_.watchdog();
      lock.lock();
      // At most one ping per interval, however fast the probe answers.
      state_->changed.wait_until(lock, deadline, [this] { return state_->stopping; });
    } else if (!paused) {
      paused = true;
      const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(interval_).count();
      lock.unlock();
      notifier_.status(probe_name_ + " has not answered for " + std::to_string(ms) +
                       " ms; watchdog pings paused");
      lock.lock();
    }
    deadline = std::max(deadline + interval_, steady::now());
  }
}

}  // namespace connector::app

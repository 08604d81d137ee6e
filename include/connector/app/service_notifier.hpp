#pragma once
// Talking to systemd as a Type=notify service (sd_notify(3)): READY=1 once both listeners
// listen and the store is open, RELOADING=1 around SIGHUP, STOPPING=1 on shutdown, STATUS=
// lines for `systemctl status`, and WATCHDOG=1 pings while the service is healthy. Every
// message is dropped when systemd did not start the process (NOTIFY_SOCKET unset).
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

namespace connector::app {

class service_notifier {
 public:
  // Sends one notification, e.g. "READY=1\nSTATUS=…"; the default uses sd_notify.
  using send_fn = std::function<void(const std::string& state)>;

  service_notifier();
  explicit service_notifier(send_fn send);

  void ready(std::string_view status);
  void reloading(std::string_view status);
  void stopping(std::string_view status);
  void status(std::string_view status);
  void watchdog();

 private:
  send_fn send_;
};

// How often to ping: half of WATCHDOG_USEC (sd_watchdog_enabled(3)), so one late ping does
// not kill the service; nullopt when systemd expects no pings from this process.
std::optional<std::chrono::microseconds> watchdog_ping_interval();

// Answers `answered()` once the part of the service it checks has shown it is not stuck;
// may answer late, from another thread, or (if stuck for good) never.
using health_probe = std::function<void(std::function<void()> answered)>;

// Pings the watchdog every `interval` from a thread of its own, but only after `probe`
// answered within that interval: a stuck service stops pinging and systemd restarts it.
// A probe still unanswered is not started again, so a stuck part does not pile them up.
class watchdog_pinger {
 public:
  watchdog_pinger(service_notifier& notifier, std::chrono::microseconds interval,
                  health_probe probe, std::string probe_name, std::string healthy_status);
  ~watchdog_pinger();
  watchdog_pinger(const watchdog_pinger&) = delete;
  watchdog_pinger& operator=(const watchdog_pinger&) = delete;

 private:
  struct probe_state;  // shared with the probe's callback, which may outlive the pinger
  void loop();

  service_notifier& notifier_;
  std::chrono::microseconds interval_;
  health_probe probe_;
  std::string probe_name_, healthy_status_;
  std::shared_ptr<probe_state> state_;
  std::thread thread_;
};

}  // namespace connector::app

// What the service tells systemd, and when its watchdog pings (sd_notify(3) messages
// recorded instead of sent).
#include "connector/app/service_notifier.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <mutex>
#include <vector>

#include "support/eventually.hpp"

namespace connector::app {
namespace {

using testing::eventually;

class recorded_messages {
 public:
  service_notifier::send_fn sender() {
    return [this](const std::string& state) {
      std::lock_guard lock(mutex_);
      messages_.push_back(state);
    };
  }
  std::vector<std::string> all() {
    std::lock_guard lock(mutex_);
    return messages_;
  }
  std::size_t count(const std::string& message) {
    const auto messages = all();
    return static_cast<std::size_t>(std::count(messages.begin(), messages.end(), message));
  }

 private:
  std::mutex mutex_;
  std::vector<std::string> messages_;
};

TEST(service_notifier, sends_the_states_systemd_expects_with_a_one_line_status) {
  recorded_messages sent;
  service_notifier notifier(sent.sender());
  notifier.ready("listening on 0.0.0.0:8443\nREADY=1");
  notifier.reloading("reloading");
  notifier.stopping("finishing in-flight requests");
  notifier.watchdog();
  const auto messages = sent.all();
  ASSERT_EQ(messages.size(), 4u);
  // A newline in the status cannot smuggle in another assignment.
  EXPECT_EQ(messages[0], "READY=1\nSTATUS=listening on 0.0.0.0:8443 READY=1");
  EXPECT_EQ(messages[1].rfind("RELOADING=1\nMONOTONIC_USEC=", 0), 0u) << messages[1];
  EXPECT_NE(messages[1].find("\nSTATUS=reloading"), std::string::npos);
  EXPECT_EQ(messages[2], "STOPPING=1\nSTATUS=finishing in-flight requests");
  EXPECT_EQ(messages[3], "WATCHDOG=1");
}

TEST(service_notifier, pings_at_half_the_watchdog_timeout_systemd_set_for_this_process) {
  unsetenv("WATCHDOG_PID");
  unsetenv("WATCHDOG_USEC");
  EXPECT_FALSE(watchdog_ping_interval());
  setenv("WATCHDOG_USEC", "30000000", 1);
  EXPECT_EQ(watchdog_ping_interval(), std::chrono::seconds(15));
  setenv("WATCHDOG_PID", std::to_string(getpid()).c_str(), 1);
  EXPECT_EQ(watchdog_ping_interval(), std::chrono::seconds(15));
  // Inherited from a parent systemd watches: not ours to ping.
  setenv("WATCHDOG_PID", std::to_string(getppid()).c_str(), 1);
  EXPECT_FALSE(watchdog_ping_interval());
  unsetenv("WATCHDOG_PID");
  unsetenv("WATCHDOG_USEC");
}

TEST(watchdog_pinger, pings_while_the_probe_answers) {
  recorded_messages sent;
  service_notifier notifier(sent.sender());
  std::atomic<int> probes{0};
  watchdog_pinger pinger(
      notifier, std::chrono::milliseconds(1),
      [&](std::function<void()> answered) {
        ++probes;
        answered();
      },
      "the store writer", "listening");
  ASSERT_TRUE(eventually([&] { return sent.count("WATCHDOG=1") >= 3; }));
  EXPECT_GE(probes.load(), 3);
}

TEST(watchdog_pinger, stops_pinging_while_the_probe_is_stuck_and_resumes_when_it_answers) {
  recorded_messages sent;
  service_notifier notifier(sent.sender());
  std::mutex mutex;
  bool stuck = true;
  std::vector<std::function<void()>> unanswered;
  int probes = 0;
  watchdog_pinger pinger(
      notifier, std::chrono::milliseconds(1),
      [&](std::function<void()> answered) {
        std::unique_lock lock(mutex);
        ++probes;
        if (stuck) {
          unanswered.push_back(std::move(answered));
          return;
        }
        lock.unlock();
        answered();
      },
      "the store writer", "listening");

  const std::string paused =
      "STATUS=the store writer has not answered for 1 ms; watchdog pings paused";
  ASSERT_TRUE(eventually([&] { return sent.count(paused) == 1; }));
  EXPECT_EQ(sent.count("WATCHDOG=1"), 0u);
  {
    // One probe out at a time: a stuck writer does not collect a queue of them.
    std::lock_guard lock(mutex);
    EXPECT_EQ(probes, 1);
    ASSERT_EQ(unanswered.size(), 1u);
    stuck = false;
  }
  unanswered.front()();
  ASSERT_TRUE(eventually([&] { return sent.count("STATUS=listening") == 1; }));
  ASSERT_TRUE(eventually([&] { return sent.count("WATCHDOG=1") >= 2; }));
  const auto messages = sent.all();
  const auto restored = std::find(messages.begin(), messages.end(), "STATUS=listening");
  EXPECT_EQ(std::find(messages.begin(), restored, "WATCHDOG=1"), restored)
      << "no ping before the late answer";
  EXPECT_EQ(sent.count(paused), 1u) << "the pause is told once";
}

}  // namespace
}  // namespace connector::app

#pragma once
// Sends sandbox replies later without holding a server thread: injected latency must look
// like a slow service, not like a server that stops reading. Shared by the sandbox servers.
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

namespace connector::testing {

class delayed_replies {
 public:
  delayed_replies();
  ~delayed_replies();  // flushes, then joins
  delayed_replies(const delayed_replies&) = delete;
  delayed_replies& operator=(const delayed_replies&) = delete;

  void after(std::chrono::milliseconds delay, std::function<void()> reply);
  // From now on every reply goes out at once (shutting down).
  void flush();

 private:
  using steady = std::chrono::steady_clock;
  void loop();

  std::mutex mutex_;
  std::condition_variable wake_;
  std::multimap<steady::time_point, std::function<void()>> queue_;
  bool flushing_ = false;
  std::thread thread_;  // last: starts once the rest exists
};

}  // namespace connector::testing

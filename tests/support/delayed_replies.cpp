#include "support/delayed_replies.hpp"

namespace connector::testing {

delayed_replies::delayed_replies() : thread_([this] { loop(); }) {}

delayed_replies::~delayed_replies() {
  flush();
  thread_.join();
}

void delayed_replies::after(std::chrono::milliseconds delay, std::function<void()> reply) {
  {
    std::lock_guard lock(mutex_);
    if (!flushing_) {
      queue_.emplace(steady::now() + delay, std::move(reply));
      wake_.notify_all();
      return;
    }
  }
  reply();
}

void delayed_replies::flush() {
  std::lock_guard lock(mutex_);
  flushing_ = true;
  wake_.notify_all();
}

void delayed_replies::loop() {
  std::unique_lock lock(mutex_);
  for (;;) {
    if (queue_.empty()) {
      if (flushing_) return;
      wake_.wait(lock);
      continue;
    }
    const auto next = queue_.begin();
    if (!flushing_ && steady::now() < next->first) {
      wake_.wait_until(lock, next->first);
      continue;
    }
    auto reply = std::move(next->second);
    queue_.erase(next);
    lock.unlock();
    reply();
    lock.lock();
  }
}

}  // namespace connector::testing

#include "support/eventually.hpp"

#include <thread>

namespace connector::testing {

bool eventually(const std::function<bool()>& condition, std::chrono::seconds limit) {
  const auto give_up = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < give_up) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return condition();
}

}  // namespace connector::testing

#pragma once
// Waiting for something a running service does on its own (its worker, its scheduler), not
// for time to pass: polls the condition and gives up after a generous bound.
#include <chrono>
#include <functional>

namespace connector::testing {

bool eventually(const std::function<bool()>& condition,
                std::chrono::seconds limit = std::chrono::seconds(60));

}  // namespace connector::testing

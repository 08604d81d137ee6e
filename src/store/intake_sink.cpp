#include "connector/store/interfaces.hpp"

#include <future>
#include <memory>
#include <utility>

namespace connector::store {

intake_outcome intake_sink::submit_and_wait(intake_request request) {
  // The callback owns the promise: set_value may still be running on the writer thread
  // when get() returns here, so the shared state must not die with this frame.
  auto promise = std::make_shared<std::promise<intake_outcome>>();
  auto outcome = promise->get_future();
  submit(std::move(request),
         [promise](intake_outcome result) { promise->set_value(std::move(result)); });
  return outcome.get();
}

}  // namespace connector::store

#pragma once
// The HTTP face of the Outbound Message intake: parse, check, commit, then answer.
// A SOAP request is acknowledged only after its notifications are durable (design.md).
#include <atomic>
#include <cstdint>
#include <functional>

#include "connector/clock.hpp"
#include "connector/http/message.hpp"
#include "connector/metrics/registry.hpp"
#include "connector/salesforce/acceptance.hpp"
#include "connector/store/interfaces.hpp"

namespace connector::app {

struct intake_counters {
  std::atomic<std::uint64_t> messages_acked{0};
  std::atomic<std::uint64_t> notifications_stored{0};
  std::atomic<std::uint64_t> duplicates{0};
  std::atomic<std::uint64_t> rejected{0};
  std::atomic<std::uint64_t> commit_failures{0};
};

// Turns a checked message into what the store keeps: ids in their 18-character form and
// the fields as a JSON object (null for xsi:nil).
store::intake_request to_intake_request(const salesforce::outbound_message& message,
                                        epoch_ms received_at);

// `on_stored` runs after each commit that stored something new (it wakes the sync worker).
// `metrics` (optional) receives intake_metrics.hpp's counts for source "outbound_message".
http::handler_fn make_outbound_intake_handler(store::intake_sink& inbox,
                                              salesforce::acceptance_rules rules,
                                              const clock& clock, intake_counters& counters,
                                              std::function<void()> on_stored = {},
                                              metrics::registry* metrics = nullptr);

}  // namespace connector::app

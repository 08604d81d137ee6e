#pragma once
// What the two intakes (SOAP outbound messages, JSON change events) record: notifications
// by result, requests by result, and the time from a request's arrival to its ack.
#include <chrono>
#include <cstddef>

#include "connector/metrics/registry.hpp"

namespace connector::app {

// Why a request was refused, as the label of connector_intake_requests_total.
enum class intake_refusal {
  media_type,    // 415: not the Content-Type this intake speaks
  malformed,     // 400: unreadable body, or a field out of bounds
  not_allowed,   // 403: organization or object not accepted
  signature,     // 401: unsigned, badly signed, stale or replayed event
  future_stamp,  // 422: a modification stamp too far ahead of our clock (acceptance.hpp)
};

class intake_metrics {
 public:
  using time_point = std::chrono::steady_clock::time_point;

  // `source` is "outbound_message" or "event" (a literal: kept, not copied, so copies of
  // this handle cost no allocation per request). A null registry records nothing (tests).
  intake_metrics(metrics::registry* registry, const char* source);

  // Committed and answered 200: `stored` new notifications, `duplicates` seen before.
  void acked(std::size_t stored, std::size_t duplicates, time_point received) const;
  // The commit failed: `notifications` not stored, the sender will send them again.
  void failed(std::size_t notifications) const;
  void refused(intake_refusal why) const;

 private:
  metrics::counter_family* requests_ = nullptr;
  metrics::counter* stored_ = nullptr;
  metrics::counter* duplicates_ = nullptr;
  metrics::counter* failed_ = nullptr;
  metrics::counter* requests_acked_ = nullptr;
  metrics::counter* requests_failed_ = nullptr;
  metrics::histogram* ack_seconds_ = nullptr;
  const char* source_;
};

}  // namespace connector::app

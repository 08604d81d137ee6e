#include "connector/app/intake_metrics.hpp"

namespace connector::app {
namespace {

const char* refusal_name(intake_refusal why) {
  switch (why) {
    case intake_refusal::media_type:
      return "refused_media_type";
    case intake_refusal::malformed:
      return "refused_malformed";
    case intake_refusal::not_allowed:
      return "refused_not_allowed";
    case intake_refusal::signature:
      return "refused_signature";
    case intake_refusal::future_stamp:
      return "refused_future_stamp";
  }
  return "refused";
}

}  // namespace

intake_metrics::intake_metrics(metrics::registry* registry, const char* source) : source_(source) {
  if (!registry) return;
  auto& notifications = registry->counter(
      "connector_notifications_received_total",
      "Salesforce notifications received, by source and result: stored (new), duplicate "
      "(seen before, acknowledged again) or failed (not committed, so not acknowledged)",
      {"source", "result"});
  stored_ = &notifications.with({source, "stored"});
  duplicates_ = &notifications.with({source, "duplicate"});
  failed_ = &notifications.with({source, "failed"});
  requests_ = &registry->counter(
      "connector_intake_requests_total",
      "Intake requests, by source and result: acked (200 after the commit), failed (the "
      "commit failed, 5xx) or refused_<reason> (4xx, nothing stored)",
      {"source", "result"});
  requests_acked_ = &requests_->with({source, "acked"});
  requests_failed_ = &requests_->with({source, "failed"});
  ack_seconds_ = &registry
                      ->histogram("connector_intake_ack_duration_seconds",
                                  "Time from an intake request's arrival to its acknowledgement "
                                  "(the answer after the commit), by source",
                                  {"source"}, metrics::latency_buckets_seconds())
                      .with({source});
}

void intake_metrics::acked(std::size_t stored, std::size_t duplicates, time_point received) const {
  if (!requests_) return;
  stored_->inc(stored);
  duplicates_->inc(duplicates);
  requests_acked_->inc();
  ack_seconds_->observe(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - received).count());
}

void intake_metrics::failed(std::size_t notifications) const {
  if (!requests_) return;
  failed_->inc(notifications);
  requests_failed_->inc();
}

void intake_metrics::refused(intake_refusal why) const {
  // Rare, and not on the path of an ack: the lookup (and its lock) is fine here.
  if (requests_) requests_->with({source_, refusal_name(why)}).inc();
}

}  // namespace connector::app

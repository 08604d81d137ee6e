#include "connector/app/event_intake.hpp"

#include <cctype>
#include <nlohmann/json.hpp>

#include "connector/app/intake_metrics.hpp"
#include "connector/log.hpp"
#include "connector/salesforce/ids.hpp"
#include "connector/text/ascii.hpp"

namespace connector::app {
namespace {

constexpr std::size_t max_webhook_id_length = 256;

bool is_json_content_type(std::string_view value) {
  std::string media = text::ascii_lower(value.substr(0, value.find(';')));
  while (!media.empty() && std::isspace(static_cast<unsigned char>(media.back()))) media.pop_back();
  return media == "application/json";
}

http::response json_answer(int status, const nlohmann::json& body) {
  return http::response::json(status,
                              body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

}  // namespace

expected<event_intake_settings, std::string> make_event_intake_settings(
    const config::settings& settings) {
  event_intake_settings out;
  if (settings.server.events_signing_secrets.empty())
    return unexpected{
        std::string("server.events_signing_secrets is empty: unsigned events are never accepted")};
  if (settings.salesforce.organization_ids.empty())
    return unexpected{std::string(
        "salesforce.organization_ids is empty: events name no organization, so they belong "
        "to the first one listed")};
  for (std::size_t i = 0; i < settings.server.events_signing_secrets.size(); ++i) {
    auto key = salesforce::parse_webhook_key(settings.server.events_signing_secrets[i].reveal());
    if (!key)
      return unexpected{"server.events_signing_secrets[" + std::to_string(i) + "]: " + key.error()};
    out.keys.push_back(std::move(*key));
  }
  const auto& org = settings.salesforce.organization_ids.front();
  out.organization_id = salesforce::to_18_char_id(org).value_or(org);
  out.parse.source_object = settings.salesforce.source_object;
  if (const auto& events = settings.salesforce.platform_events) {
    out.parse.platform_event_names = events->names;
    out.parse.platform_event_record_id_field = events->record_id_field;
    out.parse.platform_event_fields = events->fields;
  }
  return out;
}

namespace {

// The events of one delivery, and its webhook id as a marker, as one intake request. Counts
// the GAP events in `rereads`; wildcard ones go to `gaps`.
store::intake_request event_intake_request(const event_intake_settings& settings,
                                           const std::vector<salesforce::parsed_event>& events,
                                           const std::string& marker, epoch_ms now,
                                           std::vector<std::string>& gaps, std::size_t& rereads) {
  store::intake_request request;
  request.organization_id = settings.organization_id;
  request.source = "event";
  request.received_at = now;
  for (const auto& event : events) {
    if (event.needs_reread) ++rereads;
    request.changes.push_back(salesforce::to_incoming_change(event));
    // One record is re-read by the worker; a wildcard needs a full reconciliation.
    if (event.needs_reread && salesforce::is_wildcard_record(event.record_id))
      gaps.push_back(event.record_id);
  }
  // The webhook id itself, remembered with the events (no record, nothing to sync).
  store::incoming_change seen;
  seen.notification_id = marker;
  seen.object_type = settings.parse.source_object;
  seen.fields_json = "{}";
  seen.has_data = false;
  request.changes.push_back(std::move(seen));
  return request;
}

// Answers a delivery once the store has committed it, or failed to.
struct stored_events_reply {
  http::respond_fn respond;
  intake_counters* counters_;
  std::function<void()> on_stored;
  std::function<void(const std::vector<std::string>&)> on_gap;
  std::vector<std::string> gaps;
  std::size_t rereads;
  intake_metrics recorded;
  std::chrono::steady_clock::time_point received;
  std::size_t notifications;

  void operator()(store::intake_outcome outcome) const {
    intake_counters& counters = *counters_;
    if (!outcome.committed) {
      ++counters.commit_failures;
      recorded.failed(notifications);
      log::error("intake.store_failed", "could not store events: {}", outcome.error);
      // The cause (the store engine's words, paths) is for the log only.
      respond(json_answer(500, {{"error",
                                 "could not store the notification; it was not acknowledged "
                                 "(send it again)"}}));
      return;
    }
    ++counters.messages_acked;
    // The marker is one of the stored notifications; it is not an event.
    const std::size_t stored = outcome.stored > 0 ? outcome.stored - 1 : 0;
    counters.notifications_stored += stored;
    counters.duplicates += outcome.duplicates;
    respond(json_answer(200, {{"status", "stored"},
                              {"stored", stored},
                              {"duplicates", outcome.duplicates},
                              {"rereads", rereads},
                              {"full_reconciliation", !gaps.empty()}}));
    recorded.acked(stored, outcome.duplicates, received);
    if (stored > 0 && on_stored) on_stored();
    if (!gaps.empty() && on_gap) on_gap(gaps);
  }
};

}  // namespace

http::handler_fn make_event_intake_handler(
    store::intake_sink& inbox, store::store_reader& seen, event_intake_settings settings,
    const clock& clock, intake_counters& counters, std::function<void()> on_stored,
    std::function<void(const std::vector<std::string>&)> on_gap, metrics::registry* metrics) {
  return [&inbox, &seen, settings = std::move(settings), &clock, &counters, on_stored, on_gap,
          recorded = intake_metrics(metrics, "event")](http::request&& req,
                                                       http::respond_fn respond) {
    const auto received = std::chrono::steady_clock::now();
    if (!is_json_content_type(req.header("content-type"))) {
      ++counters.rejected;
      recorded.refused(intake_refusal::media_type);
      respond(json_answer(415, {{"error", "Content-Type must be application/json"}}));
      return;
    }
    // The signature first: nothing from an unverified sender is parsed, let alone stored.
    const epoch_ms now = clock.now();
    auto verified =
        salesforce::verify_webhook({req.header("webhook-id"), req.header("webhook-timestamp"),
                                    req.header("webhook-signature")},
                                   req.body, settings.keys, now / 1000);
    if (!verified) {
      ++counters.rejected;
      recorded.refused(intake_refusal::signature);
      log::warn("intake.refused", "refused event from {}: {}", req.remote_address,
                verified.error().message);
      auto r = json_answer(401, {{"error", verified.error().message}});
      respond(std::move(r));
      return;
    }
    if (verified->id.size() > max_webhook_id_length) {
      ++counters.rejected;
      recorded.refused(intake_refusal::malformed);
      respond(json_answer(400, {{"error", "webhook-id is longer than 256 characters"}}));
      return;
    }
    // A redelivery (same webhook-id) is answered as done and not stored again.
    const std::string marker = "webhook:" + verified->id;
    if (seen.has_notification(settings.organization_id, marker)) {
      ++counters.duplicates;
      respond(json_answer(200, {{"status", "duplicate"}, {"webhook_id", verified->id}}));
      recorded.acked(0, 1, received);  // the whole delivery, counted as one
      return;
    }
    auto events = salesforce::parse_change_events(req.body, settings.parse);
    if (!events) {
      ++counters.rejected;
      recorded.refused(intake_refusal::malformed);
      log::warn("intake.refused", "refused event {} from {}: {}", verified->id, req.remote_address,
                events.error().message);
      respond(json_answer(400, {{"error", events.error().message}}));
      return;
    }
    // All or nothing, as for outbound messages: one stamp from the future refuses the body.
    if (auto refusal = salesforce::check_stamps_not_future(*events, now)) {
      ++counters.rejected;
      recorded.refused(intake_refusal::future_stamp);
      log::warn("intake.refused", "refused event {} from {}: {}", verified->id, req.remote_address,
                *refusal);
      respond(json_answer(422, {{"error", *refusal}}));
      return;
    }
    std::vector<std::string> gaps;  // wildcards: a full reconciliation
    std::size_t rereads = 0;        // GAP events: read over REST by the worker or a run
    auto request = event_intake_request(settings, *events, marker, now, gaps, rereads);
    const std::size_t notifications = events->size();
    inbox.submit(std::move(request),
                 stored_events_reply{std::move(respond), &counters, on_stored, on_gap,
                                     std::move(gaps), rereads, recorded, received, notifications});
  };
}

}  // namespace connector::app

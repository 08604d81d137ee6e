#include "connector/app/outbound_intake.hpp"

#include <nlohmann/json.hpp>

#include <cctype>

#include "connector/app/intake_metrics.hpp"
#include "connector/log.hpp"
#include "connector/salesforce/change_order.hpp"
#include "connector/salesforce/ids.hpp"
#include "connector/salesforce/outbound_message.hpp"
#include "connector/text/ascii.hpp"

namespace connector::app {
namespace {

// Salesforce sends "text/xml; charset=UTF-8"; any charset spelling is fine, SOAP 1.2's
// application/soap+xml is not what Salesforce speaks.
bool is_xml_content_type(std::string_view value) {
  std::string media = text::ascii_lower(value.substr(0, value.find(';')));
  while (!media.empty() && std::isspace(static_cast<unsigned char>(media.back()))) media.pop_back();
  return media == "text/xml" || media == "application/xml";
}

http::response fault(int status, std::string_view code, std::string_view text) {
  return http::response::xml(status, salesforce::build_fault(code, text));
}

}  // namespace

store::intake_request to_intake_request(const salesforce::outbound_message& message,
                                        epoch_ms received_at) {
  store::intake_request request;
  request.organization_id =
      salesforce::to_18_char_id(message.organization_id).value_or(message.organization_id);
  request.source = "outbound_message";
  request.received_at = received_at;
  request.changes.reserve(message.notifications.size());
  for (const auto& n : message.notifications) {
    store::incoming_change change;
    change.notification_id = n.id;
    change.record_id = n.record_id.empty()
                           ? std::string()
                           : salesforce::to_18_char_id(n.record_id).value_or(n.record_id);
    change.object_type = n.object_type;
    change.modstamp = salesforce::modstamp_ms(n);
    change.has_data = n.has_data;
    nlohmann::json fields = nlohmann::json::object();
    for (const auto& field : n.fields) {
      fields[field.name] = field.value ? nlohmann::json(*field.value) : nlohmann::json(nullptr);
    }
    // Replace, not throw: a stray invalid byte must not cost the whole message.
    change.fields_json = fields.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    request.changes.push_back(std::move(change));
  }
  return request;
}

http::handler_fn make_outbound_intake_handler(store::intake_sink& inbox,
                                              salesforce::acceptance_rules rules,
                                              const clock& clock, intake_counters& counters,
                                              std::function<void()> on_stored,
                                              metrics::registry* metrics) {
  return [&inbox, rules = std::move(rules), &clock, &counters, on_stored,
          recorded = intake_metrics(metrics, "outbound_message")](http::request&& req,
                                                                  http::respond_fn respond) {
    const auto received = std::chrono::steady_clock::now();
    if (!is_xml_content_type(req.header("content-type"))) {
      ++counters.rejected;
      recorded.refused(intake_refusal::media_type);
      respond(fault(415, "soapenv:Client",
                    "Content-Type must be text/xml (a SOAP 1.1 Outbound Message), got '" +
                        std::string(req.header("content-type")) + "'"));
      return;
    }
    auto parsed = salesforce::parse_outbound_message(req.body);
    if (!parsed) {
      ++counters.rejected;
      recorded.refused(intake_refusal::malformed);
      log::warn("intake.refused", "refused outbound message from {}: {}", req.remote_address,
                parsed.error().message);
      respond(fault(400, "soapenv:Client", parsed.error().message));
      return;
    }
    if (auto refusal = salesforce::check_outbound_message(*parsed, rules)) {
      ++counters.rejected;
      recorded.refused(intake_refusal::not_allowed);
      log::warn("intake.refused", "refused outbound message from {}: {}", req.remote_address,
                *refusal);
      respond(fault(403, "soapenv:Client", *refusal));
      return;
    }
    const epoch_ms now = clock.now();
    // All or nothing: one stamp from the future refuses the request, and Salesforce keeps
    // it in its delivery queue with this text.
    if (auto refusal = salesforce::check_stamps_not_future(*parsed, now)) {
      ++counters.rejected;
      recorded.refused(intake_refusal::future_stamp);
      log::warn("intake.refused", "refused outbound message from {}: {}", req.remote_address,
                *refusal);
      respond(fault(422, "soapenv:Client", *refusal));
      return;
    }
    const std::size_t notifications = parsed->notifications.size();
    inbox.submit(to_intake_request(*parsed, now), [respond = std::move(respond), &counters,
                                                   on_stored, recorded, received,
                                                   notifications](store::intake_outcome outcome) {
      if (!outcome.committed) {
        // Not durable, so not acknowledged: Salesforce will deliver it again.
        ++counters.commit_failures;
        recorded.failed(notifications);
        log::error("intake.store_failed", "could not store outbound message: {}", outcome.error);
        // The cause (the store engine's words, paths) is for the log: the sender is not
        // authenticated.
        respond(fault(500, "soapenv:Server",
                      "could not store the notification; it was not acknowledged "
                      "(Salesforce will deliver it again)"));
        return;
      }
      ++counters.messages_acked;
      counters.notifications_stored += outcome.stored;
      counters.duplicates += outcome.duplicates;
      respond(http::response::xml(200, salesforce::build_ack(true)));
      recorded.acked(outcome.stored, outcome.duplicates, received);
      if (outcome.stored > 0 && on_stored) on_stored();
    });
  };
}

}  // namespace connector::app

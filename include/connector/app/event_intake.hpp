#pragma once
// The HTTP face of JSON change events (server.events_path): Standard Webhooks signature,
// then parse, then commit, then answer — the same commit-then-answer rule as the SOAP
// intake. Unsigned, badly signed, stale or replayed requests store nothing.
#include <functional>
#include <string>
#include <vector>

#include "connector/app/outbound_intake.hpp"
#include "connector/clock.hpp"
#include "connector/config/config.hpp"
#include "connector/expected.hpp"
#include "connector/http/message.hpp"
#include "connector/metrics/registry.hpp"
#include "connector/salesforce/change_events.hpp"
#include "connector/salesforce/webhook_signature.hpp"
#include "connector/store/interfaces.hpp"

namespace connector::app {

struct event_intake_settings {
  std::vector<salesforce::webhook_key> keys;  // server.events_signing_secrets, decoded
  salesforce::event_parse_options parse;
  // Events name no organization: they belong to the first of salesforce.organization_ids.
  std::string organization_id;
};

// The settings, or why the endpoint cannot be offered (no secrets, no organization, a
// secret that does not decode); the message names the key and never quotes a secret.
expected<event_intake_settings, std::string> make_event_intake_settings(
    const config::settings& settings);

// `seen` tells a redelivered webhook (its id is stored as a notification id).
// `on_stored` runs after a commit that stored something new (it wakes the worker);
// GAP_* events for one record queue it for a read over REST by the worker; `on_gap` gets
// the wildcard ids ("005*") of GAP events that name every record of a kind, which only a
// full reconciliation can read again. `metrics` (optional) receives intake_metrics.hpp's
// counts for source "event".
http::handler_fn make_event_intake_handler(
    store::intake_sink& inbox, store::store_reader& seen, event_intake_settings settings,
    const clock& clock, intake_counters& counters, std::function<void()> on_stored = {},
    std::function<void(const std::vector<std::string>&)> on_gap = {},
    metrics::registry* metrics = nullptr);

}  // namespace connector::app

#include "connector/app/store_metrics.hpp"

#include <algorithm>

namespace connector::app {

void add_store_metrics(metrics::registry& registry, store::store_reader& inbox, const clock& time) {
  registry.add_collector([&inbox, &time](metrics::scrape_writer& out) {
    const auto stats = inbox.stats();
    out.gauge("connector_pending_records",
              "Salesforce records waiting for the sync worker's first or next fresh attempt",
              static_cast<double>(stats.pending));
    out.gauge("connector_retrying_records", "Salesforce records backing off after a failed attempt",
              static_cast<double>(stats.retrying));
    out.gauge("connector_dead_letter_records",
              "Salesforce records the worker gave up on (connector retry puts them back)",
              static_cast<double>(stats.dead_letters));
    out.gauge("connector_held_records",
              "Salesforce records whose deactivation or deletion the safety limit holds "
              "(sync.max_deactivations_per_hour; connector release lets them through)",
              static_cast<double>(stats.held));
    const double age_ms =
        stats.oldest_waiting_since
            ? static_cast<double>(std::max<epoch_ms>(0, time.now() - *stats.oldest_waiting_since))
            : 0.0;
    out.gauge("connector_oldest_waiting_change_age_seconds",
              "Age of the change that has waited longest for the worker (pending or retrying); "
              "0 when nothing waits",
              age_ms / 1000.0);
  });
}

std::function<void(std::size_t)> commit_group_observer(metrics::registry& registry) {
  auto& sizes = registry
                    .histogram("connector_store_commit_group_size",
                               "Writes (intake requests, worker outcomes) made durable together "
                               "by one group commit of the store",
                               {}, metrics::powers_of_two(256))
                    .with({});
  return [&sizes](std::size_t writes) { sizes.observe(static_cast<double>(writes)); };
}

}  // namespace connector::app

#pragma once
// The store's metrics: the queue's gauges and the age of the oldest waiting change, read
// from store_reader::stats() at scrape time rather than tracked, and the size of each group commit.
#include <cstddef>
#include <functional>

#include "connector/clock.hpp"
#include "connector/metrics/registry.hpp"
#include "connector/store/interfaces.hpp"

namespace connector::app {

// connector_pending_records, connector_retrying_records, connector_dead_letter_records and
// connector_oldest_waiting_change_age_seconds (0 when nothing waits). `inbox` and `time`
// must outlive every scrape.
void add_store_metrics(metrics::registry& registry, store::store_reader& inbox, const clock& time);

// For store_settings::on_commit: observes connector_store_commit_group_size.
std::function<void(std::size_t)> commit_group_observer(metrics::registry& registry);

}  // namespace connector::app

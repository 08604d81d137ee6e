#pragma once
// What intake hands the store, built by hand for store tests: one User change and the
// request that carries changes of the test organization, and a history event. Short names, brought
// in with using-declarations, so that tests read as the inbox's own vocabulary.
#include <optional>
#include <string>
#include <vector>

#include "connector/store/open.hpp"

namespace connector::testing::inbox_input {

// A change of the User `record_id` with `fields_json` as Salesforce sent it.
store::incoming_change change(std::string notification_id, std::string record_id,
                              std::string fields_json,
                              std::optional<epoch_ms> modstamp = std::nullopt);

// `changes` of test_org_id received at `received_at` through `source`.
store::intake_request request(std::vector<store::incoming_change> changes,
                              epoch_ms received_at = 1000, std::string source = "outbound_message");

// An event of the User `record_id`'s history in test_org_id.
store::history_event event(const std::string& record_id, epoch_ms time, const std::string& kind,
                           const std::string& details_json = "{}");

}  // namespace connector::testing::inbox_input

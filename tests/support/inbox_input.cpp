#include "support/inbox_input.hpp"

#include <utility>

#include "support/service.hpp"

namespace connector::testing::inbox_input {

store::incoming_change change(std::string notification_id, std::string record_id,
                              std::string fields_json, std::optional<epoch_ms> modstamp) {
  store::incoming_change c;
  c.notification_id = std::move(notification_id);
  c.record_id = std::move(record_id);
  c.object_type = "User";
  c.modstamp = modstamp;
  c.fields_json = std::move(fields_json);
  return c;
}

store::intake_request request(std::vector<store::incoming_change> changes, epoch_ms received_at,
                              std::string source) {
  store::intake_request r;
  r.organization_id = test_org_id;
  r.source = std::move(source);
  r.received_at = received_at;
  r.changes = std::move(changes);
  return r;
}

store::history_event event(const std::string& record_id, epoch_ms time, const std::string& kind,
                           const std::string& details_json) {
  store::history_event e;
  e.organization_id = test_org_id;
  e.record_id = record_id;
  e.time = time;
  e.kind = kind;
  e.details_json = details_json;
  return e;
}

}  // namespace connector::testing::inbox_input

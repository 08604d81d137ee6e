// libFuzzer target for the JSON change-event parser and the webhook verifier. Seed corpus:
// tests/fixtures/events/. Crashing inputs go back into that folder as regression fixtures.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "connector/salesforce/change_events.hpp"
#include "connector/salesforce/ids.hpp"
#include "connector/salesforce/webhook_signature.hpp"

namespace {

using namespace connector::salesforce;

void require(bool condition) {
  if (!condition) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  event_parse_options options;
  options.platform_event_record_id_field = "UserId__c";
  options.platform_event_fields = {{"Email__c", "Email"}};
  if (const auto events = parse_change_events(body, options)) {
    for (const auto& e : *events) {
      require(e.record_id.size() == 18 && is_valid_id(e.record_id));
      require(!e.notification_id.empty() && e.fields_json.front() == '{');
      require(!e.needs_reread || !e.has_data);
    }
  } else {
    require(!events.error().message.empty());
  }
  // The body as a signature header: refused without crashing, never accepted.
  const std::vector<webhook_key> keys = {webhook_key{"fuzz key"}};
  require(!verify_webhook({"msg_1", "1000", body}, "{}", keys, 1000));
  return 0;
}

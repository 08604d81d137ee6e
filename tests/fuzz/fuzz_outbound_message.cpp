// libFuzzer target for the Outbound Message parser. Seed corpus: tests/fixtures/outbound/.
// Crashing inputs go back into that folder as regression fixtures.
#include <pugixml.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "connector/salesforce/outbound_message.hpp"

namespace {

using namespace connector::salesforce;

void require(bool condition) {
  if (!condition) std::abort();
}

// Strict UTF-8 (no overlongs, surrogates or code points past U+10FFFF).
bool is_utf8(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size()) {
    const auto lead = static_cast<unsigned char>(text[i]);
    std::size_t length = lead < 0x80                    ? 1
                         : lead >= 0xC2 && lead <= 0xDF ? 2
                         : lead >= 0xE0 && lead <= 0xEF ? 3
                         : lead >= 0xF0 && lead <= 0xF4 ? 4
                                                        : 0;
    if (length == 0 || text.size() - i < length) return false;
    std::uint32_t code_point = length == 1 ? lead : lead & (0x7FU >> length);
    for (std::size_t k = 1; k < length; ++k) {
      const auto next = static_cast<unsigned char>(text[i + k]);
      if ((next & 0xC0) != 0x80) return false;
      code_point = (code_point << 6) | (next & 0x3FU);
    }
    if ((length == 3 && (code_point < 0x800 || (code_point >= 0xD800 && code_point <= 0xDFFF))) ||
        (length == 4 && (code_point < 0x10000 || code_point > 0x10FFFF))) {
      return false;
    }
    i += length;
  }
  return true;
}

void check_message(const outbound_message& message) {
  require(!message.notifications.empty());
  require(message.notifications.size() <= max_notifications_per_message);
  require(!message.organization_id.empty() && is_utf8(message.organization_id));
  require(is_utf8(message.action_id) && is_utf8(message.enterprise_url) &&
          is_utf8(message.partner_url));
  require(!message.session_id || (!message.session_id->empty() && is_utf8(*message.session_id)));
  for (const notification& n : message.notifications) {
    require(!n.id.empty() && is_utf8(n.id));
    require(!n.object_type.empty() && n.object_type == message.notifications[0].object_type);
    require(is_utf8(n.record_id));
    require(n.has_data == !n.fields.empty());
    require(!n.has_data || !n.record_id.empty());
    for (const sobject_field& field : n.fields) {
      require(field.name != "Id" || !n.record_id.empty());
      require(is_utf8(field.name) && (!field.value || is_utf8(*field.value)));
      require(n.find(field.name) != nullptr);
    }
  }
}

// Every rejection must travel back to Salesforce as a well-formed SOAP Fault.
void check_error(const parse_error& error) {
  require(!error.message.empty());
  const std::string fault = build_fault("soapenv:Client", error.message);
  pugi::xml_document document;
  require(static_cast<bool>(document.load_buffer(fault.data(), fault.size())));
  require(document.document_element().child("soapenv:Body").child("soapenv:Fault"));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  const auto result = parse_outbound_message(body);
  if (result.has_value()) {
    check_message(*result);
  } else {
    check_error(result.error());
  }
  return 0;
}

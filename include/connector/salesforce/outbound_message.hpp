#pragma once
// Salesforce Outbound Messages (SOAP 1.1 `notifications` calls): parsing the request and
// building the acknowledgement or fault. Pure functions over bytes; see
// ../shared/reference/salesforce.md §A for the wire format and its quirks.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "connector/expected.hpp"

namespace connector::salesforce {

// Salesforce sends at most 100 notifications per message (generated WSDL: maxOccurs="100").
inline constexpr std::size_t max_notifications_per_message = 100;

// One field of the sObject, in document order. `value` is empty for `xsi:nil="true"`
// (Salesforce usually omits null fields instead; both mean "null").
struct sobject_field {
  std::string name;  // API name without prefix: "Email", "iSpring_Groups__c", "npsp__X__c"
  std::optional<std::string> value;
  friend bool operator==(const sobject_field&, const sobject_field&) = default;
};

struct notification {
  std::string id;           // Notification/Id: the dedupe key (prefix 04l)
  std::string object_type;  // local name of sObject's xsi:type, resolved through its prefix
  std::string record_id;    // sObject/Id as sent (15 or 18 chars); empty if the sObject is empty
  std::vector<sobject_field> fields;  // every field but Id
  // False when the record was deleted before delivery: the sObject carries no fields
  // besides Id (Salesforce "notification contains no data").
  bool has_data = false;

  const std::optional<std::string>* find(std::string_view field_name) const;
};

struct outbound_message {
  std::string organization_id;  // as sent (normally 18 chars)
  std::string action_id;
  std::optional<std::string> session_id;  // a credential: never log it
  std::string enterprise_url;
  std::string partner_url;
  std::vector<notification> notifications;
};

enum class parse_errc {
  empty_body,
  malformed_xml,        // not well-formed, or not UTF-8 text
  dtd_forbidden,        // any DOCTYPE / entity declaration: never processed
  not_soap11_envelope,  // root is not {http://schemas.xmlsoap.org/soap/envelope/}Envelope
  missing_body,
  missing_notifications,  // Body has no {http://soap.sforce.com/2005/09/outbound}notifications
  no_notification,        // zero Notification elements
  too_many_notifications,
  missing_organization_id,
  missing_notification_id,
  missing_sobject,
  missing_object_type,  // sObject without a resolvable xsi:type
  missing_record_id,    // sObject with fields but without Id
  mixed_object_types,   // an Outbound Message is bound to one object
};

struct parse_error {
  parse_errc code;
  std::string message;  // says exactly what is wrong; shown to the Salesforce admin in a Fault
};

// Parses a request body. Tolerant of what real Salesforce bodies do (BOM, CRLF, one line,
// any prefixes, no declaration, standalone, attribute order, unknown and namespaced
// fields); strict about what is wrong. Never expands entities or reads a DTD.
expected<outbound_message, parse_error> parse_outbound_message(std::string_view body);

// `<notificationsResponse><Ack>true</Ack>` in a SOAP 1.1 envelope: the only answer
// Salesforce counts as delivered.
std::string build_ack(bool ack = true);

// A SOAP 1.1 Fault. `fault_code` is "soapenv:Client" for a request Salesforce should not
// retry unchanged, "soapenv:Server" for our failures. The text is XML-escaped.
std::string build_fault(std::string_view fault_code, std::string_view fault_string);

}  // namespace connector::salesforce

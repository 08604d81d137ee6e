#include "connector/salesforce/outbound_message.hpp"

#include <pugixml.hpp>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "connector/text/utf8.hpp"
#include "connector/text/xml.hpp"
#include "quoted_input.hpp"

namespace connector::salesforce {
namespace {

constexpr std::string_view soap11_ns = "http://schemas.xmlsoap.org/soap/envelope/";
constexpr std::string_view soap12_ns = "http://www.w3.org/2003/05/soap-envelope";
constexpr std::string_view outbound_ns = "http://soap.sforce.com/2005/09/outbound";
constexpr std::string_view xsi_ns = "http://www.w3.org/2001/XMLSchema-instance";
constexpr std::string_view xml_ns = "http://www.w3.org/XML/1998/namespace";
// Outbound Messages use the enterprise namespace only (every sample and generated WSDL); the
// partner namespace appears only in SOAP API responses, so it is not accepted here.
constexpr std::string_view sobject_ns = "urn:sobject.enterprise.soap.sforce.com";

constexpr std::string_view utf8_bom = "\xEF\xBB\xBF";

// Comments, processing instructions and the XML declaration are not kept; CRLF becomes LF
// (XML end-of-line rule); a whitespace-only value is kept ("   " is a valid field value).
// parse_doctype keeps a DOCTYPE as a node so that it can be rejected; pugixml never reads
// external entities or expands declared ones, but a DTD has no place in a SOAP message.
constexpr unsigned parse_options =
    pugi::parse_default | pugi::parse_doctype | pugi::parse_ws_pcdata_single;

// Error messages quote document content, which may be hostile or huge: keep them short.

unexpected<parse_error> fail(parse_errc code, std::string message) {
  return unexpected{parse_error{code, std::move(message)}};
}

constexpr bool is_xml_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

std::string_view trim_xml_space(std::string_view text) {
  while (!text.empty() && is_xml_space(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_xml_space(text.back())) text.remove_suffix(1);
  return text;
}

struct qname {
  std::string_view prefix;  // empty when unprefixed
  std::string_view local;
};

qname split_qname(std::string_view name) {
  const std::size_t colon = name.find(':');
  if (colon == std::string_view::npos) return {{}, name};
  return {name.substr(0, colon), name.substr(colon + 1)};
}

// Prefix bindings in scope, built top-down as the walk enters elements. pugixml is not
// namespace-aware; resolving by scanning every ancestor's attributes on each lookup would be
// quadratic on hostile bodies with thousands of attributes, so each declaration is read once.
class namespace_context {
 public:
  // Brings the xmlns declarations of `element` into scope; leave(mark) takes them out again.
  std::size_t enter(pugi::xml_node element) {
    const std::size_t mark = undo_.size();
    for (pugi::xml_attribute a = element.first_attribute(); a; a = a.next_attribute()) {
      const std::string_view name = a.name();
      if (!name.starts_with("xmlns")) continue;
      std::string_view prefix;
      if (name.size() > 5) {
        if (name[5] != ':') continue;  // "xmlnsfoo" is an ordinary attribute
        prefix = name.substr(6);
      }
      std::optional<std::string_view>& slot = bindings_[prefix];
      undo_.emplace_back(&slot, slot);
      slot = std::string_view(a.value());
    }
    return mark;
  }

  void leave(std::size_t mark) {
    while (undo_.size() > mark) {
      *undo_.back().first = undo_.back().second;
      undo_.pop_back();
    }
  }

  // The namespace bound to `prefix`; "" for an unprefixed name outside any default
  // namespace; nullopt for an undeclared prefix.
  std::optional<std::string_view> resolve(std::string_view prefix) const {
    if (prefix == "xml") return xml_ns;
    if (const auto it = bindings_.find(prefix); it != bindings_.end() && it->second) {
      return *it->second;
    }
    if (prefix.empty()) return std::string_view{};
    return std::nullopt;
  }

 private:
  // Keys and values point into the parsed document, which outlives the context. Bindings
  // that go out of scope are reset to nullopt rather than erased, so the map stops
  // allocating once it has seen the document's few prefixes.
  std::unordered_map<std::string_view, std::optional<std::string_view>> bindings_;
  std::vector<std::pair<std::optional<std::string_view>*, std::optional<std::string_view>>> undo_;
};

class scope {
 public:
  scope(namespace_context& context, pugi::xml_node element)
      : context_(context), mark_(context.enter(element)) {}
  ~scope() { context_.leave(mark_); }
  scope(const scope&) = delete;
  scope& operator=(const scope&) = delete;

 private:
  namespace_context& context_;
  std::size_t mark_;
};

// `element`'s own declarations must be in scope.
bool has_name(const namespace_context& context, pugi::xml_node element, std::string_view ns,
              std::string_view local) {
  const qname name = split_qname(element.name());
  return name.local == local && context.resolve(name.prefix) == ns;
}

std::string describe_name(const namespace_context& context, pugi::xml_node element) {
  const qname name = split_qname(element.name());
  const auto ns = context.resolve(name.prefix);
  std::string out = detail::quote_input(element.name());
  if (!ns) return out + " (its prefix " + detail::quote_input(name.prefix) + " is not declared)";
  if (ns->empty()) return out + " in no namespace";
  return out + " in namespace " + detail::quote_input(*ns);
}

// The first child element of `parent` with the given expanded name.
pugi::xml_node find_child(namespace_context& context, pugi::xml_node parent, std::string_view ns,
                          std::string_view local) {
  for (pugi::xml_node child = parent.first_child(); child; child = child.next_sibling()) {
    if (child.type() != pugi::node_element) continue;
    if (split_qname(child.name()).local != local) continue;  // cheap test first
    const scope child_scope(context, child);
    if (has_name(context, child, ns, local)) return child;
  }
  return {};
}

// The attribute {xsi}`local` of `element` (whose declarations must be in scope).
pugi::xml_attribute find_xsi_attribute(const namespace_context& context, pugi::xml_node element,
                                       std::string_view local) {
  for (pugi::xml_attribute a = element.first_attribute(); a; a = a.next_attribute()) {
    const qname name = split_qname(a.name());
    if (name.local == local && !name.prefix.empty() && context.resolve(name.prefix) == xsi_ns) {
      return a;
    }
  }
  return {};
}

bool is_nil(const namespace_context& context, pugi::xml_node element) {
  const pugi::xml_attribute nil = find_xsi_attribute(context, element, "nil");
  if (!nil) return false;
  const std::string_view value = trim_xml_space(nil.value());
  return value == "true" || value == "1";  // xsd:boolean
}

// The character data of `element`: text and CDATA children joined (a comment splits text into
// two nodes); child elements are not part of a simple value and are skipped.
std::string text_of(pugi::xml_node element) {
  const pugi::xml_node first = element.first_child();
  if (!first) return {};
  const auto is_text = [](pugi::xml_node n) {
    return n.type() == pugi::node_pcdata || n.type() == pugi::node_cdata;
  };
  if (!first.next_sibling() && is_text(first)) return first.value();  // the usual case
  std::string out;
  for (pugi::xml_node child = first; child; child = child.next_sibling()) {
    if (is_text(child)) out += child.value();
  }
  return out;
}

std::optional<std::string> nillable_text(const namespace_context& context, pugi::xml_node element) {
  if (is_nil(context, element)) return std::nullopt;
  return text_of(element);
}

std::size_t count_child_elements(pugi::xml_node parent) {
  std::size_t count = 0;
  for (pugi::xml_node child = parent.first_child(); child; child = child.next_sibling()) {
    if (child.type() == pugi::node_element) ++count;
  }
  return count;
}

std::string notification_label(std::size_t number) {
  return "Notification " + std::to_string(number);
}

// Built only on failure: this runs for every notification of every message.
std::string sobject_label(std::size_t number) {
  return "The sObject of notification " + std::to_string(number);
}

// Reads the object type from the sObject's xsi:type (entered in `context`) into `out`.
std::optional<parse_error> read_object_type(namespace_context& context, pugi::xml_node sobject,
                                            std::size_t number, notification& out) {
  // xsi:type is a QName: its prefix is resolved where the attribute sits, like an element's.
  const pugi::xml_attribute type = find_xsi_attribute(context, sobject, "type");
  if (!type) {
    return parse_error{
        parse_errc::missing_object_type,
        sobject_label(number) + " has no xsi:type attribute, so its object type is unknown"};
  }
  const std::string_view type_text = trim_xml_space(type.value());
  const qname type_name = split_qname(type_text);
  const auto type_ns = context.resolve(type_name.prefix);
  if (!type_ns) {
    return parse_error{parse_errc::missing_object_type,
                       sobject_label(number) + " has xsi:type " + detail::quote_input(type_text) +
                           " whose prefix " + detail::quote_input(type_name.prefix) +
                           " is not declared"};
  }
  if (*type_ns != sobject_ns) {
    return parse_error{parse_errc::missing_object_type,
                       sobject_label(number) + " has xsi:type " + detail::quote_input(type_text) +
                           " in namespace " + detail::quote_input(*type_ns) +
                           "; Salesforce objects are in namespace " +
                           detail::quote_input(sobject_ns)};
  }
  if (type_name.local.empty()) {
    return parse_error{parse_errc::missing_object_type, sobject_label(number) + " has xsi:type " +
                                                            detail::quote_input(type_text) +
                                                            " without an object name"};
  }
  out.object_type = type_name.local;

  return std::nullopt;
}

// Reads the sObject's fields into `out`; true when it had an Id element.
bool read_fields(namespace_context& context, pugi::xml_node sobject, notification& out) {
  // Fields are taken by local name whatever their prefix: managed-package fields
  // (npsp__X__c) differ by name, not by namespace.
  out.fields.reserve(count_child_elements(sobject));
  bool seen_id = false;
  for (pugi::xml_node child = sobject.first_child(); child; child = child.next_sibling()) {
    if (child.type() != pugi::node_element) continue;
    std::optional<std::string> value;
    if (child.first_attribute()) {  // only then can it carry xsi:nil or declarations
      const scope field_scope(context, child);
      value = nillable_text(context, child);
    } else {
      value = text_of(child);
    }
    const std::string_view name = split_qname(child.name()).local;
    if (!seen_id && name == "Id") {
      seen_id = true;
      out.record_id = value.value_or(std::string{});
      continue;
    }
    out.fields.push_back(sobject_field{std::string(name), std::move(value)});
  }
  return seen_id;
}

// Reads the Notification element `element` (entered in `context`) into `out`.
std::optional<parse_error> read_notification(namespace_context& context, pugi::xml_node element,
                                             std::size_t number, notification& out) {
  const pugi::xml_node id = find_child(context, element, outbound_ns, "Id");
  if (!id) {
    return parse_error{parse_errc::missing_notification_id,
                       notification_label(number) + " has no Id element"};
  }
  out.id = text_of(id);
  if (trim_xml_space(out.id).empty()) {
    return parse_error{parse_errc::missing_notification_id,
                       notification_label(number) + " has an empty Id element"};
  }

  const pugi::xml_node sobject = find_child(context, element, outbound_ns, "sObject");
  if (!sobject) {
    return parse_error{parse_errc::missing_sobject, notification_label(number) + " (Id " +
                                                        detail::quote_input(out.id) +
                                                        ") has no sObject element"};
  }
  const scope sobject_scope(context, sobject);
  if (auto error = read_object_type(context, sobject, number, out)) return error;
  const bool seen_id = read_fields(context, sobject, out);

  // Salesforce sends an sObject without fields when the record was deleted before delivery.
  out.has_data = !out.fields.empty();
  if (out.has_data && out.record_id.empty()) {
    return parse_error{parse_errc::missing_record_id,
                       sobject_label(number) + (seen_id ? " has fields but an empty Id element"
                                                        : " has fields but no Id element")};
  }
  return std::nullopt;
}

}  // namespace

const std::optional<std::string>* notification::find(std::string_view field_name) const {
  for (const sobject_field& field : fields) {
    if (field.name == field_name) return &field.value;
  }
  return nullptr;
}

namespace {

// The body as text, before it is parsed: not empty, UTF-8, no reference to a character XML
// does not allow.
std::optional<parse_error> check_body_text(std::string_view body) {
  std::string_view content = body;
  if (content.starts_with(utf8_bom)) content.remove_prefix(utf8_bom.size());
  if (trim_xml_space(content).empty()) {
    return parse_error{parse_errc::empty_body,
                       "The request body is empty; expected a SOAP notifications message"};
  }
  if (const std::size_t at = text::find_invalid_utf8(body, text::nul_bytes::refused);
      at != std::string_view::npos) {
    return parse_error{
        parse_errc::malformed_xml,
        "The request body is not UTF-8 text (bad byte at offset " + std::to_string(at) + ")"};
  }
  if (const std::size_t at = text::find_unencodable_char_ref(body); at != std::string_view::npos) {
    return parse_error{
        parse_errc::malformed_xml,
        "The request body has a character reference to a character XML does not allow "
        "(at offset " +
            std::to_string(at) + ")"};
  }
  return std::nullopt;
}

// Parses the body into `document`: well-formed, one root element, no DOCTYPE.
std::optional<parse_error> load_document(std::string_view body, pugi::xml_document& document) {
  // encoding_utf8 is forced: the bytes were just checked as UTF-8, and pugixml must not guess
  // UTF-16 or Latin-1 from the declaration. The BOM is skipped by pugixml.
  const pugi::xml_parse_result parsed =
      document.load_buffer(body.data(), body.size(), parse_options, pugi::encoding_utf8);
  // A DOCTYPE that pugixml kept as a node, or one it refused (inside an element, unterminated).
  bool has_doctype = parsed.status == pugi::status_bad_doctype;
  for (pugi::xml_node node = document.first_child(); node && !has_doctype;
       node = node.next_sibling()) {
    has_doctype = node.type() == pugi::node_doctype;
  }
  if (has_doctype) {
    return parse_error{parse_errc::dtd_forbidden,
                       "The request body contains a DOCTYPE declaration, which is not allowed in a "
                       "SOAP message"};
  }
  if (!parsed) {
    return parse_error{parse_errc::malformed_xml,
                       std::string("The request body is not well-formed XML: ") +
                           parsed.description() + " at offset " + std::to_string(parsed.offset)};
  }
  if (count_child_elements(document) != 1) {  // pugixml accepts several root elements
    return parse_error{
        parse_errc::malformed_xml,
        "The request body is not well-formed XML: it has more than one root element"};
  }
  return std::nullopt;
}

// Reads the next Notification element `child` (entered in `context`) into `message`:
// at most max_notifications_per_message, all of one object type.
std::optional<parse_error> read_next_notification(namespace_context& context, pugi::xml_node child,
                                                  outbound_message& message) {
  const std::size_t number = message.notifications.size() + 1;
  if (number > max_notifications_per_message) {
    return parse_error{parse_errc::too_many_notifications,
                       "The message has more than " +
                           std::to_string(max_notifications_per_message) +
                           " Notification elements; Salesforce sends at most " +
                           std::to_string(max_notifications_per_message)};
  }
  notification& current = message.notifications.emplace_back();
  if (auto error = read_notification(context, child, number, current)) {
    return error;
  }
  const notification& first = message.notifications.front();
  if (current.object_type != first.object_type) {
    return parse_error{parse_errc::mixed_object_types,
                       notification_label(number) + " is a " +
                           detail::quote_input(current.object_type) + " but notification 1 is a " +
                           detail::quote_input(first.object_type) +
                           "; an Outbound Message carries a single object type"};
  }
  return std::nullopt;
}

// Which header elements were read already: the first of a repeated one wins.
struct seen_headers {
  bool organization_id = false;
  bool action_id = false;
  bool session_id = false;
  bool enterprise_url = false;
  bool partner_url = false;
};

// Reads one header element of notifications (OrganizationId, ActionId, SessionId,
// EnterpriseUrl, PartnerUrl) into `message`, unless one was read already.
void read_header(namespace_context& context, pugi::xml_node child, std::string_view local,
                 outbound_message& message, seen_headers& seen) {
  if (local == "OrganizationId") {
    if (!std::exchange(seen.organization_id, true)) message.organization_id = text_of(child);
  } else if (local == "ActionId") {
    if (!std::exchange(seen.action_id, true)) message.action_id = text_of(child);
  } else if (local == "SessionId") {
    // Nil when "Send Session ID" is off; an empty one is no credential either.
    if (!std::exchange(seen.session_id, true)) {
      message.session_id = nillable_text(context, child);
      if (message.session_id && message.session_id->empty()) message.session_id.reset();
    }
  } else if (local == "EnterpriseUrl") {
    if (!std::exchange(seen.enterprise_url, true)) message.enterprise_url = text_of(child);
  } else if (local == "PartnerUrl") {
    if (!std::exchange(seen.partner_url, true)) message.partner_url = text_of(child);
  }
}

// Reads the notifications element (entered in `context`): its headers and Notifications.
expected<outbound_message, parse_error> read_notifications(namespace_context& context,
                                                           pugi::xml_node notifications) {
  outbound_message message;
  message.notifications.reserve(
      std::min(count_child_elements(notifications), max_notifications_per_message));
  seen_headers seen;

  // One pass in document order. Elements other than the known ones (or in another namespace)
  // are ignored: trimmed and extended bodies exist (samples 18, 19). The first of a repeated
  // header element wins.
  for (pugi::xml_node child = notifications.first_child(); child; child = child.next_sibling()) {
    if (child.type() != pugi::node_element) continue;
    const std::string_view local = split_qname(child.name()).local;
    const bool known = local == "Notification" || local == "OrganizationId" ||
                       local == "ActionId" || local == "SessionId" || local == "EnterpriseUrl" ||
                       local == "PartnerUrl";
    if (!known) continue;
    const scope child_scope(context, child);
    if (!has_name(context, child, outbound_ns, local)) continue;

    if (local == "Notification") {
      if (auto error = read_next_notification(context, child, message)) {
        return unexpected{std::move(*error)};
      }
    } else {
      read_header(context, child, local, message, seen);
    }
  }

  if (message.notifications.empty()) {
    return fail(parse_errc::no_notification,
                "The notifications element contains no Notification element");
  }
  if (!seen.organization_id) {
    return fail(parse_errc::missing_organization_id,
                "The notifications element has no OrganizationId element");
  }
  if (trim_xml_space(message.organization_id).empty()) {
    return fail(parse_errc::missing_organization_id, "The OrganizationId element is empty");
  }
  return message;
}

}  // namespace

expected<outbound_message, parse_error> parse_outbound_message(std::string_view body) {
  if (auto error = check_body_text(body)) return unexpected{std::move(*error)};

  pugi::xml_document document;
  if (auto error = load_document(body, document)) return unexpected{std::move(*error)};

  namespace_context context;
  const pugi::xml_node envelope = document.document_element();
  const scope envelope_scope(context, envelope);
  if (!has_name(context, envelope, soap11_ns, "Envelope")) {
    if (has_name(context, envelope, soap12_ns, "Envelope")) {
      return fail(parse_errc::not_soap11_envelope,
                  "The message is a SOAP 1.2 envelope (namespace " +
                      detail::quote_input(soap12_ns) +
                      "); Salesforce Outbound Messages are SOAP 1.1 (namespace " +
                      detail::quote_input(soap11_ns) + ")");
    }
    return fail(parse_errc::not_soap11_envelope,
                "The root element is " + describe_name(context, envelope) +
                    "; expected a SOAP 1.1 Envelope in namespace " +
                    detail::quote_input(soap11_ns));
  }

  const pugi::xml_node soap_body = find_child(context, envelope, soap11_ns, "Body");
  if (!soap_body) {
    return fail(parse_errc::missing_body, "The SOAP envelope has no Body element");
  }
  const scope body_scope(context, soap_body);

  const pugi::xml_node notifications = find_child(context, soap_body, outbound_ns, "notifications");
  if (!notifications) {
    return fail(parse_errc::missing_notifications,
                "The SOAP Body has no notifications element in namespace " +
                    detail::quote_input(outbound_ns));
  }
  const scope notifications_scope(context, notifications);

  return read_notifications(context, notifications);
}

namespace {

constexpr std::string_view envelope_open =
    R"(<?xml version="1.0" encoding="UTF-8"?>)"
    R"(<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">)"
    R"(<soapenv:Body>)";
constexpr std::string_view envelope_close = "</soapenv:Body></soapenv:Envelope>";

// Escapes markup characters and replaces what XML 1.0 cannot carry at all (control characters,
// bytes that are not UTF-8) with U+FFFD, so a fault is always well-formed whatever its text.
void append_xml_escaped(std::string& out, std::string_view text) {
  constexpr std::string_view replacement = "\xEF\xBF\xBD";
  std::size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      case '\t':
      case '\n':
        out += static_cast<char>(c);
        break;
      case '\r':
        out += "&#13;";
        break;  // a raw CR would be read back as LF
      default:
        if (c < 0x20) {
          out += replacement;
        } else if (c < 0x80) {
          out += static_cast<char>(c);
        } else {
          if (const auto character = text::decode_utf8(text, i)) {
            out.append(text.substr(i, character->length));
            i += character->length;
            continue;
          }
          out += replacement;
        }
    }
    ++i;
  }
}

}  // namespace

std::string build_ack(bool ack) {
  std::string out;
  out.reserve(envelope_open.size() + envelope_close.size() + 96);
  out.append(envelope_open);
  out.append(R"(<notificationsResponse xmlns="http://soap.sforce.com/2005/09/outbound"><Ack>)");
  out.append(ack ? "true" : "false");
  out.append("</Ack></notificationsResponse>");
  out.append(envelope_close);
  return out;
}

std::string build_fault(std::string_view fault_code, std::string_view fault_string) {
  std::string out;
  out.reserve(envelope_open.size() + envelope_close.size() + 80 + fault_code.size() +
              fault_string.size());
  out.append(envelope_open);
  out.append("<soapenv:Fault><faultcode>");
  append_xml_escaped(out, fault_code);
  out.append("</faultcode><faultstring>");
  append_xml_escaped(out, fault_string);
  out.append("</faultstring></soapenv:Fault>");
  out.append(envelope_close);
  return out;
}

}  // namespace connector::salesforce

// Specification of the Outbound Message parser: what it accepts from Salesforce (salesforce.md
// §A.2, §A.3), what it rejects and how it says why, and the acknowledgement it answers with.
#include "connector/salesforce/outbound_message.hpp"

#include <gtest/gtest.h>
#include <pugixml.hpp>

#include <filesystem>
#include <fstream>
#include <map>
#include <ostream>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace connector::salesforce {

// Readable names in assertion failures (static: found by ADL, private to this file).
static const char* errc_name(parse_errc code) {
  switch (code) {
    case parse_errc::empty_body:
      return "empty_body";
    case parse_errc::malformed_xml:
      return "malformed_xml";
    case parse_errc::dtd_forbidden:
      return "dtd_forbidden";
    case parse_errc::not_soap11_envelope:
      return "not_soap11_envelope";
    case parse_errc::missing_body:
      return "missing_body";
    case parse_errc::missing_notifications:
      return "missing_notifications";
    case parse_errc::no_notification:
      return "no_notification";
    case parse_errc::too_many_notifications:
      return "too_many_notifications";
    case parse_errc::missing_organization_id:
      return "missing_organization_id";
    case parse_errc::missing_notification_id:
      return "missing_notification_id";
    case parse_errc::missing_sobject:
      return "missing_sobject";
    case parse_errc::missing_object_type:
      return "missing_object_type";
    case parse_errc::missing_record_id:
      return "missing_record_id";
    case parse_errc::mixed_object_types:
      return "mixed_object_types";
  }
  return "?";
}
static void PrintTo(parse_errc code, std::ostream* os) {
  *os << errc_name(code);
}

namespace {

const std::filesystem::path fixtures_dir =
    std::filesystem::path(CONNECTOR_FIXTURES_DIR) / "outbound";

std::string read_fixture(const std::filesystem::path& name) {
  std::ifstream in(fixtures_dir / name, std::ios::binary);
  EXPECT_TRUE(in) << "missing fixture " << name;
  std::ostringstream bytes;
  bytes << in.rdbuf();
  return bytes.str();
}

outbound_message parse_fixture(const std::string& name) {
  auto result = parse_outbound_message(read_fixture(name));
  EXPECT_TRUE(result.has_value()) << name << ": " << result.error().message;
  return result.has_value() ? std::move(result).value() : outbound_message{};
}

parse_error reject_fixture(const std::string& name) {
  auto result = parse_outbound_message(read_fixture(name));
  EXPECT_FALSE(result.has_value()) << name << " parsed but should not";
  return result.has_value() ? parse_error{} : result.error();
}

parse_error reject(std::string_view body) {
  auto result = parse_outbound_message(body);
  EXPECT_FALSE(result.has_value()) << "parsed but should not: " << body;
  return result.has_value() ? parse_error{} : result.error();
}

std::vector<std::string> field_names(const notification& n) {
  std::vector<std::string> names;
  for (const auto& field : n.fields) names.push_back(field.name);
  return names;
}

std::optional<std::string> value_of(const notification& n, std::string_view name) {
  const auto* value = n.find(name);
  EXPECT_NE(value, nullptr) << "no field " << name;
  return value != nullptr ? *value : std::nullopt;
}

// A minimal message around one sObject body, for quirks too small for a fixture file.
std::string user_message(
    std::string_view sobject_children,
    std::string_view header = "<OrganizationId>00D5g000004XyZaEAK</OrganizationId>") {
  std::string out =
      R"(<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" )"
      R"(xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body>)"
      R"(<notifications xmlns="http://soap.sforce.com/2005/09/outbound">)";
  out += header;
  out += R"(<Notification><Id>04l5g00000Lm007AAB</Id>)"
         R"(<sObject xsi:type="sf:User" xmlns:sf="urn:sobject.enterprise.soap.sforce.com">)";
  out += sobject_children;
  out += "</sObject></Notification></notifications></soapenv:Body></soapenv:Envelope>";
  return out;
}

// --- A canonical User message ----------------------------------------------------------------

TEST(OutboundMessageParser, ReadsEveryHeaderElementOfTheNotificationsCall) {
  const auto message = parse_fixture("user-1-notification.xml");
  EXPECT_EQ(message.organization_id, "00D5g000004XyZaEAK");
  EXPECT_EQ(message.action_id, "04k5g000000Ub3RAAS");
  EXPECT_EQ(message.session_id, std::nullopt);  // <SessionId xsi:nil="true"/>
  EXPECT_EQ(message.enterprise_url,
            "https://acme.my.salesforce.com/services/Soap/c/61.0/00D5g000004XyZa");
  EXPECT_EQ(message.partner_url,
            "https://acme.my.salesforce.com/services/Soap/u/61.0/00D5g000004XyZa");
}

TEST(OutboundMessageParser, ReadsNotificationIdObjectTypeAndRecordId) {
  const auto message = parse_fixture("user-1-notification.xml");
  ASSERT_EQ(message.notifications.size(), 1U);
  const notification& n = message.notifications[0];
  EXPECT_EQ(n.id, "04l5g00000Lm007AAB");
  EXPECT_EQ(n.object_type, "User");
  EXPECT_EQ(n.record_id, "0055g00000Qx000AAB");
  EXPECT_TRUE(n.has_data);
}

TEST(OutboundMessageParser, KeepsFieldsInDocumentOrderByLocalNameWithoutTheId) {
  const auto message = parse_fixture("user-1-notification.xml");
  ASSERT_EQ(message.notifications.size(), 1U);
  EXPECT_EQ(field_names(message.notifications[0]),
            (std::vector<std::string>{"Department", "Email", "FirstName", "IsActive",
                                      "LastModifiedDate", "LastName", "SystemModstamp", "Title",
                                      "Username", "iSpring_Groups__c"}));
  const notification& n = message.notifications[0];
  EXPECT_EQ(value_of(n, "Email"), "anna.schmidt0@example.com");
  EXPECT_EQ(value_of(n, "IsActive"), "true");
  EXPECT_EQ(value_of(n, "iSpring_Groups__c"), "Sales;Onboarding");
  EXPECT_EQ(value_of(n, "SystemModstamp"), "2024-05-02T11:00:00.250Z");
}

TEST(OutboundMessageParser, FindReturnsTheFirstFieldOfThatNameOrNull) {
  notification n;
  n.fields = {{"Email", "a@example.com"}, {"Title", std::nullopt}, {"Email", "b@example.com"}};
  ASSERT_NE(n.find("Email"), nullptr);
  EXPECT_EQ(*n.find("Email"), "a@example.com");
  ASSERT_NE(n.find("Title"), nullptr);
  EXPECT_EQ(*n.find("Title"), std::nullopt);
  EXPECT_EQ(n.find("Department"), nullptr);
  EXPECT_EQ(n.find("email"), nullptr);  // API names are matched exactly
}

TEST(OutboundMessageParser, ReadsASessionIdWhenSendSessionIdIsOn) {
  const auto message = parse_fixture("user-2-notifications-sessionid.xml");
  EXPECT_EQ(message.session_id,
            "00D5g000004XyZa!AQ4AQFakeSessionForTestsOnly.gHk2lP9xZ_0aVbQ3dS7yT1uW5eR8iO2pL6kJ4hG");
  ASSERT_EQ(message.notifications.size(), 2U);
  EXPECT_EQ(message.notifications[0].record_id, "0055g00000Qx001AAB");
  EXPECT_EQ(message.notifications[1].record_id, "0055g00000Qx002AAB");
}

TEST(OutboundMessageParser, TreatsAnEmptySessionIdAsNoSessionId) {
  const auto result = parse_outbound_message(
      user_message("<sf:Id>0055g00000Qx000AAB</sf:Id>",
                   "<OrganizationId>00D5g000004XyZaEAK</OrganizationId><SessionId></SessionId>"));
  ASSERT_TRUE(result.has_value()) << result.error().message;
  EXPECT_EQ(result->session_id, std::nullopt);
}

TEST(OutboundMessageParser, AcceptsTheMaximumOf100NotificationsInOrder) {
  const auto message = parse_fixture("user-100-notifications.xml");
  ASSERT_EQ(message.notifications.size(), max_notifications_per_message);
  std::set<std::string> ids;
  for (const auto& n : message.notifications) {
    EXPECT_EQ(n.object_type, "User");
    EXPECT_EQ(n.fields.size(), 10U);
    ids.insert(n.id);
  }
  EXPECT_EQ(ids.size(), 100U);
  EXPECT_EQ(message.notifications.front().record_id, "0055g00000Qx000AAB");
  EXPECT_EQ(message.notifications.back().id.substr(0, 15), "04l5g00000Lm01i");
}

// --- Tolerated serialisations ----------------------------------------------------------------

TEST(OutboundMessageParser, ResolvesAnyPrefixesThroughTheirDeclarations) {
  // s: envelope, out: notifications, x: for xsi declared mid-way, u: for the sObject namespace.
  const auto message = parse_fixture("user-prefixed-everything.xml");
  EXPECT_EQ(message.organization_id, "00D5g000004XyZaEAK");
  EXPECT_EQ(message.session_id, std::nullopt);  // x:nil="true"
  ASSERT_EQ(message.notifications.size(), 2U);
  const notification& first = message.notifications[0];
  EXPECT_EQ(first.id, "04l5g00000Lm00BAAR");
  EXPECT_EQ(first.object_type, "User");
  EXPECT_EQ(first.record_id, "0055g00000Qx004AAB");
  EXPECT_EQ(field_names(first),
            (std::vector<std::string>{"Department", "Email", "FirstName", "Title"}));
  EXPECT_EQ(value_of(first, "Title"), std::nullopt);
}

TEST(OutboundMessageParser, ResolvesAnUnprefixedXsiTypeThroughTheDefaultNamespace) {
  // xsi2:type="User" on an element whose default namespace is the sObject namespace.
  const auto message = parse_fixture("user-prefixed-everything.xml");
  ASSERT_EQ(message.notifications.size(), 2U);
  EXPECT_EQ(message.notifications[1].object_type, "User");
  EXPECT_EQ(message.notifications[1].record_id, "0055g00000Qx005AAB");
  EXPECT_EQ(value_of(message.notifications[1], "Email"), "farid.schmidt5@example.com");
}

TEST(OutboundMessageParser, AcceptsAnEnvelopeInTheDefaultNamespace) {
  const auto message = parse_fixture("user-default-namespace-envelope.xml");
  ASSERT_EQ(message.notifications.size(), 1U);
  EXPECT_EQ(message.notifications[0].object_type, "User");
}

TEST(OutboundMessageParser, SkipsAUtf8ByteOrderMark) {
  const auto message = parse_fixture("user-bom.xml");
  EXPECT_EQ(message.organization_id, "00D5g000004XyZaEAK");
  EXPECT_EQ(message.notifications.size(), 1U);
}

TEST(OutboundMessageParser, NormalisesCrlfLineEndingsAsXmlRequires) {
  const auto message = parse_fixture("user-crlf.xml");
  ASSERT_EQ(message.notifications.size(), 1U);
  EXPECT_EQ(value_of(message.notifications[0], "Title"), "Head of\nSales");
  EXPECT_EQ(message.organization_id, "00D5g000004XyZaEAK");  // no stray '\r'
}

TEST(OutboundMessageParser, AcceptsABodyOnOneLine) {
  const auto message = parse_fixture("user-one-line.xml");
  EXPECT_EQ(message.notifications.size(), 2U);
  EXPECT_EQ(parse_fixture("08-opportunity-single-line-no-whitespace.xml").notifications.size(), 1U);
}

TEST(OutboundMessageParser, AcceptsABodyWithoutXmlDeclaration) {
  const auto message = parse_fixture("13-opportunity-no-xml-declaration.xml");
  ASSERT_EQ(message.notifications.size(), 1U);
  EXPECT_EQ(value_of(message.notifications[0], "StageName"), "Stage Two");
}

TEST(OutboundMessageParser, AcceptsStandaloneNoAndAnyAttributeOrder) {
  EXPECT_EQ(parse_fixture("user-standalone-attr-order.xml").notifications.at(0).object_type,
            "User");
  EXPECT_EQ(parse_fixture("11-account-standalone-no-attr-order-swapped.xml")
                .notifications.at(0)
                .object_type,
            "Account");
}

TEST(OutboundMessageParser, KeepsFifteenCharacterIdsAsSent) {
  const auto message = parse_fixture("user-15-char-ids.xml");
  EXPECT_EQ(message.organization_id, "00D5g000004XyZa");
  ASSERT_EQ(message.notifications.size(), 1U);
  EXPECT_EQ(message.notifications[0].id, "04l5g00000Lm00A");
  EXPECT_EQ(message.notifications[0].record_id, "0055g00000Qx003");
}

TEST(OutboundMessageParser, DoesNotJudgeTheShapeOfIds) {
  // Placeholders and short ids from trimmed samples: checking them is the caller's business
  // (the organization allow-list compares with same_id).
  const auto placeholders = parse_fixture("10-contact-placeholders-crlf-line-endings.xml");
  EXPECT_EQ(placeholders.organization_id, "someOrganizationId");
  EXPECT_EQ(placeholders.notifications.at(0).record_id, "aContactId");
  EXPECT_EQ(parse_fixture("19-contact-partial-header-tab-indent-trimmed.xml").organization_id,
            "00Do00");
}

TEST(OutboundMessageParser, ReadsAFieldWithXsiNilAsNull) {
  const auto message = parse_fixture("user-xsi-nil-field.xml");
  ASSERT_EQ(message.notifications.size(), 1U);
  const notification& n = message.notifications[0];
  EXPECT_EQ(value_of(n, "Title"), std::nullopt);
  EXPECT_EQ(value_of(n, "Department"), std::nullopt);
  EXPECT_EQ(value_of(n, "iSpring_Groups__c"), std::nullopt);
  EXPECT_EQ(value_of(n, "Email"), "greta.larsen@example.com");
  EXPECT_TRUE(n.has_data);
}

TEST(OutboundMessageParser, LeavesAnOmittedNullFieldOut) {
  // Sample 02: the first Contact has no Email element, the second has one.
  const auto message = parse_fixture("02-contact-2-notifications-sessionid.xml");
  ASSERT_EQ(message.notifications.size(), 2U);
  EXPECT_EQ(message.notifications[0].find("Email"), nullptr);
  EXPECT_EQ(value_of(message.notifications[1], "Email"), "drb24@cornell.edu");
}

TEST(OutboundMessageParser, ReportsAnEmptySObjectAsADeletedRecordWithoutId) {
  const auto message = parse_fixture("user-deleted-empty-sobject.xml");
  ASSERT_EQ(message.notifications.size(), 1U);
  const notification& n = message.notifications[0];
  EXPECT_EQ(n.id, "04l5g00000Lm00FAAR");
  EXPECT_EQ(n.object_type, "User");
  EXPECT_EQ(n.record_id, "");
  EXPECT_TRUE(n.fields.empty());
  EXPECT_FALSE(n.has_data);
}

TEST(OutboundMessageParser, ReportsAnSObjectWithOnlyItsIdAsADeletedRecord) {
  const auto message = parse_fixture("user-deleted-id-only.xml");
  ASSERT_EQ(message.notifications.size(), 1U);
  EXPECT_EQ(message.notifications[0].record_id, "0055g00000Qx009AAB");
  EXPECT_FALSE(message.notifications[0].has_data);
}

TEST(OutboundMessageParser, CountsNilFieldsAsData) {
  const auto result = parse_outbound_message(
      user_message(R"(<sf:Id>0055g00000Qx000AAB</sf:Id><sf:Title xsi:nil="true"/>)"));
  ASSERT_TRUE(result.has_value()) << result.error().message;
  EXPECT_TRUE(result->notifications[0].has_data);  // "Title is now empty" is a change
}

TEST(OutboundMessageParser, DecodesNonAsciiTextAndEscapedMarkup) {
  const auto message = parse_fixture("user-non-ascii-escaped.xml");
  ASSERT_EQ(message.notifications.size(), 1U);
  const notification& n = message.notifications[0];
  EXPECT_EQ(value_of(n, "FirstName"), "Zo\u00EB");
  EXPECT_EQ(value_of(n, "LastName"), "Bront\u00EB");  // &#235;
  EXPECT_EQ(value_of(n, "Department"), "\u7814\u53D1\u90E8");
  EXPECT_EQ(value_of(n, "Title"), "R&D <br> Lead \"Nord\" '24");
  EXPECT_EQ(value_of(n, "iSpring_Groups__c"),
            "\u00DCn\u00EFc\u00F6d\u00E9;\u041F\u0440\u043E\u0434\u0430\u0436\u0438");
}

TEST(OutboundMessageParser, DecodesEscapedHtmlFromARealMessage) {
  const auto message = parse_fixture("16-contact-npsp-many-custom-fields-escaped-html.xml");
  ASSERT_EQ(message.notifications.size(), 1U);
  EXPECT_EQ(value_of(message.notifications[0], "npo02__Formula_HouseholdMailingAddress__c"),
            "<br>");
  EXPECT_EQ(
      value_of(parse_fixture("15-opportunity-non-ascii-stagename-repaired.xml").notifications.at(0),
               "StageName"),
      "Pre-Calificaci\u00F3n");
}

TEST(OutboundMessageParser, KeepsCustomAndManagedPackageFieldNames) {
  const auto message = parse_fixture("user-managed-package-fields.xml");
  ASSERT_EQ(message.notifications.size(), 1U);
  const notification& n = message.notifications[0];
  EXPECT_EQ(field_names(n),
            (std::vector<std::string>{"Email", "acme__Level__c", "iSpring_Groups__c",
                                      "npsp__Primary_Affiliation__c"}));
  EXPECT_EQ(value_of(n, "npsp__Primary_Affiliation__c"), "0015g00000Af1aTAAR");
}

TEST(OutboundMessageParser, IgnoresCommentsEvenInsideAValue) {
  const auto message = parse_fixture("user-comments.xml");
  ASSERT_EQ(message.notifications.size(), 1U);
  EXPECT_EQ(value_of(message.notifications[0], "Department"), "Sales");
}

TEST(OutboundMessageParser, IgnoresUnknownHeaderElementsAndOtherNamespaces) {
  // An OrganizationId in another namespace comes first and must not be taken.
  const auto message = parse_fixture("user-header-extra-elements.xml");
  EXPECT_EQ(message.organization_id, "00D5g000004XyZaEAK");
  EXPECT_EQ(message.notifications.size(), 1U);
}

TEST(OutboundMessageParser, AcceptsTrimmedHeadersWithoutActionIdOrUrls) {
  const auto message = parse_fixture("19-contact-partial-header-tab-indent-trimmed.xml");
  EXPECT_EQ(message.action_id, "");
  EXPECT_EQ(message.session_id, std::nullopt);
  EXPECT_EQ(message.enterprise_url, "");
  EXPECT_EQ(message.partner_url, "https://nax.salesforce.com/etc");
}

TEST(OutboundMessageParser, KeepsEmptyAndWhitespaceOnlyValuesAsSent) {
  const auto message = parse_fixture("user-empty-and-whitespace-values.xml");
  ASSERT_EQ(message.notifications.size(), 1U);
  EXPECT_EQ(value_of(message.notifications[0], "Department"), "");  // empty, not null
  EXPECT_EQ(value_of(message.notifications[0], "Title"), "   ");
}

TEST(OutboundMessageParser, ReadsCdataAsText) {
  const auto message = parse_fixture("user-cdata-value.xml");
  ASSERT_EQ(message.notifications.size(), 1U);
  EXPECT_EQ(value_of(message.notifications[0], "Title"), "R&D <Lead>");
}

TEST(OutboundMessageParser, LeavesAnUnknownEntityReferenceAsLiteralText) {
  // An old forum report has Salesforce writing "&semi;". pugixml keeps an unknown reference
  // as text instead of failing; the value then shows it verbatim, which is visible and harmless.
  const auto message = parse_fixture("user-semi-entity.xml");
  ASSERT_EQ(message.notifications.size(), 1U);
  EXPECT_EQ(value_of(message.notifications[0], "Title"), "Sales&semi; EMEA");
}

TEST(OutboundMessageParser, SkipsChildElementsInsideAFieldValue) {
  const auto result = parse_outbound_message(user_message(
      "<sf:Id>0055g00000Qx000AAB</sf:Id><sf:Title>Head<sf:x>ignored</sf:x> of</sf:Title>"));
  ASSERT_TRUE(result.has_value()) << result.error().message;
  EXPECT_EQ(value_of(result->notifications[0], "Title"), "Head of");
}

// --- Rejections: each says what is wrong in words a Salesforce admin can act on -------------

TEST(OutboundMessageParser, RejectsAnEmptyBody) {
  EXPECT_EQ(reject("").code, parse_errc::empty_body);
  EXPECT_EQ(reject(" \r\n\t").code, parse_errc::empty_body);
  EXPECT_EQ(reject("\xEF\xBB\xBF").code, parse_errc::empty_body);
}

TEST(OutboundMessageParser, RejectsABodyThatIsNotUtf8) {
  const auto error = reject_fixture("user-latin1-not-utf8.xml");
  EXPECT_EQ(error.code, parse_errc::malformed_xml);
  EXPECT_NE(error.message.find("not UTF-8"), std::string::npos) << error.message;
  EXPECT_EQ(reject(user_message("<sf:Id>\xC0\xAF</sf:Id>")).code,
            parse_errc::malformed_xml);  // overlong
  EXPECT_EQ(reject(user_message("<sf:Id>\xED\xA0\x80</sf:Id>")).code,
            parse_errc::malformed_xml);  // surrogate
}

TEST(OutboundMessageParser, RejectsANulByteInsteadOfStoppingThere) {
  std::string body = user_message("<sf:Id>0055g00000Qx000AAB</sf:Id>");
  body.insert(body.find("<sf:Id>"), std::string_view("\0", 1));
  EXPECT_EQ(reject(body).code, parse_errc::malformed_xml);
}

TEST(OutboundMessageParser, RejectsACharacterReferenceXmlCannotCarry) {
  EXPECT_EQ(reject_fixture("user-bad-char-ref.xml").code, parse_errc::malformed_xml);  // &#0;
  EXPECT_EQ(reject(user_message("<sf:Title>&#xD800;</sf:Title>")).code, parse_errc::malformed_xml);
  EXPECT_EQ(reject(user_message("<sf:Title>&#x110000;</sf:Title>")).code,
            parse_errc::malformed_xml);
  EXPECT_EQ(reject(user_message("<sf:Title>&#4294967361;</sf:Title>")).code,
            parse_errc::malformed_xml);  // would wrap around to 'A'
}

TEST(OutboundMessageParser, RejectsXmlThatIsNotWellFormed) {
  const auto error = reject_fixture("user-truncated.xml");
  EXPECT_EQ(error.code, parse_errc::malformed_xml);
  EXPECT_NE(error.message.find("not well-formed XML"), std::string::npos) << error.message;
  EXPECT_NE(error.message.find("offset"), std::string::npos) << error.message;
  EXPECT_EQ(reject("<html><body>502 Bad Gateway</body>").code, parse_errc::malformed_xml);
}

TEST(OutboundMessageParser, RejectsTwoRootElements) {
  EXPECT_EQ(reject_fixture("user-two-root-elements.xml").code, parse_errc::malformed_xml);
}

TEST(OutboundMessageParser, RejectsADoctypeWithAnExternalEntity) {
  const auto error = reject_fixture("user-doctype-xxe.xml");
  EXPECT_EQ(error.code, parse_errc::dtd_forbidden);
  EXPECT_NE(error.message.find("DOCTYPE"), std::string::npos) << error.message;
}

TEST(OutboundMessageParser, RejectsAnEntityExpansionBomb) {
  EXPECT_EQ(reject_fixture("user-entity-bomb.xml").code, parse_errc::dtd_forbidden);
}

TEST(OutboundMessageParser, RejectsADoctypeAnywhere) {
  EXPECT_EQ(reject("<!DOCTYPE x><x/>").code, parse_errc::dtd_forbidden);
  EXPECT_EQ(reject(user_message("<!DOCTYPE x>")).code, parse_errc::dtd_forbidden);
}

TEST(OutboundMessageParser, RejectsASoap12Envelope) {
  const auto error = reject_fixture("17-lead-3-notifications-soap12-envelope-ns-bom.xml");
  EXPECT_EQ(error.code, parse_errc::not_soap11_envelope);
  EXPECT_NE(error.message.find("SOAP 1.2"), std::string::npos) << error.message;
}

TEST(OutboundMessageParser, RejectsARootThatIsNotAnEnvelope) {
  const auto error = reject_fixture("user-not-an-envelope.xml");
  EXPECT_EQ(error.code, parse_errc::not_soap11_envelope);
  EXPECT_EQ(error.message,
            "The root element is \"notifications\" in namespace "
            "\"http://soap.sforce.com/2005/09/outbound\"; expected a SOAP 1.1 Envelope in "
            "namespace \"http://schemas.xmlsoap.org/soap/envelope/\"");
  EXPECT_EQ(reject("<soapenv:Envelope/>").code, parse_errc::not_soap11_envelope);  // undeclared
}

TEST(OutboundMessageParser, RejectsAnEnvelopeWithoutBody) {
  const auto error = reject_fixture("user-missing-body.xml");
  EXPECT_EQ(error.code, parse_errc::missing_body);
  EXPECT_EQ(error.message, "The SOAP envelope has no Body element");
}

TEST(OutboundMessageParser, RejectsNotificationsOutsideTheOutboundNamespace) {
  const auto error = reject_fixture("user-notifications-no-namespace.xml");
  EXPECT_EQ(error.code, parse_errc::missing_notifications);
  EXPECT_EQ(error.message,
            "The SOAP Body has no notifications element in namespace "
            "\"http://soap.sforce.com/2005/09/outbound\"");
}

TEST(OutboundMessageParser, RejectsAMessageWithoutNotification) {
  EXPECT_EQ(reject_fixture("user-no-notification.xml").code, parse_errc::no_notification);
  const auto error = reject_fixture("04-empty-notifications-bom.xml");
  EXPECT_EQ(error.code, parse_errc::no_notification);
  EXPECT_EQ(error.message, "The notifications element contains no Notification element");
}

TEST(OutboundMessageParser, RejectsMoreThan100Notifications) {
  const auto error = reject_fixture("user-101-notifications.xml");
  EXPECT_EQ(error.code, parse_errc::too_many_notifications);
  EXPECT_EQ(error.message,
            "The message has more than 100 Notification elements; Salesforce sends at most 100");
}

TEST(OutboundMessageParser, RejectsAMissingOrganizationId) {
  const auto error = reject_fixture("user-missing-organization-id.xml");
  EXPECT_EQ(error.code, parse_errc::missing_organization_id);
  EXPECT_EQ(error.message, "The notifications element has no OrganizationId element");
  EXPECT_EQ(reject_fixture("18-contact-2-notifications-no-header-elements-trimmed.xml").code,
            parse_errc::missing_organization_id);
}

TEST(OutboundMessageParser, RejectsAnEmptyOrganizationId) {
  const auto error = reject_fixture("user-empty-organization-id.xml");
  EXPECT_EQ(error.code, parse_errc::missing_organization_id);
  EXPECT_EQ(error.message, "The OrganizationId element is empty");
}

TEST(OutboundMessageParser, RejectsANotificationWithoutId) {
  const auto error = reject_fixture("user-missing-notification-id.xml");
  EXPECT_EQ(error.code, parse_errc::missing_notification_id);
  EXPECT_EQ(error.message, "Notification 3 has no Id element");
}

TEST(OutboundMessageParser, RejectsANotificationWithAnEmptyId) {
  const auto error = reject_fixture("user-empty-notification-id.xml");
  EXPECT_EQ(error.code, parse_errc::missing_notification_id);
  EXPECT_EQ(error.message, "Notification 1 has an empty Id element");
}

TEST(OutboundMessageParser, RejectsANotificationWithoutSObject) {
  const auto error = reject_fixture("user-missing-sobject.xml");
  EXPECT_EQ(error.code, parse_errc::missing_sobject);
  EXPECT_EQ(error.message, "Notification 1 (Id \"04l5g00000Lm00cAAB\") has no sObject element");
}

TEST(OutboundMessageParser, RejectsAnSObjectWithoutXsiType) {
  const auto error = reject_fixture("user-missing-xsi-type.xml");
  EXPECT_EQ(error.code, parse_errc::missing_object_type);
  EXPECT_EQ(error.message,
            "The sObject of notification 1 has no xsi:type attribute, so its object type is "
            "unknown");
}

TEST(OutboundMessageParser, RejectsAnXsiTypeWithAnUndeclaredPrefix) {
  const auto error = reject_fixture("user-undeclared-type-prefix.xml");
  EXPECT_EQ(error.code, parse_errc::missing_object_type);
  EXPECT_EQ(error.message,
            "The sObject of notification 1 has xsi:type \"sf:User\" whose prefix \"sf\" is not "
            "declared");
}

TEST(OutboundMessageParser, RejectsAnXsiTypeOutsideTheEnterpriseSObjectNamespace) {
  // Sample 01, the only public User body, is hand-made with xmlns:sf="sf:sobject.…".
  const auto error = reject_fixture("01-user-template-wrong-sf-namespace.xml");
  EXPECT_EQ(error.code, parse_errc::missing_object_type);
  EXPECT_EQ(error.message,
            "The sObject of notification 1 has xsi:type \"sf:User\" in namespace "
            "\"sf:sobject.enterprise.soap.sforce.com\"; Salesforce objects are in namespace "
            "\"urn:sobject.enterprise.soap.sforce.com\"");
}

TEST(OutboundMessageParser, RejectsThePartnerSObjectNamespace) {
  // Outbound Messages are enterprise-typed; the partner namespace is only seen in API calls.
  EXPECT_EQ(reject_fixture("user-partner-namespace.xml").code, parse_errc::missing_object_type);
}

TEST(OutboundMessageParser, RejectsAnSObjectWithFieldsButNoId) {
  const auto error = reject_fixture("user-fields-without-id.xml");
  EXPECT_EQ(error.code, parse_errc::missing_record_id);
  EXPECT_EQ(error.message, "The sObject of notification 1 has fields but no Id element");
  EXPECT_EQ(reject(user_message(R"(<sf:Id xsi:nil="true"/><sf:Title>x</sf:Title>)")).code,
            parse_errc::missing_record_id);
}

TEST(OutboundMessageParser, RejectsNotificationsOfDifferentObjectTypes) {
  const auto error = reject_fixture("user-mixed-types.xml");
  EXPECT_EQ(error.code, parse_errc::mixed_object_types);
  EXPECT_EQ(error.message,
            "Notification 2 is a \"Contact\" but notification 1 is a \"User\"; an Outbound "
            "Message carries a single object type");
  // Sample 03 was edited to sf:Lead1/2/3.
  EXPECT_EQ(reject_fixture("03-lead-3-notifications-many-fields-bom.xml").code,
            parse_errc::mixed_object_types);
}

TEST(OutboundMessageParser, QuotesHostileContentOnlyBriefly) {
  const std::string long_name(5000, 'a');
  const auto error = reject("<" + long_name + "/>");
  EXPECT_EQ(error.code, parse_errc::not_soap11_envelope);
  EXPECT_LT(error.message.size(), 300U);
}

TEST(OutboundMessageParser, HandlesElementsWithThousandsOfAttributes) {
  // Hostile but well-formed: prefix lookups are hashed, so this stays linear in the body size.
  std::string declarations;
  for (int i = 0; i < 20000; ++i) declarations += " xmlns:p" + std::to_string(i) + "=\"urn:x\"";
  std::string decoys;
  for (int i = 0; i < 20000; ++i) decoys += " q" + std::to_string(i) + ":type=\"x\"";
  std::string body = user_message("<sf:Id>0055g00000Qx000AAB</sf:Id>");
  body.insert(body.find(" xmlns:xsi"), declarations);
  body.insert(body.find(" xsi:type"), decoys);
  const auto result = parse_outbound_message(body);
  ASSERT_TRUE(result.has_value()) << result.error().message;
  EXPECT_EQ(result->notifications[0].object_type, "User");
}

// --- Regression corpus: every fixture has a known outcome ------------------------------------

struct expected_outcome {
  std::optional<parse_errc> error;  // nullopt: parses
  std::size_t notifications = 0;
  std::string object_type;
};

expected_outcome parses(std::size_t count, std::string type) {
  return {std::nullopt, count, std::move(type)};
}
expected_outcome fails(parse_errc code) {
  return {code, 0, {}};
}

const std::map<std::string, expected_outcome>& corpus_outcomes() {
  using enum parse_errc;
  static const std::map<std::string, expected_outcome> outcomes = {
      // Shared public samples (salesforce-samples/README.md).
      {"01-user-template-wrong-sf-namespace.xml", fails(missing_object_type)},
      {"02-contact-2-notifications-sessionid.xml", parses(2, "Contact")},
      {"03-lead-3-notifications-many-fields-bom.xml", fails(mixed_object_types)},
      {"04-empty-notifications-bom.xml", fails(no_notification)},
      {"05-custom-object-discountrule-typed-values.xml", parses(1, "DiscountRule__c")},
      {"06-custom-object-state-province-sessionid.xml", parses(2, "State_Province__c")},
      {"07-opportunity-15char-ids-sessionid-nil.xml", parses(1, "Opportunity")},
      {"08-opportunity-single-line-no-whitespace.xml", parses(1, "Opportunity")},
      {"09-contact-custom-field-guardian.xml", parses(1, "Contact")},
      {"10-contact-placeholders-crlf-line-endings.xml", parses(1, "Contact")},
      {"11-account-standalone-no-attr-order-swapped.xml", parses(1, "Account")},
      {"12-contact-template-emea-unsorted-fields.xml", parses(1, "Contact")},
      {"13-opportunity-no-xml-declaration.xml", parses(1, "Opportunity")},
      {"14-lead-spanish-custom-fields-repaired.xml", parses(1, "Lead")},
      {"15-opportunity-non-ascii-stagename-repaired.xml", parses(1, "Opportunity")},
      {"16-contact-npsp-many-custom-fields-escaped-html.xml", parses(1, "Contact")},
      {"17-lead-3-notifications-soap12-envelope-ns-bom.xml", fails(not_soap11_envelope)},
      {"18-contact-2-notifications-no-header-elements-trimmed.xml", fails(missing_organization_id)},
      {"19-contact-partial-header-tab-indent-trimmed.xml", parses(1, "Contact")},
      {"20-case-mydomain-api61-unresolved-repo.xml", parses(1, "Case")},
      {"21-custom-object-sandbox-mydomain-attr-order-unresolved-repo.xml",
       parses(1, "IntegrationMessage__c")},
      {"22-case-sessionid-api25-nonid-actionid-unresolved-repo.xml", parses(1, "Case")},
      // User messages written for this project.
      {"user-1-notification.xml", parses(1, "User")},
      {"user-2-notifications-sessionid.xml", parses(2, "User")},
      {"user-100-notifications.xml", parses(100, "User")},
      {"user-15-char-ids.xml", parses(1, "User")},
      {"user-bom.xml", parses(1, "User")},
      {"user-cdata-value.xml", parses(1, "User")},
      {"user-comments.xml", parses(1, "User")},
      {"user-crlf.xml", parses(1, "User")},
      {"user-default-namespace-envelope.xml", parses(1, "User")},
      {"user-deleted-empty-sobject.xml", parses(1, "User")},
      {"user-deleted-id-only.xml", parses(1, "User")},
      {"user-empty-and-whitespace-values.xml", parses(1, "User")},
      {"user-header-extra-elements.xml", parses(1, "User")},
      {"user-managed-package-fields.xml", parses(1, "User")},
      {"user-non-ascii-escaped.xml", parses(1, "User")},
      {"user-one-line.xml", parses(2, "User")},
      {"user-prefixed-everything.xml", parses(2, "User")},
      {"user-semi-entity.xml", parses(1, "User")},
      {"user-standalone-attr-order.xml", parses(1, "User")},
      {"user-xsi-nil-field.xml", parses(1, "User")},
      {"user-101-notifications.xml", fails(too_many_notifications)},
      {"user-bad-char-ref.xml", fails(malformed_xml)},
      {"user-doctype-xxe.xml", fails(dtd_forbidden)},
      {"user-empty-notification-id.xml", fails(missing_notification_id)},
      {"user-empty-organization-id.xml", fails(missing_organization_id)},
      {"user-entity-bomb.xml", fails(dtd_forbidden)},
      {"user-fields-without-id.xml", fails(missing_record_id)},
      {"user-latin1-not-utf8.xml", fails(malformed_xml)},
      {"user-missing-body.xml", fails(missing_body)},
      {"user-missing-notification-id.xml", fails(missing_notification_id)},
      {"user-missing-organization-id.xml", fails(missing_organization_id)},
      {"user-missing-sobject.xml", fails(missing_sobject)},
      {"user-missing-xsi-type.xml", fails(missing_object_type)},
      {"user-mixed-types.xml", fails(mixed_object_types)},
      {"user-no-notification.xml", fails(no_notification)},
      {"user-not-an-envelope.xml", fails(not_soap11_envelope)},
      {"user-notifications-no-namespace.xml", fails(missing_notifications)},
      {"user-partner-namespace.xml", fails(missing_object_type)},
      {"user-truncated.xml", fails(malformed_xml)},
      {"user-two-root-elements.xml", fails(malformed_xml)},
      {"user-undeclared-type-prefix.xml", fails(missing_object_type)},
  };
  return outcomes;
}

TEST(OutboundMessageCorpus, EveryFixtureHasItsExpectedOutcome) {
  std::size_t checked = 0;
  for (const auto& entry : std::filesystem::directory_iterator(fixtures_dir)) {
    if (!entry.is_regular_file() || entry.path().extension() != ".xml") continue;
    const std::string name = entry.path().filename().string();
    const auto outcome = corpus_outcomes().find(name);
    if (outcome == corpus_outcomes().end()) {
      ADD_FAILURE() << name << " has no expected outcome in corpus_outcomes()";
      continue;
    }
    ++checked;
    const auto result = parse_outbound_message(read_fixture(name));
    const expected_outcome& want = outcome->second;
    if (want.error) {
      ASSERT_FALSE(result.has_value())
          << name << " parsed but should fail with " << errc_name(*want.error);
      EXPECT_EQ(result.error().code, *want.error) << name << ": " << result.error().message;
      EXPECT_FALSE(result.error().message.empty()) << name;
    } else {
      ASSERT_TRUE(result.has_value()) << name << ": " << result.error().message;
      EXPECT_EQ(result->notifications.size(), want.notifications) << name;
      for (const auto& n : result->notifications) {
        EXPECT_EQ(n.object_type, want.object_type) << name;
        EXPECT_FALSE(n.id.empty()) << name;
      }
    }
  }
  EXPECT_EQ(checked, corpus_outcomes().size()) << "a listed fixture file is missing";
}

// --- Acknowledgement and fault ---------------------------------------------------------------

constexpr std::string_view soap11_ns = "http://schemas.xmlsoap.org/soap/envelope/";
constexpr std::string_view outbound_ns = "http://soap.sforce.com/2005/09/outbound";

// Test-side namespace resolution, independent of the parser's.
std::string namespace_of(pugi::xml_node element) {
  const std::string name = element.name();
  const auto colon = name.find(':');
  const std::string declaration =
      colon == std::string::npos ? "xmlns" : "xmlns:" + name.substr(0, colon);
  for (pugi::xml_node n = element; n.type() == pugi::node_element; n = n.parent()) {
    if (const auto a = n.attribute(declaration.c_str())) return a.value();
  }
  return "";
}

std::string local_name_of(pugi::xml_node element) {
  const std::string name = element.name();
  const auto colon = name.find(':');
  return colon == std::string::npos ? name : name.substr(colon + 1);
}

pugi::xml_node child_named(pugi::xml_node parent, std::string_view ns, std::string_view local) {
  for (pugi::xml_node child : parent.children()) {
    if (child.type() == pugi::node_element && namespace_of(child) == ns &&
        local_name_of(child) == local) {
      return child;
    }
  }
  return {};
}

// Envelope/Body/notificationsResponse/Ack as Salesforce reads it; "" if the shape is wrong.
std::string ack_value(std::string_view xml) {
  pugi::xml_document document;
  if (!document.load_buffer(xml.data(), xml.size())) return "";
  const pugi::xml_node envelope = document.document_element();
  if (namespace_of(envelope) != soap11_ns || local_name_of(envelope) != "Envelope") return "";
  const auto response =
      child_named(child_named(envelope, soap11_ns, "Body"), outbound_ns, "notificationsResponse");
  return child_named(response, outbound_ns, "Ack").text().get();
}

TEST(OutboundMessageAck, IsExactlyTheEnvelopeSalesforceCountsAsDelivered) {
  EXPECT_EQ(
      build_ack(),
      R"(<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><notificationsResponse xmlns="http://soap.sforce.com/2005/09/outbound"><Ack>true</Ack></notificationsResponse></soapenv:Body></soapenv:Envelope>)");
}

TEST(OutboundMessageAck, AckAndNackReadBackWithTheRightNamespaces) {
  EXPECT_EQ(ack_value(build_ack(true)), "true");
  EXPECT_EQ(ack_value(build_ack(false)), "false");
  // The reader agrees with the receivers' answers collected in the samples.
  EXPECT_EQ(ack_value(read_fixture("acks/ack-true-aspnet-bom.xml")), "true");
  EXPECT_EQ(ack_value(read_fixture("acks/ack-true-minimal-tabs.xml")), "true");
  EXPECT_EQ(ack_value(read_fixture("acks/ack-true-prefixed-out-ns-with-header.xml")), "true");
  EXPECT_EQ(ack_value(read_fixture("acks/ack-false-nack.xml")), "false");
}

struct fault_fields {
  bool well_formed = false;
  std::string code;
  std::string text;
};

fault_fields read_fault(std::string_view xml) {
  pugi::xml_document document;
  fault_fields out;
  if (!document.load_buffer(xml.data(), xml.size())) return out;
  const pugi::xml_node envelope = document.document_element();
  if (namespace_of(envelope) != soap11_ns || local_name_of(envelope) != "Envelope") return out;
  const auto fault = child_named(child_named(envelope, soap11_ns, "Body"), soap11_ns, "Fault");
  if (!fault) return out;
  out.well_formed = true;
  out.code = fault.child("faultcode").text().get();  // unqualified per SOAP 1.1
  out.text = fault.child("faultstring").text().get();
  return out;
}

TEST(OutboundMessageFault, IsASoap11FaultWithCodeAndText) {
  const auto fault = read_fault(build_fault("soapenv:Client", "Notification 3 has no Id element"));
  ASSERT_TRUE(fault.well_formed);
  EXPECT_EQ(fault.code, "soapenv:Client");
  EXPECT_EQ(fault.text, "Notification 3 has no Id element");
  EXPECT_EQ(read_fault(read_fixture("acks/fault-client-aspnet-template-bom.xml")).code,
            "soapenv:Client");
}

TEST(OutboundMessageFault, EscapesMarkupInItsText) {
  const std::string xml = build_fault("soapenv:Server", R"(a & b < c > d "e" 'f' ]]>)");
  EXPECT_NE(xml.find("a &amp; b &lt; c &gt; d &quot;e&quot; &apos;f&apos; ]]&gt;"),
            std::string::npos)
      << xml;
  const auto fault = read_fault(xml);
  ASSERT_TRUE(fault.well_formed);
  EXPECT_EQ(fault.text, R"(a & b < c > d "e" 'f' ]]>)");
  EXPECT_EQ(read_fault(build_fault("<x>", "")).code, "<x>");
}

TEST(OutboundMessageFault, ReplacesWhatXmlCannotCarry) {
  const auto fault = read_fault(build_fault(
      "soapenv:Client", std::string("bell\x07 nul") + '\0' + " bad\xFF\xC3 ok\u00E9\r\n"));
  ASSERT_TRUE(fault.well_formed);
  EXPECT_EQ(fault.text, "bell\uFFFD nul\uFFFD bad\uFFFD\uFFFD ok\u00E9\r\n");
}

TEST(OutboundMessageFault, CarriesEveryRejectionMessageOfTheCorpus) {
  for (const auto& [name, outcome] : corpus_outcomes()) {
    if (!outcome.error) continue;
    const auto result = parse_outbound_message(read_fixture(name));
    ASSERT_FALSE(result.has_value()) << name;
    const auto fault = read_fault(build_fault("soapenv:Client", result.error().message));
    EXPECT_TRUE(fault.well_formed) << name;
    EXPECT_EQ(fault.text, result.error().message) << name;
  }
}

}  // namespace
}  // namespace connector::salesforce

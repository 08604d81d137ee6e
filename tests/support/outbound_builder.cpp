#include "support/outbound_builder.hpp"

#include "connector/salesforce/ids.hpp"

namespace connector::testing {
namespace {

std::string escape(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
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
      default:
        out += c;
    }
  }
  return out;
}

}  // namespace

std::string make_id(const std::string& prefix, std::uint64_t number) {
  std::string digits = std::to_string(number);
  std::string id15 =
      prefix + "5g" + std::string(10 - std::min<std::size_t>(10, digits.size()), '0') + digits;
  id15 = id15.substr(0, 15);
  return *salesforce::to_18_char_id(id15);
}

std::string build_user_message(const std::string& organization_id,
                               const std::vector<user_notification>& notifications,
                               const std::string& object_type) {
  std::string xml;
  xml.reserve(600 + notifications.size() * 900);
  xml +=
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\" "
      "xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\" "
      "xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">\n <soapenv:Body>\n"
      "  <notifications xmlns=\"http://soap.sforce.com/2005/09/outbound\">\n"
      "   <OrganizationId>" +
      organization_id +
      "</OrganizationId>\n"
      "   <ActionId>04k5g000000TestAAA</ActionId>\n"
      "   <SessionId xsi:nil=\"true\"/>\n"
      "   <EnterpriseUrl>https://acme.my.salesforce.com/services/Soap/c/61.0/" +
      organization_id.substr(0, 15) +
      "</EnterpriseUrl>\n"
      "   <PartnerUrl>https://acme.my.salesforce.com/services/Soap/u/61.0/" +
      organization_id.substr(0, 15) + "</PartnerUrl>\n";
  for (const auto& n : notifications) {
    xml += "   <Notification>\n    <Id>" + n.notification_id + "</Id>\n";
    xml += "    <sObject xsi:type=\"sf:" + object_type +
           "\" xmlns:sf=\"urn:sobject.enterprise.soap.sforce.com\">\n";
    xml += "     <sf:Id>" + n.user_id + "</sf:Id>\n";
    for (const auto& [name, value] : n.fields) {
      xml += "     <sf:" + name + ">" + escape(value) + "</sf:" + name + ">\n";
    }
    xml += "    </sObject>\n   </Notification>\n";
  }
  xml += "  </notifications>\n </soapenv:Body>\n</soapenv:Envelope>\n";
  return xml;
}

user_notification sample_user(std::uint64_t user_number, std::uint64_t notification_number,
                              const std::string& system_modstamp) {
  const std::string n = std::to_string(user_number);
  return user_notification{make_id("04l", notification_number),
                           make_id("005", user_number),
                           {{"Department", "Engineering"},
                            {"Email", "user" + n + "@acme.example"},
                            {"FirstName", "First" + n},
                            {"IsActive", "true"},
                            {"LastModifiedDate", system_modstamp},
                            {"LastName", "Last" + n},
                            {"SystemModstamp", system_modstamp},
                            {"Title", "Engineer"},
                            {"Username", "user" + n + "@acme.example.prod"},
                            {"iSpring_Groups__c", "Onboarding;Compliance"}}};
}

}  // namespace connector::testing

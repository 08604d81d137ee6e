// Field mapping: Salesforce record fields → the iSpring user, with absent (unknown) kept
// apart from null (cleared).
#include "connector/sync/mapping.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace connector::sync {
namespace {

using nlohmann::json;
using strings = std::vector<std::string>;

config::mapping_settings test_mapping() {
  config::mapping_settings m;
  m.groups = "iSpring_Groups__c";
  m.fields = {{"first_name", "FirstName"}, {"job_title", "Title"}};
  return m;
}

json full_record() {
  return {{"Username", "jane@acme.com.prod"},
          {"Email", "jane@acme.com"},
          {"LastName", "Doe"},
          {"FirstName", "Jane"},
          {"Title", "Engineer"},
          {"Department", "Sales"},
          {"iSpring_Groups__c", "Onboarding;Compliance"},
          {"IsActive", "true"}};
}

TEST(Mapping, MapsEveryTargetOfAFullRecord) {
  const mapped_user u = map_user(full_record(), "005000000000001", test_mapping());
  EXPECT_EQ(u.record_id, "005000000000001");
  EXPECT_EQ(u.login, "jane@acme.com.prod");
  EXPECT_EQ(u.email, "jane@acme.com");
  EXPECT_EQ(u.last_name, "Doe");
  EXPECT_EQ(u.department, "Sales");
  EXPECT_EQ(u.groups, (strings{"Onboarding", "Compliance"}));
  EXPECT_EQ(u.fields, (std::map<std::string, std::string>{{"first_name", "Jane"},
                                                          {"job_title", "Engineer"}}));
  EXPECT_EQ(u.active, true);
  EXPECT_EQ(u.username, "jane@acme.com.prod");
  EXPECT_EQ(u.profile(), (std::map<std::string, std::string>{{"email", "jane@acme.com"},
                                                             {"first_name", "Jane"},
                                                             {"job_title", "Engineer"},
                                                             {"last_name", "Doe"},
                                                             {"login", "jane@acme.com.prod"}}));
}

TEST(Mapping, AbsentFieldsAreUnknownAndNullFieldsAreCleared) {
  // A change event: only Title (cleared) and Email changed.
  const json event = {{"Title", nullptr}, {"Email", "new@acme.com"}};
  const mapped_user u = map_user(event, "005000000000001", test_mapping());
  EXPECT_EQ(u.email, "new@acme.com");
  EXPECT_FALSE(u.login);
  EXPECT_FALSE(u.last_name);
  EXPECT_FALSE(u.department);
  EXPECT_FALSE(u.groups);
  EXPECT_FALSE(u.active);
  EXPECT_FALSE(u.username);
  EXPECT_EQ(u.fields, (std::map<std::string, std::string>{{"job_title", ""}}));
  EXPECT_EQ(u.profile(),
            (std::map<std::string, std::string>{{"email", "new@acme.com"}, {"job_title", ""}}));
}

TEST(Mapping, GroupFieldIsAMultiSelectPicklist) {
  const auto groups_of = [](json value) {
    return map_user({{"iSpring_Groups__c", std::move(value)}}, "x", test_mapping()).groups;
  };
  EXPECT_EQ(groups_of(" Onboarding ; ;Compliance;onboarding;; Sales EMEA "),
            (strings{"Onboarding", "Compliance", "Sales EMEA"}));
  EXPECT_EQ(groups_of(""), strings{});
  EXPECT_EQ(groups_of(nullptr), strings{});  // cleared: in no group
  EXPECT_EQ(groups_of(";"), strings{});
}

TEST(Mapping, NoGroupFieldMappedMeansGroupsUnknown) {
  config::mapping_settings m = test_mapping();
  m.groups.clear();
  EXPECT_FALSE(map_user(full_record(), "x", m).groups);
}

TEST(Mapping, IsActiveReadsTextAndBooleans) {
  const auto active_of = [](json value) {
    return map_user({{"IsActive", std::move(value)}}, "x", test_mapping()).active;
  };
  EXPECT_EQ(active_of("true"), true);
  EXPECT_EQ(active_of("FALSE"), false);
  EXPECT_EQ(active_of(true), true);  // JSON change events carry booleans
  EXPECT_EQ(active_of(false), false);
  EXPECT_EQ(active_of("maybe"), std::nullopt);
  EXPECT_EQ(active_of(nullptr), std::nullopt);
  EXPECT_EQ(map_user(json::object(), "x", test_mapping()).active, std::nullopt);
}

TEST(Mapping, DepartmentIsTrimmedAndBlankMeansNone) {
  EXPECT_EQ(map_user({{"Department", "  Sales "}}, "x", test_mapping()).department, "Sales");
  EXPECT_EQ(map_user({{"Department", "   "}}, "x", test_mapping()).department, "");
  EXPECT_EQ(map_user({{"Department", nullptr}}, "x", test_mapping()).department, "");
}

TEST(Mapping, RelationshipPathsReadFlatOrNested) {
  config::mapping_settings m = test_mapping();
  m.fields = {{"MANAGER_EMAIL", "Manager.Email"}};
  EXPECT_EQ(map_user({{"Manager.Email", "boss@acme.com"}}, "x", m).fields.at("MANAGER_EMAIL"),
            "boss@acme.com");
  const json nested = {{"Manager", {{"attributes", {{"type", "User"}}}, {"Email", "b@acme.com"}}}};
  EXPECT_EQ(map_user(nested, "x", m).fields.at("MANAGER_EMAIL"), "b@acme.com");
  EXPECT_EQ(map_user({{"Manager", nullptr}}, "x", m).fields.at("MANAGER_EMAIL"), "");
  EXPECT_FALSE(
      map_user({{"Manager", {{"Name", "Boss"}}}}, "x", m).fields.contains("MANAGER_EMAIL"));
}

TEST(Mapping, NonTextValuesAreTextOrAbsent) {
  config::mapping_settings m = test_mapping();
  m.fields = {{"EMPLOYEE_NUMBER", "EmployeeNumber"}, {"ADDRESS", "Address"}};
  const json r = {{"EmployeeNumber", 42}, {"Address", {{"City", "Berlin"}}}};
  const mapped_user u = map_user(r, "x", m);
  EXPECT_EQ(u.fields.at("EMPLOYEE_NUMBER"), "42");
  EXPECT_FALSE(u.fields.contains("ADDRESS"));  // a compound value has no single text
}

TEST(Mapping, ARecordThatIsNotAnObjectCarriesNothing) {
  for (const json& r : {json(nullptr), json::array({1, 2}), json("Sales")}) {
    const mapped_user u = map_user(r, "x", test_mapping());
    EXPECT_TRUE(u.profile().empty());
    EXPECT_FALSE(u.department);
    EXPECT_FALSE(u.active);
  }
}

TEST(Mapping, RequiredSalesforceFieldsListEachFieldOnce) {
  config::mapping_settings m = test_mapping();
  m.login = "username";  // same field as Username, other case: SOQL would refuse it twice
  m.fields["title_copy"] = "Title";
  EXPECT_EQ(required_salesforce_fields(m),
            (strings{"Id", "Username", "IsActive", "SystemModstamp", "Email", "LastName",
                     "Department", "iSpring_Groups__c", "FirstName", "Title"}));
  m.groups.clear();
  m.fields.clear();
  EXPECT_EQ(required_salesforce_fields(m), (strings{"Id", "Username", "IsActive", "SystemModstamp",
                                                    "Email", "LastName", "Department"}));
}

TEST(mapping, missing_mapped_fields_names_what_a_partial_change_lacks) {
  config::mapping_settings m;
  m.groups = "iSpring_Groups__c";
  m.fields = {{"job_title", "Title"}, {"manager", "Manager.Email"}};
  // An UPDATE change event carries only what changed.
  EXPECT_EQ(missing_mapped_fields(json{{"Title", "Lead"}}, m),
            (strings{"Username", "IsActive", "Email", "LastName", "Department", "iSpring_Groups__c",
                     "Manager.Email"}));
  // null is known (cleared), a nested null relationship too; Id and SystemModstamp do not count.
  const json full = {{"Username", "a@b.c"}, {"IsActive", true},      {"Email", "a@b.c"},
                     {"LastName", nullptr}, {"Department", "Sales"}, {"iSpring_Groups__c", ""},
                     {"Title", "Lead"},     {"Manager", nullptr}};
  EXPECT_EQ(missing_mapped_fields(full, m), strings{});
  EXPECT_EQ(missing_mapped_fields(json::object(), m).size(), 8u);
}

TEST(mapping, differing_mapped_fields_names_what_a_notification_claimed_against_salesforce) {
  config::mapping_settings m;
  m.fields = {{"job_title", "Title"}};
  const json read = {{"Id", "0055g0000000001AAA"},
                     {"Username", "a@acme.com"},
                     {"IsActive", true},
                     {"Email", "a@acme.com"},
                     {"LastName", "A"},
                     {"Title", nullptr},
                     {"SystemModstamp", "2026-11-01T10:00:00.000Z"}};
  // The same values as Salesforce has them in an outbound message's text: nothing differs.
  EXPECT_EQ(differing_mapped_fields(json{{"Username", "a@acme.com"},
                                         {"IsActive", "true"},
                                         {"Email", "a@acme.com"},
                                         {"Title", ""},
                                         {"SystemModstamp", "2030-01-01T00:00:00.000Z"}},
                                    read, m),
            strings{});
  // Forged: e-mail, active flag, a title Salesforce holds null for, a department it lacks.
  EXPECT_EQ(differing_mapped_fields(json{{"Email", "evil@example.com"},
                                         {"IsActive", "false"},
                                         {"Title", "Forged"},
                                         {"Department", "Board"},
                                         {"LastName", "A"}},
                                    read, m),
            (strings{"IsActive", "Email", "Department", "Title"}));
}

}  // namespace
}  // namespace connector::sync

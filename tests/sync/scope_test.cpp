// Scope rules: every decision and the reason text an administrator reads.
#include "connector/sync/scope.hpp"

#include <gtest/gtest.h>

#include "connector/salesforce/ids.hpp"

namespace connector::sync {
namespace {

using strings = std::vector<std::string>;

constexpr const char* record_id_15 = "0055g00000AbCdE";

mapped_user user_in(std::optional<std::string> department, std::optional<bool> active = true) {
  mapped_user u;
  u.record_id = *salesforce::to_18_char_id(record_id_15);
  u.login = "jane@acme.com.prod";
  u.username = "Jane@Acme.com.prod";
  u.department = std::move(department);
  u.active = active;
  return u;
}

config::sync_settings selected_departments() {
  config::sync_settings s;
  s.departments["Sales"] = {true, "Sales EMEA", {}};
  s.departments["Marketing"] = {true, std::nullopt, {}};
  s.departments["Support"] = {false, std::nullopt, {"someone@acme.com", "other@acme.com"}};
  s.departments["Legal"] = {false, std::nullopt, {"jane@acme.com.PROD"}};
  s.departments["Finance"] = {false, std::nullopt, {record_id_15}};
  return s;
}

config::sync_settings with_wildcard(bool sync_all_users = true) {
  config::sync_settings s = selected_departments();
  s.departments["*"] = {sync_all_users, std::nullopt, {}};
  return s;
}

struct scope_case {
  const char* name;
  mapped_user user;
  config::sync_settings sync;
  bool in_scope;
  sync_action action;
  std::string reason;
  std::string department;
};

class ScopeRules : public ::testing::TestWithParam<scope_case> {};

TEST_P(ScopeRules, DecideWithAReason) {
  const scope_case& c = GetParam();
  const scope_decision d = decide_scope(c.user, c.sync);
  EXPECT_EQ(d.in_scope, c.in_scope);
  EXPECT_EQ(to_string(d.action), std::string(to_string(c.action)));
  EXPECT_EQ(d.reason, c.reason);
  EXPECT_EQ(d.department, c.department);
}

config::sync_settings acting(config::user_action inactive, config::user_action out_of_scope,
                             config::sync_settings s = selected_departments()) {
  s.inactive_users = inactive;
  s.out_of_scope_users = out_of_scope;
  return s;
}

using config::user_action;

INSTANTIATE_TEST_SUITE_P(
    Table, ScopeRules,
    ::testing::Values(
        scope_case{"AllDepartmentsWhenNoneListed",
                   user_in("Engineering"),
                   {},
                   true,
                   sync_action::upsert,
                   "all departments are synced",
                   "Engineering"},
        scope_case{"SelectedDepartmentRenamed", user_in("Sales"), selected_departments(), true,
                   sync_action::upsert, "department 'Sales' is selected", "Sales EMEA"},
        scope_case{"SelectedDepartmentKeyIgnoresCase", user_in("sales"), selected_departments(),
                   true, sync_action::upsert, "department 'sales' is selected", "Sales EMEA"},
        scope_case{"SelectedDepartmentKeepsItsName", user_in("Marketing"), selected_departments(),
                   true, sync_action::upsert, "department 'Marketing' is selected", "Marketing"},
        scope_case{"NotSelected", user_in("Engineering"), selected_departments(), false,
                   sync_action::deactivate, "department 'Engineering' is not selected", ""},
        scope_case{"WildcardTakesUnlisted", user_in("Engineering"), with_wildcard(), true,
                   sync_action::upsert, "department 'Engineering' is synced by the '*' rule",
                   "Engineering"},
        scope_case{"WildcardLeavesListedRulesAlone", user_in("Sales"), with_wildcard(), true,
                   sync_action::upsert, "department 'Sales' is selected", "Sales EMEA"},
        scope_case{"WildcardWithOnlyListedUsers", user_in("Engineering"), with_wildcard(false),
                   false, sync_action::deactivate,
                   "user is not listed in department 'Engineering' (sync_all_users is off)", ""},
        scope_case{"NotListed", user_in("Support"), selected_departments(), false,
                   sync_action::deactivate,
                   "user is not listed in department 'Support' (sync_all_users is off)", ""},
        scope_case{"ListedByUsernameIgnoringCase", user_in("Legal"), selected_departments(), true,
                   sync_action::upsert, "user is listed in department 'Legal'", "Legal"},
        scope_case{"ListedBy15CharRecordId", user_in("Finance"), selected_departments(), true,
                   sync_action::upsert, "user is listed in department 'Finance'", "Finance"},
        scope_case{
            "NoDepartment", user_in(""), {}, false, sync_action::deactivate, "no department", ""},
        scope_case{"NoDepartmentIgnored", user_in(""),
                   acting(user_action::deactivate, user_action::ignore), false, sync_action::ignore,
                   "no department", ""},
        scope_case{"OutOfScopeDeleted", user_in("Engineering"),
                   acting(user_action::deactivate, user_action::remove), false, sync_action::remove,
                   "department 'Engineering' is not selected", ""},
        scope_case{"DepartmentUnknownInAPartialRecord",
                   user_in(std::nullopt),
                   {},
                   false,
                   sync_action::ignore,
                   "department unknown (not in the record)",
                   ""},
        scope_case{"Inactive", user_in("Sales", false), selected_departments(), false,
                   sync_action::deactivate, "IsActive = false", ""},
        scope_case{"InactiveWinsOverNoDepartment",
                   user_in("", false),
                   {},
                   false,
                   sync_action::deactivate,
                   "IsActive = false",
                   ""},
        scope_case{"InactiveIgnored", user_in("Sales", false),
                   acting(user_action::ignore, user_action::deactivate), false, sync_action::ignore,
                   "IsActive = false", ""},
        scope_case{"InactiveDeleted", user_in("Sales", false),
                   acting(user_action::remove, user_action::ignore), false, sync_action::remove,
                   "IsActive = false", ""},
        scope_case{"ActiveUnknownStillSynced", user_in("Sales", std::nullopt),
                   selected_departments(), true, sync_action::upsert,
                   "department 'Sales' is selected", "Sales EMEA"}),
    [](const ::testing::TestParamInfo<scope_case>& info) { return info.param.name; });

TEST(ScopeGroups, AllGroupsAreManagedByDefault) {
  config::sync_settings s;
  mapped_user u = user_in("Sales");
  u.groups = strings{"Onboarding", "Anything"};
  EXPECT_EQ(desired_groups(u, s), (strings{"Onboarding", "Anything"}));
  EXPECT_TRUE(manages_group(s.groups, "Managers"));
}

TEST(ScopeGroups, OnlyListedGroupsAreManaged) {
  config::sync_settings s;
  s.groups = strings{"Onboarding", "Compliance"};
  mapped_user u = user_in("Sales");
  u.groups = strings{"onboarding", "Managers"};
  EXPECT_EQ(desired_groups(u, s), strings{"onboarding"});
  EXPECT_TRUE(manages_group(s.groups, "COMPLIANCE"));
  EXPECT_FALSE(manages_group(s.groups, "Managers"));
}

TEST(ScopeGroups, UnknownGroupFieldLeavesMembershipAlone) {
  EXPECT_FALSE(desired_groups(user_in("Sales"), {}));
}

// --- Add New Department: custom departments with hand-picked users -------------------------

config::department_rule custom_department(strings users,
                                          std::optional<std::string> ispring_name = {}) {
  config::department_rule rule;
  rule.custom = true;
  rule.sync_all_users = false;
  rule.users = std::move(users);
  rule.ispring_name = std::move(ispring_name);
  return rule;
}

// Selected departments plus "Onboarding", which hand-picks Jane (by Username).
config::sync_settings with_onboarding(config::sync_settings s = selected_departments()) {
  s.departments["Onboarding"] = custom_department({"jane@acme.com.prod", "kim@acme.com"});
  return s;
}

mapped_user someone_else_in(std::optional<std::string> department) {
  mapped_user u = user_in(std::move(department));
  u.record_id = "005000000000XYZAAA";
  u.login = u.username = "bob@acme.com";
  return u;
}

void expect_placed(const scope_decision& d, const std::string& department, const std::string& key,
                   const std::string& reason) {
  EXPECT_TRUE(d.in_scope) << d.reason;
  EXPECT_EQ(to_string(d.action), std::string("upsert"));
  EXPECT_EQ(d.department, department);
  EXPECT_EQ(d.department_key, key);
  EXPECT_EQ(d.reason, reason);
}

void expect_out(const scope_decision& d, sync_action action, const std::string& reason) {
  EXPECT_FALSE(d.in_scope) << d.reason;
  EXPECT_EQ(to_string(d.action), std::string(to_string(action)));
  EXPECT_EQ(d.reason, reason);
  EXPECT_EQ(d.department, "");
  EXPECT_EQ(d.department_key, "");
}

TEST(ScopeCustomDepartment, HandPickedUserFromAnUnselectedDepartment) {
  expect_placed(decide_scope(user_in("Engineering"), with_onboarding()), "Onboarding", "Onboarding",
                "hand-picked for department 'Onboarding'");
}

TEST(ScopeCustomDepartment, HandPickedUserWithoutADepartment) {
  // "Users without a department are not synchronised" is about Salesforce's Department; a
  // hand-picked user has one: ours.
  expect_placed(decide_scope(user_in(""), with_onboarding()), "Onboarding", "Onboarding",
                "hand-picked for department 'Onboarding'");
  expect_placed(decide_scope(user_in(std::nullopt), with_onboarding()), "Onboarding", "Onboarding",
                "hand-picked for department 'Onboarding'");
}

TEST(ScopeCustomDepartment, HandPickedUserLeavesAnotherSelectedDepartment) {
  // Jane's Department is Sales (selected, named "Sales EMEA"); the custom one wins.
  expect_placed(decide_scope(user_in("Sales"), with_onboarding()), "Onboarding", "Onboarding",
                "hand-picked for department 'Onboarding'");
  // Even a department that lists her by name.
  expect_placed(decide_scope(user_in("Legal"), with_onboarding()), "Onboarding", "Onboarding",
                "hand-picked for department 'Onboarding'");
  // And under "*".
  expect_placed(decide_scope(user_in("Engineering"), with_onboarding(with_wildcard())),
                "Onboarding", "Onboarding", "hand-picked for department 'Onboarding'");
}

TEST(ScopeCustomDepartment, HandPickedByRecordIdAndNamedInISpring) {
  config::sync_settings s = selected_departments();
  s.departments["Onboarding"] = custom_department({record_id_15}, "New hires");
  expect_placed(decide_scope(user_in("Engineering"), s), "New hires", "Onboarding",
                "hand-picked for department 'Onboarding'");
  EXPECT_EQ(configured_department_name(s, "Onboarding"), "New hires");
}

TEST(ScopeCustomDepartment, ASalesforceDepartmentOfTheSameNameIsNotPulledIn) {
  // Bob's Salesforce Department happens to be "Onboarding": the custom entry's key is not a
  // Department value, so it does not select him, in any spelling, nor does "*".
  const std::string reason =
      " is not selected (sync.departments has a custom department of that name: only its "
      "listed users go there)";
  for (const auto& s : {with_onboarding(), with_onboarding(with_wildcard())}) {
    expect_out(decide_scope(someone_else_in("Onboarding"), s), sync_action::deactivate,
               "department 'Onboarding'" + reason);
    expect_out(decide_scope(someone_else_in("ONBOARDING"), s), sync_action::deactivate,
               "department 'ONBOARDING'" + reason);
    // Links for such a key would be shared with the custom department's: never named.
    EXPECT_EQ(configured_department_name(s, "onboarding"), std::nullopt);
  }
  // Only the custom entries listed: every other Salesforce department is unselected too.
  config::sync_settings only_custom;
  only_custom.departments["Onboarding"] = custom_department({"jane@acme.com.prod"});
  expect_out(decide_scope(someone_else_in("Engineering"), only_custom), sync_action::deactivate,
             "department 'Engineering' is not selected");
}

TEST(ScopeCustomDepartment, TakenOutOfTheListFollowsTheOrdinaryRules) {
  config::sync_settings s = selected_departments();
  s.departments["Onboarding"] = custom_department({"kim@acme.com"});
  expect_placed(decide_scope(user_in("Sales"), s), "Sales EMEA", "Sales",
                "department 'Sales' is selected");
  expect_out(decide_scope(user_in("Engineering"), s), sync_action::deactivate,
             "department 'Engineering' is not selected");
}

TEST(ScopeCustomDepartment, InactiveHandPickedUserFollowsInactiveUsers) {
  expect_out(decide_scope(user_in("Engineering", false), with_onboarding()),
             sync_action::deactivate, "IsActive = false");
}

TEST(ScopeCustomDepartment, ARecordWithoutItsUsernameIsLeftAlone) {
  // A partial record cannot show whether a Username list holds the user: acting on it could
  // take a hand-picked user out of their department (or deactivate them). Nothing happens.
  mapped_user u = user_in("Engineering");
  u.username.reset();
  expect_out(decide_scope(u, with_onboarding()), sync_action::ignore,
             "Username unknown (not in the record): a custom department may list it");
  // Listed by record id only, the record id is always known: decided as usual.
  config::sync_settings by_id = selected_departments();
  by_id.departments["Onboarding"] = custom_department({record_id_15});
  expect_placed(decide_scope(u, by_id), "Onboarding", "Onboarding",
                "hand-picked for department 'Onboarding'");
  // Without custom departments a missing Username changes nothing.
  expect_out(decide_scope(u, selected_departments()), sync_action::deactivate,
             "department 'Engineering' is not selected");
}

// --- Choose users by group (sync.select_by "group") -----------------------------------------

config::sync_settings by_group(config::sync_settings s = selected_departments()) {
  s.select_by = "group";
  s.groups = strings{"Sales Team", "Mentors"};
  // Entries name departments only: the users lists belong to department mode.
  for (auto it = s.departments.begin(); it != s.departments.end();)
    it = it->second.sync_all_users ? std::next(it) : s.departments.erase(it);
  return s;
}

mapped_user grouped(std::optional<std::string> department,
                    std::optional<strings> groups = strings{"Managers", "sales team"}) {
  mapped_user u = user_in(std::move(department));
  u.groups = std::move(groups);
  return u;
}

const std::string chosen = "in group 'sales team' (users are chosen by group)";

TEST(ScopeByGroup, AUserInAChosenGroupIsInScopeInTheirDepartment) {
  // Engineering is in no sync.departments entry: by group, departments select no one.
  expect_placed(decide_scope(grouped("Engineering"), by_group()), "Engineering", "Engineering",
                chosen);
  // An entry still names its department in iSpring.
  expect_placed(decide_scope(grouped("sales"), by_group()), "Sales EMEA", "Sales", chosen);
  EXPECT_EQ(configured_department_name(by_group(), "Sales"), "Sales EMEA");
  EXPECT_EQ(configured_department_name(by_group(), "Engineering"), "Engineering");
}

TEST(ScopeByGroup, AUserInNoChosenGroupIsOutOfScope) {
  expect_out(decide_scope(grouped("Sales", strings{"Managers"}), by_group()),
             sync_action::deactivate, "in none of sync.groups (users are chosen by group)");
  expect_out(decide_scope(grouped("Sales", strings{}), by_group()), sync_action::deactivate,
             "in none of sync.groups (users are chosen by group)");
  config::sync_settings ignoring = by_group();
  ignoring.out_of_scope_users = user_action::ignore;
  expect_out(decide_scope(grouped("Sales", strings{}), ignoring), sync_action::ignore,
             "in none of sync.groups (users are chosen by group)");
}

TEST(ScopeByGroup, AMissingGroupFieldDoesNothing) {
  // A partial change event without the group field: like a missing department, nothing.
  const std::string reason = "group field unknown (not in the record)";
  expect_out(decide_scope(grouped("Sales", std::nullopt), by_group()), sync_action::ignore, reason);
  expect_out(decide_scope(grouped("", std::nullopt), by_group()), sync_action::ignore, reason);
  expect_out(decide_scope(grouped("Sales", std::nullopt), with_onboarding(by_group())),
             sync_action::ignore, reason);
  // Inactive still wins: IsActive = false is known.
  expect_out(decide_scope(user_in("Sales", false), by_group()), sync_action::deactivate,
             "IsActive = false");
}

TEST(ScopeByGroup, TheDepartmentIsStillRequired) {
  expect_out(decide_scope(grouped(""), by_group()), sync_action::deactivate,
             chosen + " but has no department");
  expect_out(decide_scope(grouped(std::nullopt), by_group()), sync_action::ignore,
             "department unknown (not in the record)");
}

TEST(ScopeByGroup, CustomDepartmentsPlaceButDoNotSelect) {
  const config::sync_settings s = with_onboarding(by_group());
  expect_placed(decide_scope(grouped(""), s), "Onboarding", "Onboarding",
                chosen + "; hand-picked for department 'Onboarding'");
  expect_placed(decide_scope(grouped("Sales"), s), "Onboarding", "Onboarding",
                chosen + "; hand-picked for department 'Onboarding'");
  // Selection is by group only: listed in a custom department is not enough.
  expect_out(decide_scope(grouped("Sales", strings{"Managers"}), s), sync_action::deactivate,
             "in none of sync.groups (users are chosen by group)");
  // A same-named Salesforce department is not merged into the custom one.
  mapped_user bob = someone_else_in("Onboarding");
  bob.groups = strings{"Mentors"};
  expect_out(decide_scope(bob, s), sync_action::deactivate,
             "in group 'Mentors' (users are chosen by group) but department 'Onboarding' is "
             "the name of a custom department that does not list the user");
}

}  // namespace
}  // namespace connector::sync

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

}  // namespace
}  // namespace connector::sync

// The full reconciliation's planner: every action, every seed rule, the safety limit. Pure:
// Salesforce records and iSpring users in, a plan out.
#include "connector/sync/reconcile_plan.hpp"

#include <algorithm>
#include <set>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "connector/sync/mapping.hpp"

namespace connector::sync {
namespace {

using nlohmann::json;
using strings = std::vector<std::string>;

// Valid 18-character ids are not needed by the planner: it compares record ids as given.
json record(const std::string& id, const std::string& login, const std::string& department,
            bool active = true, const std::string& groups = "") {
  return {{"Id", id},           {"Username", login},  {"Email", login + ".mail"},
          {"LastName", "Doe"},  {"FirstName", "Jo"},  {"Department", department},
          {"IsActive", active}, {"Groups__c", groups}};
}

class ReconcilePlan : public ::testing::Test {
 protected:
  ReconcilePlan() {
    mapping_.groups = "Groups__c";
    mapping_.fields = {{"first_name", "FirstName"}};
    input_.directory.departments = {{"root", "Company", std::nullopt, std::nullopt},
                                    {"d-sales", "Sales", "root", std::nullopt},
                                    {"d-support", "Support", "root", std::nullopt}};
    input_.directory.groups = {{"g-onb", "Onboarding", false, std::nullopt},
                               {"g-smart", "Smart", true, std::nullopt}};
  }

  void salesforce(const json& r) {
    input_.desired.push_back(
        make_desired_user(map_user(r, r["Id"].get<std::string>(), mapping_), sync_));
  }

  // An iSpring user that agrees with record(id, login, department).
  ispring::user& ispring(const std::string& id, const std::string& login,
                         const std::string& department_id, strings groups = {}) {
    ispring::user u;
    u.id = id;
    u.login = login;
    u.email = login + ".mail";
    u.department_id = department_id;
    u.fields = {
        {"login", login}, {"email", login + ".mail"}, {"last_name", "Doe"}, {"first_name", "Jo"}};
    u.group_ids = std::move(groups);
    input_.actual.push_back(std::move(u));
    return input_.actual.back();
  }

  const reconcile_plan& plan() {
    plan_ = make_reconcile_plan(input_, sync_);
    return plan_;
  }

  const planned_user& user(const std::string& record_id) const {
    const auto it =
        std::find_if(plan_.users.begin(), plan_.users.end(),
                     [&](const planned_user& u) { return u.desired.record_id == record_id; });
    EXPECT_NE(it, plan_.users.end()) << record_id;
    return *it;
  }

  static strings kinds(const planned_user& u) {
    strings out;
    for (const auto k : u.kinds) out.push_back(to_string(k));
    return out;
  }

  // The move that leaves a department behind must be planned, or a "kept" department would
  // hold for a plan that did nothing at all.
  static void expect_move_from_support_to_sales(const planned_user& u) {
    ASSERT_EQ(kinds(u), strings{"move"});
    ASSERT_TRUE(u.plan.department);
    EXPECT_EQ(u.plan.department->from_id, "d-support");
    EXPECT_EQ(u.plan.department->name, "Sales");
  }

  config::mapping_settings mapping_;
  config::sync_settings sync_;
  reconcile_input input_;
  reconcile_plan plan_;
};

TEST_F(ReconcilePlan, NewSalesforceUserIsCreated) {
  salesforce(record("r1", "ann", "Sales", true, "Onboarding"));
  plan();
  const auto& u = user("r1");
  EXPECT_EQ(kinds(u), (strings{"create", "groups"}));
  EXPECT_TRUE(u.should_apply());
  EXPECT_EQ(u.plan.department->id, "d-sales");
  EXPECT_EQ(plan_.counts().at("create"), 1);
  EXPECT_EQ(plan_.counts().at("to_apply"), 1);
}

TEST_F(ReconcilePlan, AUserThatAgreesIsUnchangedAndNotApplied) {
  salesforce(record("r1", "ann", "Sales"));
  ispring("u1", "ann", "d-sales");
  input_.links = {{"r1", "u1"}};
  plan();
  EXPECT_EQ(kinds(user("r1")), strings{"unchanged"});
  EXPECT_FALSE(user("r1").should_apply());
  EXPECT_EQ(plan_.to_apply(), 0u);
  EXPECT_TRUE(plan_.new_links.empty());
}

TEST_F(ReconcilePlan, OnlyTheFieldsThatDifferAreUpdated) {
  auto r = record("r1", "ann", "Sales");
  r["FirstName"] = "Anna";
  salesforce(r);
  ispring("u1", "ann", "d-sales");
  plan();
  const auto& u = user("r1");
  EXPECT_EQ(kinds(u), strings{"update"});
  ASSERT_EQ(u.plan.fields.size(), 1u);
  EXPECT_EQ(u.plan.fields[0].field, "first_name");
  EXPECT_EQ(u.plan.fields[0].from, "Jo");
  EXPECT_EQ(u.plan.fields[0].to, "Anna");
}

TEST_F(ReconcilePlan, ADepartmentChangeIsAMove) {
  salesforce(record("r1", "ann", "Support"));
  ispring("u1", "ann", "d-sales");
  plan();
  const auto& u = user("r1");
  EXPECT_EQ(kinds(u), strings{"move"});
  EXPECT_EQ(u.plan.department->from_name, "Sales");
  EXPECT_EQ(u.plan.department->id, "d-support");
}

TEST_F(ReconcilePlan, GroupsAreAddedAndRemovedButSmartGroupsLeftAlone) {
  salesforce(record("r1", "ann", "Sales", true, "Smart"));
  ispring("u1", "ann", "d-sales", {"g-onb"});
  plan();
  const auto& u = user("r1");
  EXPECT_EQ(kinds(u), strings{"groups"});
  ASSERT_EQ(u.plan.remove_groups.size(), 1u);
  EXPECT_EQ(u.plan.remove_groups[0].name, "Onboarding");
  EXPECT_TRUE(u.plan.add_groups.empty());
}

TEST_F(ReconcilePlan, InactiveUsersAreDeactivatedAndActiveOnesReactivated) {
  salesforce(record("r1", "ann", "Sales", false));
  salesforce(record("r2", "bob", "Sales", true));
  ispring("u1", "ann", "d-sales");
  ispring("u2", "bob", "d-sales").status = ispring::user_status_inactive;
  plan();
  EXPECT_EQ(kinds(user("r1")), strings{"deactivate"});
  EXPECT_EQ(kinds(user("r2")), strings{"reactivate"});
}

TEST_F(ReconcilePlan, AnAlreadyInactiveUserIsUnchangedAndAMissingOneIgnored) {
  salesforce(record("r1", "ann", "Sales", false));
  salesforce(record("r2", "bob", "Sales", false));
  ispring("u1", "ann", "d-sales").status = ispring::user_status_inactive;
  plan();
  EXPECT_EQ(kinds(user("r1")), strings{"unchanged"});
  EXPECT_EQ(kinds(user("r2")), strings{"ignored"});
}

TEST_F(ReconcilePlan, DeleteOnlyWhenConfigured) {
  sync_.inactive_users = config::user_action::remove;
  salesforce(record("r1", "ann", "Sales", false));
  ispring("u1", "ann", "d-sales");
  plan();
  EXPECT_EQ(kinds(user("r1")), strings{"delete"});
  EXPECT_TRUE(user("r1").plan.remove);
}

TEST_F(ReconcilePlan, UsersWithoutADepartmentAreNotSynchronised) {
  sync_.out_of_scope_users = config::user_action::ignore;
  salesforce(record("r1", "ann", ""));
  ispring("u1", "ann", "d-sales");
  plan();
  EXPECT_EQ(kinds(user("r1")), strings{"ignored"});
  EXPECT_EQ(user("r1").desired.reason, "no department");
}

TEST_F(ReconcilePlan, UnselectedDepartmentsAreOutOfScopeWithTheirReason) {
  sync_.departments = {{"Sales", {}}};
  salesforce(record("r1", "ann", "Support"));
  ispring("u1", "ann", "d-support");
  plan();
  EXPECT_EQ(kinds(user("r1")), strings{"deactivate"});
  EXPECT_NE(user("r1").desired.reason.find("'Support' is not selected"), std::string::npos)
      << user("r1").desired.reason;
}

TEST_F(ReconcilePlan, TheLinkWinsOverLoginAndMatchesByKeysAreRemembered) {
  auto renamed = record("r1", "ann.new", "Sales");
  salesforce(renamed);
  salesforce(record("r2", "bob", "Sales"));
  salesforce(record("r3", "cy", "Sales"));
  ispring("u1", "ann.old", "d-sales");
  ispring("u2", "bob", "d-sales");
  auto& by_mail = ispring("u3", "cy-other", "d-sales");
  by_mail.email = "cy.mail";
  input_.links = {{"r1", "u1"}};
  plan();
  EXPECT_EQ(user("r1").matched_by, "link");
  EXPECT_EQ(kinds(user("r1")), strings{"update"});  // login and e-mail follow Salesforce
  EXPECT_EQ(user("r2").matched_by, "login");
  EXPECT_EQ(user("r3").matched_by, "e-mail");
  using link = std::pair<std::string, std::string>;
  EXPECT_EQ(plan_.new_links, (std::vector<link>{{"r2", "u2"}, {"r3", "u3"}}));
}

TEST_F(ReconcilePlan, LoginsMatchIgnoringCase) {
  salesforce(record("r1", "Ann@Acme", "Sales"));
  ispring("u1", "ann@acme", "d-sales").email = "ann@acme.mail";
  plan();
  EXPECT_EQ(user("r1").matched_by, "login");
  EXPECT_FALSE(user("r1").plan.create);
}

TEST_F(ReconcilePlan, OneIspringUserIsNeverMatchedTwice) {
  salesforce(record("r1", "ann", "Sales"));
  auto second = record("r2", "ann-2", "Sales");
  second["Email"] = "ann.mail";  // same e-mail as r1's iSpring user
  salesforce(second);
  ispring("u1", "ann", "d-sales");
  plan();
  EXPECT_EQ(user("r1").matched_by, "login");
  EXPECT_EQ(kinds(user("r2")), strings{"problem"});
  EXPECT_NE(user("r2").plan.problem.find("already matched to Salesforce user r1"),
            std::string::npos);
  EXPECT_FALSE(user("r2").should_apply());
}

TEST_F(ReconcilePlan, IspringUsersMatchingNoSalesforceUserAreNeverTouched) {
  salesforce(record("r1", "ann", "Sales"));
  ispring("u1", "ann", "d-sales");
  ispring("u9", "manual.admin", "d-sales");
  plan();
  ASSERT_EQ(plan_.users.size(), 1u);
  EXPECT_EQ(plan_.counts().at("deactivate"), 0);
}

TEST_F(ReconcilePlan, LinkedUsersTheQueryNoLongerReturnsAreRetired) {
  salesforce(record("r1", "ann", "Sales"));
  ispring("u1", "ann", "d-sales");
  ispring("u2", "gone", "d-sales");
  input_.links = {{"r1", "u1"}, {"r2", "u2"}};
  plan();
  const auto& gone = user("r2");
  EXPECT_EQ(kinds(gone), strings{"deactivate"});
  EXPECT_EQ(gone.desired.reason, "the Salesforce query no longer returns this user");
  EXPECT_EQ(plan_.counts().at("salesforce_users"), 1);
}

// A link to an iSpring user that is gone (deleted by hand) is as no link: the record is
// matched by login again, and the missing user is never retired (there is nothing to retire).
TEST_F(ReconcilePlan, ALinkToAUserIspringNoLongerHasIsAsNoLink) {
  salesforce(record("r1", "ann", "Sales"));
  ispring("u9", "ann", "d-sales");
  input_.links = {{"r1", "u-deleted"}, {"r2", "u-also-deleted"}};
  plan();
  const auto& u = user("r1");
  EXPECT_EQ(u.matched_by, "login");
  ASSERT_EQ(plan_.new_links.size(), 1u);
  EXPECT_EQ(plan_.new_links[0], (std::pair<std::string, std::string>{"r1", "u9"}));
  EXPECT_EQ(plan_.users.size(), 1u);  // no retirement planned for r2
}

TEST(StoredLinks, EachLinkIsFoundByItsRecordAndTheFirstOfARecordCounts) {
  stored_links links;
  for (int i = 0; i < 50'000; ++i)
    links.add("0055g" + std::to_string(1'000'000 + i) + "AAA",
              "00000000-0000-1000-8000-" + std::to_string(100'000'000'000 + i));
  links.add("0055g1000007AAA", "a-later-link");  // the same record again: ignored
  ASSERT_EQ(links.size(), 50'000u);
  for (int i = 0; i < 50'000; i += 7) {
    const auto record = "0055g" + std::to_string(1'000'000 + i) + "AAA";
    const auto found = links.find(record);
    ASSERT_TRUE(found) << record;
    EXPECT_EQ(links.record_id(*found), record);
    EXPECT_EQ(links.ispring_user_id(*found),
              "00000000-0000-1000-8000-" + std::to_string(100'000'000'000 + i));
  }
  EXPECT_EQ(links.ispring_user_id(*links.find("0055g1000007AAA")),
            "00000000-0000-1000-8000-100000000007");
  EXPECT_FALSE(links.find("0055g1000007aaa"));  // record ids are exact
  EXPECT_FALSE(links.find(""));
}

TEST_F(ReconcilePlan, AnIncompleteReadRetiresNobody) {
  input_.salesforce_complete = false;
  salesforce(record("r1", "ann", "Sales"));
  ispring("u1", "ann", "d-sales");
  ispring("u2", "gone", "d-sales");
  input_.links = {{"r1", "u1"}, {"r2", "u2"}};
  plan();
  EXPECT_EQ(plan_.users.size(), 1u);
}

TEST_F(ReconcilePlan, RecordsInFlightAreLeftToTheWorker) {
  auto r = record("r1", "ann", "Sales");
  r["FirstName"] = "Anna";
  salesforce(r);
  ispring("u1", "ann", "d-sales");
  input_.in_flight = {"r1"};
  plan();
  EXPECT_EQ(kinds(user("r1")), strings{"deferred"});
  EXPECT_FALSE(user("r1").should_apply());
  EXPECT_EQ(plan_.counts().at("deferred"), 1);
}

// --- departments: the connector owns what it linked (design.md "Trust") ------------------

TEST_F(ReconcilePlan, ALinkedDepartmentWhoseNameChangedIsRenamedInPlace) {
  sync_.departments = {{"Sales", {true, "Sales EMEA", {}}}};
  input_.department_links = {{"Sales", {"d-sales", "Sales"}}};
  salesforce(record("r1", "ann", "Sales"));
  salesforce(record("r2", "bob", "Sales"));
  ispring("u1", "ann", "d-sales");
  ispring("u2", "bob", "d-sales");
  plan();
  ASSERT_EQ(plan_.renames.size(), 1u);
  EXPECT_EQ(plan_.renames[0].id, "d-sales");
  EXPECT_EQ(plan_.renames[0].from, "Sales");
  EXPECT_EQ(plan_.renames[0].to, "Sales EMEA");
  EXPECT_EQ(plan_.renames[0].key, "Sales");
  EXPECT_EQ(plan_.renames[0].problem, "");
  EXPECT_EQ(kinds(user("r1")), strings{"unchanged"});  // no move: the department follows
  EXPECT_EQ(kinds(user("r2")), strings{"unchanged"});
  EXPECT_TRUE(plan_.departments_to_create.empty());
  EXPECT_TRUE(plan_.deletions.empty());
  EXPECT_TRUE(plan_.adoptions.empty());
  EXPECT_EQ(plan_.counts().at("departments_renamed"), 1);
}

// The case the old inference got wrong: users change department in the same run, and the
// renamed one is still renamed in place, with no department created or deleted.
TEST_F(ReconcilePlan, ARenameHappensWhateverUsersDoInTheSameRun) {
  sync_.departments = {{"Sales", {true, "Sales EMEA", {}}}, {"Support", {}}};
  input_.department_links = {{"Sales", {"d-sales", "Sales"}},
                             {"Support", {"d-support", "Support"}}};
  salesforce(record("r1", "ann", "Sales"));   // stays
  salesforce(record("r2", "bob", "Sales"));   // comes from Support
  salesforce(record("r3", "cy", "Support"));  // leaves Sales
  ispring("u1", "ann", "d-sales");
  ispring("u2", "bob", "d-support");
  ispring("u3", "cy", "d-sales");
  plan();
  ASSERT_EQ(plan_.renames.size(), 1u);
  EXPECT_EQ(plan_.renames[0].id, "d-sales");
  EXPECT_EQ(plan_.renames[0].to, "Sales EMEA");
  EXPECT_TRUE(plan_.departments_to_create.empty());
  EXPECT_TRUE(plan_.deletions.empty());
  EXPECT_EQ(kinds(user("r1")), strings{"unchanged"});
  ASSERT_EQ(kinds(user("r2")), strings{"move"});
  EXPECT_EQ(user("r2").plan.department->id, "d-sales");
  EXPECT_EQ(user("r2").plan.department->name, "Sales EMEA");
  EXPECT_EQ(user("r2").plan.department->from_id, "d-support");
  ASSERT_EQ(kinds(user("r3")), strings{"move"});
  EXPECT_EQ(user("r3").plan.department->id, "d-support");
  EXPECT_EQ(user("r3").plan.department->from_id, "d-sales");
  EXPECT_EQ(plan_.counts().at("move"), 2);
}

// "Legacy" is nobody's: it holds a user the connector does not manage and one it is about
// to link. It is neither renamed nor deleted; the linked user moves to a new Sales EMEA.
TEST_F(ReconcilePlan, ADepartmentNobodyLinkedIsNeverRenamedOrDeleted) {
  sync_.departments = {{"Sales", {true, "Sales EMEA", {}}}};
  input_.directory.departments.push_back({"d-legacy", "Legacy", "root", std::nullopt});
  salesforce(record("r1", "ann", "Sales"));
  ispring("u1", "ann", "d-legacy");
  ispring("u9", "manual", "d-legacy");
  plan();
  EXPECT_TRUE(plan_.renames.empty());
  EXPECT_TRUE(plan_.deletions.empty());
  EXPECT_TRUE(plan_.adoptions.empty());
  EXPECT_EQ(plan_.departments_to_create, strings{"Sales EMEA"});
  ASSERT_EQ(kinds(user("r1")), strings{"move"});
  EXPECT_EQ(user("r1").plan.department->id, "");
  EXPECT_EQ(user("r1").plan.department->name, "Sales EMEA");
  EXPECT_EQ(user("r1").plan.department->from_id, "d-legacy");
  ASSERT_EQ(plan_.users.size(), 1u);  // the unmanaged user is in no plan at all
}

TEST_F(ReconcilePlan, AnUnlinkedDepartmentLeftEmptyIsNotDeleted) {
  salesforce(record("r1", "ann", "Sales"));
  ispring("u1", "ann", "d-support");  // moves to Sales; Support was never the connector's
  plan();
  EXPECT_EQ(kinds(user("r1")), strings{"move"});
  EXPECT_TRUE(plan_.deletions.empty());
}

TEST_F(ReconcilePlan, ALinkedDepartmentLeftWithNoUsersIsDeleted) {
  input_.department_links = {{"Support", {"d-support", "Support"}}};
  salesforce(record("r1", "ann", "Sales"));
  ispring("u1", "ann", "d-support");
  plan();
  ASSERT_EQ(plan_.deletions.size(), 1u);
  EXPECT_EQ(plan_.deletions[0].id, "d-support");
  EXPECT_EQ(plan_.deletions[0].name, "Support");
  EXPECT_EQ(plan_.deletions[0].reason, "left with no synchronised users");
}

TEST_F(ReconcilePlan, ALinkedDepartmentWithOtherUsersIsKept) {
  input_.department_links = {{"Support", {"d-support", "Support"}}};
  salesforce(record("r1", "ann", "Sales"));
  ispring("u1", "ann", "d-support");
  ispring("u9", "manual", "d-support");
  plan();
  expect_move_from_support_to_sales(user("r1"));
  EXPECT_TRUE(plan_.deletions.empty());
}

TEST_F(ReconcilePlan, EmptyDepartmentsAreKeptWhenConfigured) {
  sync_.delete_empty_departments = false;
  input_.department_links = {{"Support", {"d-support", "Support"}}};
  salesforce(record("r1", "ann", "Sales"));
  ispring("u1", "ann", "d-support");
  plan();
  expect_move_from_support_to_sales(user("r1"));
  EXPECT_TRUE(plan_.deletions.empty());
}

TEST_F(ReconcilePlan, OnlyLinkedEmptyLeavesAreDeletedAndNeverTheRootOrParent) {
  sync_.parent_department = "Salesforce";
  input_.directory.departments.push_back({"d-sf", "Salesforce", "root", std::nullopt});
  input_.directory.departments.push_back({"d-sf-sales", "Sales", "d-sf", std::nullopt});
  input_.directory.departments.push_back({"d-sf-old", "Old", "d-sf", std::nullopt});
  input_.directory.departments.push_back({"d-sf-manual", "Manual", "d-sf", std::nullopt});
  input_.department_links = {{"Old", {"d-sf-old", "Old"}}};
  salesforce(record("r1", "ann", "Sales"));
  ispring("u1", "ann", "d-sf-sales");
  plan();
  ASSERT_EQ(plan_.deletions.size(), 1u);
  EXPECT_EQ(plan_.deletions[0].id, "d-sf-old");
  EXPECT_EQ(plan_.deletions[0].reason, "empty");
  // Manual (empty, under the parent) and Support (empty, under the root) are not linked.
}

TEST_F(ReconcilePlan, AnExistingDepartmentOfTheConfiguredNameIsAdopted) {
  sync_.departments = {{"Sales", {}}};
  salesforce(record("r1", "ann", "Sales"));
  ispring("u1", "ann", "d-support");
  plan();
  ASSERT_EQ(plan_.adoptions.size(), 1u);
  EXPECT_EQ(plan_.adoptions[0].key, "Sales");
  EXPECT_EQ(plan_.adoptions[0].id, "d-sales");
  EXPECT_EQ(plan_.adoptions[0].name, "Sales");
  ASSERT_TRUE(user("r1").desired.department_link);
  EXPECT_EQ(user("r1").desired.department_link->id, "d-sales");
  EXPECT_EQ(user("r1").plan.department->id, "d-sales");
  EXPECT_TRUE(plan_.departments_to_create.empty());
}

TEST_F(ReconcilePlan, OnlyADepartmentUnderTheConfiguredParentIsAdopted) {
  sync_.parent_department = "Salesforce";
  input_.directory.departments.push_back({"d-sf", "Salesforce", "root", std::nullopt});
  salesforce(record("r1", "ann", "Sales"));  // a "Sales" exists, but under the root
  plan();
  EXPECT_TRUE(plan_.adoptions.empty());
  EXPECT_EQ(plan_.departments_to_create, strings{"Sales"});
  EXPECT_EQ(user("r1").plan.department->id, "");
}

TEST_F(ReconcilePlan, UsersGoToTheLinkedDepartmentWhateverItIsCalledNow) {
  // An administrator renamed it in iSpring; the config did not change: no rename back.
  input_.directory.departments[1].name = "Sales (old)";
  input_.department_links = {{"Sales", {"d-sales", "Sales"}}};
  salesforce(record("r1", "ann", "Sales"));
  salesforce(record("r2", "bob", "Sales"));
  ispring("u1", "ann", "d-sales");
  ispring("u2", "bob", "d-support");
  plan();
  EXPECT_TRUE(plan_.renames.empty());
  EXPECT_TRUE(plan_.departments_to_create.empty());
  EXPECT_EQ(kinds(user("r1")), strings{"unchanged"});
  ASSERT_EQ(kinds(user("r2")), strings{"move"});
  EXPECT_EQ(user("r2").plan.department->id, "d-sales");
  EXPECT_EQ(user("r2").plan.department->name, "Sales (old)");
}

TEST_F(ReconcilePlan, DepartmentKeysAndNamesCompareIgnoringCase) {
  // Under "*", Salesforce values "sales" and "Sales" are one key, as iSpring holds one
  // department for both; a case-only difference is no rename (it would flip back and forth).
  sync_.departments = {{"*", {}}};
  input_.department_links = {{"sales", {"d-sales", "sales"}}};
  salesforce(record("r1", "ann", "Sales"));
  salesforce(record("r2", "bob", "sales"));
  ispring("u2", "bob", "d-support");
  plan();
  for (const char* id : {"r1", "r2"}) {
    ASSERT_TRUE(user(id).desired.department_link) << id;
    EXPECT_EQ(user(id).desired.department_link->id, "d-sales") << id;
    EXPECT_EQ(user(id).plan.department->id, "d-sales") << id;
  }
  EXPECT_TRUE(plan_.renames.empty());
  EXPECT_TRUE(plan_.adoptions.empty());
  EXPECT_TRUE(plan_.departments_to_create.empty());
}

// --- Custom departments ("Add New Department") and choosing users by group ------------------

config::department_rule hand_picked(strings users) {
  config::department_rule rule;
  rule.custom = true;
  rule.sync_all_users = false;
  rule.users = std::move(users);
  return rule;
}

TEST_F(ReconcilePlan, ACustomDepartmentIsCreatedAndItsUsersMovedIn) {
  sync_.departments = {{"Sales", {}}, {"Onboarding", hand_picked({"ann", "bob"})}};
  salesforce(record("r1", "ann", "Sales"));        // selected department, listed: moves
  salesforce(record("r2", "bob", "Engineering"));  // unselected department, listed: created
  salesforce(record("r3", "cy", "Sales"));         // not listed: stays in Sales
  salesforce(record("r4", "dan", "Onboarding"));   // a Salesforce value of the same name
  ispring("u1", "ann", "d-sales");
  ispring("u3", "cy", "d-sales");
  input_.links = {{"r1", "u1"}, {"r3", "u3"}};
  plan();
  EXPECT_EQ(plan_.departments_to_create, strings{"Onboarding"});
  ASSERT_EQ(kinds(user("r1")), strings{"move"});
  EXPECT_EQ(user("r1").plan.department->name, "Onboarding");
  EXPECT_EQ(user("r1").plan.department->from_id, "d-sales");
  EXPECT_EQ(user("r1").desired.department_key, "Onboarding");
  ASSERT_EQ(kinds(user("r2")), strings{"create"});
  EXPECT_EQ(user("r2").plan.department->name, "Onboarding");
  EXPECT_EQ(kinds(user("r3")), strings{"unchanged"});
  // Dan is not pulled in by the name: not created anywhere.
  EXPECT_EQ(kinds(user("r4")), strings{"ignored"});
  EXPECT_FALSE(user("r4").desired.department_key == "Onboarding");
  EXPECT_EQ(plan_.counts().at("create"), 1);
}

TEST_F(ReconcilePlan, ACustomDepartmentEmptiedIsDeletedOnlyBecauseWeOwnIt) {
  input_.directory.departments.push_back({"d-onb", "Onboarding", "root", std::nullopt});
  sync_.departments = {{"Sales", {}}, {"Onboarding", hand_picked({"bob"})}};
  salesforce(record("r1", "ann", "Sales"));  // taken out of the list: back to Sales
  ispring("u1", "ann", "d-onb");
  input_.links = {{"r1", "u1"}};
  input_.department_links = {{"Onboarding", {"d-onb", "Onboarding"}}};
  plan();
  ASSERT_EQ(kinds(user("r1")), strings{"move"});
  EXPECT_EQ(user("r1").plan.department->id, "d-sales");
  ASSERT_EQ(plan_.deletions.size(), 1u);
  EXPECT_EQ(plan_.deletions[0].id, "d-onb");
  EXPECT_EQ(plan_.deletions[0].reason, "left with no synchronised users");
}

TEST_F(ReconcilePlan, ADepartmentOfACustomNameMadeByHandIsNeverDeleted) {
  // The same department made by hand in iSpring (no link): left where it is.
  input_.directory.departments.push_back({"d-onb", "Onboarding", "root", std::nullopt});
  sync_.departments = {{"Sales", {}}, {"Onboarding", hand_picked({"bob"})}};
  salesforce(record("r1", "ann", "Sales"));
  ispring("u1", "ann", "d-onb");
  input_.links = {{"r1", "u1"}};
  plan();
  ASSERT_EQ(kinds(user("r1")), strings{"move"});
  EXPECT_EQ(user("r1").plan.department->id, "d-sales");
  EXPECT_TRUE(plan_.deletions.empty());
}

TEST_F(ReconcilePlan, ACustomDepartmentRenamedInTheConfigIsRenamedInPlace) {
  input_.directory.departments.push_back({"d-onb", "Onboarding", "root", std::nullopt});
  auto rule = hand_picked({"ann"});
  rule.ispring_name = "New hires";
  sync_.departments = {{"Onboarding", rule}};
  salesforce(record("r1", "ann", "Support"));
  ispring("u1", "ann", "d-onb");
  input_.links = {{"r1", "u1"}};
  input_.department_links = {{"Onboarding", {"d-onb", "Onboarding"}}};
  plan();
  ASSERT_EQ(plan_.renames.size(), 1u);
  EXPECT_EQ(plan_.renames[0].id, "d-onb");
  EXPECT_EQ(plan_.renames[0].to, "New hires");
  EXPECT_EQ(plan_.renames[0].key, "Onboarding");
  EXPECT_EQ(kinds(user("r1")), strings{"unchanged"});
  EXPECT_TRUE(plan_.deletions.empty());
}

TEST_F(ReconcilePlan, ChosenByGroupOnlyTheGroupsUsersAreSynced) {
  sync_.select_by = "group";
  sync_.groups = strings{"Onboarding"};
  salesforce(record("r1", "ann", "Sales", true, "Onboarding"));
  salesforce(record("r2", "bob", "Sales", true, "Other"));
  salesforce(record("r3", "cy", "Engineering", true, "Onboarding;Other"));
  ispring("u2", "bob", "d-sales");
  input_.links = {{"r2", "u2"}};
  plan();
  EXPECT_EQ(kinds(user("r1")), (strings{"create", "groups"}));
  EXPECT_EQ(kinds(user("r2")), strings{"deactivate"});
  EXPECT_EQ(user("r2").desired.reason, "in none of sync.groups (users are chosen by group)");
  EXPECT_EQ(kinds(user("r3")), (strings{"create", "groups"}));
  EXPECT_EQ(user("r3").plan.department->name, "Engineering");
  EXPECT_EQ(plan_.departments_to_create, strings{"Engineering"});
}

TEST_F(ReconcilePlan, ALinkedDepartmentIsRenamedByTheConfigEvenWithNoUsersBound) {
  sync_.delete_empty_departments = false;
  sync_.departments = {{"Sales", {true, "Sales EMEA", {}}}, {"Support", {}}};
  input_.department_links = {{"Sales", {"d-sales", "Sales"}}};
  salesforce(record("r1", "ann", "Support"));
  ispring("u1", "ann", "d-sales");  // the last user leaves
  plan();
  ASSERT_EQ(plan_.renames.size(), 1u);
  EXPECT_EQ(plan_.renames[0].id, "d-sales");
  EXPECT_EQ(plan_.renames[0].to, "Sales EMEA");
}

TEST_F(ReconcilePlan, ADepartmentDeletedForGoodIsNotRenamedFirst) {
  sync_.departments = {{"Sales", {true, "Sales EMEA", {}}}, {"Support", {}}};
  input_.department_links = {{"Sales", {"d-sales", "Sales"}}};
  salesforce(record("r1", "ann", "Support"));
  ispring("u1", "ann", "d-sales");
  plan();
  EXPECT_TRUE(plan_.renames.empty());
  ASSERT_EQ(plan_.deletions.size(), 1u);
  EXPECT_EQ(plan_.deletions[0].id, "d-sales");
  EXPECT_EQ(plan_.deletions[0].name, "Sales");
}

TEST_F(ReconcilePlan, ARenameOntoAnotherDepartmentsNameIsAProblemNotACall) {
  sync_.departments = {{"Sales", {true, "Support", {}}}};
  input_.department_links = {{"Sales", {"d-sales", "Sales"}}};
  salesforce(record("r1", "ann", "Sales"));
  ispring("u1", "ann", "d-sales");
  plan();
  ASSERT_EQ(plan_.renames.size(), 1u);
  EXPECT_EQ(plan_.renames[0].id, "d-sales");
  EXPECT_EQ(plan_.renames[0].problem, "another department named 'Support' exists beside it");
  EXPECT_EQ(plan_.counts().at("departments_renamed"), 0);
  // Ann stays in the linked department; Support (not the connector's) gets nobody.
  EXPECT_EQ(kinds(user("r1")), strings{"unchanged"});
}

TEST_F(ReconcilePlan, ALinkToADepartmentIspringNoLongerHasIsForgotten) {
  input_.department_links = {{"Sales", {"d-gone", "Sales"}}};
  salesforce(record("r1", "ann", "Sales"));
  plan();
  EXPECT_EQ(plan_.gone_departments, strings{"d-gone"});
  ASSERT_EQ(plan_.adoptions.size(), 1u);  // placed like a new key: by name
  EXPECT_EQ(plan_.adoptions[0].id, "d-sales");
  EXPECT_EQ(user("r1").plan.department->id, "d-sales");
}

TEST_F(ReconcilePlan, AChangedParentPlacesTheKeyAnewAndTheOldOwnedDepartmentGoes) {
  sync_.parent_department = "Salesforce";
  input_.directory.departments.push_back({"d-sf", "Salesforce", "root", std::nullopt});
  input_.department_links = {{"Sales", {"d-sales", "Sales"}}};  // under the root
  salesforce(record("r1", "ann", "Sales"));
  ispring("u1", "ann", "d-sales");
  plan();
  EXPECT_TRUE(plan_.renames.empty());
  EXPECT_TRUE(plan_.gone_departments.empty());
  EXPECT_EQ(plan_.departments_to_create, strings{"Sales"});
  ASSERT_EQ(kinds(user("r1")), strings{"move"});
  EXPECT_EQ(user("r1").plan.department->id, "");
  EXPECT_EQ(user("r1").plan.department->parent, "Salesforce");
  ASSERT_EQ(plan_.deletions.size(), 1u);
  EXPECT_EQ(plan_.deletions[0].id, "d-sales");
}

TEST_F(ReconcilePlan, DryRunOutputTellsRenamesAdoptionsAndWhy) {
  sync_.departments = {{"Sales", {true, "Sales EMEA", {}}}, {"Support", {}}};
  input_.department_links = {{"Sales", {"d-sales", "Sales"}}};
  salesforce(record("r1", "ann", "Sales"));
  salesforce(record("r2", "bob", "Support"));
  ispring("u1", "ann", "d-sales");
  ispring("u2", "bob", "d-support");
  plan();
  const std::string table = plan_to_table(plan_, false);
  EXPECT_NE(table.find("rename department 'Sales' → 'Sales EMEA' (its name for 'Sales' changed)"),
            std::string::npos)
      << table;
  EXPECT_NE(table.find("link department 'Support' to 'Support'"), std::string::npos) << table;
  const json j = plan_to_json(plan_, false);
  EXPECT_EQ(j["departments"]["rename"],
            json::parse(R"([{"id":"d-sales","from":"Sales","to":"Sales EMEA","key":"Sales"}])"));
  EXPECT_EQ(j["departments"]["adopt"],
            json::parse(R"([{"id":"d-support","name":"Support","key":"Support"}])"));
}

TEST_F(ReconcilePlan, TheSafetyLimitStopsTooManyDeactivations) {
  sync_.max_deactivations = "1";
  salesforce(record("r1", "ann", "Sales", false));
  salesforce(record("r2", "bob", "Sales", false));
  ispring("u1", "ann", "d-sales");
  ispring("u2", "bob", "d-sales");
  plan();
  EXPECT_TRUE(plan_.safety.exceeded);
  EXPECT_EQ(plan_.safety.retirements, 2u);
  EXPECT_EQ(plan_.safety.limit, 1u);
  EXPECT_NE(plan_.safety.message.find("would deactivate or delete 2 users"), std::string::npos)
      << plan_.safety.message;
}

TEST_F(ReconcilePlan, TheSafetyLimitAllowsExactlyItsCount) {
  sync_.max_deactivations = "50%";
  salesforce(record("r1", "ann", "Sales", false));
  salesforce(record("r2", "bob", "Sales", true));
  ispring("u1", "ann", "d-sales");
  ispring("u2", "bob", "d-sales");
  plan();
  EXPECT_EQ(plan_.safety.limit, 1u);
  EXPECT_FALSE(plan_.safety.exceeded);
}

TEST(DeactivationLimit, CountsSharesAndNonsense) {
  EXPECT_EQ(deactivation_limit(std::nullopt, 100), std::nullopt);
  EXPECT_EQ(deactivation_limit("25", 100), 25u);
  EXPECT_EQ(deactivation_limit("10%", 1000), 100u);
  EXPECT_EQ(deactivation_limit("10%", 5), 0u);  // a share of few users rounds down
  EXPECT_EQ(deactivation_limit("2.5%", 1000), 25u);
  EXPECT_EQ(deactivation_limit("ten", 100), std::nullopt);
}

TEST_F(ReconcilePlan, JsonAndTableShowTheChangedUsers) {
  auto r = record("r1", "ann", "Sales");
  r["FirstName"] = "Anna";
  salesforce(r);
  salesforce(record("r2", "bob", "Sales"));
  ispring("u1", "ann", "d-sales");
  ispring("u2", "bob", "d-sales");
  plan();
  const json j = plan_to_json(plan_, false);
  ASSERT_EQ(j["users"].size(), 1u);
  EXPECT_EQ(j["users"][0]["record_id"], "r1");
  EXPECT_EQ(j["users"][0]["actions"], json::array({"update"}));
  EXPECT_EQ(j["users"][0]["changes"][0], "set first_name 'Jo' → 'Anna'");
  EXPECT_EQ(j["counts"]["update"], 1);
  EXPECT_EQ(plan_to_json(plan_, true)["users"].size(), 2u);
  const std::string table = plan_to_table(plan_, false);
  EXPECT_NE(table.find("update"), std::string::npos) << table;
  EXPECT_NE(table.find("set first_name 'Jo' → 'Anna'"), std::string::npos) << table;
  EXPECT_EQ(table.find("bob"), std::string::npos) << table;
}

}  // namespace
}  // namespace connector::sync

// --- the streaming planner: only changes kept, the same plan -----------------------------

namespace connector::sync {
namespace {

class StreamingPlan : public ReconcilePlan {
 protected:
  // The reconciler's way: the iSpring users packed, each Salesforce user planned as it comes,
  // unchanged users counted and dropped.
  reconcile_plan stream(const std::set<std::string>& in_flight_at_the_end = {}) {
    ispring_index index;
    for (const auto& u : input_.actual) index.add(u);
    index.seal();
    reconcile_sources sources{input_.directory, {}, input_.department_links, input_.in_flight};
    for (const auto& [record_id, user_id] : input_.links) sources.links.add(record_id, user_id);
    reconcile_planner planner(index, std::move(sources), sync_, false);
    for (const auto& d : input_.desired) planner.add(d);
    return planner.finish(input_.salesforce_complete, in_flight_at_the_end);
  }

  // Every kind of user, department change and retirement at once.
  void everything() {
    sync_.departments = {{"Sales", {true, "Sales EMEA", {}}}, {"Support", {}}, {"Old", {}}};
    sync_.delete_empty_departments = true;
    input_.directory.departments.push_back({"d-old", "Old", "root", std::nullopt});
    input_.department_links = {{"Sales", {"d-sales", "Sales"}},
                               {"Support", {"d-support", "Support"}},
                               {"Old", {"d-old", "Old"}}};
    for (int i = 0; i < 50; ++i) {  // unchanged, linked; a third without the group field
      const std::string n = "same" + std::to_string(i);
      auto same = record("r-" + n, n, i % 2 ? "Sales" : "Support");
      if (i % 3 == 0) same.erase("Groups__c");
      salesforce(same);
      ispring("u-" + n, n, i % 2 ? "d-sales" : "d-support");
      input_.links.emplace("r-" + n, "u-" + n);
    }
    auto changed = record("r-upd", "upd", "Sales");
    changed["FirstName"] = "Changed";
    salesforce(changed);
    ispring("u-upd", "upd", "d-sales");                       // update, matched by login
    auto case_only = record("r-case", "Case.User", "Sales");  // a login's case is no change
    case_only.erase("Groups__c");
    salesforce(case_only);
    ispring("u-case", "case.user", "d-sales");
    auto first_name_case = record("r-fcase", "fcase", "Sales");  // a name's case is one
    first_name_case["FirstName"] = "jo";
    first_name_case.erase("Groups__c");
    salesforce(first_name_case);
    ispring("u-fcase", "fcase", "d-sales");
    salesforce(record("r-mv", "mv", "Support"));  // moves out of Old
    ispring("u-mv", "mv", "d-old");
    salesforce(record("r-new", "new", "Sales", true, "Onboarding"));  // create
    salesforce(record("r-off", "off", "Sales", false));               // deactivate
    ispring("u-off", "off", "d-sales");
    salesforce(record("r-none", "none", "Sales", false));  // ignored: nothing to retire
    salesforce(record("r-fly", "fly", "Sales"));           // deferred
    ispring("u-fly", "fly", "d-support");
    input_.in_flight = {"r-fly"};
    salesforce(record("r-twice", "upd", "Sales"));  // problem: u-upd is taken
    ispring("u-gone", "gone", "d-sales");           // retired: the query lost it
    input_.links.emplace("r-gone", "u-gone");
    ispring("u-manual", "manual", "d-support");  // nobody's: never touched
  }
};

TEST_F(StreamingPlan, KeepsOnlyTheChangesAndCountsAndShowsTheSameAsAFullPlan) {
  everything();
  const reconcile_input copy = input_;
  const reconcile_plan streamed = stream();
  input_ = copy;
  plan();  // every user kept
  EXPECT_EQ(plan_.users.size(), 60u);
  EXPECT_EQ(streamed.users.size(), 9u);  // upd, fcase, mv, new, off, none, fly, twice, gone
  EXPECT_EQ(streamed.omitted.unchanged, 51);
  EXPECT_EQ(streamed.counts(), plan_.counts());
  EXPECT_EQ(plan_to_json(streamed, false), plan_to_json(plan_, false));
  EXPECT_EQ(plan_to_table(streamed, false), plan_to_table(plan_, false));
  EXPECT_EQ(streamed.new_links, plan_.new_links);
  EXPECT_EQ(streamed.new_links.size(), 6u);  // upd, case, fcase, mv, off, fly: by login
  EXPECT_EQ(streamed.safety.synchronised, plan_.safety.synchronised);
  EXPECT_EQ(streamed.safety.retirements, 2u);  // off and gone
  ASSERT_EQ(streamed.deletions.size(), 1u);
  EXPECT_EQ(streamed.deletions[0].id, "d-old");
  EXPECT_EQ(streamed.ispring_users, 58u);
  // What is applied is exactly what the full plan applies.
  std::vector<std::string> applied, applied_full;
  for (const auto& u : streamed.users)
    if (u.should_apply()) applied.push_back(u.desired.record_id);
  for (const auto& u : plan_.users)
    if (u.should_apply()) applied_full.push_back(u.desired.record_id);
  EXPECT_EQ(applied, applied_full);
  EXPECT_EQ(applied, (strings{"r-upd", "r-fcase", "r-mv", "r-new", "r-off", "r-gone"}));
}

TEST_F(StreamingPlan, ASalesforceUserAfterTheOneThatClaimedItsIspringUserIsAProblem) {
  // The same iSpring user found by the link of a later record and the login of an earlier
  // one: query order decides, as in a full plan.
  salesforce(record("r1", "ann", "Sales"));
  salesforce(record("r2", "ann.other", "Sales"));
  ispring("u1", "ann", "d-sales");
  input_.links = {{"r2", "u1"}};
  const reconcile_plan p = stream();
  ASSERT_EQ(p.users.size(), 1u);
  EXPECT_EQ(p.users[0].desired.record_id, "r2");
  EXPECT_EQ(p.users[0].plan.problem,
            "iSpring user u1 matched by link is already matched to Salesforce user r1");
  EXPECT_EQ(p.omitted.unchanged, 1);
  EXPECT_EQ(p.new_links, (std::vector<std::pair<std::string, std::string>>{{"r1", "u1"}}));
}

TEST_F(StreamingPlan, ARecordThatWentInFlightDuringTheReadIsLeftToTheWorker) {
  auto r = record("r1", "ann", "Sales");
  r["FirstName"] = "Anna";
  salesforce(r);
  ispring("u1", "ann", "d-sales");
  const reconcile_plan p = stream({"r1"});
  ASSERT_EQ(p.users.size(), 1u);
  EXPECT_EQ(kinds(p.users[0]), strings{"deferred"});
  EXPECT_EQ(p.to_apply(), 0u);
}

TEST_F(StreamingPlan, AMoveOutOfADepartmentRenamedByALaterKeyShowsItsNewName) {
  sync_.departments = {{"Sales", {true, "Sales EMEA", {}}}, {"Support", {}}};
  input_.department_links = {{"Sales", {"d-sales", "Sales"}},
                             {"Support", {"d-support", "Support"}}};
  salesforce(record("r1", "cy", "Support"));  // planned before the Sales key is seen
  salesforce(record("r2", "ann", "Sales"));
  ispring("u1", "cy", "d-sales");
  ispring("u2", "ann", "d-sales");
  const reconcile_plan p = stream();
  ASSERT_EQ(p.renames.size(), 1u);
  ASSERT_EQ(p.users.size(), 1u);
  ASSERT_TRUE(p.users[0].plan.department);
  EXPECT_EQ(p.users[0].plan.department->from_name, "Sales EMEA");
  EXPECT_EQ(p.users[0].plan.department->id, "d-support");
}

TEST_F(StreamingPlan, UnchangedUsersAreNotKeptAtTwentyThousand) {
  for (int i = 0; i < 20'000; ++i) {
    const std::string n = "u" + std::to_string(i);
    salesforce(record("r" + n, n, "Sales"));
    ispring("i" + n, n, "d-sales");
    input_.links.emplace("r" + n, "i" + n);
  }
  ispring("i-gone", "gone", "d-sales");
  input_.links.emplace("r-gone", "i-gone");
  const reconcile_plan p = stream();
  ASSERT_EQ(p.users.size(), 1u);  // only the one the query lost
  EXPECT_EQ(p.users[0].desired.record_id, "r-gone");
  EXPECT_EQ(kinds(p.users[0]), strings{"deactivate"});
  EXPECT_EQ(p.counts().at("unchanged"), 20'000);
  EXPECT_EQ(p.counts().at("salesforce_users"), 20'000);
  EXPECT_EQ(p.counts().at("in_scope"), 20'000);
  EXPECT_EQ(p.safety.synchronised, 20'001u);
}

}  // namespace
}  // namespace connector::sync

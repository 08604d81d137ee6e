// The applier against the in-memory iSpring sandbox, through the in-process adapter (real
// wire formats). Each test reads iSpring's state back from the sandbox and checks which
// calls were made in its request log.
#include "connector/sync/applier.hpp"

#include <algorithm>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/in_process_ispring.hpp"
#include "support/ispring_sandbox.hpp"

namespace connector::sync {
namespace {

using nlohmann::json;
using strings = std::vector<std::string>;
using testing::in_process_ispring;
using testing::ispring_sandbox;

bool contains(const strings& items, const std::string& item) {
  return std::find(items.begin(), items.end(), item) != items.end();
}

class Applier : public ::testing::Test {
 protected:
  Applier() {
    mapping_.groups = "iSpring_Groups__c";
    mapping_.fields = {{"first_name", "FirstName"}, {"job_title", "Title"}};
  }

  static json record(const std::string& login = "jane@acme.com.prod",
                     const std::string& email = "jane@acme.com") {
    return {{"Id", "005000000000001"}, {"Username", login},   {"Email", email},
            {"LastName", "Doe"},       {"FirstName", "Jane"}, {"Title", "Engineer"},
            {"Department", "Sales"},   {"IsActive", "true"},  {"iSpring_Groups__c", ""}};
  }

  desired_user desired(const json& r) const {
    return make_desired_user(map_user(r, r.value("Id", "005000000000001"), mapping_), sync_);
  }

  apply_result apply(const json& r, const std::optional<std::string>& link = std::nullopt) {
    return applier_(desired(r), link);
  }

  // Endpoints of the requests that change something, from log position `from` on.
  strings writes_since(std::size_t from) const {
    strings out;
    const auto log = sandbox_.request_log();
    for (std::size_t i = from; i < log.size(); ++i)
      if (log[i].method != "GET") out.push_back(log[i].endpoint);
    return out;
  }
  std::size_t log_size() const { return sandbox_.request_log().size(); }

  static std::string steps_text(const apply_result& r) {
    std::string out;
    for (const auto& s : r.steps) out += s.to_string() + "\n";
    return out;
  }

  testing::sandbox_user user(const std::string& id) const { return *sandbox_.find_user(id); }
  std::string department_name(const std::string& id) const {
    for (const auto& d : sandbox_.departments())
      if (d.id == id) return d.name;
    return {};
  }
  strings group_names_of(const std::string& user_id) const {
    strings out;
    for (const auto& g : sandbox_.groups())
      if (contains(g.user_ids, user_id)) out.push_back(g.name);
    return out;
  }

  ispring_sandbox sandbox_;
  in_process_ispring api_{sandbox_};
  directory directory_{api_};
  applier applier_{api_, directory_};
  config::mapping_settings mapping_;
  config::sync_settings sync_;
};

TEST_F(Applier, NewUserAppearsWithFieldsDepartmentAndGroups) {
  sync_.parent_department = "Salesforce";
  sync_.departments["Sales"] = {true, "Sales EMEA", {}};
  const std::string colleague = sandbox_.add_user("bob", "bob@acme.com");
  sandbox_.add_group("Onboarding", {colleague});
  json r = record();
  r["iSpring_Groups__c"] = "Onboarding;Compliance";

  const apply_result result = apply(r);

  ASSERT_TRUE(result.ok) << steps_text(result);
  const auto u = user(result.ispring_user_id);
  EXPECT_EQ(u.login(), "jane@acme.com.prod");
  EXPECT_EQ(u.email(), "jane@acme.com");
  EXPECT_EQ(u.fields.at("last_name"), "Doe");
  EXPECT_EQ(u.fields.at("first_name"), "Jane");
  EXPECT_EQ(u.fields.at("job_title"), "Engineer");
  EXPECT_FALSE(u.send_login_email);
  EXPECT_EQ(u.status, 1);
  const auto sales = sandbox_.find_department_by_name("Sales EMEA");
  const auto parent = sandbox_.find_department_by_name("Salesforce");
  ASSERT_TRUE(sales && parent);
  EXPECT_EQ(u.department_id, sales->id);
  EXPECT_EQ(sales->parent_id, parent->id);
  EXPECT_EQ(parent->parent_id, sandbox_.root_department_id());
  EXPECT_EQ(group_names_of(u.id), (strings{"Onboarding", "Compliance"}));
  EXPECT_EQ(sandbox_.find_group_by_name("Onboarding")->user_ids, (strings{colleague, u.id}));

  const std::string text = steps_text(result);
  EXPECT_NE(text.find("match: no iSpring user with login 'jane@acme.com.prod'"), std::string::npos)
      << text;
  EXPECT_NE(text.find("department: created 'Salesforce' under the root"), std::string::npos);
  EXPECT_NE(text.find("department: created 'Sales EMEA' under 'Salesforce'"), std::string::npos);
  EXPECT_NE(text.find("create: created user " + u.id), std::string::npos);
  EXPECT_NE(text.find("groups: added to 'Onboarding'"), std::string::npos);
  EXPECT_NE(text.find("groups: created group 'Compliance'"), std::string::npos);
}

TEST_F(Applier, NothingDiffersMeansNoWrites) {
  json r = record();
  r["iSpring_Groups__c"] = "Onboarding";
  const apply_result first = apply(r);
  ASSERT_TRUE(first.ok) << steps_text(first);

  const std::size_t before = log_size();
  const apply_result again = apply(r, first.ispring_user_id);
  ASSERT_TRUE(again.ok) << steps_text(again);
  EXPECT_EQ(again.ispring_user_id, first.ispring_user_id);
  EXPECT_EQ(writes_since(before), strings{});
  // Only the link check: the directory is cached.
  EXPECT_EQ(log_size() - before, 1u);
  for (const auto& s : again.steps) EXPECT_NE(s.outcome, step_outcome::changed) << s.to_string();
}

TEST_F(Applier, UpdateSendsOnlyWhatChanged) {
  const std::string id = apply(record()).ispring_user_id;
  json r = record();
  r["Title"] = "Lead Engineer";
  const std::size_t before = log_size();

  const apply_result result = apply(r, id);

  ASSERT_TRUE(result.ok) << steps_text(result);
  EXPECT_EQ(writes_since(before), strings{"POST /user/{id}"});
  EXPECT_EQ(user(id).fields.at("job_title"), "Lead Engineer");
  const std::string text = steps_text(result);
  EXPECT_NE(text.find("update: job_title 'Engineer' → 'Lead Engineer'"), std::string::npos) << text;
  EXPECT_EQ(std::count_if(result.steps.begin(), result.steps.end(),
                          [](const apply_step& s) { return s.outcome == step_outcome::changed; }),
            1);
}

TEST_F(Applier, PartialRecordsNeverClearWhatTheyDoNotCarry) {
  const std::string id = apply(record()).ispring_user_id;
  // A change event: only the title was cleared.
  const json event = {{"Id", "005000000000001"}, {"Title", nullptr}};
  const apply_result ignored = apply(event, id);
  // Without the department the user cannot be placed: nothing happens.
  EXPECT_TRUE(ignored.ok);
  EXPECT_EQ(ignored.steps.front().to_string(),
            "scope: department unknown (not in the record) → ignore");

  json merged = event;
  merged["Department"] = "Sales";
  const std::size_t before = log_size();
  const apply_result result = apply(merged, id);
  ASSERT_TRUE(result.ok) << steps_text(result);
  EXPECT_EQ(writes_since(before), strings{"POST /user/{id}"});
  const auto u = user(id);
  EXPECT_EQ(u.fields.at("job_title"), "");  // null in Salesforce: cleared
  EXPECT_EQ(u.email(), "jane@acme.com");    // absent: kept
  EXPECT_EQ(u.fields.at("first_name"), "Jane");
}

TEST_F(Applier, FieldsTheMappingDoesNotOwnAreKept) {
  const std::string dept = sandbox_.add_department("Sales");
  const std::string id = sandbox_.add_user(
      "jane@acme.com.prod", "jane@acme.com", dept,
      {{"job_title", "Set in iSpring"}, {"last_name", "Doe"}, {"first_name", "Jane"}});
  mapping_.fields = {{"first_name", "FirstName"}};  // job_title is not mapped
  json r = record();
  r["LastName"] = "Smith";

  const apply_result result = apply(r);

  ASSERT_TRUE(result.ok) << steps_text(result);
  EXPECT_EQ(result.ispring_user_id, id);
  EXPECT_EQ(user(id).fields.at("last_name"), "Smith");
  EXPECT_EQ(user(id).fields.at("job_title"), "Set in iSpring");
}

TEST_F(Applier, DepartmentChangeMovesTheUser) {
  const std::string id = apply(record()).ispring_user_id;
  json r = record();
  r["Department"] = "Support";
  const std::size_t before = log_size();

  const apply_result result = apply(r, id);

  ASSERT_TRUE(result.ok) << steps_text(result);
  EXPECT_EQ(department_name(user(id).department_id), "Support");
  EXPECT_EQ(writes_since(before), (strings{"POST /department", "POST /user/{id}"}));
  EXPECT_NE(steps_text(result).find("department: moved from 'Sales' to 'Support'"),
            std::string::npos)
      << steps_text(result);
}

TEST_F(Applier, InactiveUserIsDeactivatedOnce) {
  const std::string id = apply(record()).ispring_user_id;
  json r = record();
  r["IsActive"] = "false";

  std::size_t before = log_size();
  const apply_result result = apply(r, id);
  ASSERT_TRUE(result.ok) << steps_text(result);
  EXPECT_EQ(user(id).status, 3);
  EXPECT_EQ(writes_since(before), strings{"POST /user/{id}/status"});
  EXPECT_NE(steps_text(result).find("status: deactivated"), std::string::npos);
  EXPECT_EQ(result.steps.front().to_string(), "scope: IsActive = false → deactivate");

  before = log_size();
  const apply_result again = apply(r, id);
  ASSERT_TRUE(again.ok);
  EXPECT_EQ(writes_since(before), strings{});
  EXPECT_NE(steps_text(again).find("status: already inactive"), std::string::npos);
}

TEST_F(Applier, ActiveAgainReactivates) {
  const std::string dept = sandbox_.add_department("Sales");
  const std::string id = sandbox_.add_user(
      "jane@acme.com.prod", "jane@acme.com", dept,
      {{"last_name", "Doe"}, {"first_name", "Jane"}, {"job_title", "Engineer"}}, 3);
  const std::size_t before = log_size();

  const apply_result result = apply(record(), id);

  ASSERT_TRUE(result.ok) << steps_text(result);
  EXPECT_EQ(user(id).status, 1);
  EXPECT_EQ(writes_since(before), strings{"POST /user/{id}/status"});
  EXPECT_NE(steps_text(result).find("status: reactivated"), std::string::npos);
}

TEST_F(Applier, DeactivatingAUserIspringDoesNotHaveIsNothingToDo) {
  json r = record();
  r["IsActive"] = false;
  const apply_result result = apply(r);
  ASSERT_TRUE(result.ok);
  EXPECT_EQ(result.ispring_user_id, "");
  EXPECT_EQ(writes_since(0), strings{});
  EXPECT_NE(steps_text(result).find("nothing to deactivate"), std::string::npos);
}

TEST_F(Applier, DeleteOnlyWhenConfigured) {
  const std::string id = apply(record()).ispring_user_id;
  sync_.inactive_users = config::user_action::remove;
  json r = record();
  r["IsActive"] = "false";

  const apply_result result = apply(r, id);

  ASSERT_TRUE(result.ok) << steps_text(result);
  EXPECT_FALSE(sandbox_.find_user(id));
  EXPECT_EQ(result.ispring_user_id, "");  // the caller drops the link
  EXPECT_NE(steps_text(result).find("delete: deleted user " + id), std::string::npos);
}

TEST_F(Applier, ExistingUserWithTheSameLoginIsLinkedNotDuplicated) {
  const std::string id = sandbox_.add_user("JANE@acme.com.prod", "old@acme.com");
  const apply_result result = apply(record());
  ASSERT_TRUE(result.ok) << steps_text(result);
  EXPECT_EQ(result.ispring_user_id, id);
  EXPECT_EQ(sandbox_.users().size(), 1u);
  EXPECT_EQ(sandbox_.calls("POST /user"), 0);
  EXPECT_EQ(user(id).email(), "jane@acme.com");
  EXPECT_EQ(user(id).login(), "JANE@acme.com.prod");  // a case-only difference is no change
  EXPECT_NE(steps_text(result).find("match: linked user " + id + " by login 'jane@acme.com.prod'"),
            std::string::npos)
      << steps_text(result);
}

TEST_F(Applier, ExistingUserWithTheSameEmailIsLinkedNotDuplicated) {
  const std::string id = sandbox_.add_user("jane", "Jane@Acme.com");
  const apply_result result = apply(record());
  ASSERT_TRUE(result.ok) << steps_text(result);
  EXPECT_EQ(result.ispring_user_id, id);
  EXPECT_EQ(sandbox_.users().size(), 1u);
  EXPECT_EQ(user(id).login(), "jane@acme.com.prod");
  EXPECT_NE(steps_text(result).find("by e-mail 'jane@acme.com'"), std::string::npos);
}

TEST_F(Applier, TheStoredLinkWinsOverLoginAndEmail) {
  // Login and e-mail changed in Salesforce: only the link finds the user.
  const std::string id = apply(record()).ispring_user_id;
  const std::size_t before = log_size();
  const apply_result result = apply(record("jane.doe@acme.com.prod", "jane.doe@acme.com"), id);
  ASSERT_TRUE(result.ok) << steps_text(result);
  EXPECT_EQ(result.ispring_user_id, id);
  EXPECT_EQ(user(id).login(), "jane.doe@acme.com.prod");
  EXPECT_EQ(user(id).email(), "jane.doe@acme.com");
  EXPECT_EQ(writes_since(before), strings{"POST /user/{id}"});
  EXPECT_EQ(sandbox_.calls("GET /users/v2"), 2);  // both from the first apply
}

TEST_F(Applier, AStaleLinkFallsBackToLogin) {
  const std::string id = sandbox_.add_user("jane@acme.com.prod", "jane@acme.com");
  const apply_result result = apply(record(), "00000000-0000-1000-8000-0000000000ff");
  ASSERT_TRUE(result.ok) << steps_text(result);
  EXPECT_EQ(result.ispring_user_id, id);
  EXPECT_NE(steps_text(result).find("no longer exists"), std::string::npos);
}

TEST_F(Applier, ACreateRefusedAsDuplicateLinksTheExistingUser) {
  // The reconciliation matched from lists read before someone created the user.
  const desired_user d = desired(record());
  const std::string id = sandbox_.add_user("jane@acme.com.prod", "jane@acme.com");
  const apply_result result = applier_.apply_matched(d, std::nullopt);
  ASSERT_TRUE(result.ok) << steps_text(result);
  EXPECT_EQ(result.ispring_user_id, id);
  EXPECT_EQ(sandbox_.users().size(), 1u);
  EXPECT_EQ(user(id).fields.at("last_name"), "Doe");
}

TEST_F(Applier, OtherGroupMembersArePreserved) {
  const std::string a = sandbox_.add_user("a", "a@acme.com");
  const std::string b = sandbox_.add_user("b", "b@acme.com");
  sandbox_.add_group("Onboarding", {a, b});
  json r = record();
  r["iSpring_Groups__c"] = "Onboarding";
  const apply_result result = apply(r);
  ASSERT_TRUE(result.ok) << steps_text(result);
  EXPECT_EQ(sandbox_.find_group_by_name("Onboarding")->user_ids,
            (strings{a, b, result.ispring_user_id}));
}

TEST_F(Applier, GroupsOutsideTheManagedListAreUntouched) {
  sync_.groups = strings{"Onboarding", "Compliance"};
  const std::string dept = sandbox_.add_department("Sales");
  const std::string id =
      sandbox_.add_user("jane@acme.com.prod", "jane@acme.com", dept,
                        {{"last_name", "Doe"}, {"first_name", "Jane"}, {"job_title", "Engineer"}});
  sandbox_.add_group("Managers", {id});
  sandbox_.add_group("Compliance", {id});
  json r = record();
  r["iSpring_Groups__c"] = "Onboarding;Chess Club";

  const std::size_t before = log_size();
  const apply_result result = apply(r, id);

  ASSERT_TRUE(result.ok) << steps_text(result);
  EXPECT_EQ(group_names_of(id), (strings{"Managers", "Onboarding"}));
  EXPECT_FALSE(sandbox_.find_group_by_name("Chess Club"));  // not managed: not created
  EXPECT_EQ(writes_since(before),
            (strings{"POST /group", "POST /group/{id}/members", "POST /user/{id}/groups/remove"}));
  EXPECT_NE(steps_text(result).find("groups: removed from 'Compliance'"), std::string::npos);
}

TEST_F(Applier, WithAllGroupsManagedLeftGroupsAreRemoved) {
  json r = record();
  r["iSpring_Groups__c"] = "Onboarding;Old";
  const std::string id = apply(r).ispring_user_id;
  r["iSpring_Groups__c"] = "Onboarding";
  const apply_result result = apply(r, id);
  ASSERT_TRUE(result.ok) << steps_text(result);
  EXPECT_EQ(group_names_of(id), strings{"Onboarding"});
}

TEST_F(Applier, SmartGroupsAreLeftToTheirRules) {
  const std::string other = sandbox_.add_user("x", "x@acme.com");
  sandbox_.add_group("Everyone", {other}, true);
  json r = record();
  r["iSpring_Groups__c"] = "Everyone";
  const apply_result result = apply(r);
  ASSERT_TRUE(result.ok) << steps_text(result);
  EXPECT_EQ(sandbox_.calls("POST /group/{id}/members"), 0);
  EXPECT_NE(steps_text(result).find("'Everyone' is a smart group"), std::string::npos);
}

TEST_F(Applier, ADepartmentCreatedBehindTheCacheIsReusedNotDuplicated) {
  apply(record());  // loads the directory
  const std::string support = sandbox_.add_department("Support");
  json r = record("bob@acme.com.prod", "bob@acme.com");
  r["Department"] = "Support";
  const apply_result result = apply(r);
  ASSERT_TRUE(result.ok) << steps_text(result);
  EXPECT_EQ(user(result.ispring_user_id).department_id, support);
  EXPECT_EQ(sandbox_.calls("POST /department"), 1);  // only "Sales", by the first apply
}

TEST_F(Applier, ADepartmentDeletedBehindTheCacheIsCreatedAgainOnRetry) {
  apply(record());  // caches "Sales"
  const std::string old_sales = sandbox_.find_department_by_name("Sales")->id;
  // Someone empties and deletes "Sales" in iSpring.
  for (const auto& u : sandbox_.users()) ASSERT_TRUE(api_.delete_user(u.id));
  ASSERT_TRUE(api_.delete_department(old_sales));

  const json bob = record("bob@acme.com.prod", "bob@acme.com");
  const apply_result refused = apply(bob);
  ASSERT_FALSE(refused.ok);
  EXPECT_EQ(refused.error->message,
            "create user 'bob@acme.com.prod' in 'Sales': Department not found");

  const apply_result retried = apply(bob);
  ASSERT_TRUE(retried.ok) << steps_text(retried);
  const auto sales = sandbox_.find_department_by_name("Sales");
  ASSERT_TRUE(sales);
  EXPECT_NE(sales->id, old_sales);
  EXPECT_EQ(user(retried.ispring_user_id).department_id, sales->id);
}

TEST_F(Applier, ConcurrentAppliesCreateADepartmentAndAGroupOnce) {
  sync_.parent_department = "Salesforce";
  constexpr int users = 8;
  std::vector<desired_user> wanted;
  for (int i = 0; i < users; ++i) {
    json r = record("user" + std::to_string(i) + "@acme.com.prod",
                    "user" + std::to_string(i) + "@acme.com");
    r["Id"] = "00500000000000" + std::to_string(i);
    r["iSpring_Groups__c"] = "Onboarding";
    wanted.push_back(desired(r));
  }
  std::vector<apply_result> results(users);
  std::vector<std::thread> threads;
  for (int i = 0; i < users; ++i)
    threads.emplace_back(
        [this, i, &wanted, &results] { results[i] = applier_(wanted[i], std::nullopt); });
  for (auto& t : threads) t.join();

  for (const auto& r : results) ASSERT_TRUE(r.ok) << steps_text(r);
  EXPECT_EQ(sandbox_.calls("POST /department"), 2);  // "Salesforce", then "Sales" under it
  EXPECT_EQ(sandbox_.calls("POST /group"), 1);
  const auto sales = sandbox_.find_department_by_name("Sales");
  ASSERT_TRUE(sales);
  strings members = sandbox_.find_group_by_name("Onboarding")->user_ids;
  EXPECT_EQ(members.size(), static_cast<std::size_t>(users));  // no member lost to a race
  for (const auto& r : results) {
    EXPECT_EQ(user(r.ispring_user_id).department_id, sales->id);
    EXPECT_TRUE(contains(members, r.ispring_user_id));
  }
}

TEST_F(Applier, OutOfScopeWithIgnoreMakesNoCalls) {
  sync_.departments["Support"] = {};
  sync_.out_of_scope_users = config::user_action::ignore;
  const apply_result result = apply(record(), "00000000-0000-1000-8000-0000000000aa");
  EXPECT_TRUE(result.ok);
  EXPECT_EQ(result.ispring_user_id, "00000000-0000-1000-8000-0000000000aa");
  EXPECT_EQ(log_size(), 0u);
  EXPECT_EQ(steps_text(result), "scope: department 'Sales' is not selected → ignore\n");
}

TEST_F(Applier, OutOfScopeUsersAreDeactivated) {
  const std::string id = apply(record()).ispring_user_id;
  sync_.departments["Support"] = {};
  const apply_result result = apply(record(), id);
  ASSERT_TRUE(result.ok) << steps_text(result);
  EXPECT_EQ(user(id).status, 3);
}

TEST_F(Applier, APermanentRejectionIsAReadableFailure) {
  const apply_result result = apply(record("jane@acme.com.prod", "not an e-mail"));
  ASSERT_FALSE(result.ok);
  ASSERT_TRUE(result.error);
  EXPECT_EQ(result.error->kind, ispring::failure_kind::rejected);
  EXPECT_FALSE(result.error->retryable());
  EXPECT_EQ(result.error->message,
            "create user 'jane@acme.com.prod' in 'Sales': Invalid value for field email");
  EXPECT_EQ(result.steps.back().outcome, step_outcome::failed);
  EXPECT_EQ(sandbox_.users().size(), 0u);
}

TEST_F(Applier, ARetryableFailureStopsAndARetryConverges) {
  sandbox_.fail_next(1, 503, 7);
  const apply_result failed = apply(record());
  ASSERT_FALSE(failed.ok);
  EXPECT_EQ(failed.error->kind, ispring::failure_kind::server);
  EXPECT_TRUE(failed.error->retryable());
  EXPECT_EQ(failed.error->retry_after_s, 7);
  EXPECT_EQ(failed.error->message, "find user by login: sandbox: injected failure");
  EXPECT_EQ(failed.steps.back().to_string(),
            "match: find user by login: sandbox: injected failure");

  const apply_result retried = apply(record());
  ASSERT_TRUE(retried.ok) << steps_text(retried);
  EXPECT_EQ(sandbox_.users().size(), 1u);
}

// Fails the first read of a group's members, as a 503 would.
class flaky_group_reads : public in_process_ispring {
 public:
  using in_process_ispring::in_process_ispring;
  ispring::result<ispring::group> get_group(const std::string& group_id) override {
    if (failures_left_-- > 0)
      return unexpected{
          ispring::failure{ispring::failure_kind::server, 503, "unavailable", std::nullopt}};
    return in_process_ispring::get_group(group_id);
  }

 private:
  int failures_left_ = 1;
};

TEST_F(Applier, AFailureAfterTheCreateIsRetriedWithoutADuplicate) {
  flaky_group_reads flaky(sandbox_);
  directory dir(flaky);
  applier apply_flaky(flaky, dir);
  json r = record();
  r["iSpring_Groups__c"] = "Onboarding";
  const desired_user d = desired(r);

  const apply_result failed = apply_flaky(d, std::nullopt);
  ASSERT_FALSE(failed.ok);
  EXPECT_TRUE(failed.error->retryable());
  EXPECT_EQ(failed.error->message, "read members of group 'Onboarding': unavailable");
  // The user exists now: the caller stores the link even though the apply failed.
  ASSERT_FALSE(failed.ispring_user_id.empty());
  EXPECT_TRUE(sandbox_.find_user(failed.ispring_user_id));

  const apply_result retried = apply_flaky(d, failed.ispring_user_id);
  ASSERT_TRUE(retried.ok) << steps_text(retried);
  EXPECT_EQ(retried.ispring_user_id, failed.ispring_user_id);
  EXPECT_EQ(sandbox_.users().size(), 1u);
  EXPECT_EQ(sandbox_.calls("POST /user"), 1);
  EXPECT_EQ(sandbox_.calls("POST /group"), 1);
  EXPECT_EQ(group_names_of(retried.ispring_user_id), strings{"Onboarding"});
}

TEST_F(Applier, NoLoginMeansTheUserCannotBeCreated) {
  json r = record();
  r["Username"] = nullptr;
  r["Email"] = nullptr;
  const apply_result result = apply(r);
  ASSERT_FALSE(result.ok);
  EXPECT_EQ(result.error->kind, ispring::failure_kind::rejected);
  EXPECT_NE(result.error->message.find("no login"), std::string::npos);
  EXPECT_EQ(sandbox_.calls("POST /user"), 0);
}

// --- plan_user: the pure comparison the reconciliation prints in a dry run ----------------

TEST(PlanUser, CreatePlansEveryFieldTheDepartmentAndGroups) {
  desired_user d;
  d.action = sync_action::upsert;
  d.login = "jane";
  d.fields = {{"login", "jane"}, {"email", "jane@acme.com"}, {"job_title", ""}};
  d.department = "Sales";
  d.parent_department = "Salesforce";
  d.groups = strings{"Onboarding"};
  directory_snapshot dir;
  dir.departments = {{"root", "Root", std::nullopt, std::nullopt}};
  const user_plan p = plan_user(d, std::nullopt, dir);
  EXPECT_TRUE(p.create);
  EXPECT_EQ(p.describe(), (strings{"create 'jane' in 'Sales' (created under 'Salesforce')",
                                   "set email 'jane@acme.com'", "set login 'jane'",
                                   "add to group 'Onboarding' (created)"}));
}

TEST(PlanUser, UpdatePlansOnlyDifferences) {
  desired_user d;
  d.action = sync_action::upsert;
  d.login = "jane";
  d.fields = {{"login", "JANE"}, {"email", "jane@acme.com"}, {"job_title", "Lead"}};
  d.department = "Support";
  d.active = true;
  d.groups = strings{"Onboarding"};
  d.managed_groups = strings{"Onboarding", "Compliance"};
  directory_snapshot dir;
  dir.departments = {{"root", "Root", std::nullopt, std::nullopt},
                     {"d1", "Sales", "root", std::nullopt},
                     {"d2", "Support", "root", std::nullopt}};
  dir.groups = {{"g1", "Onboarding", false, std::nullopt},
                {"g2", "Compliance", false, std::nullopt},
                {"g3", "Managers", false, std::nullopt}};
  ispring::user actual;
  actual.id = "u1";
  actual.login = "jane";
  actual.department_id = "d1";
  actual.status = ispring::user_status_inactive;
  actual.fields = {{"login", "jane"}, {"email", "JANE@acme.com"}, {"job_title", "Dev"}};
  actual.group_ids = {"g2", "g3"};
  const user_plan p = plan_user(d, actual, dir);
  EXPECT_FALSE(p.create);
  EXPECT_EQ(p.describe(),
            (strings{"set job_title 'Dev' → 'Lead'", "move from 'Sales' to 'Support'",
                     "add to group 'Onboarding'", "remove from group 'Compliance'", "reactivate"}));

  actual.department_id = "d2";
  actual.status = ispring::user_status_active;
  actual.fields["job_title"] = "Lead";
  actual.group_ids = {"g1", "g3"};
  EXPECT_FALSE(plan_user(d, actual, dir).has_changes());
}

TEST(PlanUser, RetiringPlansOnlyTheStatusOrTheDeletion) {
  desired_user d;
  d.action = sync_action::deactivate;
  ispring::user actual;
  actual.id = "u1";
  EXPECT_EQ(plan_user(d, actual, {}).describe(), strings{"deactivate"});
  actual.status = ispring::user_status_terminated;
  EXPECT_FALSE(plan_user(d, actual, {}).has_changes());
  d.action = sync_action::remove;
  EXPECT_EQ(plan_user(d, actual, {}).describe(), strings{"delete user u1"});
  EXPECT_FALSE(plan_user(d, std::nullopt, {}).has_changes());
}

// --- department links (the worker path) ----------------------------------------------------

TEST_F(Applier, ACreatedDepartmentIsReportedForItsLink) {
  const auto result = apply(record());
  ASSERT_TRUE(result.ok) << steps_text(result);
  const auto sales = sandbox_.find_department_by_name("Sales");
  ASSERT_TRUE(sales);
  ASSERT_TRUE(result.department_link);
  EXPECT_EQ(result.department_link->id, sales->id);
  EXPECT_EQ(result.department_link->name, "Sales");
}

TEST_F(Applier, AnExistingDepartmentIsAdoptedAndAKnownLinkIsNotReportedAgain) {
  const std::string sales = sandbox_.add_department("Sales");
  auto d = desired(record());
  auto result = applier_(d, std::nullopt);
  ASSERT_TRUE(result.ok) << steps_text(result);
  ASSERT_TRUE(result.department_link);
  EXPECT_EQ(result.department_link->id, sales);
  d.department_link = result.department_link;
  result = applier_(d, result.ispring_user_id);
  ASSERT_TRUE(result.ok) << steps_text(result);
  EXPECT_FALSE(result.department_link);
}

TEST_F(Applier, ALinkedDepartmentIsRenamedInPlaceOnceWhenItsConfiguredNameChanged) {
  const std::string sales = sandbox_.add_department("Sales");
  sync_.departments["Sales"] = {true, "Sales EMEA", {}};
  auto jane = desired(record());
  jane.department_link = linked_department{sales, "Sales"};
  auto bob = desired(record("bob@acme.com.prod", "bob@acme.com"));
  bob.record_id = "005000000000002";
  bob.department_link = linked_department{sales, "Sales"};  // read before Jane's rename
  const auto from = log_size();
  const auto first = applier_(jane, std::nullopt);
  ASSERT_TRUE(first.ok) << steps_text(first);
  const auto second = applier_(bob, std::nullopt);
  ASSERT_TRUE(second.ok) << steps_text(second);
  EXPECT_EQ(writes_since(from), (strings{"POST /department/{id}", "POST /user", "POST /user"}));
  EXPECT_EQ(department_name(sales), "Sales EMEA");
  EXPECT_EQ(sandbox_.departments().size(), 2u);  // the root and the renamed one
  EXPECT_EQ(user(first.ispring_user_id).department_id, sales);
  EXPECT_EQ(user(second.ispring_user_id).department_id, sales);
  EXPECT_NE(steps_text(first).find("department: renamed 'Sales' to 'Sales EMEA'"),
            std::string::npos)
      << steps_text(first);
  ASSERT_TRUE(first.department_link);
  EXPECT_EQ(first.department_link->id, sales);
  EXPECT_EQ(first.department_link->name, "Sales EMEA");
  ASSERT_TRUE(second.department_link);  // its link learns the name too
  EXPECT_EQ(second.department_link->name, "Sales EMEA");
}

TEST_F(Applier, UsersGoToTheLinkedDepartmentWhateverItIsCalledNow) {
  const std::string linked = sandbox_.add_department("Renamed by an administrator");
  sandbox_.add_department("Sales");  // same name as the key's, but not the linked one
  auto d = desired(record());
  d.department_link = linked_department{linked, "Sales"};
  const auto from = log_size();
  const auto result = applier_(d, std::nullopt);
  ASSERT_TRUE(result.ok) << steps_text(result);
  EXPECT_EQ(writes_since(from), strings{"POST /user"});  // no rename: the config did not change
  EXPECT_EQ(user(result.ispring_user_id).department_id, linked);
  EXPECT_FALSE(result.department_link);
}

TEST_F(Applier, ARenameOntoAnotherDepartmentsNameIsLeftUndoneWithANote) {
  const std::string sales = sandbox_.add_department("Sales");
  sandbox_.add_department("Sales EMEA");  // somebody else's
  sync_.departments["Sales"] = {true, "Sales EMEA", {}};
  auto d = desired(record());
  d.department_link = linked_department{sales, "Sales"};
  const auto from = log_size();
  const auto result = applier_(d, std::nullopt);
  ASSERT_TRUE(result.ok) << steps_text(result);
  EXPECT_EQ(writes_since(from), strings{"POST /user"});
  EXPECT_EQ(user(result.ispring_user_id).department_id, sales);
  EXPECT_EQ(department_name(sales), "Sales");
  EXPECT_NE(steps_text(result).find("another department of that name exists beside it"),
            std::string::npos)
      << steps_text(result);
  EXPECT_FALSE(result.department_link);  // the old name stays linked: tried again later
}

TEST_F(Applier, ALinkToADepartmentThatIsGoneIsReplaced) {
  auto d = desired(record());
  d.department_link = linked_department{"00000000-0000-1000-8000-00000000dead", "Sales"};
  const auto result = applier_(d, std::nullopt);
  ASSERT_TRUE(result.ok) << steps_text(result);
  const auto sales = sandbox_.find_department_by_name("Sales");
  ASSERT_TRUE(sales);
  EXPECT_EQ(user(result.ispring_user_id).department_id, sales->id);
  ASSERT_TRUE(result.department_link);
  EXPECT_EQ(result.department_link->id, sales->id);
}

}  // namespace
}  // namespace connector::sync

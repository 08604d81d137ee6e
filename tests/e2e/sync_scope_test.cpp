// End to end: the seed's missing Sync features (issue 16 §5) saved through the admin API of
// the real binary while `serve` runs, against the Salesforce and iSpring sandboxes over TLS.
// A custom department ("Add New Department") takes exactly its listed users, one of them from
// an unselected department, and no one whose Salesforce Department merely has its name;
// choosing users by group (sync.select_by "group") puts exactly the group's users in iSpring.
#include <gtest/gtest.h>

#include <set>

#include "support/eventually.hpp"
#include "support/ispring_sandbox_server.hpp"
#include "support/outbound_builder.hpp"
#include "support/salesforce_sandbox_server.hpp"
#include "support/sandbox_config.hpp"
#include "support/service.hpp"

namespace connector::testing {
namespace {

using nlohmann::json;
using names = std::set<std::string>;

class sync_scope_e2e : public ::testing::Test {
 protected:
  sync_scope_e2e() : salesforce_(jwt_salesforce_sandbox_options()) {}

  void start(const json& overrides = json::object()) {
    json c = {{"ispring", ispring_sandbox_config(ispring_)},
              {"salesforce", salesforce_sandbox_config(salesforce_)}};
    c.merge_patch(overrides);
    service_ = std::make_unique<running_service>(dir_.path(), c);
  }
  http_reply call(const std::string& method, const std::string& target, const std::string& body,
                  std::optional<std::string> if_match = std::nullopt) {
    std::vector<std::pair<std::string, std::string>> headers{
        {"Authorization", "Bearer " + std::string(test_admin_token)},
        {"Content-Type", "application/json"}};
    if (if_match) headers.emplace_back("If-Match", *if_match);
    return service_->admin_client().request(method, target, body, headers);
  }
  http_reply put_sync(const json& value, int revision) {
    return call("PUT", "/admin/settings/sync", value.dump(),
                "\"" + std::to_string(revision) + "\"");
  }
  std::string add_salesforce_user(const std::string& name, const std::string& department,
                                  const std::string& groups = "") {
    return salesforce_.sandbox().add_user({{"Username", username(name)},
                                           {"Email", name + "@acme.example"},
                                           {"FirstName", name},
                                           {"LastName", "Tester"},
                                           {"Department", department},
                                           {"IsActive", true},
                                           {"iSpring_Groups__c", groups}});
  }
  static std::string username(const std::string& name) { return name + "@acme.example.prod"; }

  // An outbound message naming the user; the service reads the user back from Salesforce.
  void notify(const std::string& record_id, const std::string& name, const std::string& department,
              const std::string& groups, std::uint64_t n) {
    user_notification note{make_id("04l", n), record_id, {}};
    note.fields = {{"Username", username(name)},
                   {"Email", name + "@acme.example"},
                   {"FirstName", name},
                   {"LastName", "Tester"},
                   {"Department", department},
                   {"iSpring_Groups__c", groups},
                   {"IsActive", "true"},
                   {"SystemModstamp", "2026-11-01T10:00:0" + std::to_string(n) + ".000Z"}};
    const auto reply = service_->public_client().post_xml("/salesforce/outbound",
                                                          build_user_message(test_org_id, {note}));
    ASSERT_EQ(reply.status, 200) << reply.body;
  }
  void reconcile() {
    const auto queued = call("POST", "/admin/reconcile", "");
    ASSERT_EQ(queued.status, 202) << queued.body;
    const auto id = std::to_string(json::parse(queued.body)["id"].get<std::int64_t>());
    json run;
    ASSERT_TRUE(eventually([&] {
      const auto reply = call("GET", "/admin/runs/" + id, "");
      run = reply.status == 200 ? json::parse(reply.body) : json::object();
      const auto status = run.value("status", "");
      return !status.empty() && status != "queued" && status != "running";
    }));
    ASSERT_EQ(run["status"], "succeeded") << run.dump(2);
  }
  // Logins of the iSpring users in the department of that name; every user when empty.
  names ispring_users(const std::string& department = {}) {
    std::string id;
    for (const auto& d : ispring_.sandbox().departments())
      if (d.name == department) id = d.id;
    if (!department.empty() && id.empty()) return {};
    names out;
    for (const auto& u : ispring_.sandbox().users())
      if (department.empty() || u.department_id == id) out.insert(u.login());
    return out;
  }
  json scope_now(const std::string& record_id) {
    const auto reply = call("GET", "/admin/users/" + record_id + "?offline=true", "");
    return reply.status == 200 ? json::parse(reply.body)["now"]["scope"] : json::object();
  }

  temp_dir dir_;
  ispring_sandbox_server ispring_;
  salesforce_sandbox_server salesforce_;
  std::unique_ptr<running_service> service_;
};

TEST_F(sync_scope_e2e, ACustomDepartmentSavedWhileServingTakesExactlyItsListedUsers) {
  const auto ann = add_salesforce_user("ann", "Sales");
  const auto bob = add_salesforce_user("bob", "Support");  // Support is not selected
  add_salesforce_user("cy", "Sales");
  const auto dan = add_salesforce_user("dan", "Onboarding");  // the custom one's name
  start();
  const auto pid = service_->process().pid();
  ASSERT_EQ(put_sync({{"departments", {{"Sales", json::object()}}}}, 0).status, 200);
  reconcile();
  ASSERT_EQ(ispring_users("Sales"), (names{username("ann"), username("cy")}));

  // A custom department without users is refused naming the key, and nothing is saved.
  const auto bad = put_sync({{"departments", {{"Onboarding", {{"custom", true}}}}}}, 1);
  EXPECT_EQ(bad.status, 400) << bad.body;
  EXPECT_EQ(json::parse(bad.body)["key"], "sync.departments.Onboarding.users");
  // By group without mapping.groups: refused naming sync.select_by.
  const auto no_field = put_sync({{"select_by", "group"}, {"groups", {"Mentors"}}}, 1);
  EXPECT_EQ(no_field.status, 400) << no_field.body;
  EXPECT_EQ(json::parse(no_field.body)["key"], "sync.select_by");

  // Ann by Username (her Department, Sales, is selected), Bob by record id (his is not).
  const json onboarding = {{"custom", true}, {"users", {username("ann"), bob}}};
  ASSERT_EQ(put_sync({{"departments", {{"Sales", json::object()}, {"Onboarding", onboarding}}}}, 1)
                .status,
            200);
  // The worker: Bob's notification creates him in the new department; Dan's leaves him out.
  notify(bob, "bob", "Support", "", 1);
  notify(dan, "dan", "Onboarding", "", 2);
  ASSERT_TRUE(eventually([&] { return ispring_users("Onboarding") == names{username("bob")}; }))
      << service_->process().stderr_text();
  // `explain` tells why, by the revision in force.
  EXPECT_EQ(scope_now(bob)["reason"], "hand-picked for department 'Onboarding'");
  EXPECT_EQ(scope_now(dan)["in_scope"], false) << scope_now(dan).dump();
  EXPECT_NE(scope_now(dan)["reason"].get<std::string>().find("custom department"),
            std::string::npos)
      << scope_now(dan).dump();
  // The reconciliation moves Ann; Cy stays; Dan is not pulled in by the name.
  reconcile();
  EXPECT_EQ(ispring_users("Onboarding"), (names{username("ann"), username("bob")}));
  EXPECT_EQ(ispring_users("Sales"), names{username("cy")});
  EXPECT_EQ(ispring_users(), (names{username("ann"), username("bob"), username("cy")}));

  // Taken out of the list, Ann's next notification puts her back by the ordinary rules.
  const json bob_only = {{"custom", true}, {"users", {bob}}};
  ASSERT_EQ(
      put_sync({{"departments", {{"Sales", json::object()}, {"Onboarding", bob_only}}}}, 2).status,
      200);
  notify(ann, "ann", "Sales", "", 3);
  ASSERT_TRUE(eventually([&] {
    return ispring_users("Sales") == names{username("ann"), username("cy")};
  })) << service_->process().stderr_text();
  EXPECT_EQ(ispring_users("Onboarding"), names{username("bob")});
  EXPECT_EQ(service_->process().pid(), pid) << "no restart";
}

TEST_F(sync_scope_e2e, ChoosingUsersByGroupPutsExactlyTheGroupsUsersIn) {
  add_salesforce_user("eve", "Sales", "Mentors");
  add_salesforce_user("fay", "Support", "Other;mentors");
  add_salesforce_user("gus", "Sales", "Other");
  add_salesforce_user("hal", "", "Mentors");  // no department: not synchronised
  const auto ivy = add_salesforce_user("ivy", "Engineering", "Other");
  start({{"mapping", {{"groups", "iSpring_Groups__c"}}}});
  // Sales named "Sales EMEA"; Engineering's Ivy hand-picked: placed, but not chosen.
  const json sync = {{"select_by", "group"},
                     {"groups", {"Mentors"}},
                     {"departments",
                      {{"Sales", {{"ispring_name", "Sales EMEA"}}},
                       {"Onboarding", {{"custom", true}, {"users", {username("fay"), ivy}}}}}}};
  const auto saved = put_sync(sync, 0);
  ASSERT_EQ(saved.status, 200) << saved.body;
  reconcile();
  EXPECT_EQ(ispring_users(), (names{username("eve"), username("fay")}));
  EXPECT_EQ(ispring_users("Sales EMEA"), names{username("eve")});
  EXPECT_EQ(ispring_users("Onboarding"), names{username("fay")});
  // Ivy's notification is settled without iSpring; `explain` says selection is by group.
  notify(ivy, "ivy", "Engineering", "Other", 1);
  EXPECT_EQ(scope_now(ivy)["reason"], "in none of sync.groups (users are chosen by group)")
      << scope_now(ivy).dump();
  EXPECT_EQ(ispring_users(), (names{username("eve"), username("fay")}));
}

}  // namespace
}  // namespace connector::testing

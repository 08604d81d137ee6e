// End to end: the full reconciliation through the real binary, reading the Salesforce sandbox
// (JWT bearer flow, SOQL paging) and writing the iSpring Learn sandbox, over real TLS, with
// the run history in a real SQLite file.
#include <gtest/gtest.h>

#include <functional>
#include <set>
#include <thread>

#include "support/eventually.hpp"
#include "support/ispring_sandbox_server.hpp"
#include "support/outbound_builder.hpp"
#include "support/rsa_keys.hpp"
#include "support/salesforce_sandbox_server.hpp"
#include "support/sandbox_config.hpp"
#include "support/service.hpp"
#include "support/signed_events.hpp"

namespace connector::testing {
namespace {

using nlohmann::json;

class reconcile_e2e : public ::testing::Test {
 protected:
  reconcile_e2e() : salesforce_(jwt_salesforce_sandbox_options()) {}

  json config(const json& overrides = json::object()) const {
    json salesforce = salesforce_sandbox_config(salesforce_);
    salesforce["query_batch_size"] = 200;
    json c = {{"ispring", ispring_sandbox_config(ispring_)},
              {"salesforce", salesforce},
              {"mapping",
               {{"groups", "iSpring_Groups__c"},
                {"fields", {{"first_name", "FirstName"}, {"job_title", "Title"}}}}}};
    c.merge_patch(overrides);
    return test_config(dir_.path(), c);
  }

  std::filesystem::path write_config(const json& overrides = json::object()) {
    const auto path = dir_.path() / "config.json";
    write_text(path, config(overrides).dump(2));
    return path;
  }

  command_result connector(std::vector<std::string> args, const json& overrides = json::object()) {
    args.push_back("--config");
    args.push_back(write_config(overrides).string());
    return run_connector(args);
  }

  std::string add_salesforce_user(const std::string& name, const std::string& department,
                                  bool active = true, const std::string& groups = "") {
    return salesforce_.sandbox().add_user({{"Username", name + "@acme.example.prod"},
                                           {"Email", name + "@acme.example"},
                                           {"FirstName", name},
                                           {"LastName", "Tester"},
                                           {"Title", "Engineer"},
                                           {"Department", department},
                                           {"IsActive", active},
                                           {"iSpring_Groups__c", groups}});
  }

  std::optional<sandbox_user> ispring_user(const std::string& name) {
    return ispring_.sandbox().find_user_by_login(name + "@acme.example.prod");
  }
  std::string department_of(const sandbox_user& u) {
    for (const auto& d : ispring_.sandbox().departments())
      if (d.id == u.department_id) return d.name;
    return {};
  }
  // Requests that change something in iSpring.
  int ispring_writes() {
    int writes = 0;
    for (const auto& entry : ispring_.sandbox().request_log())
      if (entry.method != "GET" && entry.endpoint.find("token") == std::string::npos) ++writes;
    return writes;
  }

  temp_dir dir_;
  ispring_sandbox_server ispring_;
  salesforce_sandbox_server salesforce_;
};

TEST_F(reconcile_e2e, DryRunThenRunThenOnlyTheDifferences) {
  const auto ann = add_salesforce_user("ann", "Sales", true, "Onboarding");
  add_salesforce_user("bob", "Support");
  add_salesforce_user("cy", "Sales", false);
  // Bob exists in iSpring already: he is linked by login, not created twice.
  const auto bob_id =
      ispring_.sandbox().add_user("bob@acme.example.prod", "bob@acme.example", {},
                                  {{"first_name", "Robert"}, {"last_name", "Tester"}});

  // 1. The dry run prints the plan and changes nothing anywhere.
  const auto dry = connector({"reconcile", "--dry-run", "--json"});
  ASSERT_EQ(dry.exit_code, 0) << dry.out << dry.err;
  const json plan = json::parse(dry.out);
  EXPECT_EQ(plan["status"], "succeeded");
  EXPECT_TRUE(plan["dry_run"].get<bool>());
  EXPECT_EQ(plan["plan"]["counts"]["create"], 1);
  EXPECT_EQ(plan["plan"]["counts"]["update"], 1);   // bob's first name
  EXPECT_EQ(plan["plan"]["counts"]["ignored"], 1);  // cy is inactive and not in iSpring
  EXPECT_EQ(ispring_writes(), 0);
  EXPECT_EQ(ispring_.sandbox().users().size(), 1u);
  const auto table = connector({"reconcile", "--dry-run"});
  EXPECT_EQ(table.exit_code, 0) << table.err;
  EXPECT_NE(table.out.find("create 'ann@acme.example.prod' in 'Sales'"), std::string::npos)
      << table.out;
  EXPECT_NE(table.out.find("set first_name 'Robert' → 'bob'"), std::string::npos) << table.out;

  // 2. The run makes iSpring match.
  const auto run = connector({"reconcile", "--json"});
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  EXPECT_EQ(json::parse(run.out)["status"], "succeeded");
  const auto ann_user = ispring_user("ann");
  ASSERT_TRUE(ann_user);
  EXPECT_EQ(department_of(*ann_user), "Sales");
  EXPECT_EQ(ann_user->fields.at("job_title"), "Engineer");
  const auto onboarding = ispring_.sandbox().find_group_by_name("Onboarding");
  ASSERT_TRUE(onboarding);
  EXPECT_EQ(onboarding->user_ids, std::vector<std::string>{ann_user->id});
  const auto bob_user = ispring_user("bob");
  ASSERT_TRUE(bob_user);
  EXPECT_EQ(bob_user->id, bob_id);
  EXPECT_EQ(bob_user->fields.at("first_name"), "bob");
  EXPECT_EQ(department_of(*bob_user), "Support");
  EXPECT_FALSE(ispring_user("cy"));
  EXPECT_EQ(ispring_.sandbox().users().size(), 2u);

  // 3. A second run with nothing changed writes nothing.
  int writes = ispring_writes();
  const auto again = connector({"reconcile", "--json"});
  ASSERT_EQ(again.exit_code, 0) << again.out << again.err;
  EXPECT_EQ(json::parse(again.out)["counts"]["to_apply"], 0);
  EXPECT_EQ(ispring_writes(), writes);

  // 4. Both sides change: only the differences are applied.
  salesforce_.sandbox().update_user(ann, {{"Department", "Support"}});
  writes = ispring_writes();
  const auto third = connector({"reconcile", "--json"});
  ASSERT_EQ(third.exit_code, 0) << third.out << third.err;
  const json counts = json::parse(third.out)["counts"];
  EXPECT_EQ(counts["move"], 1);
  EXPECT_EQ(counts["update"], 0);
  EXPECT_EQ(counts["create"], 0);
  EXPECT_EQ(department_of(*ispring_user("ann")), "Support");
  // Sales is left with no synchronised users: deleted (the seed's rule).
  EXPECT_FALSE(ispring_.sandbox().find_department_by_name("Sales"));
  EXPECT_EQ(counts["departments_deleted"], 1);
  EXPECT_EQ(ispring_writes() - writes, 2);  // the move and the department deletion

  // The history: four runs, the dry ones marked, and status shows the last sync.
  const auto runs = connector({"runs", "--json"});
  ASSERT_EQ(runs.exit_code, 0) << runs.err;
  const json list = json::parse(runs.out)["runs"];
  ASSERT_EQ(list.size(), 5u);
  EXPECT_TRUE(list[4]["dry_run"].get<bool>());
  EXPECT_EQ(list[0]["status"], "succeeded");
  EXPECT_EQ(list[0]["trigger"], "cli");
  const auto status = connector({"status", "--json"});
  const json s = json::parse(status.out);
  EXPECT_EQ(s["last_sync_status"], "succeeded");
  EXPECT_TRUE(s["last_sync_start"].is_string());
}

TEST_F(reconcile_e2e, TheSafetyLimitStopsARunBeforeAnyChange) {
  for (const char* name : {"dan", "eve", "fay"}) {
    add_salesforce_user(name, "Sales", false);
    ispring_.sandbox().add_user(std::string(name) + "@acme.example.prod",
                                std::string(name) + "@acme.example");
  }
  const auto run = connector({"reconcile", "--json"}, {{"sync", {{"max_deactivations", "2"}}}});
  EXPECT_EQ(run.exit_code, 1) << run.out;
  const json out = json::parse(run.out);
  EXPECT_EQ(out["status"], "stopped_by_safety_limit");
  EXPECT_NE(out["message"].get<std::string>().find("would deactivate or delete 3 users"),
            std::string::npos)
      << out["message"];
  EXPECT_EQ(ispring_writes(), 0);
  for (const auto& u : ispring_.sandbox().users()) EXPECT_EQ(u.status, 1);
}

TEST_F(reconcile_e2e, ASalesforceFailureFailsTheRunWithTheReason) {
  add_salesforce_user("gus", "Sales");
  salesforce_.sandbox().set_outage(true);
  const auto run = connector({"reconcile"});
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_NE(run.out.find("failed"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("503"), std::string::npos) << run.out;
  EXPECT_EQ(ispring_writes(), 0);
  const json list = json::parse(connector({"runs", "--json"}).out)["runs"];
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0]["status"], "failed");
}

TEST_F(reconcile_e2e, WrongCredentialsAreNamedByCheckAndByTheRun) {
  const json wrong_key = {
      {"salesforce", {{"private_key", "file:" + test_rsa_key(1).private_key_file.string()}}}};
  const auto check = connector({"check"}, wrong_key);
  EXPECT_NE(check.exit_code, 0);
  EXPECT_NE(check.out.find("FAIL  salesforce"), std::string::npos) << check.out;
  EXPECT_NE(check.out.find("invalid_grant"), std::string::npos) << check.out;
  EXPECT_EQ(check.out.find("PRIVATE KEY"), std::string::npos);
  const auto run = connector({"reconcile"}, wrong_key);
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_NE(run.out.find("invalid_grant"), std::string::npos) << run.out;
}

// --- several pages: each Salesforce page is planned as it arrives ------------------------

// 401 people on both sides, so the Salesforce read is three pages of 200; `last` (the newest
// record) differs in its first name and `by_mail` is known to iSpring under another login.
struct paged_people {
  std::vector<std::string> records;  // in query order (ids grow)
  std::vector<std::string> ispring_ids;
};

class reconcile_pages_e2e : public reconcile_e2e {
 protected:
  static constexpr int people = 401;

  paged_people seed() {
    paged_people out;
    std::vector<ispring_sandbox::seed_user> seeds;
    for (int i = 0; i < people; ++i) {
      const std::string name = "p" + std::to_string(i);
      out.records.push_back(add_salesforce_user(name, "Sales"));
      const bool by_mail = i == people - 2, last = i == people - 1;
      seeds.push_back({(by_mail ? "legacy-" : "") + name + "@acme.example.prod",
                       name + "@acme.example",
                       sales_,
                       {{"first_name", last ? "Old" : name},
                        {"last_name", "Tester"},
                        {"job_title", "Engineer"}}});
    }
    out.ispring_ids = ispring_.sandbox().add_users(seeds);
    return out;
  }

  int active_users() {
    int n = 0;
    for (const auto& u : ispring_.sandbox().users()) n += u.status == 1 ? 1 : 0;
    return n;
  }

  std::string sales_ = ispring_.sandbox().add_department("Sales");
};

TEST_F(reconcile_pages_e2e, UsersOnTheLastSalesforcePageAreMatchedNotCreatedAgain) {
  const auto seeded = seed();
  const auto run = connector({"reconcile", "--json"});
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  const json counts = json::parse(run.out)["counts"];
  EXPECT_EQ(counts["create"], 0);
  EXPECT_EQ(counts["update"], 2);  // the last one's first name, the other one's login
  EXPECT_EQ(counts["unchanged"], people - 2);
  EXPECT_EQ(counts["salesforce_users"], people);
  const auto users = ispring_.sandbox().users();
  ASSERT_EQ(users.size(), static_cast<std::size_t>(people));
  const auto last = ispring_user("p400");
  ASSERT_TRUE(last);
  EXPECT_EQ(last->id, seeded.ispring_ids.back());
  EXPECT_EQ(last->fields.at("first_name"), "p400");
  const auto by_mail = ispring_user("p399");  // its login now Salesforce's
  ASSERT_TRUE(by_mail);
  EXPECT_EQ(by_mail->id, seeded.ispring_ids[people - 2]);

  // Every user was linked, even the unchanged ones: the next run matches by link and changes
  // nothing.
  const int writes = ispring_writes();
  const auto again = connector({"reconcile", "--json"});
  ASSERT_EQ(again.exit_code, 0) << again.out << again.err;
  EXPECT_EQ(json::parse(again.out)["counts"]["to_apply"], 0);
  EXPECT_EQ(ispring_writes(), writes);
  // (explain finds a user by its iSpring id only through the link)
  const auto linked = connector({"explain", seeded.ispring_ids[200], "--offline", "--json"});
  EXPECT_EQ(linked.exit_code, 0) << linked.err;
  EXPECT_NE(linked.out.find(seeded.records[200]), std::string::npos) << linked.out;
}

TEST_F(reconcile_pages_e2e, LinkedUsersTheQueryNoLongerReturnsAreDeactivatedFromEveryPage) {
  const auto seeded = seed();
  ASSERT_EQ(connector({"reconcile"}).exit_code, 0);
  std::set<std::string> leavers;
  for (int i = 0; i < people; i += 50) {
    salesforce_.sandbox().update_user(seeded.records[i], {{"Title", "Leaver"}});
    leavers.insert(seeded.ispring_ids[i]);
  }
  const json filter = {{"salesforce", {{"query_filter", "Title != 'Leaver'"}}}};
  const auto run = connector({"reconcile", "--json"}, filter);
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  const json counts = json::parse(run.out)["counts"];
  EXPECT_EQ(counts["deactivate"], 9);
  EXPECT_EQ(counts["salesforce_users"], people - 9);
  EXPECT_EQ(counts["unchanged"], people - 9);
  for (const auto& u : ispring_.sandbox().users())
    EXPECT_EQ(u.status, leavers.contains(u.id) ? 3 : 1) << u.login();
}

TEST_F(reconcile_pages_e2e, APageFailingMidwayFailsTheRunAndRetiresNobody) {
  seed();
  ASSERT_EQ(connector({"reconcile"}).exit_code, 0);
  const int writes = ispring_writes();
  // The first page is read, the second is refused: had the run planned on with what it had,
  // the 201 users of the pages it never read would look gone and be deactivated.
  salesforce_.sandbox().set_request_limit(1);
  const auto run = connector({"reconcile", "--json"});
  EXPECT_EQ(run.exit_code, 1) << run.out;
  const json out = json::parse(run.out);
  EXPECT_EQ(out["status"], "failed");
  EXPECT_NE(out["message"].get<std::string>().find("reading Salesforce users failed"),
            std::string::npos)
      << out["message"];
  EXPECT_NE(out["message"].get<std::string>().find("REQUEST_LIMIT_EXCEEDED"), std::string::npos)
      << out["message"];
  EXPECT_EQ(ispring_writes(), writes);
  EXPECT_EQ(active_users(), people);
}

// --- department links: the connector renames and deletes only what it owns ----------------

// The case a full run got wrong: "Legacy" was renamed to "Sales" because the one user bound
// for Sales sat in it, taking an unmanaged user along. Legacy is nobody's: it stays, with
// the unmanaged user untouched, and the linked user moves to a new Sales.
TEST_F(reconcile_e2e, ADepartmentTheConnectorDoesNotOwnIsNeverRenamedOrDeleted) {
  add_salesforce_user("ann", "Sales", true, "Onboarding");
  auto& isp = ispring_.sandbox();
  const auto legacy = isp.add_department("Legacy");
  const auto zed = isp.add_user("zed@acme.example", "zed@acme.example", legacy,
                                {{"first_name", "Zed"}, {"last_name", "Manual"}});
  const auto ann = isp.add_user("ann@acme.example.prod", "ann@acme.example", legacy,
                                {{"first_name", "ann"}, {"last_name", "Tester"}});
  isp.add_group("Onboarding", {zed});
  const auto zed_before = *isp.find_user(zed);

  const auto run =
      connector({"reconcile", "--json"}, {{"sync", {{"delete_empty_departments", true}}}});
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  const json counts = json::parse(run.out)["counts"];
  EXPECT_EQ(counts["departments_renamed"], 0);
  EXPECT_EQ(counts["departments_deleted"], 0);

  const auto legacy_now = isp.find_department_by_name("Legacy");
  ASSERT_TRUE(legacy_now) << "Legacy was renamed or deleted";
  EXPECT_EQ(legacy_now->id, legacy);
  EXPECT_EQ(isp.calls("POST /department/{id}"), 0);
  EXPECT_EQ(isp.calls("DELETE /department/{id}"), 0);
  const auto zed_now = *isp.find_user(zed);
  EXPECT_EQ(zed_now.department_id, legacy);
  EXPECT_EQ(zed_now.fields, zed_before.fields);
  EXPECT_EQ(zed_now.status, zed_before.status);
  const auto sales = isp.find_department_by_name("Sales");
  ASSERT_TRUE(sales);
  EXPECT_NE(sales->id, legacy);
  EXPECT_EQ(ispring_user("ann")->id, ann) << "linked by login, not created again";
  EXPECT_EQ(ispring_user("ann")->department_id, sales->id);
  // Group members are replaced as a whole: the unmanaged member stays.
  const auto onboarding = isp.find_group_by_name("Onboarding");
  ASSERT_TRUE(onboarding);
  EXPECT_EQ(onboarding->user_ids, (std::vector<std::string>{zed, ann}));
  EXPECT_EQ(isp.find_user(zed)->group_ids, zed_before.group_ids);
}

// A configured ispring_name changes while users change department in the same run: one
// rename in place, no department created or deleted. (The inference from user movements
// made 6 writes here: create "Sales EMEA", move four users, delete "Sales".)
TEST_F(reconcile_e2e, AChangedIspringNameRenamesTheLinkedDepartmentInPlace) {
  add_salesforce_user("ann", "Sales");
  add_salesforce_user("bob", "Sales");
  const auto cy = add_salesforce_user("cy", "Sales");
  const auto dan = add_salesforce_user("dan", "Support");
  const json before = {
      {"sync",
       {{"departments", {{"Sales", {{"ispring_name", "Sales"}}}, {"Support", json::object()}}}}}};
  const auto first = connector({"reconcile", "--json"}, before);
  ASSERT_EQ(first.exit_code, 0) << first.out << first.err;
  auto& isp = ispring_.sandbox();
  const auto sales = isp.find_department_by_name("Sales");
  const auto support = isp.find_department_by_name("Support");
  ASSERT_TRUE(sales && support);
  const auto departments_before = isp.departments().size();

  salesforce_.sandbox().update_user(cy, {{"Department", "Support"}});
  salesforce_.sandbox().update_user(dan, {{"Department", "Sales"}});
  json after = before;
  after["sync"]["departments"]["Sales"]["ispring_name"] = "Sales EMEA";
  const int writes = ispring_writes();
  const auto renames = isp.calls("POST /department/{id}");
  const auto creates = isp.calls("POST /department");
  const auto deletes = isp.calls("DELETE /department/{id}");

  const auto dry = connector({"reconcile", "--dry-run"}, after);
  ASSERT_EQ(dry.exit_code, 0) << dry.out << dry.err;
  EXPECT_NE(dry.out.find("rename department 'Sales' → 'Sales EMEA' (its name for 'Sales' changed)"),
            std::string::npos)
      << dry.out;
  EXPECT_EQ(dry.out.find("create department"), std::string::npos) << dry.out;
  EXPECT_EQ(dry.out.find("delete department"), std::string::npos) << dry.out;

  const auto second = connector({"reconcile", "--json"}, after);
  ASSERT_EQ(second.exit_code, 0) << second.out << second.err;
  const json counts = json::parse(second.out)["counts"];
  EXPECT_EQ(counts["departments_renamed"], 1);
  EXPECT_EQ(counts["departments_created"], 0);
  EXPECT_EQ(counts["departments_deleted"], 0);
  EXPECT_EQ(counts["move"], 2);
  EXPECT_EQ(isp.calls("POST /department/{id}") - renames, 1);
  EXPECT_EQ(isp.calls("POST /department") - creates, 0);
  EXPECT_EQ(isp.calls("DELETE /department/{id}") - deletes, 0);
  EXPECT_EQ(ispring_writes() - writes, 3);  // the rename and two moves
  EXPECT_EQ(isp.departments().size(), departments_before);
  const auto renamed = isp.find_department_by_name("Sales EMEA");
  ASSERT_TRUE(renamed);
  EXPECT_EQ(renamed->id, sales->id);
  for (const char* name : {"ann", "bob", "dan"})
    EXPECT_EQ(ispring_user(name)->department_id, sales->id) << name;
  EXPECT_EQ(ispring_user("cy")->department_id, support->id);

  // Nothing left to do: the link learnt the new name.
  const int settled = ispring_writes();
  const auto third = connector({"reconcile", "--json"}, after);
  ASSERT_EQ(third.exit_code, 0) << third.out << third.err;
  EXPECT_EQ(json::parse(third.out)["counts"]["departments_renamed"], 0);
  EXPECT_EQ(ispring_writes(), settled);
}

// delete_empty_departments deletes only linked departments: an empty one under the
// connector's parent that it never linked stays, and a deleted one's link is forgotten.
TEST_F(reconcile_e2e, EmptyDepartmentsAreDeletedOnlyWhenTheConnectorOwnsThem) {
  const auto ann = add_salesforce_user("ann", "Sales");
  auto& isp = ispring_.sandbox();
  const auto parent = isp.add_department("Salesforce");
  const auto old_team = isp.add_department("Old Team", parent);
  const json config = {
      {"sync", {{"parent_department", "Salesforce"}, {"delete_empty_departments", true}}}};
  ASSERT_EQ(connector({"reconcile"}, config).exit_code, 0);
  const auto sales = isp.find_department_by_name("Sales");
  ASSERT_TRUE(sales);
  EXPECT_EQ(sales->parent_id, parent);

  salesforce_.sandbox().update_user(ann, {{"Department", "Support"}});
  const auto run = connector({"reconcile", "--json"}, config);
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  EXPECT_EQ(json::parse(run.out)["counts"]["departments_deleted"], 1);
  EXPECT_FALSE(isp.find_department_by_name("Sales")) << "the connector's own, left empty";
  const auto kept = isp.find_department_by_name("Old Team");
  ASSERT_TRUE(kept) << "empty, under the parent, but never the connector's";
  EXPECT_EQ(kept->id, old_team);
  EXPECT_EQ(isp.calls("DELETE /department/{id}"), 1);

  // The deleted department's link is gone: Sales is made anew when needed.
  salesforce_.sandbox().update_user(ann, {{"Department", "Sales"}});
  ASSERT_EQ(connector({"reconcile"}, config).exit_code, 0);
  const auto again = isp.find_department_by_name("Sales");
  ASSERT_TRUE(again);
  EXPECT_NE(again->id, sales->id);
  EXPECT_EQ(ispring_user("ann")->department_id, again->id);
  EXPECT_TRUE(isp.find_department_by_name("Old Team"));
}

class reconcile_service_e2e : public reconcile_e2e {
 protected:
  void start(const json& overrides = json::object()) {
    service_ = std::make_unique<running_service>(dir_.path(), config(overrides));
  }
  http_reply admin(const std::string& method, const std::string& target,
                   const std::string& token = test_admin_token) {
    auto client = service_->admin_client();
    std::vector<std::pair<std::string, std::string>> headers;
    if (!token.empty()) headers.emplace_back("Authorization", "Bearer " + token);
    return client.request(method, target, {}, headers);
  }
  json run_status(std::int64_t id) {
    const auto reply = admin("GET", "/admin/runs/" + std::to_string(id));
    return reply.status == 200 ? json::parse(reply.body) : json::object();
  }
  bool ended(std::int64_t id) {
    const auto s = run_status(id).value("status", "");
    return !s.empty() && s != "queued" && s != "running";
  }

  std::unique_ptr<running_service> service_;
};

TEST_F(reconcile_service_e2e, AScheduledRunHappensOnItsOwn) {
  add_salesforce_user("hal", "Sales");
  start({{"schedule", {{"run_type", "interval"}, {"run_interval_minutes", 60}}}});
  ASSERT_TRUE(eventually([&] { return ispring_user("hal").has_value(); }));
  ASSERT_TRUE(eventually([&] { return ended(1); }));
  const json run = run_status(1);
  EXPECT_EQ(run["trigger"], "scheduled");
  EXPECT_EQ(run["status"], "succeeded");
  EXPECT_EQ(run["counts"]["create"], 1);
  // Not again before the interval is over.
  const auto list = json::parse(admin("GET", "/admin/runs").body)["runs"];
  EXPECT_EQ(list.size(), 1u);
}

TEST_F(reconcile_service_e2e, AdminReconcileNeedsTheTokenAndQueuesRuns) {
  add_salesforce_user("ida", "Sales");
  start();
  EXPECT_EQ(admin("POST", "/admin/reconcile", "").status, 401);
  EXPECT_EQ(admin("POST", "/admin/reconcile", "wrong-token-wrong-token-00").status, 401);
  EXPECT_EQ(admin("GET", "/admin/runs/1", "").status, 401);
  EXPECT_EQ(json::parse(admin("GET", "/admin/runs").body)["runs"].size(), 0u);
  EXPECT_FALSE(ispring_user("ida"));

  const auto preview = admin("POST", "/admin/reconcile?dry_run=true");
  ASSERT_EQ(preview.status, 202) << preview.body;
  const auto preview_id = json::parse(preview.body)["id"].get<std::int64_t>();
  const auto real = admin("POST", "/admin/reconcile");
  ASSERT_EQ(real.status, 202) << real.body;
  const auto real_id = json::parse(real.body)["id"].get<std::int64_t>();
  EXPECT_GT(real_id, preview_id);

  ASSERT_TRUE(eventually([&] { return ended(real_id); }));
  const json dry = run_status(preview_id);
  EXPECT_EQ(dry["status"], "succeeded");
  EXPECT_EQ(dry["plan"]["users"][0]["actions"], json::array({"create"}));
  const json done = run_status(real_id);
  EXPECT_EQ(done["status"], "succeeded") << done.dump();
  EXPECT_EQ(done["trigger"], "admin");
  EXPECT_EQ(done["counts"]["applied"], 1);
  // The dry run started before the real one and ended before it started: never side by side.
  EXPECT_LE(dry["ended_at"].get<std::string>(), done["started_at"].get<std::string>());
  EXPECT_TRUE(ispring_user("ida"));
  EXPECT_EQ(admin("GET", "/admin/runs/999").status, 404);
  EXPECT_EQ(admin("GET", "/admin/runs/abc").status, 404);
}

TEST_F(reconcile_service_e2e, SighupAppliesANewSchedule) {
  add_salesforce_user("jo", "Sales");
  start();  // manual only
  EXPECT_EQ(json::parse(admin("GET", "/admin/runs").body)["runs"].size(), 0u);
  write_config({{"schedule", {{"run_type", "interval"}, {"run_interval_minutes", 5}}}});
  ::kill(service_->process().pid(), SIGHUP);
  ASSERT_TRUE(eventually([&] { return ispring_user("jo").has_value(); }));
  ASSERT_TRUE(eventually([&] { return ended(1); }));
  EXPECT_EQ(run_status(1)["trigger"], "scheduled");
}

// The worker creates a department and links it; once its ispring_name changes, the worker
// renames that same department in place, and a full run agrees with what the worker did.
TEST_F(reconcile_service_e2e, TheWorkerLinksTheDepartmentItCreatesAndRenamesItInPlace) {
  const json fields = {{"Username", "kim@acme.example.prod"},
                       {"Email", "kim@acme.example"},
                       {"FirstName", "kim"},
                       {"LastName", "Tester"},
                       {"Title", "Engineer"},
                       {"Department", "Sales"},
                       {"IsActive", true},
                       {"iSpring_Groups__c", ""}};
  const auto kim = salesforce_.sandbox().add_user(fields);
  json lee_fields = fields;
  lee_fields["Username"] = "lee@acme.example.prod";
  lee_fields["Email"] = "lee@acme.example";
  lee_fields["FirstName"] = "lee";
  const auto lee = salesforce_.sandbox().add_user(lee_fields);
  const auto notify = [&](const std::string& id, const json& f, std::uint64_t n) {
    user_notification note{make_id("04l", n), id, {}};
    for (const auto& [key, value] : f.items())
      note.fields[key] = value.is_string() ? value.get<std::string>() : value.dump();
    note.fields["SystemModstamp"] = "2026-11-01T10:00:0" + std::to_string(n) + ".000Z";
    const auto reply = service_->public_client().post_xml("/salesforce/outbound",
                                                          build_user_message(test_org_id, {note}));
    ASSERT_EQ(reply.status, 200) << reply.body;
  };
  const json named = {{"sync", {{"departments", {{"Sales", {{"ispring_name", "Sales"}}}}}}}};
  auto& isp = ispring_.sandbox();

  start(named);
  notify(kim, fields, 1);
  ASSERT_TRUE(eventually([&] { return ispring_user("kim").has_value(); }))
      << service_->process().stderr_text();
  const auto sales = isp.find_department_by_name("Sales");
  ASSERT_TRUE(sales);
  EXPECT_EQ(ispring_user("kim")->department_id, sales->id);
  ASSERT_EQ(service_->stop(), 0);

  json renamed = named;
  renamed["sync"]["departments"]["Sales"]["ispring_name"] = "Sales EMEA";
  write_config(renamed);  // the same file, read again by the same service's next start
  service_->start();
  notify(lee, lee_fields, 2);
  ASSERT_TRUE(eventually([&] { return ispring_user("lee").has_value(); }))
      << service_->process().stderr_text();
  EXPECT_EQ(ispring_user("lee")->department_id, sales->id);
  const auto now = isp.find_department_by_name("Sales EMEA");
  ASSERT_TRUE(now);
  EXPECT_EQ(now->id, sales->id) << "renamed in place";
  EXPECT_FALSE(isp.find_department_by_name("Sales"));
  EXPECT_EQ(isp.calls("POST /department"), 1);  // created once, by the first notification
  EXPECT_EQ(isp.calls("POST /department/{id}"), 1);
  EXPECT_EQ(isp.calls("DELETE /department/{id}"), 0);
  EXPECT_EQ(ispring_user("kim")->department_id, sales->id);

  // The full run finds the worker's link: nothing to rename, create or delete.
  const int writes = ispring_writes();
  const auto run = connector({"reconcile", "--json"}, renamed);
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  const json counts = json::parse(run.out)["counts"];
  EXPECT_EQ(counts["departments_renamed"], 0);
  EXPECT_EQ(counts["departments_created"], 0);
  EXPECT_EQ(counts["departments_deleted"], 0);
  EXPECT_EQ(counts["to_apply"], 0);
  EXPECT_EQ(ispring_writes(), writes);
}

// Salesforce could not send the data of a change (GAP events): the worker reads that user
// over REST and applies what it reads; a wildcard GAP ("005*": every user) queues a full
// reconciliation instead.
class gap_events_e2e : public reconcile_service_e2e {
 protected:
  void start_with_events() {
    start({{"server", {{"events_signing_secrets", {test_events_secret}}}}});
  }

  http_reply send_gap(const std::string& record_id, const std::string& type,
                      const std::string& webhook_id, std::int64_t commit_ms) {
    const std::string body =
        json{{"ChangeEventHeader",
              user_change_header(record_id, type, "tx-" + webhook_id, commit_ms)}}
            .dump();
    auto client = service_->public_client();
    return post_signed_event(client, body, webhook_id);
  }

  std::size_t runs_so_far() { return json::parse(admin("GET", "/admin/runs").body)["runs"].size(); }
};

TEST_F(gap_events_e2e, AGapEventRereadsThatUserOnly) {
  const auto kim = add_salesforce_user("kim", "Sales");
  add_salesforce_user("lee", "Sales");  // no event names lee: lee stays where he is
  start_with_events();

  const auto reply = send_gap(kim, "GAP_CREATE", "msg_gap_1", 1'764'000'000'000);
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(json::parse(reply.body)["rereads"], 1);
  EXPECT_FALSE(json::parse(reply.body)["full_reconciliation"].get<bool>());
  ASSERT_TRUE(eventually([&] { return ispring_user("kim").has_value(); }));
  EXPECT_EQ(ispring_user("kim")->fields.at("job_title"), "Engineer") << "read from Salesforce";
  EXPECT_FALSE(ispring_user("lee")) << "only the named user is read";
  EXPECT_EQ(runs_so_far(), 0u) << "no full reconciliation for one user";

  // A later change Salesforce again sent without data: read again, the new title applied.
  salesforce_.sandbox().update_user(kim, {{"Title", "Staff Engineer"}});
  ASSERT_EQ(send_gap(kim, "GAP_UPDATE", "msg_gap_2", 1'764'000'001'000).status, 200);
  ASSERT_TRUE(eventually([&] {
    return ispring_user("kim") && ispring_user("kim")->fields.at("job_title") == "Staff Engineer";
  }));
  const auto status = json::parse(connector({"status", "--json"}).out);
  EXPECT_EQ(status["pending"], 0);
  EXPECT_EQ(status["dead_letters"], 0);
}

TEST_F(gap_events_e2e, AFailedRereadIsRetriedNotDropped) {
  const auto kim = add_salesforce_user("kim", "Sales");
  start_with_events();
  salesforce_.sandbox().set_outage(true);
  ASSERT_EQ(send_gap(kim, "GAP_UPDATE", "msg_gap_1", 1'764'000'000'000).status, 200);
  ASSERT_TRUE(eventually([&] {
    return json::parse(connector({"status", "--json"}).out)["retrying"].get<int>() == 1;
  }));
  const auto status = json::parse(connector({"status", "--json"}).out);
  const std::string error = status["retrying_records"][0]["last_error"];
  EXPECT_NE(error.find("reading the user over REST failed"), std::string::npos) << error;
  EXPECT_FALSE(ispring_user("kim"));

  salesforce_.sandbox().set_outage(false);
  ASSERT_TRUE(eventually([&] { return ispring_user("kim").has_value(); }));
}

TEST_F(gap_events_e2e, AWildcardGapQueuesAFullReconciliation) {
  add_salesforce_user("kim", "Sales");
  start_with_events();
  const auto reply = send_gap("005*", "GAP_OVERFLOW", "msg_overflow", 1'764'000'000'000);
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_TRUE(json::parse(reply.body)["full_reconciliation"].get<bool>());
  ASSERT_TRUE(eventually([&] { return ended(1); }));
  EXPECT_EQ(run_status(1)["trigger"], "gap_event");
  EXPECT_EQ(run_status(1)["status"], "succeeded");
  EXPECT_TRUE(ispring_user("kim"));
}

}  // namespace
}  // namespace connector::testing

// The admin pickers (issue 16 §4): the SOQL they send, their answers, and their routes
// called in-process against the Salesforce sandbox (over TLS, through the real REST client)
// and the iSpring sandbox, including what must never happen: a search widening the query,
// a configured department silently matching nobody, a credential in an error.
#include "connector/app/pickers.hpp"

#include <gtest/gtest.h>

#include <future>
#include <map>

#include "connector/salesforce/rest_client.hpp"
#include "support/eventually.hpp"
#include "support/in_process_ispring.hpp"
#include "support/ispring_sandbox.hpp"
#include "support/salesforce_sandbox_server.hpp"
#include "support/service.hpp"

namespace connector::app {
namespace {

using nlohmann::json;
using testing::salesforce_sandbox_server;

constexpr const char* admin_token = "picker-test-token";
constexpr const char* client_secret = "sandbox-consumer-secret";

config::department_rule all_users() {
  return {};
}

// --- Pure parts ---------------------------------------------------------------------------

TEST(PickerQueries, EscapingNeverEndsTheLiteral) {
  EXPECT_EQ(soql_escape("O'Brien"), "O\\'Brien");
  EXPECT_EQ(soql_escape("a\\' OR Name != '"), "a\\\\\\' OR Name != \\'");
  EXPECT_EQ(soql_escape("line\nbreak\t\"q\""), "line\\nbreak\\t\\\"q\\\"");
  EXPECT_EQ(soql_escape("50%_off"), "50%_off");
  EXPECT_EQ(soql_escape("50%_off", true), "50\\%\\_off");
  EXPECT_EQ(soql_escape(std::string("bell\x07", 5)), "bell");
}

TEST(PickerQueries, CountUsesTheConfiguredFieldObjectAndFilter) {
  config::salesforce_settings sf;
  config::mapping_settings mapping;
  EXPECT_EQ(department_count_query(sf, mapping),
            "SELECT Department, COUNT(Id) FROM User WHERE IsActive = true AND (UserType = "
            "'Standard') GROUP BY Department LIMIT 2000");
  sf.query_filter.clear();
  mapping.department = "Division";
  EXPECT_EQ(department_count_query(sf, mapping),
            "SELECT Division, COUNT(Id) FROM User WHERE IsActive = true GROUP BY Division LIMIT "
            "2000");
  mapping.department = "Division) FROM Account --";
  EXPECT_THROW(department_count_query(sf, mapping), std::invalid_argument);
}

TEST(PickerQueries, ConfiguredDepartmentsAreCountedByName) {
  config::salesforce_settings sf;
  config::mapping_settings mapping;
  EXPECT_EQ(
      configured_count_query(sf, mapping, {"Sales", "O'Brien's"}),
      "SELECT Department, COUNT(Id) FROM User WHERE IsActive = true AND (UserType = "
      "'Standard') AND Department IN ('Sales', 'O\\'Brien\\'s') GROUP BY Department LIMIT 2000");
  EXPECT_THROW(configured_count_query(sf, mapping, {}), std::invalid_argument);
}

TEST(PickerQueries, UserSearchEscapesDepartmentAndText) {
  config::salesforce_settings sf;
  config::mapping_settings mapping;
  user_search search{"Sales' OR Department != '", "50%' OR Name != '", 20, 40};
  EXPECT_EQ(user_search_query(sf, mapping, search),
            "SELECT Id, Username, Name, Email, Department FROM User WHERE IsActive = true AND "
            "Department = 'Sales\\' OR Department != \\'' AND (UserType = 'Standard') AND (Name "
            "LIKE '%50\\%\\' OR Name != \\'%' OR Username LIKE '%50\\%\\' OR Name != \\'%' OR "
            "Email LIKE '%50\\%\\' OR Name != \\'%') ORDER BY Name, Id LIMIT 21 OFFSET 40");
  // Every department (the page's Add New Department): no department condition at all.
  search.department.clear();
  search.text = "ann";
  search.offset = 0;
  EXPECT_EQ(user_search_query(sf, mapping, search),
            "SELECT Id, Username, Name, Email, Department FROM User WHERE IsActive = true AND "
            "(UserType = 'Standard') AND (Name LIKE '%ann%' OR Username LIKE '%ann%' OR Email "
            "LIKE '%ann%') ORDER BY Name, Id LIMIT 21");
}

TEST(PickerAnswers, ConfiguredDepartmentsWithoutUsersAreFlagged) {
  config::sync_settings sync;
  sync.departments = {{"sales", all_users()}, {"Salse", all_users()}, {"Legal", all_users()}};
  const std::vector<department_count> counts{{"Support", 3}, {"Sales", 12}, {"", 2}, {"Legal", 0}};
  const json answer = departments_answer(counts, sync, true);
  EXPECT_EQ(answer["without_department"], 2);
  EXPECT_EQ(answer["complete"], true);
  EXPECT_EQ(answer["departments"], json::parse(R"([
              {"name": "Legal", "active_users": 0, "selected": true, "missing": true},
              {"name": "Sales", "active_users": 12, "selected": true},
              {"name": "Salse", "active_users": 0, "selected": true, "missing": true},
              {"name": "Support", "active_users": 3, "selected": false}])"));
  EXPECT_EQ(unmatched_departments(counts, sync, true),
            (std::vector<std::string>{"Legal", "Salse"}));
  // A cut list cannot prove a department absent: nothing is flagged.
  EXPECT_TRUE(unmatched_departments(counts, sync, false).empty());
  // "*" is no department; no list selects everything.
  sync.departments = {{"*", all_users()}};
  EXPECT_TRUE(unmatched_departments(counts, sync, true).empty());
  EXPECT_TRUE(department_selected(sync, "Anything"));
  EXPECT_TRUE(department_selected(config::sync_settings{}, "Anything"));
}

config::department_rule hand_picked(std::vector<std::string> users) {
  config::department_rule rule;
  rule.custom = true;
  rule.sync_all_users = false;
  rule.users = std::move(users);
  return rule;
}

TEST(PickerAnswers, ACustomDepartmentIsNoSalesforceValue) {
  config::sync_settings sync;
  sync.departments = {{"Sales", all_users()}, {"Onboarding", hand_picked({"ann@acme.example"})}};
  // A Salesforce department that happens to be called Onboarding: not selected through the
  // custom entry, and the custom entry, which no user carries, is never "missing".
  const std::vector<department_count> counts{{"Sales", 12}, {"Onboarding", 2}};
  EXPECT_TRUE(unmatched_departments(counts, sync, true).empty());
  EXPECT_TRUE(unmatched_departments({{"Sales", 12}}, sync, true).empty());
  EXPECT_FALSE(department_selected(sync, "Onboarding"));
  EXPECT_FALSE(department_selected(sync, "onboarding"));
  EXPECT_EQ(departments_answer(counts, sync, true)["departments"], json::parse(R"([
              {"name": "Onboarding", "active_users": 2, "selected": false},
              {"name": "Sales", "active_users": 12, "selected": true}])"));
  // Not even "*" pulls it in.
  sync.departments["*"] = all_users();
  EXPECT_FALSE(department_selected(sync, "Onboarding"));
  EXPECT_TRUE(department_selected(sync, "Support"));
}

TEST(PickerQueries, CustomDepartmentsUsersAreAskedForByUsernameOrId) {
  config::salesforce_settings sf;
  config::sync_settings sync;
  sync.departments = {{"Sales", all_users()},
                      {"Onboarding", hand_picked({"o'hara@acme.example", "005000000000001AAA"})},
                      {"Mentors", hand_picked({"kim@acme.example"})}};
  EXPECT_EQ(custom_users_queries(sf, sync),
            std::vector<std::string>{
                "SELECT Id, Username, IsActive FROM User WHERE (Username IN ('kim@acme.example', "
                "'o\\'hara@acme.example') OR Id IN ('005000000000001AAA')) AND (UserType = "
                "'Standard')"});
  sync.departments = {{"Sales", all_users()}};
  EXPECT_TRUE(custom_users_queries(sf, sync).empty()) << "nothing to ask";
}

TEST(PickerAnswers, CustomDepartmentUsersMissingOrInactiveAreWarnedAbout) {
  config::sync_settings sync;
  sync.departments = {{"Onboarding", hand_picked({"ann@acme.example", "ghost@acme.example",
                                                  "005000000000002", "zed@acme.example"})}};
  const std::vector<json> records{
      {{"Id", "005000000000001AAA"}, {"Username", "ANN@acme.example"}, {"IsActive", true}},
      {{"Id", "005000000000002AAA"}, {"Username", "bo@acme.example"}, {"IsActive", true}},
      {{"Id", "005000000000003AAA"}, {"Username", "zed@acme.example"}, {"IsActive", false}}};
  const json warnings = custom_user_warnings(sync, records);
  ASSERT_EQ(warnings.size(), 2u) << warnings.dump(2);
  EXPECT_EQ(warnings[0]["user"], "ghost@acme.example");
  EXPECT_EQ(warnings[0]["message"],
            "sync.departments['Onboarding'] lists 'ghost@acme.example', who is no Salesforce "
            "user the connector reads: not synchronised");
  EXPECT_EQ(warnings[1]["user"], "zed@acme.example");
  EXPECT_NE(warnings[1]["message"].get<std::string>().find("inactive"), std::string::npos);
}

TEST(PickerAnswers, ChosenByGroupNoDepartmentSelects) {
  config::sync_settings sync;
  sync.select_by = "group";
  sync.groups = std::vector<std::string>{"Mentors"};
  sync.departments = {{"Sales", all_users()}};
  EXPECT_FALSE(department_selected(sync, "Sales"));
  EXPECT_FALSE(department_selected(sync, "Support"));
}

TEST(PickerQueries, UserSearchReadsTheGroupFieldWhenMapped) {
  config::salesforce_settings sf;
  config::mapping_settings mapping;
  mapping.groups = "Groups__c";
  EXPECT_EQ(user_search_query(sf, mapping, user_search{"Sales", "", 20, 0}),
            "SELECT Id, Username, Name, Email, Department, Groups__c FROM User WHERE IsActive = "
            "true AND Department = 'Sales' AND (UserType = 'Standard') ORDER BY Name, Id LIMIT 21");
}

TEST(PickerAnswers, CountsWithoutTheExpectedShapeAreAnError) {
  config::mapping_settings mapping;
  EXPECT_FALSE(read_department_counts({json{{"Department", "Sales"}}}, mapping));
  EXPECT_FALSE(read_department_counts({json{{"Department", "Sales"}, {"expr0", "12"}}}, mapping));
  EXPECT_FALSE(read_department_counts({json{{"Division", "Sales"}, {"expr0", 12}}}, mapping));
  const auto read = read_department_counts({json{{"Department", nullptr}, {"expr0", 4}}}, mapping);
  ASSERT_TRUE(read);
  EXPECT_EQ(read->front().name, "");
  EXPECT_EQ(read->front().active_users, 4);
}

TEST(PickerAnswers, IspringDepartmentsCarryTheirPath) {
  const std::vector<ispring::department> departments{
      {"r", "Example Corp", std::nullopt, std::nullopt},
      {"e", "EMEA", "s", "EMEA"},
      {"s", "Sales", "r", std::nullopt},
      {"x", "Loop", "x", std::nullopt}};
  const json answer = ispring_departments_answer(departments)["departments"];
  ASSERT_EQ(answer.size(), 4u);
  EXPECT_EQ(answer[0]["path"], "Example Corp");
  EXPECT_EQ(answer[1]["path"], "Example Corp / Sales");
  EXPECT_EQ(answer[2]["path"], "Example Corp / Sales / EMEA");
  EXPECT_EQ(answer[2]["code"], "EMEA");
  EXPECT_EQ(answer[0]["parent_id"], nullptr);
}

// --- The routes, in-process against the sandboxes ----------------------------------------

class PickerRoutes : public ::testing::Test {
 protected:
  PickerRoutes() : ispring_api_(std::make_shared<testing::in_process_ispring>(ispring_)) {
    settings_.admin.token = config::secret(admin_token);
    auto& sf = settings_.salesforce;
    sf.login_url = salesforce_.base_url();
    sf.client_id = "sandbox-consumer-key";
    sf.client_secret = config::secret(client_secret);
    sf.tls_ca_file = testing::test_certs::get().ca_crt.string();
    sf.allowed_instance_hosts = {"localhost", "127.0.0.1"};
    settings_.sync.departments = {{"Sales", all_users()}, {"Salse", all_users()}};
    config::department_rule support;
    support.sync_all_users = false;
    support.users = {"dee@acme.example"};
    settings_.sync.departments["Support"] = support;
  }

  picker_sources sources() {
    picker_sources s;
    s.salesforce = std::make_shared<salesforce::rest_client>(settings_.salesforce, clock_);
    s.ispring = ispring_api_;
    s.settings = [this] { return settings_; };
    return s;
  }

  pickers& open() {
    if (!pickers_) pickers_ = std::make_unique<pickers>(sources());
    return *pickers_;
  }

  std::string add(const std::string& name, const std::string& department, bool active = true) {
    return salesforce_.sandbox().add_user({{"Username", name + "@acme.example"},
                                           {"Email", name + "@mail.example"},
                                           {"FirstName", name},
                                           {"LastName", "Tester"},
                                           {"Department", department},
                                           {"IsActive", active}});
  }

  http::response call(pickers& p, const std::string& target,
                      const std::string& token = admin_token) {
    http::request req;
    req.method = "GET";
    req.target = target;
    const auto question = target.find('?');
    req.path = target.substr(0, question);
    if (question != std::string::npos) req.query = target.substr(question + 1);
    if (!token.empty()) req.headers.emplace_back("authorization", "Bearer " + token);
    for (auto& route : p.routes({{"admin", config::secret(admin_token)}})) {
      if (route.path != req.path) continue;
      auto answer = std::make_shared<std::promise<http::response>>();
      auto done = answer->get_future();
      route.handler(std::move(req),
                    [answer](http::response r) { answer->set_value(std::move(r)); });
      return done.get();
    }
    ADD_FAILURE() << "no route " << req.path;
    return {};
  }
  json body(const http::response& r) { return json::parse(r.body); }

  system_clock clock_;
  config::settings settings_;
  salesforce_sandbox_server salesforce_;
  testing::ispring_sandbox ispring_;
  std::shared_ptr<testing::in_process_ispring> ispring_api_;
  std::unique_ptr<pickers> pickers_;
};

TEST_F(PickerRoutes, EveryRouteWantsTheAdminToken) {
  auto& p = open();
  for (const char* path :
       {"/admin/salesforce/departments", "/admin/salesforce/users?department=Sales",
        "/admin/salesforce/fields", "/admin/ispring/fields", "/admin/ispring/departments",
        "/admin/ispring/groups"}) {
    EXPECT_EQ(call(p, path, "").status, 401) << path;
    EXPECT_EQ(call(p, path, "wrong").status, 401) << path;
  }
  EXPECT_EQ(salesforce_.sandbox().calls("POST /services/oauth2/token"), 0);
  EXPECT_TRUE(ispring_.request_log().empty());
}

TEST_F(PickerRoutes, DepartmentsCountActiveUsersAndSayWhichConfiguredOneMatchesNobody) {
  add("ann", "Sales");
  add("bob", "Sales");
  add("cy", "Sales", false);
  add("dee", "Support");
  add("eve", "");
  auto& p = open();
  // Before any count, status has nothing to say, and asks in the background.
  EXPECT_EQ(p.status_warnings(), json::array());
  const auto r = call(p, "/admin/salesforce/departments");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(body(r), json::parse(R"({
    "departments": [
      {"name": "Sales", "active_users": 2, "selected": true},
      {"name": "Salse", "active_users": 0, "selected": true, "missing": true},
      {"name": "Support", "active_users": 1, "selected": true}],
    "without_department": 1, "complete": true})"));
  const auto log = salesforce_.sandbox().request_log();
  ASSERT_FALSE(log.empty());
  EXPECT_EQ(log.back().soql,
            "SELECT Department, COUNT(Id) FROM User WHERE IsActive = true AND (UserType = "
            "'Standard') GROUP BY Department LIMIT 2000");
  const json warnings = p.status_warnings();
  ASSERT_EQ(warnings.size(), 1u) << warnings;
  EXPECT_EQ(warnings[0]["kind"], "department_matches_no_user");
  EXPECT_EQ(warnings[0]["department"], "Salse");
  EXPECT_NE(warnings[0]["message"].get<std::string>().find("'Salse'"), std::string::npos);
  // The typo fixed in the settings: the warning goes at once, from the same counts.
  settings_.sync.departments.erase("Salse");
  EXPECT_EQ(p.status_warnings(), json::array());
}

// More departments than one grouped answer holds: the list is cut, and the configured
// departments beyond the cut are asked for by name, so none is called missing by mistake.
TEST_F(PickerRoutes, ACutListStillTellsConfiguredDepartmentsApart) {
  salesforce_.sandbox().add_generated_users(2100, json::object(), 2100);  // one user each
  settings_.sync.departments = {{"Department 2050", all_users()},         // beyond the first 2000
                                {"Department 5", all_users()},
                                {"Department 9999", all_users()}};
  auto& p = open();
  const auto r = call(p, "/admin/salesforce/departments");
  ASSERT_EQ(r.status, 200) << r.body.substr(0, 300);
  const json answer = body(r);
  EXPECT_EQ(answer["complete"], false);
  std::map<std::string, json> by_name;
  for (const auto& d : answer["departments"]) by_name[d["name"]] = d;
  EXPECT_EQ(by_name.size(), 2002u);  // the first 2000, the one found by name, the missing one
  EXPECT_EQ(by_name["Department 2050"],
            json({{"name", "Department 2050"}, {"active_users", 1}, {"selected", true}}));
  EXPECT_EQ(by_name["Department 9999"]["missing"], true);
  const auto warnings = p.status_warnings();
  ASSERT_EQ(warnings.size(), 1u) << warnings;
  EXPECT_EQ(warnings[0]["department"], "Department 9999");
  // A department added to the settings since: not known yet, so not called missing.
  settings_.sync.departments["Department 2075"] = all_users();
  EXPECT_EQ(p.status_warnings().size(), 1u);
}

TEST_F(PickerRoutes, StatusWarningsRefreshOnTheirOwn) {
  add("ann", "Sales");
  add("dee", "Support");
  auto& p = open();
  EXPECT_EQ(p.status_warnings(), json::array());
  ASSERT_TRUE(testing::eventually([&p] { return p.status_warnings().size() == 1; }));
  EXPECT_EQ(p.status_warnings()[0]["department"], "Salse");
  // The counts are fresh enough: status asks Salesforce no more.
  const int queries = salesforce_.sandbox().calls("GET /services/data/{version}/query");
  EXPECT_EQ(p.status_warnings().size(), 1u);
  EXPECT_EQ(salesforce_.sandbox().calls("GET /services/data/{version}/query"), queries);
}

TEST_F(PickerRoutes, UsersOfADepartmentWithSearchAndWhoIsSelected) {
  add("ann", "Support");
  add("annabel", "Support");
  add("dee", "Support");
  add("zed", "Support", false);
  add("anna", "Sales");
  auto& p = open();
  const auto all = call(p, "/admin/salesforce/users?department=support");
  ASSERT_EQ(all.status, 200) << all.body;
  const json users = body(all)["users"];
  ASSERT_EQ(users.size(), 3u) << all.body;  // not the inactive one, not Sales
  EXPECT_EQ(users[0]["name"], "ann Tester");
  EXPECT_EQ(users[0]["username"], "ann@acme.example");
  EXPECT_EQ(users[0]["email"], "ann@mail.example");
  EXPECT_EQ(users[0]["selected"], false);
  EXPECT_EQ(users[2]["username"], "dee@acme.example");
  EXPECT_EQ(users[2]["selected"], true);  // listed in sync.departments.Support.users
  EXPECT_EQ(body(all)["more"], false);

  const auto search = call(p, "/admin/salesforce/users?department=Support&q=ANNA");
  ASSERT_EQ(search.status, 200) << search.body;
  ASSERT_EQ(body(search)["users"].size(), 1u);
  EXPECT_EQ(body(search)["users"][0]["username"], "annabel@acme.example");
  // By e-mail domain, then paged.
  const auto page1 = call(p, "/admin/salesforce/users?department=Support&q=mail.example&limit=2");
  ASSERT_EQ(page1.status, 200) << page1.body;
  EXPECT_EQ(body(page1)["users"].size(), 2u);
  EXPECT_EQ(body(page1)["more"], true);
  const auto page2 =
      call(p, "/admin/salesforce/users?department=Support&q=mail.example&limit=2&offset=2");
  ASSERT_EQ(body(page2)["users"].size(), 1u);
  EXPECT_EQ(body(page2)["users"][0]["username"], "dee@acme.example");
  EXPECT_EQ(body(page2)["more"], false);
}

// "Add New Department" picks users whatever their department: a search over every
// department, each user with their own department and whether the settings select them.
// Without q it refuses (a whole org is no tick list) and asks Salesforce nothing.
TEST_F(PickerRoutes, SearchAcrossEveryDepartmentNeedsQAndNamesEachUsersDepartment) {
  add("ann", "Support");
  add("annabel", "Finance");
  add("anders", "");
  add("annie", "Sales", false);
  add("bob", "Sales");
  auto& p = open();
  const auto found = call(p, "/admin/salesforce/users?q=ann");
  ASSERT_EQ(found.status, 200) << found.body;
  const json users = body(found)["users"];
  ASSERT_EQ(users.size(), 2u) << found.body;  // not the inactive one, not bob
  EXPECT_EQ(users[0]["username"], "ann@acme.example");
  EXPECT_EQ(users[0]["department"], "Support");
  EXPECT_EQ(users[0]["selected"], false);  // Support lists only dee
  EXPECT_EQ(users[1]["username"], "annabel@acme.example");
  EXPECT_EQ(users[1]["department"], "Finance");
  EXPECT_EQ(users[1]["selected"], false);
  const auto sales = call(p, "/admin/salesforce/users?department=&q=bob");
  ASSERT_EQ(sales.status, 200) << sales.body;
  ASSERT_EQ(body(sales)["users"].size(), 1u);
  EXPECT_EQ(body(sales)["users"][0]["department"], "Sales");
  EXPECT_EQ(body(sales)["users"][0]["selected"], true);
  // In one department the answer names it too.
  EXPECT_EQ(body(call(p, "/admin/salesforce/users?department=Support"))["users"][0]["department"],
            "Support");
  const auto queries = salesforce_.sandbox().calls("GET /services/data/{version}/query");
  for (const char* target : {"/admin/salesforce/users", "/admin/salesforce/users?department=&q="}) {
    const auto r = call(p, target);
    EXPECT_EQ(r.status, 400) << target;
    EXPECT_EQ(body(r)["error"].get<std::string>().rfind("department", 0), 0u) << r.body;
  }
  EXPECT_EQ(salesforce_.sandbox().calls("GET /services/data/{version}/query"), queries);
}

TEST_F(PickerRoutes, HandPickedAndGroupChosenUsersAreSelectedAndCustomNamesNeverWarn) {
  add("ann", "Support");
  add("bob", "Support");
  add("cy", "Sales");
  settings_.sync.departments["Onboarding"] = hand_picked({"ann@acme.example"});
  auto& p = open();
  // Ann's Support lists only Dee; the custom department hand-picks her.
  const auto support = call(p, "/admin/salesforce/users?department=Support");
  ASSERT_EQ(support.status, 200) << support.body;
  ASSERT_EQ(body(support)["users"].size(), 2u);
  EXPECT_EQ(body(support)["users"][0]["username"], "ann@acme.example");
  EXPECT_EQ(body(support)["users"][0]["selected"], true);
  EXPECT_EQ(body(support)["users"][1]["selected"], false);
  // Only the misspelt Salse warns: Onboarding is ours, not a Salesforce value.
  ASSERT_TRUE(testing::eventually([&p] { return p.status_warnings().size() == 1; }));
  EXPECT_EQ(p.status_warnings()[0]["department"], "Salse");
  EXPECT_EQ(p.status_warnings()[0]["kind"], "department_matches_no_user");
  const auto departments = call(p, "/admin/salesforce/departments");
  ASSERT_EQ(departments.status, 200) << departments.body;
  EXPECT_EQ(departments.body.find("Onboarding"), std::string::npos) << departments.body;
}

TEST_F(PickerRoutes, ACustomDepartmentsUserWhoIsGoneOrInactiveIsWarnedAbout) {
  add("ann", "Support");
  add("zed", "Support", false);
  settings_.sync.departments = {
      {"Onboarding", hand_picked({"ann@acme.example", "zed@acme.example", "ghost@acme.example"})}};
  auto& p = open();
  ASSERT_TRUE(testing::eventually([&p] { return p.status_warnings().size() == 2; }));
  const json warnings = p.status_warnings();
  EXPECT_EQ(warnings[0]["kind"], "custom_department_user");
  EXPECT_EQ(warnings[0]["user"], "zed@acme.example");
  EXPECT_EQ(warnings[1]["user"], "ghost@acme.example");
  // Taken out of the list: the warning goes with it, without asking Salesforce again.
  settings_.sync.departments["Onboarding"].users = {"ann@acme.example", "zed@acme.example"};
  EXPECT_EQ(p.status_warnings().size(), 1u);
}

TEST_F(PickerRoutes, ChosenByGroupTheUsersOfTheGroupAreSelected) {
  for (const auto& [name, groups] :
       {std::pair{"eve", "Mentors;Other"}, std::pair{"fay", "Other"}, std::pair{"gus", ""}})
    salesforce_.sandbox().add_user({{"Username", std::string(name) + "@acme.example"},
                                    {"Email", std::string(name) + "@mail.example"},
                                    {"LastName", "Tester"},
                                    {"Department", "Sales"},
                                    {"IsActive", true},
                                    {"Groups__c", groups}});
  settings_.mapping.groups = "Groups__c";
  settings_.sync.select_by = "group";
  settings_.sync.groups = std::vector<std::string>{"mentors"};
  settings_.sync.departments = {{"Sales", all_users()}};
  auto& p = open();
  const auto users = call(p, "/admin/salesforce/users?department=Sales");
  ASSERT_EQ(users.status, 200) << users.body;
  const json list = body(users)["users"];
  ASSERT_EQ(list.size(), 3u) << users.body;
  EXPECT_EQ(list[0]["selected"], true);  // eve
  EXPECT_EQ(list[1]["selected"], false);
  EXPECT_EQ(list[2]["selected"], false);
}

TEST_F(PickerRoutes, InjectionCannotWidenTheUserList) {
  for (const char* name : {"ann", "bob", "cy"}) add(name, "Support");
  add("dan", "Sales");
  auto& p = open();
  // Each would list every user if it reached SOQL unescaped; escaped, it matches nobody.
  for (const char* target :
       {"/admin/salesforce/users?department=Support&q=%27%20OR%20Name%20!%3D%20%27",
        "/admin/salesforce/users?department=Support&q=%25",
        "/admin/salesforce/users?department=Support&q=_",
        "/admin/salesforce/users?department=Support&q=%5C%27%20OR%20Name%20!%3D%20%27",
        "/admin/salesforce/users?department=Sales%27%20OR%20Department%20!%3D%20%27",
        "/admin/salesforce/users?department=%25"}) {
    const auto r = call(p, target);
    ASSERT_EQ(r.status, 200) << target << ": " << r.body;
    EXPECT_EQ(body(r)["users"], json::array()) << target;
  }
  const auto log = salesforce_.sandbox().request_log();
  EXPECT_TRUE(std::any_of(log.begin(), log.end(), [](const auto& entry) {
    return entry.soql.find("Department = 'Sales\\' OR Department != \\''") != std::string::npos;
  }));
}

TEST_F(PickerRoutes, BadParametersAreRefusedNamingThem) {
  auto& p = open();
  const auto missing = call(p, "/admin/salesforce/users");
  EXPECT_EQ(missing.status, 400);
  EXPECT_EQ(body(missing)["error"].get<std::string>().rfind("department", 0), 0u);
  for (const char* target : {"/admin/salesforce/users?department=Sales&limit=0",
                             "/admin/salesforce/users?department=Sales&limit=201",
                             "/admin/salesforce/users?department=Sales&offset=2001",
                             "/admin/salesforce/users?department=Sales&limit=x"}) {
    const auto r = call(p, target);
    EXPECT_EQ(r.status, 400) << target;
  }
  const auto long_q =
      call(p, "/admin/salesforce/users?department=Sales&q=" + std::string(101, 'a'));
  EXPECT_EQ(long_q.status, 400);
  EXPECT_EQ(body(long_q)["error"].get<std::string>().rfind("q:", 0), 0u);
  EXPECT_EQ(salesforce_.sandbox().calls("GET /services/data/{version}/query"), 0);
}

TEST_F(PickerRoutes, FieldsFromDescribeAndFromIspring) {
  salesforce_.sandbox().add_user({{"Username", "x@acme.example"},
                                  {"Email", "x@acme.example"},
                                  {"LastName", "X"},
                                  {"iSpring_Groups__c", "Onboarding"}});
  auto& p = open();
  const auto sf = call(p, "/admin/salesforce/fields");
  ASSERT_EQ(sf.status, 200) << sf.body;
  EXPECT_EQ(body(sf)["object"], "User");
  std::map<std::string, json> by_name;
  const json sf_fields = body(sf)["fields"];
  for (const auto& f : sf_fields) by_name[f["name"]] = f;
  EXPECT_EQ(by_name["Department"],
            json({{"name", "Department"}, {"label", "Department"}, {"type", "string"}}));
  EXPECT_EQ(by_name["iSpring_Groups__c"]["label"], "iSpring Groups");

  const auto fields = call(p, "/admin/ispring/fields");
  ASSERT_EQ(fields.status, 200) << fields.body;
  bool login = false;
  const json fields_fields = body(fields)["fields"];
  for (const auto& f : fields_fields)
    if (f["id"] == "login") login = f["required"].get<bool>();
  EXPECT_TRUE(login) << fields.body;

  const auto sales = ispring_.add_department("Sales", ispring_.root_department_id(), "SALES");
  ispring_.add_department("EMEA", sales);
  ispring_.add_group("Onboarding");
  const auto departments = call(p, "/admin/ispring/departments");
  ASSERT_EQ(departments.status, 200) << departments.body;
  std::vector<std::string> paths;
  const json departments_departments = body(departments)["departments"];
  for (const auto& d : departments_departments) paths.push_back(d["path"]);
  EXPECT_EQ(paths, (std::vector<std::string>{"Root", "Root / Sales", "Root / Sales / EMEA"}));
  const auto groups = call(p, "/admin/ispring/groups");
  ASSERT_EQ(groups.status, 200) << groups.body;
  ASSERT_EQ(body(groups)["groups"].size(), 1u);
  EXPECT_EQ(body(groups)["groups"][0]["name"], "Onboarding");
  EXPECT_EQ(body(groups)["groups"][0]["smart"], false);
}

TEST_F(PickerRoutes, RemoteFailuresAre502WithTheCauseAndNoCredential) {
  auto& p = open();
  salesforce_.sandbox().set_outage(true);
  for (const char* path : {"/admin/salesforce/departments", "/admin/salesforce/fields",
                           "/admin/salesforce/users?department=Sales"}) {
    const auto r = call(p, path);
    EXPECT_EQ(r.status, 502) << path;
    const std::string error = body(r)["error"];
    EXPECT_EQ(error.rfind("Salesforce: ", 0), 0u) << error;
    EXPECT_NE(error.find("503"), std::string::npos) << error;
    EXPECT_EQ(r.body.find(client_secret), std::string::npos) << r.body;
  }
  salesforce_.sandbox().set_outage(false);
  ispring_.set_outage(true);
  for (const char* path :
       {"/admin/ispring/fields", "/admin/ispring/departments", "/admin/ispring/groups"}) {
    const auto r = call(p, path);
    EXPECT_EQ(r.status, 502) << path;
    EXPECT_EQ(body(r)["error"].get<std::string>().rfind("iSpring Learn: ", 0), 0u) << r.body;
  }
  // Salesforce refusing the credentials: the cause, still no secret.
  salesforce_.sandbox().fail_next(1, 400, "invalid_client", "invalid client credentials",
                                  testing::salesforce_fault_target::token);
  const auto refused = call(p, "/admin/salesforce/fields");
  EXPECT_EQ(refused.status, 502);
  EXPECT_NE(refused.body.find("invalid_client"), std::string::npos) << refused.body;
  EXPECT_EQ(refused.body.find(client_secret), std::string::npos) << refused.body;
}

TEST_F(PickerRoutes, ASlowSalesforceTimesOutInto502) {
  auto slow = sources();
  salesforce::rest_client_options options;
  options.request_timeout_ms = 300;  // the service uses 15 s; the path is the same
  slow.salesforce =
      std::make_shared<salesforce::rest_client>(settings_.salesforce, clock_, options);
  pickers p(slow);
  salesforce_.sandbox().set_latency_ms(5'000);
  const auto r = call(p, "/admin/salesforce/departments");
  EXPECT_EQ(r.status, 502) << r.body;
  EXPECT_EQ(body(r)["error"].get<std::string>().rfind("Salesforce: ", 0), 0u) << r.body;
  salesforce_.sandbox().set_latency_ms(0);
}

TEST_F(PickerRoutes, UnconfiguredSourcesAndTooManyAtOnce) {
  picker_sources none;
  none.salesforce_unavailable = "the Salesforce pickers need salesforce.client_id";
  none.settings = [this] { return settings_; };
  pickers p(none);
  const auto sf = call(p, "/admin/salesforce/departments");
  EXPECT_EQ(sf.status, 409);
  EXPECT_EQ(body(sf)["error"], "the Salesforce pickers need salesforce.client_id");
  EXPECT_EQ(call(p, "/admin/ispring/groups").status, 409);
  EXPECT_EQ(p.status_warnings(), json::array());  // nothing to ask: no warning, no query

  auto busy_sources = sources();
  busy_sources.max_in_flight = 0;
  pickers busy(busy_sources);
  const auto r = call(busy, "/admin/ispring/groups");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.headers, (std::vector<std::pair<std::string, std::string>>{{"Retry-After", "1"}}));
}

}  // namespace
}  // namespace connector::app

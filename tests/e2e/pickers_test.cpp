// End to end: the admin page's pickers (issue 16 §4) through the real binary, over real
// TLS, reading the Salesforce sandbox (JWT bearer flow) and the iSpring sandbox live: a
// large org's department counts, the "Manage users" list with search, the fields for the
// mapping, and what must never happen — no token getting through, a search widening the
// query, a department typo passing silently, a remote outage hanging the page.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <map>
#include <set>

#include "support/eventually.hpp"
#include "support/ispring_sandbox_server.hpp"
#include "support/rsa_keys.hpp"
#include "support/salesforce_sandbox_server.hpp"
#include "support/sandbox_config.hpp"
#include "support/service.hpp"

namespace connector::testing {
namespace {

using nlohmann::json;

class pickers_e2e : public ::testing::Test {
 protected:
  pickers_e2e()
      : salesforce_(std::make_unique<salesforce_sandbox_server>(jwt_salesforce_sandbox_options())) {
  }

  void start(const json& sync = json::object()) {
    json salesforce = salesforce_sandbox_config(*salesforce_);
    salesforce["query_batch_size"] = 200;
    json config = {{"ispring", ispring_sandbox_config(ispring_)}, {"salesforce", salesforce}};
    if (!sync.empty()) config["sync"] = sync;
    service_ = std::make_unique<running_service>(dir_.path(), config);
  }

  http_reply get(const std::string& target, const std::string& token = test_admin_token) {
    auto client = service_->admin_client();
    std::vector<std::pair<std::string, std::string>> headers;
    if (!token.empty()) headers.emplace_back("Authorization", "Bearer " + token);
    return client.get(target, headers);
  }
  json get_json(const std::string& target) {
    const auto reply = get(target);
    EXPECT_EQ(reply.status, 200) << target << ": " << reply.body;
    return reply.status == 200 ? json::parse(reply.body) : json();
  }

  temp_dir dir_;
  ispring_sandbox_server ispring_;
  std::unique_ptr<salesforce_sandbox_server> salesforce_;
  std::unique_ptr<running_service> service_;
};

const char* const picker_paths[] = {
    "/admin/salesforce/departments", "/admin/salesforce/users?department=Sales",
    "/admin/salesforce/fields",      "/admin/ispring/fields",
    "/admin/ispring/departments",    "/admin/ispring/groups"};

TEST_F(pickers_e2e, EveryPickerWantsTheAdminToken) {
  start();
  for (const char* path : picker_paths) {
    const auto none = get(path, "");
    EXPECT_EQ(none.status, 401) << path;
    EXPECT_EQ(none.header("www-authenticate"), "Bearer") << path;
    EXPECT_EQ(get(path, "not-the-token").status, 401) << path;
  }
  // Nothing was asked of either system on a refused request.
  EXPECT_EQ(salesforce_->sandbox().request_log().size(), 0u);
  EXPECT_EQ(ispring_.sandbox().request_log().size(), 0u);
}

// 100,000 active users in 300 departments, plus users the counts must leave out: the counts
// are Salesforce's, one grouped query, and a configured department nobody has is flagged in
// the picker and in status.
TEST_F(pickers_e2e, LargeOrgDepartmentsCountedAndATypoFlagged) {
  constexpr std::size_t users = 100'000, departments = 300;
  salesforce_->sandbox().add_generated_users(users, json::object(), departments);
  salesforce_->sandbox().add_generated_users(40, {{"IsActive", false}}, departments);
  salesforce_->sandbox().add_generated_users(30, {{"UserType", "PowerPartner"}}, departments);
  std::map<std::string, std::int64_t> expected;
  for (std::size_t n = 1; n <= users; ++n)
    ++expected["Department " + std::to_string(n % departments)];
  start({{"departments", {{"Department 7", json::object()}, {"Department 300", json::object()}}}});

  const json answer = get_json("/admin/salesforce/departments");
  ASSERT_TRUE(answer.is_object());
  EXPECT_EQ(answer["complete"], true);
  EXPECT_EQ(answer["without_department"], 0);
  std::map<std::string, std::int64_t> counted;
  std::int64_t total = 0;
  json typo;
  for (const auto& d : answer["departments"]) {
    if (d.value("missing", false)) {
      typo = d;
      continue;
    }
    counted[d["name"]] = d["active_users"];
    total += d["active_users"].get<std::int64_t>();
    EXPECT_EQ(d["selected"], d["name"] == "Department 7") << d;
  }
  EXPECT_EQ(counted, expected);
  EXPECT_EQ(total, static_cast<std::int64_t>(users));
  EXPECT_EQ(typo, json({{"name", "Department 300"},
                        {"active_users", 0},
                        {"selected", true},
                        {"missing", true}}));
  EXPECT_EQ(salesforce_->sandbox().calls("GET /services/data/{version}/query"), 1);

  // Status says it too, naming the department.
  json warnings;
  ASSERT_TRUE(eventually([&] {
    warnings = get_json("/admin/status")["warnings"];
    return warnings.is_array() && !warnings.empty();
  }));
  ASSERT_EQ(warnings.size(), 1u) << warnings;
  EXPECT_EQ(warnings[0]["department"], "Department 300");
  EXPECT_NE(warnings[0]["message"].get<std::string>().find("'Department 300'"), std::string::npos);

  // The users of one department, page after page: each once, as many as counted.
  std::set<std::string> seen;
  std::string previous;
  for (std::size_t offset = 0;; offset += 200) {
    const json page =
        get_json("/admin/salesforce/users?department=Department%207&limit=200&offset=" +
                 std::to_string(offset));
    ASSERT_TRUE(page.is_object());
    for (const auto& u : page["users"]) {
      EXPECT_TRUE(seen.insert(u["id"]).second) << u;
      EXPECT_TRUE(u["selected"].get<bool>());
    }
    if (!page["more"].get<bool>()) break;
  }
  EXPECT_EQ(static_cast<std::int64_t>(seen.size()), expected["Department 7"]);
}

// `connector status` tells what GET /admin/status tells of a configured department nobody
// has, by the settings in force (a revision saved in the page), and says so when it cannot
// read Salesforce instead of showing no warning.
TEST_F(pickers_e2e, TheStatusCommandWarnsOfTheSameDepartmentsAsTheAdminApi) {
  salesforce_->sandbox().add_generated_users(30, json::object(), 3);  // Departments 0 to 2
  start();
  const auto cli_status = [&](bool as_json) {
    std::vector<std::string> args{"status", "--config", service_->config_path().string()};
    if (as_json) args.insert(args.begin() + 1, "--json");
    return run_connector(args);
  };
  const auto queries = [&] {
    return salesforce_->sandbox().calls("GET /services/data/{version}/query");
  };
  const int before = queries();
  const auto nothing_listed = cli_status(true);
  ASSERT_EQ(nothing_listed.exit_code, 0) << nothing_listed.err;
  EXPECT_EQ(json::parse(nothing_listed.out)["warnings"], json::array());
  EXPECT_EQ(queries(), before) << "nothing to check, nothing asked";

  const json sync = {
      {"departments", {{"Department 1", json::object()}, {"Department 9", json::object()}}}};
  const auto saved = service_->admin_client().request(
      "PUT", "/admin/settings/sync", sync.dump(),
      {{"Authorization", std::string("Bearer ") + test_admin_token},
       {"Content-Type", "application/json"},
       {"If-Match", "\"0\""}});
  ASSERT_EQ(saved.status, 200) << saved.body;
  json from_api;
  ASSERT_TRUE(eventually([&] {
    from_api = get_json("/admin/status")["warnings"];
    return from_api.is_array() && !from_api.empty();
  }));
  ASSERT_EQ(from_api.size(), 1u) << from_api;
  EXPECT_EQ(from_api[0]["department"], "Department 9");
  const auto answer = cli_status(true);
  ASSERT_EQ(answer.exit_code, 0) << answer.err;
  EXPECT_EQ(json::parse(answer.out)["warnings"], from_api);
  const auto text = cli_status(false);
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("\nWarnings:\n  " + from_api[0]["message"].get<std::string>() + "\n"),
            std::string::npos)
      << text.out;

  salesforce_->sandbox().set_outage(true);
  const auto down = cli_status(true);
  ASSERT_EQ(down.exit_code, 0) << down.err;
  const auto warnings = json::parse(down.out)["warnings"];
  ASSERT_EQ(warnings.size(), 1u) << warnings;
  EXPECT_EQ(warnings[0]["kind"], "departments_not_checked");
  EXPECT_EQ(warnings[0]["message"].get<std::string>().rfind(
                "could not check sync.departments against Salesforce: ", 0),
            0u)
      << warnings;
}

TEST_F(pickers_e2e, SearchFindsUsersAndAnInjectionFindsNobody) {
  salesforce_->sandbox().add_generated_users(500, json::object(), 5);
  start();
  // user7, user17, … are in Department 2 when n % 5 == 2: user7@…, user17@…, user27@…
  const json found = get_json("/admin/salesforce/users?department=Department%202&q=user17@");
  ASSERT_TRUE(found.is_object());
  ASSERT_EQ(found["users"].size(), 1u) << found;
  EXPECT_EQ(found["users"][0]["username"], "user17@sandbox.example.com");
  EXPECT_EQ(found["users"][0]["name"], "User Number 17");
  for (const char* attack : {"%27%20OR%20Name%20!%3D%20%27", "%25",
                             "%5C%27%20OR%20Id%20!%3D%20null%20OR%20Name%20%3D%20%27"}) {
    const json none =
        get_json(std::string("/admin/salesforce/users?department=Department%202&q=") + attack);
    ASSERT_TRUE(none.is_object()) << attack;
    EXPECT_EQ(none["users"], json::array()) << attack;
  }
  const json other = get_json(
      "/admin/salesforce/users?department=Department%202%27%20OR%20Department%20!%3D%20%27");
  EXPECT_EQ(other["users"], json::array());
}

TEST_F(pickers_e2e, FieldsAndIspringListsForTheDropDowns) {
  salesforce_->sandbox().add_user({{"Username", "ann@acme.example"},
                                   {"Email", "ann@acme.example"},
                                   {"LastName", "Tester"},
                                   {"iSpring_Groups__c", "Onboarding"}});
  const auto sales =
      ispring_.sandbox().add_department("Sales", ispring_.sandbox().root_department_id());
  ispring_.sandbox().add_department("EMEA", sales, "EMEA");
  ispring_.sandbox().add_group("Onboarding");
  ispring_.sandbox().add_group("All Sales", {}, true);
  start();

  const json sf = get_json("/admin/salesforce/fields");
  std::set<std::string> names;
  for (const auto& f : sf["fields"]) names.insert(f["name"].get<std::string>());
  for (const char* name : {"Department", "Email", "Username", "iSpring_Groups__c"})
    EXPECT_TRUE(names.count(name)) << name;

  const json fields = get_json("/admin/ispring/fields");
  std::set<std::string> ids;
  for (const auto& f : fields["fields"]) ids.insert(f["id"].get<std::string>());
  EXPECT_TRUE(ids.count("login") && ids.count("email") && ids.count("last_name")) << fields;

  const json departments = get_json("/admin/ispring/departments");
  std::vector<std::string> paths;
  for (const auto& d : departments["departments"]) paths.push_back(d["path"]);
  EXPECT_EQ(paths, (std::vector<std::string>{"Root", "Root / Sales", "Root / Sales / EMEA"}));

  const json groups = get_json("/admin/ispring/groups");
  EXPECT_EQ(groups["groups"], json::parse(R"([
      {"id": ")" + ispring_.sandbox().find_group_by_name("All Sales")->id +
                                          R"(", "name": "All Sales", "smart": true},
      {"id": ")" + ispring_.sandbox().find_group_by_name("Onboarding")->id +
                                          R"(", "name": "Onboarding", "smart": false}])"));
}

TEST_F(pickers_e2e, RemoteDownAnswers502WithTheCause) {
  start();
  ispring_.sandbox().set_outage(true);
  for (const char* path :
       {"/admin/ispring/fields", "/admin/ispring/departments", "/admin/ispring/groups"}) {
    const auto r = get(path);
    EXPECT_EQ(r.status, 502) << path << ": " << r.body;
    EXPECT_NE(r.body.find("iSpring Learn: "), std::string::npos) << r.body;
    EXPECT_EQ(r.body.find("sandbox-client-secret"), std::string::npos) << r.body;
  }
}

TEST_F(pickers_e2e, SalesforceThatNeverAnswersTimesOutWithoutHoldingThePage) {
  // A port that takes connections (the kernel's backlog) and never answers a byte: the
  // picker gives up after its connect timeout instead of hanging the page.
  const int silent_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(silent_fd, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  ASSERT_EQ(bind(silent_fd, reinterpret_cast<sockaddr*>(&address), length), 0);
  ASSERT_EQ(listen(silent_fd, 16), 0);
  ASSERT_EQ(getsockname(silent_fd, reinterpret_cast<sockaddr*>(&address), &length), 0);
  json salesforce = salesforce_sandbox_config(*salesforce_);
  salesforce["login_url"] = "https://127.0.0.1:" + std::to_string(ntohs(address.sin_port));
  service_ = std::make_unique<running_service>(
      dir_.path(), json{{"ispring", ispring_sandbox_config(ispring_)}, {"salesforce", salesforce}});
  const auto silent = get("/admin/salesforce/departments");
  EXPECT_EQ(silent.status, 502) << silent.body;
  EXPECT_NE(silent.body.find("timed out"), std::string::npos) << silent.body;
  // The rest of the admin API is not held up.
  EXPECT_EQ(get("/admin/status").status, 200);
  close(silent_fd);
}

TEST_F(pickers_e2e, SalesforceUnreachableAnswers502AtOnce) {
  // Nothing listens on port 1: every Salesforce picker is refused a connection.
  json salesforce = salesforce_sandbox_config(*salesforce_);
  salesforce["login_url"] = "https://127.0.0.1:1";
  service_ = std::make_unique<running_service>(
      dir_.path(), json{{"ispring", ispring_sandbox_config(ispring_)}, {"salesforce", salesforce}});
  for (const char* path : {"/admin/salesforce/departments", "/admin/salesforce/fields",
                           "/admin/salesforce/users?department=Sales"}) {
    const auto r = get(path);
    EXPECT_EQ(r.status, 502) << path << ": " << r.body;
    EXPECT_EQ(json::parse(r.body)["error"].get<std::string>().rfind("Salesforce: ", 0), 0u)
        << r.body;
    EXPECT_EQ(r.body.find("PRIVATE KEY"), std::string::npos) << r.body;
  }
  // The iSpring pickers do not depend on it.
  EXPECT_EQ(get("/admin/ispring/groups").status, 200);
}

}  // namespace
}  // namespace connector::testing

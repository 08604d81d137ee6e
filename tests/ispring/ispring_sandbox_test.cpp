// The iSpring Learn sandbox must be as strict as the real service where the reference says it
// refuses, and speak the shapes our wire parsers read (so each test also round-trips through
// connector::ispring parsers where it can).
#include "support/ispring_sandbox.hpp"

#include <atomic>
#include <set>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "connector/ispring/wire.hpp"
#include "connector/text/url.hpp"

namespace connector::testing {
namespace {

using nlohmann::json;
namespace isp = connector::ispring;

class IspringSandbox : public ::testing::Test {
 protected:
  static sandbox_options options_with(std::atomic<std::int64_t>& clock) {
    sandbox_options o;
    o.clock = [&clock] { return clock.load(); };
    return o;
  }

  sandbox_response send(const std::string& method, const std::string& target,
                        const std::string& body = {},
                        std::map<std::string, std::string> headers = {}) {
    sandbox_request r{method, target, {{"accept", "application/json"}}, body};
    if (!token_.empty()) r.headers["authorization"] = "Bearer " + token_;
    if (method == "POST") r.headers["content-type"] = "application/json";
    for (auto& [name, value] : headers) {
      if (value.empty())
        r.headers.erase(name);
      else
        r.headers[name] = value;
    }
    return sandbox_.handle(r);
  }
  sandbox_response get(const std::string& target) { return send("GET", target); }
  sandbox_response post(const std::string& target, const json& body) {
    return send("POST", target, body.dump());
  }
  sandbox_response del(const std::string& target) { return send("DELETE", target); }

  sandbox_response token_request(const std::string& form) {
    return sandbox_.handle(
        {"POST",
         "/api/v3/token",
         {{"accept", "application/json"}, {"content-type", "application/x-www-form-urlencoded"}},
         form});
  }

  std::string create_user(const std::string& login, const std::string& email,
                          std::string department = {}) {
    if (department.empty()) department = sandbox_.root_department_id();
    const auto r = post("/user", {{"departmentId", department},
                                  {"fields", {{"login", login}, {"email", email}}},
                                  {"sendLoginEmail", false}});
    EXPECT_EQ(r.status, 201) << r.body;
    const auto id = isp::parse_created_id(r.body);
    EXPECT_TRUE(id) << r.body;
    return id ? *id : std::string();
  }

  static json body_of(const sandbox_response& r) { return json::parse(r.body); }

  std::atomic<std::int64_t> now_{1'750'000'000'000};
  ispring_sandbox sandbox_{options_with(now_)};
  std::string token_ = sandbox_.issue_token();
};

// --- Authentication ------------------------------------------------------------------------

TEST_F(IspringSandbox, IssuesATokenForTheRightClientCredentials) {
  const auto r = token_request(isp::build_token_form("sandbox-client-id", "sandbox-client-secret"));
  ASSERT_EQ(r.status, 200) << r.body;
  const auto t = isp::parse_token(r.body);
  ASSERT_TRUE(t) << t.error();
  EXPECT_EQ(t->expires_in_s, 1800);
  EXPECT_EQ(body_of(r)["token_type"], "bearer");
  token_ = t->access_token;
  EXPECT_EQ(get("/users/v2").status, 200);
}

TEST_F(IspringSandbox, WrongClientSecretIs401WithCodeAndMessage) {
  const auto r = token_request(isp::build_token_form("sandbox-client-id", "wrong"));
  EXPECT_EQ(r.status, 401);
  const auto e = isp::parse_error(r.status, r.body);
  EXPECT_EQ(e->code, 401);
  EXPECT_FALSE(e->message.empty());
}

TEST_F(IspringSandbox, TokenEndpointWantsAFormWithClientCredentialsGrant) {
  EXPECT_EQ(token_request("client_id=sandbox-client-id&client_secret=sandbox-client-secret").status,
            400);
  auto json_form =
      sandbox_request{"POST",
                      "/api/v3/token",
                      {{"accept", "application/json"}, {"content-type", "application/json"}},
                      R"({"client_id":"sandbox-client-id"})"};
  EXPECT_EQ(sandbox_.handle(json_form).status, 415);
}

TEST_F(IspringSandbox, TokenExpiresAfterItsLifetimeOnTheInjectedClock) {
  now_ += 1799 * 1000;
  EXPECT_EQ(get("/users/v2").status, 200);
  now_ += 1000;
  const auto r = get("/users/v2");
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(body_of(r)["code"], 401);
}

TEST_F(IspringSandbox, MissingOrUnknownTokenIs401) {
  EXPECT_EQ(send("GET", "/users/v2", {}, {{"authorization", ""}}).status, 401);
  EXPECT_EQ(send("GET", "/users/v2", {}, {{"authorization", "Bearer nope"}}).status, 401);
}

TEST_F(IspringSandbox, RawTokenWithoutBearerIsAcceptedLikeTheDocSamples) {
  EXPECT_EQ(send("GET", "/users/v2", {}, {{"authorization", token_}}).status, 200);
}

TEST_F(IspringSandbox, LegacyHeaderAuthOnlyWhenConfigured) {
  const std::map<std::string, std::string> legacy = {
      {"authorization", ""},
      {"x-auth-account-url", "https://acme.ispringlearn.com/"},
      {"x-auth-email", "Admin@Acme.com"},
      {"x-auth-password", "s3cret!"}};
  EXPECT_EQ(send("GET", "/users/v2", {}, legacy).status, 401);  // not configured

  sandbox_options o;
  o.legacy_account_url = "https://acme.ispringlearn.com";
  o.legacy_login = "admin@acme.com";
  o.legacy_password = "s3cret!";
  ispring_sandbox legacy_sandbox(o);
  sandbox_request r{"GET", "/users/v2", {{"accept", "application/json"}}, {}};
  r.headers.insert(legacy.begin(), legacy.end());
  r.headers.erase("authorization");
  EXPECT_EQ(legacy_sandbox.handle(r).status, 200);
  r.headers["x-auth-password"] = "wrong";
  EXPECT_EQ(legacy_sandbox.handle(r).status, 401);
}

// --- Content negotiation -------------------------------------------------------------------

TEST_F(IspringSandbox, AnswersJsonOnlyWhenAskedOtherwise406) {
  const auto r = send("GET", "/users/v2", {}, {{"accept", ""}});
  EXPECT_EQ(r.status, 406);
  EXPECT_NE(body_of(r)["message"].get<std::string>().find("XML"), std::string::npos);
  EXPECT_EQ(send("GET", "/users/v2", {}, {{"accept", "application/xml"}}).status, 406);
  EXPECT_EQ(send("GET", "/users/v2", {}, {{"accept", "text/html, application/json;q=0.9"}}).status,
            200);
}

TEST_F(IspringSandbox, RequestBodiesMustBeJson) {
  const std::string body =
      R"({"name":"X","parentDepartmentId":")" + sandbox_.root_department_id() + "\"}";
  EXPECT_EQ(send("POST", "/department", body, {{"content-type", "application/xml"}}).status, 415);
  EXPECT_EQ(send("POST", "/department", body, {{"content-type", ""}}).status, 415);
  EXPECT_EQ(send("POST", "/department", body, {{"content-type", "application/json; charset=utf-8"}})
                .status,
            201);
  const auto malformed = send("POST", "/department", "{\"name\":");
  EXPECT_EQ(malformed.status, 400);
  EXPECT_EQ(body_of(malformed)["code"], 400);
}

TEST_F(IspringSandbox, UnknownPathIs404AndWrongMethodIs405) {
  EXPECT_EQ(get("/nope").status, 404);
  EXPECT_EQ(get("/users/v2/").status, 404);
  const std::string id = create_user("jo", "jo@example.com");
  const auto put = send("PUT", "/user/" + id, "{}", {{"content-type", "application/json"}});
  EXPECT_EQ(put.status, 405);  // updates are POST on iSpring (§4.4)
  EXPECT_NE(put.header("allow").find("POST"), std::string::npos);
}

// --- Users -----------------------------------------------------------------------------------

TEST_F(IspringSandbox, CreateUserAnswers201WithTheIdAsAJsonString) {
  const std::string dept = sandbox_.add_department("Sales");
  const auto r = post("/user", {{"departmentId", dept},
                                {"fields",
                                 {{"login", "jane.doe"},
                                  {"email", "jane.doe@example.com"},
                                  {"first_name", "Jane"},
                                  {"last_name", "Doe"}}},
                                {"sendLoginEmail", false}});
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(r.body.front(), '"');
  const auto id = isp::parse_created_id(r.body);
  ASSERT_TRUE(id) << id.error();
  EXPECT_EQ(*id, "00000000-0000-1000-8000-000000000003");  // root 1, department 2

  const auto stored = sandbox_.find_user_by_login("JANE.DOE");
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->status, 1);
  EXPECT_EQ(stored->department_id, dept);
  EXPECT_EQ(stored->fields.at("first_name"), "Jane");
}

TEST_F(IspringSandbox, GetUserIsWrappedAndReadsBackThroughTheWireParser) {
  const std::string id = create_user("jo", "jo@example.com");
  ASSERT_EQ(post("/user/" + id, {{"fields", {{"job_title", "CFO"}}}}).status, 200);
  const auto r = get("/user/" + id + "/v2");
  ASSERT_EQ(r.status, 200);
  EXPECT_TRUE(body_of(r).contains("response"));
  EXPECT_EQ(body_of(r)["response"]["fields"][0]["name"], "LOGIN");
  const auto u = isp::parse_user(r.body);
  ASSERT_TRUE(u) << u.error();
  EXPECT_EQ(u->id, id);
  EXPECT_EQ(u->login, "jo");
  EXPECT_EQ(u->fields.at("job_title"), "CFO");
  EXPECT_EQ(u->role, "learner");
  EXPECT_EQ(get("/user/" + id).status, 200);
  EXPECT_EQ(get("/user/00000000-0000-1000-8000-0000000000ff/v2").status, 404);
}

TEST_F(IspringSandbox, V1ReportsTerminatedAsInactive) {
  const std::string id = sandbox_.add_user("gone", "gone@example.com", {}, {}, 5);
  EXPECT_EQ(isp::parse_user(get("/user/" + id + "/v2").body)->status, 5);
  EXPECT_EQ(isp::parse_user(get("/user/" + id).body)->status, 3);
}

TEST_F(IspringSandbox, CreateUserNeedsAnExistingDepartment) {
  const json fields = {{"login", "a"}};
  EXPECT_EQ(post("/user", {{"fields", fields}}).status, 400);
  EXPECT_EQ(
      post("/user", {{"departmentId", "00000000-0000-1000-8000-0000000000ff"}, {"fields", fields}})
          .status,
      400);
  EXPECT_TRUE(sandbox_.users().empty());
}

TEST_F(IspringSandbox, CreateUserNeedsLoginAndKnownFieldsOnly) {
  const std::string root = sandbox_.root_department_id();
  EXPECT_EQ(
      post("/user", {{"departmentId", root}, {"fields", {{"email", "a@example.com"}}}}).status,
      400);
  const auto unknown =
      post("/user", {{"departmentId", root}, {"fields", {{"login", "a"}, {"nickname", "x"}}}});
  EXPECT_EQ(unknown.status, 400);
  EXPECT_NE(body_of(unknown)["message"].get<std::string>().find("nickname"), std::string::npos);
  EXPECT_EQ(
      post("/user", {{"departmentId", root}, {"fields", {{"login", "a"}, {"email", 5}}}}).status,
      400);
  EXPECT_EQ(
      post("/user", {{"departmentId", root}, {"fields", {{"login", "a"}}}, {"department_id", root}})
          .status,
      400);  // a misspelt key is refused, not ignored
}

TEST_F(IspringSandbox, RequiredCustomFieldsMustBeGiven) {
  sandbox_options o = options_with(now_);
  o.custom_fields = {{"SF_USER_ID", "Salesforce id", "string", true}};
  o.required_fields = {"login", "last_name", "SF_USER_ID"};
  ispring_sandbox strict(o);
  const std::string token = strict.issue_token();
  const auto create = [&](const json& fields) {
    return strict.handle(
        {"POST",
         "/user",
         {{"accept", "application/json"},
          {"content-type", "application/json"},
          {"authorization", "Bearer " + token}},
         json{{"departmentId", strict.root_department_id()}, {"fields", fields}}.dump()});
  };
  EXPECT_EQ(create({{"login", "a"}, {"last_name", "A"}}).status, 400);
  EXPECT_EQ(create({{"login", "a"}, {"last_name", "A"}, {"SF_USER_ID", "005A"}}).status, 201);
  // Unique custom field.
  EXPECT_EQ(create({{"login", "b"}, {"last_name", "B"}, {"SF_USER_ID", "005a"}}).status, 400);

  const auto fields = isp::parse_profile_fields(
      strict
          .handle({"GET",
                   "/user/profile/fields",
                   {{"accept", "application/json"}, {"authorization", token}},
                   {}})
          .body);
  ASSERT_TRUE(fields) << fields.error();
  ASSERT_EQ(fields->size(), 6u);
  EXPECT_EQ(fields->at(0).id, "login");
  EXPECT_TRUE(fields->at(0).is_required);
  EXPECT_TRUE(fields->at(1).is_unique);  // email
  EXPECT_FALSE(fields->at(1).is_required);
  EXPECT_TRUE(fields->at(3).is_required);  // last_name
  EXPECT_EQ(fields->at(5).id, "SF_USER_ID");
  EXPECT_TRUE(fields->at(5).is_required);
}

TEST_F(IspringSandbox, LoginAndEmailAreUniqueIgnoringCaseWith409) {
  create_user("jane", "jane@example.com");
  const std::string root = sandbox_.root_department_id();
  const auto same_login = post(
      "/user", {{"departmentId", root}, {"fields", {{"login", "JANE"}, {"email", "x@e.com"}}}});
  EXPECT_EQ(same_login.status, 409);
  EXPECT_EQ(isp::parse_error(409, same_login.body)->message,
            "User with the same login is already registered");
  const auto same_email = post(
      "/user",
      {{"departmentId", root}, {"fields", {{"login", "jane2"}, {"email", "Jane@Example.com"}}}});
  EXPECT_EQ(same_email.status, 409);
  EXPECT_EQ(sandbox_.users().size(), 1u);
}

TEST_F(IspringSandbox, DuplicateStatusIsConfigurable) {
  sandbox_options o = options_with(now_);
  o.duplicate_status = 400;
  ispring_sandbox sandbox(o);
  sandbox.add_user("jane", "jane@example.com");
  const auto r = sandbox.handle(
      {"POST",
       "/user",
       {{"accept", "application/json"},
        {"content-type", "application/json"},
        {"authorization", sandbox.issue_token()}},
       json{{"departmentId", sandbox.root_department_id()}, {"fields", {{"login", "jane"}}}}
           .dump()});
  EXPECT_EQ(r.status, 400);
  EXPECT_THROW(sandbox.add_user("Jane", "other@example.com"), std::invalid_argument);
}

TEST_F(IspringSandbox, UpdateReplacesOnlyTheGivenFieldsAndRechecksUniqueness) {
  const std::string dept = sandbox_.add_department("Sales");
  const std::string id = sandbox_.add_user("jo", "jo@example.com", {}, {{"first_name", "Jo"}});
  sandbox_.add_user("max", "max@example.com");

  const auto r = post("/user/" + id, {{"departmentId", dept}, {"fields", {{"last_name", "Roe"}}}});
  EXPECT_EQ(r.status, 200);
  EXPECT_TRUE(r.body.empty());
  auto u = sandbox_.find_user(id);
  EXPECT_EQ(u->department_id, dept);
  EXPECT_EQ(u->fields.at("first_name"), "Jo");  // kept
  EXPECT_EQ(u->fields.at("last_name"), "Roe");

  EXPECT_EQ(post("/user/" + id, {{"fields", {{"login", "MAX"}}}}).status, 409);
  EXPECT_EQ(post("/user/" + id, {{"fields", {{"email", "max@example.com"}}}}).status, 409);
  EXPECT_EQ(post("/user/" + id, {{"fields", {{"login", "jo"}}}}).status, 200);  // itself is fine
  EXPECT_EQ(post("/user/" + id, {{"fields", {{"login", ""}}}}).status, 400);
  EXPECT_EQ(post("/user/" + id, {{"departmentId", "00000000-0000-1000-8000-0000000000ff"}}).status,
            400);
  EXPECT_EQ(post("/user/00000000-0000-1000-8000-0000000000ff", json::object()).status, 404);
  EXPECT_EQ(sandbox_.find_user(id)->fields.at("login"), "jo");
}

TEST_F(IspringSandbox, GroupIdsOnUpdateAreRefusedUnlessASemanticsIsChosen) {
  const std::string id = create_user("jo", "jo@example.com");
  const std::string a = sandbox_.add_group("A");
  EXPECT_EQ(post("/user/" + id, {{"groupIds", {a}}}).status, 400);

  sandbox_options o = options_with(now_);
  o.group_ids_on_update = sandbox_group_ids_on_update::add_only;
  ispring_sandbox additive(o);
  const std::string user = additive.add_user("jo", "jo@example.com");
  const std::string g1 = additive.add_group("G1", {user});
  const std::string g2 = additive.add_group("G2");
  const auto r = additive.handle({"POST",
                                  "/user/" + user,
                                  {{"accept", "application/json"},
                                   {"content-type", "application/json"},
                                   {"authorization", additive.issue_token()}},
                                  json{{"groupIds", {g2}}}.dump()});
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(additive.find_user(user)->group_ids, (std::vector<std::string>{g1, g2}));
}

TEST_F(IspringSandbox, StatusAcceptsOnlyActiveAndInactive) {
  const std::string id = create_user("jo", "jo@example.com");
  EXPECT_EQ(post("/user/" + id + "/status", {{"status", 3}}).status, 200);
  EXPECT_EQ(sandbox_.find_user(id)->status, 3);
  EXPECT_EQ(post("/user/" + id + "/status", {{"status", 1}}).status, 200);
  EXPECT_EQ(sandbox_.find_user(id)->status, 1);
  EXPECT_EQ(post("/user/" + id + "/status", {{"status", 5}}).status, 400);
  EXPECT_EQ(post("/user/" + id + "/status", {{"status", "3"}}).status, 400);
  EXPECT_EQ(post("/user/" + id + "/status", json::object()).status, 400);
  EXPECT_EQ(post("/user/00000000-0000-1000-8000-0000000000ff/status", {{"status", 3}}).status, 404);
}

TEST_F(IspringSandbox, DeleteUserAnswers204AndLeavesItsGroups) {
  const std::string id = create_user("jo", "jo@example.com");
  const std::string g = sandbox_.add_group("G", {id});
  EXPECT_EQ(del("/user/" + id).status, 204);
  EXPECT_EQ(get("/user/" + id + "/v2").status, 404);
  EXPECT_EQ(del("/user/" + id).status, 404);
  EXPECT_TRUE(sandbox_.groups().at(0).user_ids.empty());
  (void)g;
}

TEST_F(IspringSandbox, RemoveUserFromGroups) {
  const std::string id = create_user("jo", "jo@example.com");
  const std::string a = sandbox_.add_group("A", {id});
  const std::string b = sandbox_.add_group("B", {id});
  const auto r = send("POST", "/user/" + id + "/groups/remove", isp::build_remove_groups_body({a}));
  EXPECT_EQ(r.status, 204);
  EXPECT_EQ(sandbox_.find_user(id)->group_ids, std::vector<std::string>{b});
  EXPECT_EQ(post("/user/" + id + "/groups/remove", {{"groupIds", {"unknown"}}}).status, 400);
}

// --- Listing users ---------------------------------------------------------------------------

TEST_F(IspringSandbox, PagesUsersWithOpaqueTokensUntilNoNextPageToken) {
  std::vector<std::string> created;
  for (int i = 0; i < 5; ++i) created.push_back(sandbox_.add_user("u" + std::to_string(i), {}));
  std::vector<std::string> seen;
  std::string page_token;
  int pages = 0;
  do {
    std::string target = "/users/v2?pageSize=2";
    if (!page_token.empty()) target += "&pageToken=" + text::percent_encode(page_token);
    const auto r = get(target);
    ASSERT_EQ(r.status, 200) << r.body;
    const auto page = isp::parse_users_page(r.body);
    ASSERT_TRUE(page) << page.error();
    for (const auto& u : page->items) seen.push_back(u.id);
    EXPECT_EQ(body_of(r).contains("nextPageToken"), !page->is_last());
    page_token = page->next_page_token;
    ++pages;
  } while (!page_token.empty() && pages < 10);
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(seen, created);
}

TEST_F(IspringSandbox, FiltersApplyAcrossPages) {
  const std::string sales = sandbox_.add_department("Sales");
  const std::string ops = sandbox_.add_department("Ops");
  for (int i = 0; i < 6; ++i)
    sandbox_.add_user("u" + std::to_string(i), {}, i % 2 == 0 ? sales : ops);
  auto r = get("/users/v2?pageSize=2&departments%5B%5D=" + sales);
  auto page = isp::parse_users_page(r.body);
  ASSERT_TRUE(page) << r.body;
  ASSERT_EQ(page->items.size(), 2u);
  r = get("/users/v2?pageSize=2&departments[]=" + sales + "&pageToken=" + page->next_page_token);
  page = isp::parse_users_page(r.body);
  ASSERT_TRUE(page) << r.body;
  ASSERT_EQ(page->items.size(), 1u);
  EXPECT_EQ(page->items[0].login, "u4");
  EXPECT_TRUE(page->is_last());
}

TEST_F(IspringSandbox, FiltersByEmailLoginIdAndGroup) {
  const std::string a = sandbox_.add_user("alice", "Alice+Test@Example.com");
  const std::string b = sandbox_.add_user("bob", "bob@example.com");
  const std::string g = sandbox_.add_group("G", {b});
  const auto logins_of = [&](const std::string& query) {
    std::vector<std::string> out;
    const auto page = isp::parse_users_page(get("/users/v2?" + query).body);
    EXPECT_TRUE(page);
    if (page)
      for (const auto& u : page->items) out.push_back(u.login);
    return out;
  };
  using names = std::vector<std::string>;
  EXPECT_EQ(logins_of("emails[]=" + text::percent_encode("alice+test@example.com")),
            names{"alice"});
  EXPECT_EQ(logins_of("emails[]=alice%2Btest%40example.com&emails[]=bob%40example.com"),
            (names{"alice", "bob"}));
  EXPECT_EQ(logins_of("logins[]=BOB"), names{"bob"});
  EXPECT_EQ(logins_of("userIds[]=" + a), names{"alice"});
  EXPECT_EQ(logins_of("groups[]=" + g), names{"bob"});
  EXPECT_EQ(logins_of("logins[]=alice&groups[]=" + g), names{});  // filters combine with AND
  EXPECT_EQ(logins_of("emails[]=nobody%40example.com"), names{});
}

TEST_F(IspringSandbox, PageSizeIsCappedAt1000AndBadPagingIsRefused) {
  for (int i = 0; i < 1001; ++i) sandbox_.add_user("u" + std::to_string(i), {});
  const auto all = isp::parse_users_page(get("/users/v2?pageSize=5000").body);
  ASSERT_TRUE(all);
  EXPECT_EQ(all->items.size(), 1000u);
  EXPECT_FALSE(all->is_last());
  const auto fallback = isp::parse_users_page(get("/users/v2").body);
  EXPECT_EQ(fallback->items.size(), 1000u);  // default page size
  EXPECT_EQ(get("/users/v2?pageSize=0").status, 400);
  EXPECT_EQ(get("/users/v2?pageSize=ten").status, 400);
  EXPECT_EQ(get("/users/v2?pageToken=***").status, 400);
  EXPECT_EQ(get("/users/v2?emails=a%40b.c").status, 400);  // not PHP-style: refused loudly
  EXPECT_EQ(get("/users/v2?emails[]=%zz").status, 400);
}

// --- Departments -----------------------------------------------------------------------------

TEST_F(IspringSandbox, StartsWithAnUndeletableRoot) {
  const auto list = isp::parse_departments_list(get("/department").body);
  ASSERT_TRUE(list);
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ(list->at(0).name, "Root");
  EXPECT_FALSE(list->at(0).parent_id);
  const auto r = del("/department/" + sandbox_.root_department_id());
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(body_of(r)["code"], 403);
}

TEST_F(IspringSandbox, CreatesDepartmentsUnderAnExistingParent) {
  const std::string root = sandbox_.root_department_id();
  const auto r = send("POST", "/department", isp::build_department_body("Sales", root, "S-1"));
  ASSERT_EQ(r.status, 201) << r.body;
  const auto id = isp::parse_created_id(r.body);
  ASSERT_TRUE(id);
  const auto d = isp::parse_department(get("/department/" + *id).body);
  ASSERT_TRUE(d) << d.error();
  EXPECT_EQ(d->parent_id, root);
  EXPECT_EQ(d->code, "S-1");
  EXPECT_TRUE(body_of(get("/department/" + *id)).contains("response"));  // wrapped, per S1

  EXPECT_EQ(post("/department", {{"name", "Orphan"}}).status, 400);
  EXPECT_EQ(post("/department", {{"name", "Orphan"}, {"parentDepartmentId", "nope"}}).status, 400);
  EXPECT_EQ(send("POST", "/department", isp::build_department_body("sales", root)).status, 400);
  EXPECT_EQ(send("POST", "/department", isp::build_department_body("Sales", *id)).status, 201);
  EXPECT_EQ(get("/department/nope").status, 404);
  const auto by_code = isp::parse_departments_list(get("/department?code=S-1").body);
  ASSERT_TRUE(by_code);
  ASSERT_EQ(by_code->size(), 1u);
  EXPECT_EQ(by_code->at(0).id, *id);
}

TEST_F(IspringSandbox, PagesDepartments) {
  for (int i = 0; i < 3; ++i) sandbox_.add_department("D" + std::to_string(i));
  const auto first = isp::parse_departments_page(get("/departments?pageSize=3").body);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->items.size(), 3u);
  const auto second = isp::parse_departments_page(
      get("/departments?pageSize=3&pageToken=" + first->next_page_token).body);
  ASSERT_TRUE(second);
  EXPECT_EQ(second->items.size(), 1u);
  EXPECT_TRUE(second->is_last());
}

TEST_F(IspringSandbox, RenamesAndMovesDepartmentsWithoutCycles) {
  const std::string a = sandbox_.add_department("A");
  const std::string b = sandbox_.add_department("B", a);
  EXPECT_EQ(send("POST", "/department/" + a, isp::build_rename_department_body("A2")).status, 204);
  EXPECT_EQ(sandbox_.find_department_by_name("A2")->id, a);
  EXPECT_EQ(post("/department/" + a, {{"parentDepartmentId", b}}).status, 400);
  EXPECT_EQ(post("/department/" + a, {{"parentDepartmentId", a}}).status, 400);
  EXPECT_EQ(
      post("/department/" + sandbox_.root_department_id(), {{"parentDepartmentId", a}}).status,
      400);
  EXPECT_EQ(
      post("/department/" + b, {{"parentDepartmentId", sandbox_.root_department_id()}}).status,
      204);
  EXPECT_EQ(post("/department/" + b, {{"name", "a2"}}).status, 400);  // now a sibling of A2
  EXPECT_EQ(post("/department/nope", {{"name", "x"}}).status, 404);
}

TEST_F(IspringSandbox, DepartmentWithUsersCannotBeDeleted) {
  const std::string sales = sandbox_.add_department("Sales");
  const std::string user = create_user("jo", "jo@example.com", sales);
  const auto r = del("/department/" + sales);
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(body_of(r)["code"], 400);
  ASSERT_EQ(post("/user/" + user, {{"departmentId", sandbox_.root_department_id()}}).status, 200);
  EXPECT_EQ(del("/department/" + sales).status, 204);
  EXPECT_EQ(del("/department/" + sales).status, 404);
}

// --- Groups ----------------------------------------------------------------------------------

TEST_F(IspringSandbox, GroupMembersAreReplacedNotMerged) {
  const std::string a = create_user("a", "a@example.com");
  const std::string b = create_user("b", "b@example.com");
  const auto created = post("/group", {{"name", "New Hires"}, {"userIds", {a}}});
  ASSERT_EQ(created.status, 201);
  const std::string g = *isp::parse_created_id(created.body);

  EXPECT_EQ(send("POST", "/group/" + g + "/members", isp::build_group_members_body({b})).status,
            200);
  const auto group = isp::parse_group(get("/group/" + g).body);
  ASSERT_TRUE(group) << group.error();
  EXPECT_EQ(group->user_ids, std::vector<std::string>{b});
  EXPECT_EQ(body_of(get("/group/" + g))["usersCount"], 1);
  EXPECT_FALSE(body_of(get("/group/" + g)).contains("response"));  // unwrapped, per S1

  EXPECT_EQ(send("POST", "/group/" + g + "/members", isp::build_group_members_body({})).status,
            200);
  EXPECT_TRUE(sandbox_.groups().at(0).user_ids.empty());
}

// Membership is answered from a set kept beside each list (and a replace's list is built
// before the lock): every way in and out of a group must keep the two the same, and a refused
// replace must leave the old list whole.
TEST_F(IspringSandbox, MembershipFollowsEveryReplaceAndARefusedOneChangesNothing) {
  const std::string a = create_user("a", "a@example.com");
  const std::string b = create_user("b", "b@example.com");
  const std::string c = create_user("c", "c@example.com");
  const std::string g = sandbox_.add_group("G", {a});
  const auto groups_of = [&](const std::string& user) {
    const auto u = isp::parse_user(get("/user/" + user + "/v2").body);
    EXPECT_TRUE(u);
    return u ? u->group_ids : std::vector<std::string>{"(unreadable)"};
  };

  // Repeats are kept once, in the order of their first mention.
  EXPECT_EQ(post("/group/" + g + "/members", {{"userIds", {c, b, c, b}}}).status, 200);
  EXPECT_EQ(sandbox_.groups().at(0).user_ids, (std::vector<std::string>{c, b}));
  EXPECT_TRUE(groups_of(a).empty());
  EXPECT_EQ(groups_of(b), std::vector<std::string>{g});

  // Refused (an unknown id after known ones; not strings): the list stays as it was.
  const auto unknown = post("/group/" + g + "/members", {{"userIds", {a, "nope", "nope2"}}});
  EXPECT_EQ(unknown.status, 400);
  EXPECT_NE(unknown.body.find("nope"), std::string::npos);
  EXPECT_EQ(unknown.body.find("nope2"), std::string::npos);  // the first unknown is named
  EXPECT_EQ(post("/group/" + g + "/members", {{"userIds", {a, 1}}}).status, 400);
  EXPECT_EQ(sandbox_.groups().at(0).user_ids, (std::vector<std::string>{c, b}));
  EXPECT_TRUE(groups_of(a).empty());

  // A deleted member leaves the list and the set; a new group starts from its own list.
  EXPECT_EQ(del("/user/" + c).status, 204);
  EXPECT_EQ(sandbox_.groups().at(0).user_ids, std::vector<std::string>{b});
  const auto created = post("/group", {{"name", "H"}, {"userIds", {a, a}}});
  ASSERT_EQ(created.status, 201);
  const std::string h = *isp::parse_created_id(created.body);
  EXPECT_EQ(groups_of(a), std::vector<std::string>{h});
  const auto in_h = isp::parse_users_page(get("/users/v2?groups[]=" + h).body);
  ASSERT_TRUE(in_h);
  ASSERT_EQ(in_h->items.size(), 1u);
  EXPECT_EQ(in_h->items[0].id, a);

  // Removed from a group, then the group deleted: no user still shows it.
  EXPECT_EQ(post("/user/" + b + "/groups/remove", {{"groupIds", {g}}}).status, 204);
  EXPECT_TRUE(groups_of(b).empty());
  EXPECT_EQ(del("/group/" + h).status, 204);
  EXPECT_TRUE(groups_of(a).empty());
  EXPECT_EQ(post("/group/" + g + "/members", {{"userIds", {a}}}).status, 200);
  EXPECT_EQ(groups_of(a), std::vector<std::string>{g});
}

TEST_F(IspringSandbox, GroupRulesNamesUnknownUsersSmartGroups) {
  const std::string a = create_user("a", "a@example.com");
  const std::string g = sandbox_.add_group("G");
  EXPECT_EQ(post("/group", {{"name", "g"}}).status, 400);  // duplicate name
  EXPECT_EQ(post("/group", {{"name", "H"}, {"userIds", {"nope"}}}).status, 400);
  EXPECT_EQ(post("/group/" + g + "/members", {{"userIds", {a, "nope"}}}).status, 400);
  EXPECT_EQ(post("/group/" + g + "/members", json::object()).status, 400);
  const std::string smart = sandbox_.add_group("Smart", {}, true);
  EXPECT_EQ(post("/group/" + smart + "/members", {{"userIds", {a}}}).status, 400);
  EXPECT_EQ(post("/group/" + g, {{"name", "G2"}}).status, 200);
  EXPECT_EQ(del("/group/" + g).status, 204);
  EXPECT_EQ(get("/group/" + g).status, 404);
}

// A member replace naming a user deleted since (reference §8: a request iSpring cannot take
// is refused with 400, and §6 has no partial replace): the whole replace is refused, nobody
// joins, and reading the users by id tells which one is gone.
TEST_F(IspringSandbox, AReplaceNamingADeletedUserIsRefusedWholeAndAReadByIdShowsWhoIsGone) {
  const std::string a = create_user("a", "a@example.com");
  const std::string b = create_user("b", "b@example.com");
  const std::string c = create_user("c", "c@example.com");
  const std::string g = sandbox_.add_group("G", {a});
  ASSERT_EQ(del("/user/" + b).status, 204);
  const auto refused = post("/group/" + g + "/members", {{"userIds", {a, b, c}}});
  EXPECT_EQ(refused.status, 400);
  EXPECT_NE(refused.body.find(b), std::string::npos) << refused.body;
  EXPECT_EQ(sandbox_.groups().at(0).user_ids, std::vector<std::string>{a}) << "nothing applied";
  const auto read = isp::parse_users_page(
      get("/users/v2?userIds[]=" + a + "&userIds[]=" + b + "&userIds[]=" + c).body);
  ASSERT_TRUE(read) << read.error();
  std::set<std::string> found;
  for (const auto& u : read->items) found.insert(u.id);
  EXPECT_EQ(found, (std::set<std::string>{a, c}));
}

TEST_F(IspringSandbox, PagesAndListsGroups) {
  for (int i = 0; i < 3; ++i) sandbox_.add_group("G" + std::to_string(i), {}, i == 2);
  const auto first = isp::parse_groups_page(get("/groups?pageSize=2").body);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->items.size(), 2u);
  const auto last =
      isp::parse_groups_page(get("/groups?pageSize=2&pageToken=" + first->next_page_token).body);
  ASSERT_TRUE(last);
  ASSERT_EQ(last->items.size(), 1u);
  EXPECT_TRUE(last->items[0].is_smart);
  EXPECT_TRUE(last->is_last());
  EXPECT_EQ(body_of(get("/group")).size(), 3u);
}

// --- Faults ----------------------------------------------------------------------------------

TEST_F(IspringSandbox, FailNextAnswersTheInjectedStatusThenRecovers) {
  sandbox_.fail_next(2, 429, 7);
  auto r = get("/users/v2");
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(r.header("Retry-After"), "7");
  EXPECT_EQ(isp::parse_error(r.status, r.body)->code, 429);
  // Token requests are not counted among the failures.
  EXPECT_EQ(
      token_request(isp::build_token_form("sandbox-client-id", "sandbox-client-secret")).status,
      200);
  EXPECT_EQ(get("/users/v2").status, 429);
  EXPECT_EQ(get("/users/v2").status, 200);

  sandbox_.fail_next(1, 500);
  r = get("/users/v2");
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(r.header("Retry-After"), "");
  EXPECT_EQ(get("/users/v2").status, 200);
}

TEST_F(IspringSandbox, OutageFailsEveryRequestIncludingTokens) {
  sandbox_.set_outage(true);
  EXPECT_EQ(get("/users/v2").status, 503);
  EXPECT_EQ(
      token_request(isp::build_token_form("sandbox-client-id", "sandbox-client-secret")).status,
      503);
  sandbox_.set_outage(false);
  EXPECT_EQ(get("/users/v2").status, 200);
}

TEST_F(IspringSandbox, RateLimitUsesTheInjectedClock) {
  sandbox_.set_rate_limit(3);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(get("/users/v2").status, 200);
  const auto limited = get("/users/v2");
  EXPECT_EQ(limited.status, 429);
  EXPECT_EQ(limited.header("retry-after"), "1");
  now_ += 999;
  EXPECT_EQ(get("/users/v2").status, 429);
  now_ += 1;
  EXPECT_EQ(get("/users/v2").status, 200);
  sandbox_.set_rate_limit(0);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(get("/users/v2").status, 200);
}

TEST_F(IspringSandbox, LatencyIsStoredForTheHttpAdapter) {
  EXPECT_EQ(sandbox_.latency_ms(), 0);
  sandbox_.set_latency_ms(250);
  EXPECT_EQ(sandbox_.latency_ms(), 250);
}

// --- Observation -----------------------------------------------------------------------------

TEST_F(IspringSandbox, LogsAndCountsEveryRequestByEndpoint) {
  const std::string id = create_user("jo", "jo@example.com");
  get("/user/" + id + "/v2");
  get("/user/" + id + "/v2?x=1");
  send("GET", "/users/v2", {}, {{"authorization", ""}});
  get("/nowhere");
  const auto log = sandbox_.request_log();
  ASSERT_EQ(log.size(), 5u);
  EXPECT_EQ(log[0].method, "POST");
  EXPECT_EQ(log[0].path, "/user");
  EXPECT_EQ(log[0].status, 201);
  EXPECT_EQ(log[2].path, "/user/" + id + "/v2");
  EXPECT_EQ(log[3].status, 401);
  EXPECT_EQ(sandbox_.calls("GET /user/{id}/v2"), 2);
  EXPECT_EQ(sandbox_.calls("POST /user"), 1);
  EXPECT_EQ(sandbox_.calls("GET /users/v2"), 1);  // counted whatever the outcome
  EXPECT_EQ(sandbox_.calls("unrouted"), 1);
  EXPECT_EQ(sandbox_.call_counts().size(), 4u);
}

TEST_F(IspringSandbox, DumpAndReset) {
  const std::string d = sandbox_.add_department("Sales", std::nullopt, "S");
  const std::string u = sandbox_.add_user("jo", "jo@example.com", d, {{"first_name", "Jo"}});
  sandbox_.add_group("G", {u});
  const json state = json::parse(sandbox_.dump_json());
  EXPECT_EQ(state["departments"].size(), 2u);
  EXPECT_EQ(state["users"][0]["fields"][0]["value"], "jo");
  EXPECT_EQ(state["groups"][0]["userIds"][0], u);

  sandbox_.set_outage(true);
  sandbox_.reset();
  EXPECT_TRUE(sandbox_.users().empty());
  EXPECT_TRUE(sandbox_.groups().empty());
  EXPECT_EQ(sandbox_.departments().size(), 1u);
  EXPECT_TRUE(sandbox_.request_log().empty());
  EXPECT_EQ(get("/users/v2").status, 401);  // tokens are gone too
  token_ = sandbox_.issue_token();
  EXPECT_EQ(get("/users/v2").status, 200);  // and the outage
}

TEST_F(IspringSandbox, SeedingRefusesWhatTheApiWould) {
  EXPECT_THROW(sandbox_.add_department("X", std::string("nope")), std::invalid_argument);
  sandbox_.add_department("X");
  EXPECT_THROW(sandbox_.add_department("x"), std::invalid_argument);
  EXPECT_THROW(sandbox_.add_user("a", "not-an-email"), std::invalid_argument);
  EXPECT_THROW(sandbox_.add_user("a", {}, "nope"), std::invalid_argument);
  EXPECT_THROW(sandbox_.add_group("G", {"nope"}), std::invalid_argument);
}

TEST_F(IspringSandbox, ConcurrentCreatesGetDistinctIds) {
  std::vector<std::thread> threads;
  std::mutex ids_mutex;
  std::set<std::string> ids;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 25; ++i) {
        const std::string login = "t" + std::to_string(t) + "_" + std::to_string(i);
        const auto r = post("/user", {{"departmentId", sandbox_.root_department_id()},
                                      {"fields", {{"login", login}}}});
        std::lock_guard lock(ids_mutex);
        if (r.status == 201) ids.insert(*isp::parse_created_id(r.body));
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(ids.size(), 100u);
  EXPECT_EQ(sandbox_.users().size(), 100u);
}

}  // namespace
}  // namespace connector::testing

// iSpring Learn wire formats, as a specification: the documented shape first, then one test
// per tolerance (reference ispring-learn-api.md §10 lists what is still uncertain).
#include "connector/ispring/wire.hpp"

#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace connector::ispring {
namespace {

using nlohmann::json;

std::string fixture(const std::string& name) {
  std::ifstream in(std::string(CONNECTOR_FIXTURES_DIR) + "/ispring/" + name, std::ios::binary);
  EXPECT_TRUE(in) << "missing fixture " << name;
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// --- token -------------------------------------------------------------------------------

TEST(IspringToken, ReadsTheDocumentedTokenResponse) {
  const auto t = parse_token(fixture("token-response.json"));
  ASSERT_TRUE(t) << t.error();
  EXPECT_EQ(t->access_token, "FAKE-3kq9Zx_example-token-value-not-real-AbCdEf");
  EXPECT_EQ(t->expires_in_s, 1800);
}

TEST(IspringToken, RejectsAMissingOrEmptyAccessToken) {
  EXPECT_FALSE(parse_token(R"({"expires_in":1800})"));
  EXPECT_FALSE(parse_token(R"({"access_token":"","expires_in":1800})"));
  EXPECT_FALSE(parse_token(R"({"access_token":"a","expires_in":0})"));
  EXPECT_FALSE(parse_token("<response><access_token>a</access_token></response>"));
}

TEST(IspringToken, AssumesTheDocumentedLifetimeWhenExpiresInIsMissing) {
  const auto t = parse_token(R"({"access_token":"abc"})");
  ASSERT_TRUE(t) << t.error();
  EXPECT_EQ(t->expires_in_s, 1800);
}

TEST(IspringToken, AcceptsExpiresInAsADecimalString) {
  const auto t = parse_token(R"({"access_token":"abc","expires_in":"900"})");
  ASSERT_TRUE(t) << t.error();
  EXPECT_EQ(t->expires_in_s, 900);
}

// --- users -------------------------------------------------------------------------------

TEST(IspringUsersPage, ReadsUsersWithRequestStyleFieldKeys) {
  const auto p = parse_users_page(fixture("users-v2-page.json"));
  ASSERT_TRUE(p) << p.error();
  ASSERT_EQ(p->items.size(), 2u);
  const user& jane = p->items[0];
  EXPECT_EQ(jane.id, "7c2caaf4-e840-11f1-a0e1-02fc00000001");
  EXPECT_EQ(jane.login, "jane.doe");
  EXPECT_EQ(jane.email, "jane.doe@example.com");
  EXPECT_EQ(jane.department_id, "7c2caa68-e840-11f1-a0e1-02fc00000001");
  EXPECT_EQ(jane.status, user_status_active);
  EXPECT_EQ(jane.role, "learner");
  EXPECT_EQ(jane.fields.at("first_name"), "Jane");
  EXPECT_EQ(jane.fields.at("last_name"), "Doe");
  EXPECT_EQ(jane.fields.at("job_title"), "Account Executive");
  EXPECT_EQ(jane.fields.at("SF_USER_ID"), "0058d00000AbCdEAAV");  // custom: kept as given
  EXPECT_FALSE(jane.fields.contains("LOGIN"));
  EXPECT_EQ(jane.group_ids, std::vector<std::string>{"7c2cac2a-e840-11f1-a0e1-02fc00000001"});
  EXPECT_EQ(p->items[1].status, user_status_terminated);
  EXPECT_TRUE(p->items[1].group_ids.empty());
  EXPECT_EQ(p->next_page_token, "N2MyY2FiYTgtZTg0MC0xMWYxLWEwZTEtMDJmYzAwMDAwMDAx");
  EXPECT_FALSE(p->is_last());
}

TEST(IspringUsersPage, LastPageWithoutNextPageTokenEndsPaging) {
  const auto p = parse_users_page(fixture("users-v2-last-page.json"));
  ASSERT_TRUE(p) << p.error();
  EXPECT_TRUE(p->items.empty());
  EXPECT_TRUE(p->is_last());
}

TEST(IspringUsersPage, EmptyOrNullNextPageTokenAlsoEndsPaging) {
  for (const char* body : {R"({"userProfiles":[],"nextPageToken":""})",
                           R"({"userProfiles":[],"nextPageToken":null})"}) {
    const auto p = parse_users_page(body);
    ASSERT_TRUE(p) << p.error();
    EXPECT_TRUE(p->is_last()) << body;
  }
}

TEST(IspringUsersPage, NullUserListCountsAsEmpty) {
  const auto p = parse_users_page(R"({"userProfiles":null})");
  ASSERT_TRUE(p) << p.error();
  EXPECT_TRUE(p->items.empty());
}

TEST(IspringUsersPage, ABodyWithoutUserProfilesIsAnErrorNotAnEmptyAccount) {
  // An error object parsed as "no users" would make every iSpring user look deleted.
  EXPECT_FALSE(parse_users_page(fixture("error-response.json")));
  EXPECT_FALSE(parse_users_page("{}"));
  EXPECT_FALSE(parse_users_page("[]"));
}

TEST(IspringUsersPage, FieldsAsAnObjectAreAcceptedToo) {
  // S1's OpenAPI models `fields` as an object; responses observed so far use an array.
  const auto p = parse_users_page(R"({"userProfiles":[{"userId":"u-1","status":1,
      "fields":{"LOGIN":"jo","EMAIL":"jo@example.com",
                "USER_DEFINED_FIELD3":"42","phone":"+1"}}]})");
  ASSERT_TRUE(p) << p.error();
  const user& u = p->items.at(0);
  EXPECT_EQ(u.login, "jo");
  EXPECT_EQ(u.email, "jo@example.com");
  EXPECT_EQ(u.fields.at("USER_DEFINED_FIELD3"), "42");
  EXPECT_EQ(u.fields.at("phone"), "+1");
}

TEST(IspringUsersPage, NonStringFieldValuesBecomeText) {
  const auto u = parse_user(R"({"userId":"u-1","status":1,"fields":[
      {"name":"COUNTRY","value":63},{"name":"PHONE","value":null},{"name":"X","value":true},
      {"name":"NO_VALUE"}]})");
  ASSERT_TRUE(u) << u.error();
  EXPECT_EQ(u->fields.at("country"), "63");
  EXPECT_EQ(u->fields.at("phone"), "");
  EXPECT_EQ(u->fields.at("X"), "true");
  EXPECT_EQ(u->fields.at("NO_VALUE"), "");
}

TEST(IspringUsersPage, StatusAsADecimalStringIsAccepted) {
  const auto u = parse_user(R"({"userId":"u-1","status":"3"})");
  ASSERT_TRUE(u) << u.error();
  EXPECT_EQ(u->status, user_status_inactive);
}

TEST(IspringUsersPage, ReportsWhereAUserIsMalformed) {
  const auto p = parse_users_page(R"({"userProfiles":[{"userId":"u-1","status":1},
      {"userId":"u-2","status":"active"}]})");
  ASSERT_FALSE(p);
  EXPECT_NE(p.error().find("userProfiles[1].status"), std::string::npos) << p.error();
}

TEST(IspringUser, RejectsIdsThatCouldEscapeAUrlPath) {
  EXPECT_FALSE(parse_user(R"({"userId":"../admin","status":1})"));
  EXPECT_FALSE(parse_user(R"({"userId":"a/b","status":1})"));
  EXPECT_FALSE(parse_user(R"({"userId":"..","status":1})"));
  EXPECT_FALSE(parse_user(R"({"userId":"","status":1})"));
  EXPECT_FALSE(parse_user(R"({"userId":"ok","status":1,"groups":["g?x=1"]})"));
}

TEST(IspringUser, WrappedInResponseAsTheOpenApiSays) {
  const auto u = parse_user(R"({"response":{"userId":"u-1","departmentId":"d-1","status":1,
      "fields":[{"name":"LOGIN","value":"jo"}]}})");
  ASSERT_TRUE(u) << u.error();
  EXPECT_EQ(u->id, "u-1");
  EXPECT_EQ(u->login, "jo");
}

TEST(IspringUser, UnwrappedAsTheLaravelClientReadsIt) {
  const auto u = parse_user(R"({"userId":"u-1","departmentId":"d-1","status":1})");
  ASSERT_TRUE(u) << u.error();
  EXPECT_EQ(u->department_id, "d-1");
  EXPECT_TRUE(u->fields.empty());
}

TEST(IspringUser, IntegerIdsFromTheLegacyApiBecomeText) {
  const auto u = parse_user(R"({"userId":12345,"status":1})");
  ASSERT_TRUE(u) << u.error();
  EXPECT_EQ(u->id, "12345");
}

// --- departments -------------------------------------------------------------------------

TEST(IspringDepartments, PageWithRootWithoutParent) {
  const auto p = parse_departments_page(fixture("departments-page.json"));
  ASSERT_TRUE(p) << p.error();
  ASSERT_EQ(p->items.size(), 2u);
  EXPECT_EQ(p->items[0].name, "Example Corp");
  EXPECT_FALSE(p->items[0].parent_id);
  EXPECT_FALSE(p->items[0].code);
  EXPECT_EQ(p->items[1].parent_id, "7c2ca6f8-e840-11f1-a0e1-02fc00000001");
  EXPECT_EQ(p->items[1].code, "SALES");
  EXPECT_FALSE(p->is_last());
}

TEST(IspringDepartments, EmptyOrNullParentAndCodeMeanNone) {
  const auto d = parse_department(
      R"({"departmentId":"d-1","name":"Root","parentDepartmentId":"","code":null})");
  ASSERT_TRUE(d) << d.error();
  EXPECT_FALSE(d->parent_id);
  EXPECT_FALSE(d->code);
}

TEST(IspringDepartments, FullListAsObjectOrBareArray) {
  const char* item = R"({"departmentId":"d-1","name":"Sales","parentDepartmentId":"d-0"})";
  for (const std::string& body :
       {std::string(R"({"departments":[)") + item + "]}", std::string("[") + item + "]"}) {
    const auto list = parse_departments_list(body);
    ASSERT_TRUE(list) << list.error();
    ASSERT_EQ(list->size(), 1u);
    EXPECT_EQ(list->at(0).parent_id, "d-0");
  }
  EXPECT_FALSE(parse_departments_list(R"({"code":403,"message":"no"})"));
}

TEST(IspringDepartments, SingleDepartmentWrappedOrNot) {
  for (const char* body : {R"({"response":{"departmentId":"d-1","name":"Sales","code":"S"}})",
                           R"({"departmentId":"d-1","name":"Sales","code":"S"})"}) {
    const auto d = parse_department(body);
    ASSERT_TRUE(d) << d.error();
    EXPECT_EQ(d->id, "d-1");
    EXPECT_EQ(d->code, "S");
  }
}

// --- groups ------------------------------------------------------------------------------

TEST(IspringGroups, PageWithoutNextTokenIsTheLast) {
  const auto p = parse_groups_page(fixture("groups-page.json"));
  ASSERT_TRUE(p) << p.error();
  ASSERT_EQ(p->items.size(), 2u);
  EXPECT_EQ(p->items[0].name, "New Hires");
  EXPECT_FALSE(p->items[0].is_smart);
  EXPECT_TRUE(p->items[1].is_smart);
  EXPECT_FALSE(p->items[0].user_ids);
  EXPECT_TRUE(p->is_last());
}

TEST(IspringGroups, SingleGroupCarriesItsMembers) {
  const auto g = parse_group(fixture("group-get.json"));
  ASSERT_TRUE(g) << g.error();
  EXPECT_EQ(g->id, "7c2cac2a-e840-11f1-a0e1-02fc00000001");
  ASSERT_TRUE(g->user_ids);
  EXPECT_EQ(*g->user_ids, std::vector<std::string>{"7c2caaf4-e840-11f1-a0e1-02fc00000001"});
}

TEST(IspringGroups, SingleGroupWrappedInResponse) {
  const auto g =
      parse_group(R"({"response":{"groupId":"g-1","name":"A","isSmart":1,"userIds":[]}})");
  ASSERT_TRUE(g) << g.error();
  EXPECT_TRUE(g->is_smart);
  ASSERT_TRUE(g->user_ids);
  EXPECT_TRUE(g->user_ids->empty());
}

// An all-staff group: 20,000 member ids read in order, and one bad id deep in the list named
// by its position (the fast path for usual ids must not swallow an unusual one).
TEST(IspringGroups, TwentyThousandMembersReadInOrderAndABadOneIsNamed) {
  json members = json::array();
  for (int i = 0; i < 20'000; ++i) members.push_back("u-" + std::to_string(i));
  json doc = {{"groupId", "g-1"}, {"name", "All"}, {"userIds", members}};
  const auto g = parse_group(doc.dump());
  ASSERT_TRUE(g) << g.error();
  ASSERT_TRUE(g->user_ids);
  ASSERT_EQ(g->user_ids->size(), 20'000u);
  EXPECT_EQ(g->user_ids->front(), "u-0");
  EXPECT_EQ(g->user_ids->at(12'345), "u-12345");
  doc["userIds"][17'000] = "../admin";
  const auto bad = parse_group(doc.dump());
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().find("17000"), std::string::npos) << bad.error();
  doc["userIds"][17'000] = 42;  // a legacy numeric id is still taken as its decimal text
  const auto numeric = parse_group(doc.dump());
  ASSERT_TRUE(numeric) << numeric.error();
  EXPECT_EQ(numeric->user_ids->at(17'000), "42");
}

// --- profile fields ----------------------------------------------------------------------

TEST(IspringProfileFields, FlagsAsZeroOrOne) {
  const auto f = parse_profile_fields(fixture("profile-fields.json"));
  ASSERT_TRUE(f) << f.error();
  ASSERT_EQ(f->size(), 5u);
  EXPECT_EQ(f->at(0).id, "login");
  EXPECT_EQ(f->at(0).field_info_id, "LOGIN");
  EXPECT_TRUE(f->at(0).is_unique);
  EXPECT_TRUE(f->at(0).is_required);
  EXPECT_FALSE(f->at(1).is_required);
  EXPECT_EQ(f->at(4).id, "USER_DEFINED_FIELD3");
  EXPECT_EQ(f->at(4).label, "Employee number");
  EXPECT_EQ(f->at(4).type, "string");
}

TEST(IspringProfileFields, FlagsAsBooleansOrStrings) {
  const auto f = parse_profile_fields(R"([
      {"name":"a","isUnique":true,"isRequired":false},
      {"name":"b","isUnique":"1","isRequired":"true"},
      {"name":"c"}])");
  ASSERT_TRUE(f) << f.error();
  EXPECT_TRUE(f->at(0).is_unique);
  EXPECT_FALSE(f->at(0).is_required);
  EXPECT_TRUE(f->at(1).is_unique);
  EXPECT_TRUE(f->at(1).is_required);
  EXPECT_FALSE(f->at(2).is_unique);
  EXPECT_FALSE(parse_profile_fields(R"([{"name":"a","isUnique":2}])"));
}

TEST(IspringProfileFields, NameFallsBackToUserFieldInfoId) {
  const auto f = parse_profile_fields(R"([{"userFieldInfoId":"USER_DEFINED_FIELD1"}])");
  ASSERT_TRUE(f) << f.error();
  EXPECT_EQ(f->at(0).id, "USER_DEFINED_FIELD1");
  EXPECT_FALSE(parse_profile_fields(R"([{"label":"nothing to key by"}])"));
}

// --- created id --------------------------------------------------------------------------

constexpr const char* new_id = "7c2caaf4-e840-11f1-a0e1-02fc00000001";

TEST(IspringCreatedId, XmlResponseElementAsDocumented) {
  const auto id = parse_created_id(fixture("create-response.xml"));
  ASSERT_TRUE(id) << id.error();
  EXPECT_EQ(*id, new_id);
}

TEST(IspringCreatedId, JsonStringLiteral) {
  const auto id = parse_created_id("\"7c2caaf4-e840-11f1-a0e1-02fc00000001\"\n");
  ASSERT_TRUE(id) << id.error();
  EXPECT_EQ(*id, new_id);
}

TEST(IspringCreatedId, BareTextWithWhitespace) {
  const auto id = parse_created_id("  7c2caaf4-e840-11f1-a0e1-02fc00000001\r\n");
  ASSERT_TRUE(id) << id.error();
  EXPECT_EQ(*id, new_id);
}

TEST(IspringCreatedId, ObjectWithAnIdKey) {
  for (const char* key : {"userId", "departmentId", "groupId", "id"}) {
    const auto id = parse_created_id(std::string("{\"") + key + "\":\"" + new_id + "\"}");
    ASSERT_TRUE(id) << key << ": " << id.error();
    EXPECT_EQ(*id, new_id);
  }
  const auto wrapped = parse_created_id(std::string(R"({"response":")") + new_id + "\"}");
  ASSERT_TRUE(wrapped) << wrapped.error();
  EXPECT_EQ(*wrapped, new_id);
}

TEST(IspringCreatedId, RejectsAnythingThatIsNotAnId) {
  EXPECT_FALSE(parse_created_id(""));
  EXPECT_FALSE(parse_created_id("   "));
  EXPECT_FALSE(parse_created_id("\"\""));
  EXPECT_FALSE(parse_created_id("{}"));
  EXPECT_FALSE(parse_created_id("<html><body>Bad gateway</body></html>"));
  EXPECT_FALSE(parse_created_id("two words"));
  EXPECT_FALSE(parse_created_id("<response>../x</response>"));
}

// iSpring's XML is read with pugixml: entities a DTD would declare are never read, the
// body must be well-formed UTF-8, and the id is the <response> element's text, wherever it is.
TEST(IspringCreatedId, XmlWithADoctypeOrBrokenBytesIsRefused) {
  const std::string xxe =
      "<?xml version=\"1.0\"?><!DOCTYPE r [<!ENTITY x SYSTEM \"file:///etc/hostname\">]>"
      "<response>&x;</response>";
  const auto refused = parse_created_id(xxe);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().find("DOCTYPE"), std::string::npos) << refused.error();
  EXPECT_FALSE(parse_created_id("<response>abc</respons>"));  // not well-formed
  EXPECT_FALSE(
      parse_created_id("<response>ab\xC0\xAF"
                       "c</response>"));  // overlong '/'
  EXPECT_FALSE(parse_created_id(std::string("<response>abc\0def</response>", 28)));
  EXPECT_FALSE(parse_created_id("<response>a&#0;b</response>"));
  EXPECT_FALSE(parse_created_id("<response>&#x2E;&#x2E;/x</response>"));  // "../x" spelt out
}

TEST(IspringCreatedId, XmlIdIsTheResponseTextAnywhereInTheDocument) {
  const auto id_of = [](std::string_view body) {
    const auto id = parse_created_id(body);
    return id ? *id : "error: " + id.error();
  };
  EXPECT_EQ(id_of("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                  "<response>\n  7c2caaf4-e840-11f1\n</response>"),
            "7c2caaf4-e840-11f1");
  EXPECT_EQ(id_of("<result><response><![CDATA[u-42]]></response></result>"), "u-42");
  EXPECT_EQ(id_of("<response>u&#45;42</response>"), "u-42");
  EXPECT_FALSE(parse_created_id("<responses>u-42</responses>"));  // a longer name is not it
}

// --- errors ------------------------------------------------------------------------------

TEST(IspringError, JsonCodeAndMessage) {
  const auto e = parse_error(400, fixture("error-response.json"));
  ASSERT_TRUE(e);
  EXPECT_EQ(e->http_status, 400);
  EXPECT_EQ(e->code, 400);
  EXPECT_EQ(e->message, "Example only: invalid value for field login");
}

TEST(IspringError, XmlCodeAndMessage) {
  const auto e = parse_error(403, fixture("error-response.xml"));
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code, 403);
  EXPECT_EQ(e->message, "Example only: permission denied");
}

TEST(IspringError, XmlEntitiesAreDecoded) {
  const auto e = parse_error(
      400, "<response><code>400</code><message>a &lt;b&gt; &amp; &#233;</message></response>");
  EXPECT_EQ(e->message, "a <b> & \xC3\xA9");
}

TEST(IspringError, XmlWithADoctypeIsShownAsTextWithNothingExpanded) {
  const auto e = parse_error(400,
                             "<!DOCTYPE r [<!ENTITY big \"EXPANDED\">]><response><code>400</code>"
                             "<message>&big;</message></response>");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code, 0);  // the structure is not read at all
  EXPECT_EQ(e->message.find("EXPANDED"), std::string::npos) << e->message;
  EXPECT_FALSE(e->message.empty());
}

TEST(IspringError, OAuthStyleTokenError) {
  const auto e = parse_error(401, R"({"error":"invalid_client","error_description":"bad secret"})");
  EXPECT_EQ(e->code, 0);
  EXPECT_EQ(e->message, "bad secret");
}

TEST(IspringError, AnythingElseBecomesTheStartOfTheSanitisedText) {
  const auto html = parse_error(502,
                                "<html><head><title>502 Bad Gateway</title></head>\r\n"
                                "<body>nginx</body></html>");
  EXPECT_EQ(html->code, 0);
  EXPECT_EQ(html->message, "502 Bad Gateway nginx");

  const auto forged = parse_error(500, "oops\r\n2025-01-01 INFO fake log line\x1b[31m\xff");
  EXPECT_EQ(forged->message, "oops 2025-01-01 INFO fake log line?[31m?");

  const auto long_text = parse_error(500, std::string(5000, 'x'));
  EXPECT_EQ(long_text->message, std::string(200, 'x') + "...");

  EXPECT_EQ(parse_error(503, "")->message, "empty body");
  EXPECT_EQ(parse_error(500, "{\"code\":")->message, "{\"code\":");  // truncated JSON
}

TEST(IspringError, MultiByteTextIsNeverCutMidCharacter) {
  std::string cyrillic;
  for (int i = 0; i < 300; ++i) cyrillic += "\xD0\x96";  // "Ж"
  const auto e = parse_error(500, cyrillic);
  EXPECT_EQ(e->message.size(), 200u * 2 + 3);
}

// --- request bodies ----------------------------------------------------------------------

TEST(IspringBodies, CreateUserMatchesTheSample) {
  const json sample = json::parse(fixture("user-create-request.json"));
  const field_map fields = sample["fields"].get<field_map>();
  const json built =
      json::parse(build_create_user_body(sample["departmentId"].get<std::string>(), fields));
  EXPECT_EQ(built["departmentId"], sample["departmentId"]);
  EXPECT_EQ(built["fields"], sample["fields"]);
  EXPECT_EQ(built["sendLoginEmail"], false);  // always explicit (defaults differ, §4.3)
  EXPECT_FALSE(built.contains("role"));
  EXPECT_EQ(json::parse(build_create_user_body("d", {}, true))["sendLoginEmail"], true);
}

TEST(IspringBodies, UpdateUserCarriesOnlyWhatIsGiven) {
  const json sample = json::parse(fixture("user-update-request.json"));
  EXPECT_EQ(json::parse(build_update_user_body(sample["departmentId"].get<std::string>(),
                                               sample["fields"].get<field_map>())),
            sample);
  EXPECT_EQ(build_update_user_body(std::nullopt, {}), "{}");
  EXPECT_EQ(build_update_user_body(std::nullopt, {{"last_name", "Roe"}}),
            R"({"fields":{"last_name":"Roe"}})");
  EXPECT_EQ(build_update_user_body("d-1", {}), R"({"departmentId":"d-1"})");
}

TEST(IspringBodies, StatusGroupsAndDepartments) {
  EXPECT_EQ(json::parse(build_status_body(3)), json::parse(fixture("user-status-request.json")));
  EXPECT_EQ(json::parse(build_group_members_body({"7c2caaf4-e840-11f1-a0e1-02fc00000001"})),
            json::parse(fixture("group-members-request.json")));
  EXPECT_EQ(build_group_members_body({}), R"({"userIds":[]})");  // empties the group
  // Written straight out for speed, it must equal what the JSON writer makes of any id: a
  // quote, a backslash, a control character, invalid UTF-8 (replaced), and 20,000 usual ones.
  std::vector<std::string> ids = {"a\"b", "c\\d",
                                  std::string("e\x01"
                                              "f"),
                                  "g\xff", "\xc3\xa9t\xc3\xa9"};
  for (int i = 0; i < 20'000; ++i) ids.push_back("7c2caaf4-e840-11f1-a0e1-" + std::to_string(i));
  json expected = {{"userIds", json::array()}};
  for (const auto& id : ids) expected["userIds"].push_back(id);
  EXPECT_EQ(build_group_members_body(ids),
            expected.dump(-1, ' ', false, json::error_handler_t::replace));
  EXPECT_EQ(json::parse(build_remove_groups_body(
                {"7c2cac2a-e840-11f1-a0e1-02fc00000001", "7c2caca2-e840-11f1-a0e1-02fc00000001"})),
            json::parse(fixture("user-groups-remove-request.json")));
  EXPECT_EQ(json::parse(build_department_body("Sales EMEA", "7c2ca9b4-e840-11f1-a0e1-02fc00000001",
                                              "SALES-EMEA")),
            json::parse(fixture("department-create-request.json")));
  EXPECT_EQ(build_department_body("A", "p"), R"({"name":"A","parentDepartmentId":"p"})");
  EXPECT_EQ(build_rename_department_body("B \"quoted\""), R"({"name":"B \"quoted\""})");
}

TEST(IspringBodies, InvalidUtf8FromSalesforceIsReplacedNotThrown) {
  const std::string body = build_create_user_body("d", {{"last_name", "Bad\xff"}});
  const json parsed = json::parse(body);
  EXPECT_EQ(parsed["fields"]["last_name"], "Bad\xEF\xBF\xBD");
}

TEST(IspringBodies, TokenFormIsPercentEncoded) {
  EXPECT_EQ(build_token_form("3f1c-id", "a+b/c=d&e f~_.-"),
            "grant_type=client_credentials&client_id=3f1c-id"
            "&client_secret=a%2Bb%2Fc%3Dd%26e%20f~_.-");
}

TEST(IspringIds, SafeIdsAreUnreservedUrlCharacters) {
  EXPECT_TRUE(is_safe_id("7c2caaf4-e840-11f1-a0e1-02fc00000001"));
  EXPECT_TRUE(is_safe_id("12345"));
  EXPECT_FALSE(is_safe_id(""));
  EXPECT_FALSE(is_safe_id("."));
  EXPECT_FALSE(is_safe_id("a b"));
  EXPECT_FALSE(is_safe_id("a%2Fb"));
  EXPECT_FALSE(is_safe_id(std::string(129, 'a')));
}

// --- hostile input -----------------------------------------------------------------------

TEST(IspringHostileInput, DeepNestingIsRefusedNotRecursed) {
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  EXPECT_FALSE(parse_users_page(deep));
  EXPECT_FALSE(parse_profile_fields(deep));
  const std::string deep_value = R"({"userId":"u","status":1,"fields":[{"name":"X","value":)" +
                                 std::string(70, '[') + std::string(70, ']') + "}]}";
  EXPECT_FALSE(parse_user(deep_value));
  EXPECT_TRUE(parse_error(500, deep));
}

TEST(IspringHostileInput, WrongTypesAreErrorsNotExceptions) {
  EXPECT_FALSE(parse_users_page(R"({"userProfiles":{"a":1}})"));
  EXPECT_FALSE(parse_users_page(R"({"userProfiles":[1]})"));
  EXPECT_FALSE(parse_users_page(R"({"userProfiles":[],"nextPageToken":5})"));
  EXPECT_FALSE(parse_user(R"({"userId":"u","status":99999999999})"));
  EXPECT_FALSE(parse_user(R"({"userId":"u","status":1,"fields":"LOGIN"})"));
  EXPECT_FALSE(parse_user(R"({"userId":"u","status":1,"fields":[{"value":"x"}]})"));
  EXPECT_FALSE(parse_group(R"({"groupId":"g","name":7})"));
  EXPECT_FALSE(parse_token("\xff\xfe"));
  EXPECT_FALSE(parse_department(R"("just a string")"));
}

}  // namespace
}  // namespace connector::ispring

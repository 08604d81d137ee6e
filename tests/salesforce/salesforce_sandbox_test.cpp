// The Salesforce sandbox must refuse what Salesforce refuses (reference salesforce.md §D):
// these tests pin its OAuth checks, its SOQL subset and errors, cursor paging and faults,
// mostly through handle() without sockets, and its control endpoints over HTTPS.
#include "support/salesforce_sandbox.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <map>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "connector/http/client.hpp"
#include "connector/salesforce/ids.hpp"
#include "connector/salesforce/jwt.hpp"
#include "connector/salesforce/rest_wire.hpp"
#include "connector/text/base64.hpp"
#include "connector/text/url.hpp"
#include "support/rsa_keys.hpp"
#include "support/salesforce_sandbox_server.hpp"
#include "support/service.hpp"

namespace connector::testing {
namespace {

using nlohmann::json;
namespace sf = connector::salesforce;

constexpr std::int64_t start_ms = 1'714'557'600'000;  // 2024-05-01T10:00:00Z
constexpr const char* base = "https://login.sandbox.test";
constexpr const char* query_path = "/services/data/v61.0/query";

http::request make_request(std::string method, std::string target,
                           std::vector<std::pair<std::string, std::string>> headers = {},
                           std::string body = {}) {
  http::request r;
  r.method = std::move(method);
  r.target = std::move(target);
  r.headers = std::move(headers);
  r.body = std::move(body);
  return r;
}

json body_of(const http::response& r) {
  return json::parse(r.body);
}

class SalesforceSandbox : public ::testing::Test {
 protected:
  SalesforceSandbox() { reopen(); }

  void reopen(salesforce_sandbox_options o = {}) {
    o.public_key_pem = test_rsa_key(0).public_key_pem;
    o.base_url = base;
    o.clock = [this] { return now_.load(); };
    sandbox_ = std::make_unique<salesforce_sandbox>(std::move(o));
  }

  std::string assertion(sf::jwt_claims claims, int key = 0) const {
    auto signer = sf::jwt_signer::from_pem(test_rsa_key(key).private_key_pem);
    return *signer->sign(claims);
  }
  sf::jwt_claims good_claims() const {
    return {"sandbox-consumer-key", "integration@example.com", base, now_ / 1000 + 180};
  }

  http::response post_token(const std::string& form,
                            const std::string& type = "application/x-www-form-urlencoded") {
    return sandbox_->handle(make_request("POST", "/services/oauth2/token",
                                         {{"content-type", type}, {"host", "login.sandbox.test"}},
                                         form));
  }
  http::response jwt(const std::string& assertion_text) {
    return post_token(
        text::form_encode({{"grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"},
                           {"assertion", assertion_text}}));
  }
  void expect_oauth_error(const http::response& r, const std::string& error,
                          const std::string& description) {
    EXPECT_EQ(r.status, 400) << r.body;
    const json b = body_of(r);
    EXPECT_EQ(b.value("error", ""), error) << r.body;
    EXPECT_EQ(b.value("error_description", ""), description) << r.body;
  }

  http::response get(const std::string& target, const std::string& token, int batch = 0,
                     const std::string& host = "login.sandbox.test") {
    std::vector<std::pair<std::string, std::string>> headers{
        {"authorization", "Bearer " + token}, {"accept", "application/json"}, {"host", host}};
    if (batch > 0)
      headers.emplace_back("sforce-query-options", "batchSize=" + std::to_string(batch));
    return sandbox_->handle(make_request("GET", target, headers));
  }
  http::response query(const std::string& soql, int batch = 0) {
    return get(std::string(query_path) + "?q=" + text::percent_encode(soql), token(), batch);
  }
  // The errorCode and message of a REST error reply.
  std::pair<std::string, std::string> error_of(const http::response& r) {
    const json b = body_of(r);
    EXPECT_TRUE(b.is_array()) << r.body;
    return {b[0].value("errorCode", ""), b[0].value("message", "")};
  }
  const std::string& token() {
    if (token_.empty()) token_ = sandbox_->issue_token();
    return token_;
  }

  std::string add(const std::string& name, json extra = json::object()) {
    json fields = {
        {"Username", name + "@acme.com.prod"}, {"Email", name + "@acme.com"}, {"LastName", name}};
    fields.update(extra);
    return sandbox_->add_user(fields);
  }

  std::atomic<std::int64_t> now_{start_ms};
  std::unique_ptr<salesforce_sandbox> sandbox_;
  std::string token_;
};

// --- OAuth: JWT bearer (§D.1) ---------------------------------------------------------------

TEST_F(SalesforceSandbox, JwtBearerIssuesASessionShapedLikeSalesforces) {
  const auto r = jwt(assertion(good_claims()));
  ASSERT_EQ(r.status, 200) << r.body;
  const json b = body_of(r);
  EXPECT_EQ(b["token_type"], "Bearer");
  EXPECT_EQ(b["instance_url"], base);
  EXPECT_EQ(b["id"],
            std::string(base) + "/id/00D5g000004XyZaEAK/" + sandbox_->integration_user_id());
  EXPECT_EQ(b["issued_at"], std::to_string(start_ms));
  EXPECT_FALSE(b.value("signature", "").empty());
  const std::string access = b["access_token"];
  EXPECT_EQ(access.substr(0, 16), "00D5g000004XyZa!");
  const auto ids = sf::parse_identity_url(b["id"].get<std::string>());
  ASSERT_TRUE(ids) << ids.error();
  EXPECT_TRUE(sf::is_valid_id(ids->user_id));
  EXPECT_EQ(get(std::string(query_path) + "?q=SELECT+Id+FROM+User", access).status, 200);
}

TEST_F(SalesforceSandbox, JwtBearerRefusesAnAssertionSignedWithAnotherKey) {
  expect_oauth_error(jwt(assertion(good_claims(), 1)), "invalid_grant", "invalid assertion");
}

TEST_F(SalesforceSandbox, JwtBearerChecksEveryClaim) {
  auto claims = good_claims();
  claims.issuer = "someone-else";
  expect_oauth_error(jwt(assertion(claims)), "invalid_client_id", "client identifier invalid");
  claims = good_claims();
  claims.subject = "intruder@example.com";
  expect_oauth_error(jwt(assertion(claims)), "invalid_grant", "user hasn't approved this consumer");
  claims = good_claims();
  claims.subject = "INTEGRATION@example.com";  // usernames ignore case
  EXPECT_EQ(jwt(assertion(claims)).status, 200);
  claims = good_claims();
  claims.audience = "https://login.salesforce.com";
  expect_oauth_error(jwt(assertion(claims)), "invalid_grant", "audience is invalid");
  claims = good_claims();
  claims.audience = std::string(base) + "/";  // a trailing slash is the same URL
  EXPECT_EQ(jwt(assertion(claims)).status, 200);
}

TEST_F(SalesforceSandbox, JwtBearerRefusesExpiredAndFarFutureAssertions) {
  auto claims = good_claims();
  claims.expires_at_s = start_ms / 1000;  // now: already expired
  expect_oauth_error(jwt(assertion(claims)), "invalid_grant", "expired authorization code");
  claims.expires_at_s = start_ms / 1000 + 301;
  expect_oauth_error(jwt(assertion(claims)), "invalid_grant", "invalid assertion");
  claims.expires_at_s = start_ms / 1000 + 300;
  EXPECT_EQ(jwt(assertion(claims)).status, 200);
  // The sandbox's clock decides: an assertion made for "now" expires as time passes.
  const std::string made_now = assertion(good_claims());
  now_ += 181'000;
  expect_oauth_error(jwt(made_now), "invalid_grant", "expired authorization code");
}

TEST_F(SalesforceSandbox, JwtBearerRefusesMalformedAssertions) {
  const std::string good = assertion(good_claims());
  const auto dot = good.find('.');
  const auto last_dot = good.rfind('.');
  const std::string claims_part = good.substr(dot + 1, last_dot - dot - 1);
  for (const std::string bad :
       {std::string(), std::string("abc"), good + ".", good.substr(0, last_dot) + ".",
        text::base64url_encode(R"({"alg":"none"})") + "." + claims_part + ".",
        text::base64url_encode(R"({"alg":"HS256"})") + "." + claims_part + good.substr(last_dot),
        good + "=", good.substr(0, last_dot) + ".!!!!",
        good.substr(0, dot) + "." + text::base64url_encode("not json") + good.substr(last_dot)}) {
    expect_oauth_error(jwt(bad), "invalid_grant", "invalid assertion");
  }
  // Another body than the signed one: the signature catches it.
  auto claims = good_claims();
  claims.subject = "someone@else.com";
  const std::string other = assertion(claims);
  const std::string forged = good.substr(0, dot) +
                             other.substr(other.find('.'), other.rfind('.') - other.find('.')) +
                             good.substr(last_dot);
  expect_oauth_error(jwt(forged), "invalid_grant", "invalid assertion");
}

TEST_F(SalesforceSandbox, WithoutAPublicKeyEveryAssertionIsRefused) {
  salesforce_sandbox plain;
  const auto r = plain.handle(make_request(
      "POST", "/services/oauth2/token", {{"content-type", "application/x-www-form-urlencoded"}},
      text::form_encode({{"grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"},
                         {"assertion", assertion(good_claims())}})));
  EXPECT_EQ(r.status, 400);
  EXPECT_THROW(salesforce_sandbox(salesforce_sandbox_options{.public_key_pem = "not a key"}),
               std::invalid_argument);
}

// --- OAuth: client credentials and the form itself ---------------------------------------------

TEST_F(SalesforceSandbox, ClientCredentialsNeedTheRightIdAndSecret) {
  const auto form = [](const std::string& id, const std::string& secret) {
    return text::form_encode(
        {{"grant_type", "client_credentials"}, {"client_id", id}, {"client_secret", secret}});
  };
  EXPECT_EQ(post_token(form("sandbox-consumer-key", "sandbox-consumer-secret")).status, 200);
  expect_oauth_error(post_token(form("sandbox-consumer-key", "wrong")), "invalid_client",
                     "invalid client credentials");
  expect_oauth_error(post_token(form("unknown", "sandbox-consumer-secret")), "invalid_client_id",
                     "client identifier invalid");
  reopen({.client_secret = ""});
  expect_oauth_error(post_token(form("sandbox-consumer-key", "")), "invalid_grant",
                     "no client credentials user enabled");
}

TEST_F(SalesforceSandbox, TokenEndpointRefusesOtherGrantsAndBodies) {
  expect_oauth_error(post_token("grant_type=password&username=a&password=b"),
                     "unsupported_grant_type", "grant type not supported");
  EXPECT_EQ(body_of(post_token(R"({"grant_type":"client_credentials"})", "application/json"))
                .value("error", ""),
            "invalid_request");
  EXPECT_EQ(body_of(post_token("grant_type=client_credentials&grant_type=client_credentials"))
                .value("error", ""),
            "invalid_request");
  const auto get_token =
      sandbox_->handle(make_request("GET", "/services/oauth2/token?grant_type=client_credentials"));
  EXPECT_EQ(get_token.status, 400);
}

// --- Sessions (§D.3) -------------------------------------------------------------------------

TEST_F(SalesforceSandbox, SessionsTimeOutAfterInactivityOnly) {
  add("jane");
  const std::string t = token();
  now_ += 7100'000;
  EXPECT_EQ(query("SELECT Id FROM User").status, 200);  // each call restarts the clock
  now_ += 7100'000;
  EXPECT_EQ(query("SELECT Id FROM User").status, 200);
  now_ += 7200'000;
  const auto expired = query("SELECT Id FROM User");
  EXPECT_EQ(expired.status, 401);
  EXPECT_EQ(error_of(expired), std::make_pair(std::string("INVALID_SESSION_ID"),
                                              std::string("Session expired or invalid")));
}

TEST_F(SalesforceSandbox, ExpireTokensEndsEverySession) {
  EXPECT_EQ(query("SELECT Id FROM User").status, 200);
  sandbox_->expire_tokens();
  EXPECT_EQ(query("SELECT Id FROM User").status, 401);
}

TEST_F(SalesforceSandbox, ApiCallsNeedABearerToken) {
  const std::string target = std::string(query_path) + "?q=SELECT+Id+FROM+User";
  EXPECT_EQ(sandbox_->handle(make_request("GET", target)).status, 401);
  EXPECT_EQ(
      sandbox_->handle(make_request("GET", target, {{"authorization", "Bearer nope"}})).status,
      401);
  EXPECT_EQ(sandbox_->handle(make_request("GET", target, {{"authorization", token()}})).status,
            401);
  EXPECT_EQ(
      sandbox_->handle(make_request("GET", target, {{"authorization", "OAuth " + token()}})).status,
      200);
}

TEST_F(SalesforceSandbox, AnInstanceUrlOtherThanTheLoginUrlMustBeUsed) {
  sandbox_->set_instance_url("https://acme.my.sandbox.test");
  const auto r = jwt(assertion(good_claims()));
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(body_of(r)["instance_url"], "https://acme.my.sandbox.test");
  EXPECT_EQ(body_of(r)["id"].get<std::string>().rfind(std::string(base) + "/id/", 0), 0u);
  const std::string target = std::string(query_path) + "?q=SELECT+Id+FROM+User";
  EXPECT_EQ(get(target, token(), 0, "login.sandbox.test").status, 401);
  EXPECT_EQ(get(target, token(), 0, "acme.my.sandbox.test").status, 200);
}

// --- SOQL: records -----------------------------------------------------------------------------

TEST_F(SalesforceSandbox, RecordsCarryAttributesTheSelectedFieldsAndNulls) {
  const std::string id = add("jane", {{"FirstName", "Jane"}, {"Department", "Sales"}});
  const auto r = query("select id, EMAIL, Name, Title, IsActive from user");
  ASSERT_EQ(r.status, 200) << r.body;
  // Field names come back as the API spells them, in the order selected.
  EXPECT_EQ(r.body,
            R"({"totalSize":1,"done":true,"records":[{"attributes":{"type":"User",)"
            R"("url":"/services/data/v61.0/sobjects/User/)" +
                id + R"("},"Id":")" + id +
                R"(","Email":"jane@acme.com","Name":"Jane jane","Title":null,"IsActive":true}]})");
}

TEST_F(SalesforceSandbox, ManagerFieldsNestUnderTheRelationship) {
  const std::string boss = add("boss", {{"Title", "CEO"}});
  const std::string jane = add("jane", {{"ManagerId", boss}});
  const auto r = query(
      "SELECT Id, Manager.Email, Username, Manager.Title, Manager.Manager.Email FROM User "
      "ORDER BY Id");
  ASSERT_EQ(r.status, 200) << r.body;
  // Parsed keeping member order, to see where the relationship object sits.
  const auto records = nlohmann::ordered_json::parse(r.body)["records"];
  ASSERT_EQ(records.size(), 2u);
  const auto& boss_record = records[0]["Id"] == boss ? records[0] : records[1];
  const auto& jane_record = records[0]["Id"] == jane ? records[0] : records[1];
  EXPECT_TRUE(boss_record["Manager"].is_null());
  const auto& manager = jane_record["Manager"];
  EXPECT_EQ(manager["attributes"]["url"], "/services/data/v61.0/sobjects/User/" + boss);
  EXPECT_EQ(manager["Email"], "boss@acme.com");
  EXPECT_EQ(manager["Title"], "CEO");
  EXPECT_TRUE(manager["Manager"].is_null());
  // One object per relationship, placed where it was first selected.
  std::vector<std::string> keys;
  for (const auto& [key, value] : jane_record.items()) keys.push_back(key);
  EXPECT_EQ(keys, (std::vector<std::string>{"attributes", "Id", "Manager", "Username"}));
}

TEST_F(SalesforceSandbox, CustomFieldsExistOnceSeeded) {
  add("jane", {{"iSpring_Groups__c", "Onboarding;Compliance"}, {"Is_Trainer__c", true}});
  add("li");
  const auto r =
      query("SELECT iSpring_Groups__c, is_trainer__c FROM User WHERE Is_Trainer__c = false");
  ASSERT_EQ(r.status, 200) << r.body;
  const json records = body_of(r)["records"];
  ASSERT_EQ(records.size(), 0u);  // li has no value: null is not false
  const auto all = body_of(query("SELECT iSpring_Groups__c FROM User WHERE Is_Trainer__c = true"));
  ASSERT_EQ(all["totalSize"], 1);
  EXPECT_EQ(all["records"][0]["iSpring_Groups__c"], "Onboarding;Compliance");
}

// --- SOQL: WHERE -----------------------------------------------------------------------------

TEST_F(SalesforceSandbox, FiltersWithEqualityListsAndParentheses) {
  const std::string a = add("ann", {{"Department", "Sales"}, {"UserType", "Standard"}});
  const std::string b = add("bob", {{"Department", "sales"}, {"IsActive", false}});
  const std::string c = add("cyd", {{"Department", "Support"}, {"UserType", "CsnOnly"}});
  const std::string d = add("dee");  // no department
  const auto ids = [this](const std::string& where) {
    const auto r = query("SELECT Id FROM User WHERE " + where);
    EXPECT_EQ(r.status, 200) << where << ": " << r.body;
    std::vector<std::string> out;
    const json body = body_of(r);
    for (const auto& rec : body["records"]) out.push_back(rec["Id"].get<std::string>());
    std::sort(out.begin(), out.end());
    return out;
  };
  const auto sorted = [](std::vector<std::string> v) {
    std::sort(v.begin(), v.end());
    return v;
  };
  EXPECT_EQ(ids("Department = 'SALES'"), sorted({a, b}));   // text ignores case
  EXPECT_EQ(ids("Department != 'Sales'"), sorted({c, d}));  // != keeps nulls
  EXPECT_EQ(ids("Department = null"), sorted({d}));
  EXPECT_EQ(ids("Department IN ('Support', 'Nowhere')"), sorted({c}));
  EXPECT_EQ(ids("Department NOT IN ('Support')"), sorted({a, b, d}));
  EXPECT_EQ(ids("IsActive = true AND UserType = 'Standard'"), sorted({a, d}));
  EXPECT_EQ(ids("IsActive = false OR UserType = 'CsnOnly'"), sorted({b, c}));
  EXPECT_EQ(ids("(UserType = 'Standard') AND (Department = 'Sales' OR Department = null)"),
            sorted({a, b, d}));
  EXPECT_EQ(ids("Id IN ('" + a + "','" + c.substr(0, 15) + "')"), sorted({a, c}));  // 15 or 18
}

TEST_F(SalesforceSandbox, RefusesLiteralsOfTheWrongType) {
  const auto check = [this](const std::string& where, const std::string& message) {
    const auto r = query("SELECT Id FROM User WHERE " + where);
    EXPECT_EQ(r.status, 400) << where;
    EXPECT_EQ(error_of(r), std::make_pair(std::string("INVALID_QUERY_FILTER_OPERATOR"), message))
        << where;
  };
  check("IsActive = 'true'",
        "value of filter criterion for field 'IsActive' must be of type boolean and should not "
        "be enclosed in quotes");
  check("Email = true",
        "value of filter criterion for field 'Email' must be of type string and should be "
        "enclosed in quotes");
  check("Id IN ('0055g00000AbCdEAAV', 'nope')", "invalid ID field: nope");
}

// --- SOQL: errors -------------------------------------------------------------------------------

TEST_F(SalesforceSandbox, UnknownObjectsAndFieldsAreNamed) {
  const auto object = query("SELECT Id FROM Usr");
  EXPECT_EQ(object.status, 400);
  EXPECT_EQ(error_of(object).first, "INVALID_TYPE");
  EXPECT_NE(error_of(object).second.find("sObject type 'Usr' is not supported"), std::string::npos);

  const auto field = query("SELECT Id, Foo FROM User");
  EXPECT_EQ(error_of(field).first, "INVALID_FIELD");
  EXPECT_EQ(error_of(field).second.rfind("No such column 'Foo' on entity 'User'.", 0), 0u);
  EXPECT_EQ(error_of(query("SELECT Id FROM User WHERE Bar__c = 'x'")).first, "INVALID_FIELD");

  const auto relationship = query("SELECT Profile.Name FROM User");
  EXPECT_EQ(error_of(relationship).first, "INVALID_FIELD");
  EXPECT_EQ(error_of(relationship).second.rfind("Didn't understand relationship 'Profile'", 0), 0u);
}

TEST_F(SalesforceSandbox, AnythingOutsideTheSubsetIsMalformed) {
  for (const char* soql :
       {"",
        "Id FROM User",
        "SELECT FROM User",
        "SELECT Id User",
        "SELECT Id, FROM User",
        "SELECT Id FROM User WHERE",
        "SELECT Id FROM User WHERE Email = 'x",
        "SELECT Id FROM User WHERE Email LIKE x",
        "SELECT Id FROM User WHERE Email > 'x'",
        "SELECT Id FROM User LIMIT",
        "SELECT Id FROM User LIMIT x",
        "SELECT Id FROM User OFFSET",
        "SELECT Id FROM User LIMIT 10 ORDER BY Id",
        "SELECT Id FROM User GROUP Department",
        "SELECT Department, COUNT(Id) FROM User GROUP BY Department ORDER BY Department",
        "SELECT MAX(Id) FROM User",
        "SELECT Id FROM User WHERE IsActive = true AND "
        "Email = 'x' OR Email = 'y'",
        "SELECT Id FROM User WHERE (Email = 'x'",
        "SELECT Id FROM User WHERE Email IN ()",
        "SELECT COUNT() FROM User",
        "SELECT Id, Email, email FROM User",
        "SELECT Id FROM User WHERE Email = 'a\\qb'",
        "SELECT Id FROM User; DELETE"}) {
    const auto r = query(soql);
    EXPECT_EQ(r.status, 400) << soql;
    EXPECT_EQ(error_of(r).first, "MALFORMED_QUERY") << soql << ": " << r.body;
  }
  EXPECT_EQ(error_of(query("SELECT Id, Email, email FROM User")).second,
            "duplicate field selected: Email");
}

TEST_F(SalesforceSandbox, UnknownResourcesAndVersionsAreNotFound) {
  for (const char* target : {"/services/data/v61.0/sobjects/User", "/services/data/v5.0/query?q=x",
                             "/services/data/v61/query?q=x", "/services/data/v99.0/query?q=x",
                             "/services/data/v61.0/queryAll?q=SELECT+Id+FROM+User", "/"}) {
    const auto r = get(target, token());
    EXPECT_EQ(r.status, 404) << target;
    EXPECT_EQ(error_of(r).first, "NOT_FOUND") << target;
  }
  const auto post = sandbox_->handle(make_request("POST", std::string(query_path) + "?q=x",
                                                  {{"authorization", "Bearer " + token()}}));
  EXPECT_EQ(post.status, 405);
}

// --- Paging (§D.2) ------------------------------------------------------------------------------

TEST_F(SalesforceSandbox, PagesFollowTheBatchSizeWithinSalesforcesBounds) {
  sandbox_->add_generated_users(2500);
  const auto first_page_size = [this](int batch) {
    const auto r = query("SELECT Id FROM User", batch);
    EXPECT_EQ(r.status, 200);
    return body_of(r)["records"].size();
  };
  EXPECT_EQ(first_page_size(0), 2000u);  // the default
  EXPECT_EQ(first_page_size(500), 500u);
  EXPECT_EQ(first_page_size(100), 200u);    // clamped up
  EXPECT_EQ(first_page_size(5000), 2000u);  // clamped down
  const auto unreadable = get(std::string(query_path) + "?q=SELECT+Id+FROM+User", token());
  EXPECT_EQ(body_of(unreadable)["records"].size(), 2000u);
}

TEST_F(SalesforceSandbox, CursorPagesDeliverEveryRecordOnceInIdOrder) {
  const auto ids = sandbox_->add_generated_users(450);
  auto r = query("SELECT Id, Username FROM User ORDER BY Id", 200);
  std::vector<std::string> seen;
  std::vector<std::string> next_urls;
  for (;;) {
    ASSERT_EQ(r.status, 200) << r.body;
    const auto page = sf::parse_query_page(r.body);
    ASSERT_TRUE(page) << page.error();
    EXPECT_EQ(page->total_size, 450);
    for (const auto& rec : page->records) seen.push_back(rec["Id"].get<std::string>());
    if (page->done) break;
    next_urls.push_back(page->next_records_url);
    r = get(page->next_records_url, token());
  }
  EXPECT_EQ(seen, ids);
  ASSERT_EQ(next_urls.size(), 2u);
  EXPECT_EQ(next_urls[0].rfind("/services/data/v61.0/query/01g", 0), 0u);
  EXPECT_EQ(next_urls[0].substr(next_urls[0].size() - 4), "-200");
  EXPECT_EQ(next_urls[1].substr(next_urls[1].size() - 4), "-400");
  const std::string locator = next_urls[0].substr(27, 18);
  EXPECT_TRUE(sf::is_valid_id(locator)) << locator;
  EXPECT_EQ(sandbox_->open_cursors(), 0u);  // reading the last batch closed it
  EXPECT_EQ(get(next_urls[1], token()).status, 400);
  EXPECT_EQ(sandbox_->calls("GET /services/data/{version}/query"), 1);
  EXPECT_EQ(sandbox_->calls("GET /services/data/{version}/query/{locator}"), 3);
}

TEST_F(SalesforceSandbox, ACursorReadsTheSnapshotTakenAtQueryTime) {
  const auto ids = sandbox_->add_generated_users(300);
  const auto first = body_of(query("SELECT Id, Department FROM User", 200));
  sandbox_->update_user(ids[250], {{"Department", "Changed"}});
  sandbox_->add_generated_users(5);
  const auto second = body_of(get(first["nextRecordsUrl"].get<std::string>(), token()));
  EXPECT_EQ(second["totalSize"], 300);
  ASSERT_EQ(second["records"].size(), 100u);
  EXPECT_EQ(second["records"][50]["Department"], "Department 1");  // user 251, as it was
  EXPECT_TRUE(second["done"]);
  EXPECT_EQ(sandbox_->find_user(ids[250])->at("Department"), "Changed");
}

TEST_F(SalesforceSandbox, InvalidLocatorsAndIdleCursorsAreRefused) {
  sandbox_->add_generated_users(600);
  const auto first = body_of(query("SELECT Id FROM User", 200));
  const std::string next = first["nextRecordsUrl"];
  const std::string prefix = next.substr(0, next.rfind('-'));
  for (const std::string bad : {prefix + "-0", prefix + "-600", prefix + "-x", prefix,
                                std::string("/services/data/v61.0/query/01g5g0000000000AAA-200")}) {
    const auto r = get(bad, token());
    EXPECT_EQ(r.status, 400) << bad;
    EXPECT_EQ(error_of(r).first, "INVALID_QUERY_LOCATOR") << bad;
  }
  EXPECT_EQ(get(prefix + "-300", token()).status, 200);  // any offset inside the cursor
  now_ += 15 * 60'000 + 1;
  EXPECT_EQ(error_of(get(next, token())).first, "INVALID_QUERY_LOCATOR");
}

TEST_F(SalesforceSandbox, AtMostTenCursorsStayOpen) {
  sandbox_->add_generated_users(250);
  const std::string oldest = body_of(query("SELECT Id FROM User", 200))["nextRecordsUrl"];
  for (int i = 0; i < 10; ++i) query("SELECT Id FROM User", 200);
  EXPECT_EQ(sandbox_->open_cursors(), 10u);
  EXPECT_EQ(error_of(get(oldest, token())).first, "INVALID_QUERY_LOCATOR");
}

TEST_F(SalesforceSandbox, AHundredThousandUsersPageThroughQuickly) {
  const auto started = std::chrono::steady_clock::now();
  const auto ids = sandbox_->add_generated_users(100'000);
  ASSERT_EQ(ids.size(), 100'000u);
  EXPECT_TRUE(std::is_sorted(ids.begin(), ids.end()));
  std::size_t seen = 0, pages = 0;
  auto r = query(
      "SELECT Id, Username, Email, FirstName, LastName, Department, IsActive FROM User "
      "WHERE UserType = 'Standard' ORDER BY Id");
  for (;;) {
    ASSERT_EQ(r.status, 200);
    const auto page = sf::parse_query_page(r.body);
    ASSERT_TRUE(page) << page.error();
    ASSERT_EQ(page->records.front()["Id"], ids[seen]);
    seen += page->records.size();
    ++pages;
    if (page->done) break;
    r = get(page->next_records_url, token());
  }
  EXPECT_EQ(seen, 100'000u);
  EXPECT_EQ(pages, 50u);
  // Not a timing assertion (benchmarks measure speed); only printed for a reader.
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now() - started)
                      .count();
  std::printf("seeded and read 100,000 users in %lld ms\n", static_cast<long long>(ms));
}

// --- Faults and observation ---------------------------------------------------------------------

TEST_F(SalesforceSandbox, InjectedFailuresHitTheChosenEndpoints) {
  sandbox_->fail_next(2, 503);
  EXPECT_EQ(
      error_of(query("SELECT Id FROM User")),
      std::make_pair(std::string("SERVER_UNAVAILABLE"), std::string("sandbox: injected failure")));
  EXPECT_EQ(jwt(assertion(good_claims())).status, 200);  // the token endpoint is not the API
  EXPECT_EQ(query("SELECT Id FROM User").status, 503);
  EXPECT_EQ(query("SELECT Id FROM User").status, 200);

  sandbox_->fail_next(1, 500, "UNKNOWN_EXCEPTION", "An unexpected error occurred",
                      salesforce_fault_target::token);
  EXPECT_EQ(query("SELECT Id FROM User").status, 200);
  const auto token_failure = jwt(assertion(good_claims()));
  EXPECT_EQ(token_failure.status, 500);
  EXPECT_EQ(body_of(token_failure)["error"], "UNKNOWN_EXCEPTION");

  sandbox_->set_outage(true);
  EXPECT_EQ(jwt(assertion(good_claims())).status, 503);
  EXPECT_EQ(query("SELECT Id FROM User").status, 503);
  sandbox_->set_outage(false);
  EXPECT_EQ(query("SELECT Id FROM User").status, 200);
}

TEST_F(SalesforceSandbox, TheRequestLimitAnswersRequestLimitExceeded) {
  sandbox_->set_request_limit(2);
  EXPECT_EQ(query("SELECT Id FROM User").status, 200);
  EXPECT_EQ(query("SELECT Id FROM User").status, 200);
  const auto r = query("SELECT Id FROM User");
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(error_of(r).first, "REQUEST_LIMIT_EXCEEDED");
  EXPECT_EQ(jwt(assertion(good_claims())).status, 200);  // signing in is not an API request
  sandbox_->set_request_limit(0);
  EXPECT_EQ(query("SELECT Id FROM User").status, 200);
}

TEST_F(SalesforceSandbox, LogsEveryRequestWithItsQuery) {
  jwt(assertion(good_claims()));
  query("SELECT Id FROM User", 300);
  sandbox_->handle(make_request("GET", "/nowhere"));
  const auto log = sandbox_->request_log();
  ASSERT_EQ(log.size(), 3u);
  EXPECT_EQ(log[0].endpoint, "POST /services/oauth2/token");
  EXPECT_EQ(log[0].status, 200);
  EXPECT_EQ(log[1].endpoint, "GET /services/data/{version}/query");
  EXPECT_EQ(log[1].soql, "SELECT Id FROM User");
  EXPECT_EQ(log[1].query_options, "batchSize=300");
  EXPECT_EQ(log[2].endpoint, "unrouted");
  EXPECT_EQ(log[2].status, 404);
  EXPECT_EQ(sandbox_->call_counts().at("unrouted"), 1);
  sandbox_->reset();
  EXPECT_TRUE(sandbox_->request_log().empty());
  EXPECT_EQ(query("SELECT Id FROM User").status, 401);  // sessions are gone too
}

// --- Seeding -----------------------------------------------------------------------------------

TEST_F(SalesforceSandbox, SeedingRefusesWhatSalesforceWould) {
  add("jane");
  EXPECT_THROW(add("JANE"), std::invalid_argument);  // Username is unique in any case
  EXPECT_THROW(sandbox_->add_user({{"Username", "x@y"}, {"Email", "x@y"}}), std::invalid_argument);
  EXPECT_THROW(
      sandbox_->add_user({{"Username", "no-at-sign"}, {"Email", "x@y"}, {"LastName", "X"}}),
      std::invalid_argument);
  EXPECT_THROW(add("a", {{"Colour", "red"}}), std::invalid_argument);
  EXPECT_THROW(add("b", {{"IsActive", "yes"}}), std::invalid_argument);
  EXPECT_THROW(add("c", {{"ManagerId", "0055g00000AbCdEAAV"}}), std::invalid_argument);
  EXPECT_THROW(add("d", {{"Id", "001000000000001"}}), std::invalid_argument);
  EXPECT_THROW(add("e", {{"Name", "Full Name"}}), std::invalid_argument);
  EXPECT_EQ(sandbox_->user_count(), 1u);
}

TEST_F(SalesforceSandbox, SeededUsersGetValidIdsDefaultsAndStamps) {
  const std::string id = add("jane", {{"Title", ""}, {"Id", "0055g00000AbCdE"}});
  EXPECT_EQ(id, "0055g00000AbCdEAAV");
  const auto user = *sandbox_->find_user(id.substr(0, 15));
  EXPECT_EQ(user["IsActive"], true);
  EXPECT_EQ(user["UserType"], "Standard");
  EXPECT_TRUE(user["Title"].is_null());  // "" is stored as null
  EXPECT_EQ(user["SystemModstamp"], "2024-05-01T10:00:00.000+0000");
  now_ += 1500;
  EXPECT_THROW(sandbox_->update_user(id, {{"Email", nullptr}}), std::invalid_argument);
  sandbox_->update_user(id, {{"Department", "Sales"}});
  const auto updated = *sandbox_->find_user(id);
  EXPECT_EQ(updated["Department"], "Sales");
  EXPECT_EQ(updated["SystemModstamp"], "2024-05-01T10:00:01.500+0000");
  EXPECT_EQ(updated["CreatedDate"], "2024-05-01T10:00:00.000+0000");
  for (const auto& generated : sandbox_->add_generated_users(3)) {
    EXPECT_TRUE(sf::is_valid_id(generated));
    EXPECT_EQ(generated.substr(0, 3), "005");
  }
}

// --- Over HTTPS: the control endpoints -----------------------------------------------------------

TEST(SalesforceSandboxServer, ControlEndpointsSeedEditAndInjectFaults) {
  salesforce_sandbox_server server(
      salesforce_sandbox_options{.public_key_pem = test_rsa_key(0).public_key_pem});
  http::client client({server.base_url(), test_certs::get().ca_crt.string()});
  const auto call = [&client](const std::string& method, const std::string& target,
                              const json& body = json::object()) {
    auto r = client.send({method, target, {{"Content-Type", "application/json"}}, body.dump()});
    EXPECT_TRUE(r) << r.error();
    return *r;
  };
  const auto seeded = call(
      "POST", "/_sandbox/seed",
      {{"users",
        {{{"Username", "jane@acme.com.prod"}, {"Email", "jane@acme.com"}, {"LastName", "Doe"}}}},
       {"generate", 3}});
  ASSERT_EQ(seeded.status, 200) << seeded.body;
  const auto ids = json::parse(seeded.body)["ids"];
  ASSERT_EQ(ids.size(), 4u);
  const auto patched =
      call("PATCH", "/_sandbox/users/" + ids[0].get<std::string>(), {{"Department", "Sales"}});
  ASSERT_EQ(patched.status, 200) << patched.body;
  EXPECT_EQ(json::parse(patched.body)["Department"], "Sales");
  EXPECT_EQ(call("PATCH", "/_sandbox/users/" + ids[0].get<std::string>(), {{"Nope", 1}}).status,
            400);
  EXPECT_EQ(server.sandbox().user_count(), 4u);

  const auto token = json::parse(call("POST", "/_sandbox/token").body);
  EXPECT_EQ(token["instance_url"], server.base_url());
  const auto query = [&](const std::string& access) {
    auto r = client.send({"GET",
                          std::string(query_path) + "?q=SELECT+Id+FROM+User",
                          {{"Authorization", "Bearer " + access}},
                          {}});
    return r ? r->status : 0;
  };
  const std::string access = token["access_token"];
  EXPECT_EQ(query(access), 200);
  EXPECT_EQ(call("POST", "/_sandbox/fail", {{"count", 1}, {"status", 500}}).status, 200);
  EXPECT_EQ(query(access), 500);
  EXPECT_EQ(call("POST", "/_sandbox/request_limit", {{"max_requests", 1}}).status, 200);
  EXPECT_EQ(query(access), 200);
  EXPECT_EQ(query(access), 403);
  call("POST", "/_sandbox/request_limit", {{"max_requests", 0}});
  EXPECT_EQ(call("POST", "/_sandbox/expire_tokens").status, 200);
  EXPECT_EQ(query(access), 401);
  EXPECT_EQ(call("POST", "/_sandbox/latency", {{"ms", 1}}).status, 200);
  EXPECT_EQ(call("POST", "/_sandbox/outage", {{"on", true}}).status, 200);
  EXPECT_EQ(query(access), 503);
  EXPECT_EQ(call("POST", "/_sandbox/fail", {{"target", "elsewhere"}}).status, 400);
  const auto calls = json::parse(call("GET", "/_sandbox/calls").body);
  EXPECT_EQ(calls["GET /services/data/{version}/query"], 6);
  const auto log = json::parse(call("GET", "/_sandbox/log").body);
  EXPECT_EQ(log.back()["soql"], "SELECT Id FROM User");
  EXPECT_EQ(call("POST", "/_sandbox/reset").status, 200);
  EXPECT_EQ(server.sandbox().user_count(), 0u);
  EXPECT_EQ(call("GET", "/_sandbox/nothing").status, 404);
}

// --- Grouped queries, LIKE, ORDER BY, LIMIT/OFFSET and describe (the admin pickers) ----------

class SalesforceSandboxPickers : public SalesforceSandbox {
 protected:
  std::string add(const std::string& name, const json& department, bool active = true,
                  const std::string& type = "Standard") {
    return sandbox_->add_user({{"Username", name + "@acme.example"},
                               {"Email", name + "@acme.example"},
                               {"FirstName", name},
                               {"LastName", "Tester"},
                               {"Department", department},
                               {"IsActive", active},
                               {"UserType", type}});
  }
  // department → count, from AggregateResult records.
  std::map<std::string, std::int64_t> counts_of(const http::response& r) {
    std::map<std::string, std::int64_t> out;
    const json b = body_of(r);
    EXPECT_TRUE(b["done"].get<bool>()) << r.body;
    EXPECT_FALSE(b.contains("nextRecordsUrl")) << r.body;
    for (const auto& record : b["records"]) {
      EXPECT_EQ(record["attributes"], json({{"type", "AggregateResult"}})) << record;
      const auto& d = record["Department"];
      out[d.is_null() ? "<null>" : d.get<std::string>()] = record["expr0"].get<std::int64_t>();
    }
    return out;
  }
};

TEST_F(SalesforceSandboxPickers, GroupedCountsComeBackAsAggregateResults) {
  add("ann", "Sales");
  add("bob", "sales");  // grouped with Sales, whatever the case
  add("cy", "Sales", false);
  add("dee", "Support");
  add("eve", nullptr);
  add("fay", "Support", true, "PowerPartner");
  const auto r = query(
      "SELECT Department, COUNT(Id) FROM User WHERE IsActive = true AND (UserType = 'Standard') "
      "GROUP BY Department");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(counts_of(r),
            (std::map<std::string, std::int64_t>{{"Sales", 2}, {"Support", 1}, {"<null>", 1}}));
  EXPECT_EQ(body_of(r)["totalSize"], 3);
  // COUNT(field) counts the users that have it; LIMIT cuts groups.
  const auto limited =
      query("SELECT Department, COUNT(Department) FROM User GROUP BY Department LIMIT 1");
  ASSERT_EQ(limited.status, 200) << limited.body;
  EXPECT_EQ(body_of(limited)["records"].size(), 1u);
  const auto departments = query("SELECT COUNT(Department) FROM User");
  ASSERT_EQ(departments.status, 200) << departments.body;
  EXPECT_EQ(body_of(departments)["records"][0]["expr0"], 5);
}

TEST_F(SalesforceSandboxPickers, GroupedQueriesRefuseWhatSalesforceRefuses) {
  add("ann", "Sales");
  const auto ungrouped = query("SELECT Department, Email, COUNT(Id) FROM User GROUP BY Department");
  EXPECT_EQ(ungrouped.status, 400);
  EXPECT_EQ(error_of(ungrouped),
            std::make_pair(std::string("MALFORMED_QUERY"),
                           std::string("Field must be grouped or aggregated: Email")));
  const auto by_date = query("SELECT CreatedDate, COUNT(Id) FROM User GROUP BY CreatedDate");
  EXPECT_EQ(error_of(by_date).first, "INVALID_FIELD");
  EXPECT_EQ(error_of(by_date).second, "field 'CreatedDate' can not be grouped in a query call");
  EXPECT_EQ(error_of(query("SELECT Dept, COUNT(Id) FROM User GROUP BY Dept")).first,
            "INVALID_FIELD");
  EXPECT_EQ(error_of(query("SELECT Department, COUNT(Nope) FROM User GROUP BY Department")).first,
            "INVALID_FIELD");
  // More groups than one batch: no queryMore for aggregates, unless LIMIT keeps it in one.
  sandbox_->add_generated_users(2001 * 2, json::object(), 2001);
  const auto too_many = query("SELECT Department, COUNT(Id) FROM User GROUP BY Department");
  EXPECT_EQ(too_many.status, 400);
  EXPECT_EQ(error_of(too_many).first, "EXCEEDED_ID_LIMIT");
  const auto cut = query("SELECT Department, COUNT(Id) FROM User GROUP BY Department LIMIT 2000");
  ASSERT_EQ(cut.status, 200) << cut.body.substr(0, 300);
  EXPECT_EQ(body_of(cut)["records"].size(), 2000u);
}

TEST_F(SalesforceSandboxPickers, LikeMatchesPatternsIgnoringCaseAndOnlyOnText) {
  add("ann", "Sales");
  add("annabel", "Sales");
  add("bo_b", "Sales");
  add("bo%b", "Support");
  const auto names = [this](const std::string& where) {
    std::vector<std::string> out;
    const auto r = query("SELECT Username FROM User WHERE " + where + " ORDER BY Username");
    EXPECT_EQ(r.status, 200) << where << ": " << r.body;
    const json b = r.status == 200 ? body_of(r) : json::object();
    for (const auto& u : b.value("records", json::array())) out.push_back(u["Username"]);
    return out;
  };
  using list = std::vector<std::string>;
  EXPECT_EQ(names("Username LIKE 'ANN%'"), (list{"ann@acme.example", "annabel@acme.example"}));
  EXPECT_EQ(names("Username LIKE 'an_@%'"), (list{"ann@acme.example"}));
  EXPECT_EQ(names("Username LIKE 'bo_b%'"), (list{"bo%b@acme.example", "bo_b@acme.example"}));
  EXPECT_EQ(names("Username LIKE 'bo\\_b%'"), (list{"bo_b@acme.example"}));
  EXPECT_EQ(names("Username LIKE '%\\%%'"), (list{"bo%b@acme.example"}));
  EXPECT_EQ(names("Name LIKE '%tester' AND Department = 'Support'"), (list{"bo%b@acme.example"}));
  const auto on_boolean = query("SELECT Id FROM User WHERE IsActive LIKE 'true'");
  EXPECT_EQ(error_of(on_boolean).first, "INVALID_QUERY_FILTER_OPERATOR");
}

TEST_F(SalesforceSandboxPickers, OrderLimitAndOffsetPageAList) {
  add("cy", "Sales");
  add("ann", "Sales");
  add("Bob", "Sales");
  add("dee", nullptr);
  const auto names = [this](const std::string& tail) {
    std::vector<std::string> out;
    const auto r = query("SELECT FirstName FROM User " + tail);
    EXPECT_EQ(r.status, 200) << tail << ": " << r.body;
    const json b = r.status == 200 ? body_of(r) : json::object();
    for (const auto& u : b.value("records", json::array())) out.push_back(u["FirstName"]);
    return out;
  };
  using list = std::vector<std::string>;
  EXPECT_EQ(names("ORDER BY FirstName"), (list{"ann", "Bob", "cy", "dee"}));
  EXPECT_EQ(names("ORDER BY FirstName DESC LIMIT 2"), (list{"dee", "cy"}));
  EXPECT_EQ(names("ORDER BY Department, FirstName LIMIT 2 OFFSET 1"), (list{"ann", "Bob"}));
  const auto far = query("SELECT Id FROM User ORDER BY Id LIMIT 10 OFFSET 2001");
  EXPECT_EQ(far.status, 400);
  EXPECT_EQ(error_of(far), std::make_pair(std::string("NUMBER_OUTSIDE_VALID_RANGE"),
                                          std::string("Maximum SOQL offset allowed is 2000")));
}

TEST_F(SalesforceSandboxPickers, DescribeListsTheUserObjectsFields) {
  add("ann", "Sales");
  sandbox_->add_user({{"Username", "x@acme.example"},
                      {"Email", "x@acme.example"},
                      {"LastName", "X"},
                      {"iSpring_Groups__c", "Onboarding"}});
  const auto r = get("/services/data/v61.0/sobjects/User/describe", token());
  ASSERT_EQ(r.status, 200) << r.body;
  const json b = body_of(r);
  EXPECT_EQ(b["name"], "User");
  std::map<std::string, json> by_name;
  for (const auto& f : b["fields"]) by_name[f["name"]] = f;
  EXPECT_EQ(by_name["Department"]["label"], "Department");
  EXPECT_EQ(by_name["Department"]["type"], "string");
  EXPECT_EQ(by_name["Email"]["type"], "email");
  EXPECT_EQ(by_name["IsActive"]["type"], "boolean");
  EXPECT_EQ(by_name["FirstName"]["label"], "First Name");
  EXPECT_EQ(by_name["iSpring_Groups__c"]["label"], "iSpring Groups");
  EXPECT_TRUE(by_name["iSpring_Groups__c"]["custom"].get<bool>());
  EXPECT_FALSE(by_name["CreatedDate"]["groupable"].get<bool>());
  const auto other = get("/services/data/v61.0/sobjects/Account/describe", token());
  EXPECT_EQ(other.status, 404);
  EXPECT_EQ(error_of(other).first, "NOT_FOUND");
  EXPECT_EQ(get("/services/data/v61.0/sobjects/User/describe", "wrong-token").status, 401);
}

}  // namespace
}  // namespace connector::testing

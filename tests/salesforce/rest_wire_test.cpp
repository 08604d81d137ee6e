// Salesforce REST wire formats as a specification (reference salesforce.md §D): every
// response shape the reference shows, what is refused, and the SOQL we build.
#include "connector/salesforce/rest_wire.hpp"

#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

#include <gtest/gtest.h>

#include "connector/salesforce/jwt.hpp"

namespace connector::salesforce {
namespace {

using nlohmann::json;

std::string fixture(const std::string& name) {
  std::ifstream in(std::string(CONNECTOR_FIXTURES_DIR) + "/salesforce-rest/" + name,
                   std::ios::binary);
  EXPECT_TRUE(in) << "missing fixture " << name;
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// --- Token response (§D.1) ----------------------------------------------------------------

TEST(RestWireDatetime, ReadsTheRestFormAndTheXsdForm) {
  // A query result's SystemModstamp, as REST writes it: the offset without a colon.
  EXPECT_EQ(parse_rest_datetime_ms("2024-05-01T10:00:00.000+0000"), 1714557600000);
  EXPECT_EQ(parse_rest_datetime_ms("2024-05-01T12:00:00.250+0200"), 1714557600250);
  EXPECT_EQ(parse_rest_datetime_ms("2024-05-01T04:30:00.000-0530"), 1714557600000);
  EXPECT_EQ(parse_rest_datetime_ms("2024-05-01T10:00:00.000Z"), 1714557600000);
  EXPECT_EQ(parse_rest_datetime_ms("2024-05-01T10:00:00.000+00:00"), 1714557600000);
  for (const char* text :
       {"", "+0000", "2024-05-01T10:00:00.000+000", "2024-05-01T10:00:00+1401",
        "2024-05-01T10:00:00.000+00000", "2024-05-01T10:00:00.000 0000", "2024-05-01+0000"}) {
    EXPECT_EQ(parse_rest_datetime_ms(text), std::nullopt) << text;
  }
}

TEST(RestWireToken, ReadsTheJwtBearerResponse) {
  const auto t = parse_token_response(fixture("token-jwt-response.json"));
  ASSERT_TRUE(t) << t.error();
  EXPECT_EQ(t->access_token, "00D5g000004XyZa!AQ4AQFAKE.example-token-not-real");
  EXPECT_EQ(t->instance_url, "https://acme.my.salesforce.com");
  EXPECT_EQ(t->identity_url,
            "https://login.salesforce.com/id/00D5g000004XyZaEAK/0055g00000AbCdEAAV");
  EXPECT_EQ(t->token_type, "Bearer");
  EXPECT_EQ(t->issued_at, "1714557600000");
}

TEST(RestWireToken, ReadsTheVariantWithScopeAndNoSignature) {
  const auto t = parse_token_response(fixture("token-jwt-no-signature.json"));
  ASSERT_TRUE(t) << t.error();
  EXPECT_EQ(t->instance_url, "https://acme--dev.sandbox.my.salesforce.com");
  EXPECT_TRUE(t->issued_at.empty());
}

TEST(RestWireToken, AcceptsIssuedAtAsANumber) {
  const auto t =
      parse_token_response(R"({"access_token":"a!b","instance_url":"https://x","issued_at":17})");
  ASSERT_TRUE(t) << t.error();
  EXPECT_EQ(t->issued_at, "17");
  EXPECT_TRUE(t->identity_url.empty());
}

TEST(RestWireInstanceUrl, SalesforceDomainsAndTheirSubdomainsAreAccepted) {
  for (const char* url :
       {"https://acme.my.salesforce.com", "https://na14.salesforce.com/",
        "https://cce2e--IntDevD.sandbox.my.salesforce.com", "https://acme.my.salesforce.mil",
        "https://ACME.MY.SALESFORCE.COM", "https://mep--GHINDev.cs30.my.salesforce.com:443",
        "https://acme.lightning.force.com", "https://acme.cloudforce.com"}) {
    EXPECT_FALSE(check_instance_url(url, {})) << url;
  }
}

TEST(RestWireInstanceUrl, AnythingElseIsRefusedNamingTheKeyThatAllowsIt) {
  for (const char* url :
       {"https://attacker.example", "https://salesforce.com.attacker.example",
        "https://evilsalesforce.com", "https://127.0.0.1:9444", "http://acme.my.salesforce.com",
        "https://acme.my.salesforce.com@attacker.example", "ftp://acme.my.salesforce.com",
        "acme.my.salesforce.com", "https://", "https://[::1]:9444",
        "https://evil.example%2f.salesforce.com", "https://evil.example%40x.salesforce.com",
        "https://acme.my.salesforce.com#@evil.example"}) {
    const auto refusal = check_instance_url(url, {});
    ASSERT_TRUE(refusal) << url;
    if (std::string_view(url).starts_with("https://attacker")) {
      EXPECT_NE(refusal->find("salesforce.allowed_instance_hosts"), std::string::npos) << *refusal;
    }
  }
}

TEST(RestWireInstanceUrl, ExtraHostsAreExactOrSubdomainPatterns) {
  const std::vector<std::string> extra{"127.0.0.1", "*.sf-proxy.example.com", "::1"};
  EXPECT_FALSE(check_instance_url("https://127.0.0.1:9444", extra));
  EXPECT_FALSE(check_instance_url("https://[::1]:9444/", extra));
  EXPECT_FALSE(check_instance_url("https://eu.sf-proxy.example.com", extra));
  EXPECT_TRUE(check_instance_url("https://sf-proxy.example.com", extra))
      << "*.domain is for subdomains only";
  EXPECT_TRUE(check_instance_url("https://127.0.0.2:9444", extra));
  EXPECT_TRUE(check_instance_url("https://localhost:9444", extra));
}

TEST(RestWireToken, RefusesWhatCannotBeUsed) {
  EXPECT_FALSE(parse_token_response(""));
  EXPECT_FALSE(parse_token_response("<html>maintenance</html>"));
  EXPECT_FALSE(parse_token_response(R"(["access_token"])"));
  EXPECT_FALSE(parse_token_response(R"({"instance_url":"https://x"})"));
  EXPECT_FALSE(parse_token_response(R"({"access_token":"","instance_url":"https://x"})"));
  EXPECT_FALSE(parse_token_response(R"({"access_token":42,"instance_url":"https://x"})"));
  EXPECT_FALSE(parse_token_response(R"({"access_token":"a"})"));
  // A token goes into a header: no spaces or line breaks may smuggle another header in.
  EXPECT_FALSE(
      parse_token_response(R"({"access_token":"a\r\nX-Evil: 1","instance_url":"https://x"})"));
  EXPECT_FALSE(parse_token_response(R"({"access_token":"a b","instance_url":"https://x"})"));
  const auto mac =
      parse_token_response(R"({"access_token":"a","instance_url":"https://x","token_type":"mac"})");
  ASSERT_FALSE(mac);
  EXPECT_NE(mac.error().find("token_type"), std::string::npos);
}

// --- Query pages (§D.2) -------------------------------------------------------------------

TEST(RestWireQuery, ReadsAPageWithAContinuation) {
  const auto page = parse_query_page(fixture("query-first-page.json"));
  ASSERT_TRUE(page) << page.error();
  EXPECT_EQ(page->total_size, 3);
  EXPECT_FALSE(page->done);
  EXPECT_EQ(page->next_records_url, "/services/data/v61.0/query/01g5g00000Xy1ZaAAJ-2");
  ASSERT_EQ(page->records.size(), 2u);
  // Fields only, relationships nested without their attributes, nulls kept.
  EXPECT_EQ(page->records[0], json::parse(R"({"Id":"0055g00000AbCdEAAV",
      "Username":"jane@acme.com.prod","Email":"jane@acme.com","IsActive":true,
      "Department":"Sales","Manager":{"Email":"boss@acme.com"}})"));
  EXPECT_TRUE(page->records[1]["Manager"].is_null());
  EXPECT_TRUE(page->records[1]["Department"].is_null());
  EXPECT_EQ(page->records[1]["IsActive"], false);
}

TEST(RestWireQuery, ReadsTheLastAndTheEmptyPage) {
  const auto last = parse_query_page(fixture("query-last-page.json"));
  ASSERT_TRUE(last) << last.error();
  EXPECT_TRUE(last->done);
  EXPECT_TRUE(last->next_records_url.empty());
  EXPECT_EQ(last->records.size(), 1u);
  const auto empty = parse_query_page(fixture("query-empty.json"));
  ASSERT_TRUE(empty) << empty.error();
  EXPECT_EQ(empty->total_size, 0);
  EXPECT_TRUE(empty->records.empty());
}

TEST(RestWireQuery, KeepsMemberOrderOfFieldsAndIgnoresANextUrlWhenDone) {
  const auto page = parse_query_page(
      R"({"totalSize":1,"done":true,"nextRecordsUrl":"https://evil.example/x","records":[
           {"attributes":{"type":"User"},"Id":"005","Email":"a@b"}]})");
  ASSERT_TRUE(page) << page.error();
  EXPECT_TRUE(page->next_records_url.empty());
  EXPECT_EQ(page->records[0].size(), 2u);
}

TEST(RestWireQuery, RefusesBrokenShapes) {
  const char* broken[] = {
      "",
      "null",
      "[]",
      R"({"done":true,"records":[]})",                   // no totalSize
      R"({"totalSize":-1,"done":true,"records":[]})",    // negative
      R"({"totalSize":"1","done":true,"records":[]})",   // text
      R"({"totalSize":1,"records":[]})",                 // no done
      R"({"totalSize":1,"done":"false","records":[]})",  // done as text
      R"({"totalSize":1,"done":true})",                  // no records
      R"({"totalSize":1,"done":true,"records":{}})",     // records not an array
      R"({"totalSize":1,"done":true,"records":[1]})",    // a record not an object
      R"({"totalSize":9,"done":false,"records":[]})",    // not done, no continuation
  };
  for (const char* body : broken) EXPECT_FALSE(parse_query_page(body)) << body;
}

TEST(RestWireQuery, RefusesAContinuationThatLeavesTheInstance) {
  // nextRecordsUrl is requested with our token: only a path under /services/data/ passes.
  for (const char* url :
       {"https://evil.example/services/data/v61.0/query/x-2", "//evil.example/services/data/x",
        "/services/data/../../admin", "/services/data/v61.0/query/x y",
        "/services/data/v61.0/query/x\r\n", "/other/v61.0/query/x-2", "/services/data/",
        "services/data/v61.0/x", "/services/data/v61.0\\query"}) {
    const json body = {
        {"totalSize", 5}, {"done", false}, {"nextRecordsUrl", url}, {"records", json::array()}};
    EXPECT_FALSE(parse_query_page(body.dump())) << url;
    EXPECT_FALSE(is_safe_records_path(url)) << url;
  }
  EXPECT_TRUE(is_safe_records_path("/services/data/v61.0/query/01g5g00000Xy1ZaAAJ-2000"));
}

// --- Error bodies (§D.3) ------------------------------------------------------------------

TEST(RestWireError, ReadsTheRestErrorArray) {
  const auto e = parse_error_body(401, fixture("error-invalid-session.json"));
  EXPECT_EQ(e.error_code, "INVALID_SESSION_ID");
  EXPECT_EQ(e.message, "Session expired or invalid");
  const auto limit = parse_error_body(403, fixture("error-request-limit.json"));
  EXPECT_EQ(limit.error_code, "REQUEST_LIMIT_EXCEEDED");
}

TEST(RestWireError, FlattensMultiLineQueryErrorsIntoOneReadableLine) {
  const auto e = parse_error_body(400, fixture("error-invalid-field.json"));
  EXPECT_EQ(e.error_code, "INVALID_FIELD");
  EXPECT_EQ(e.message.find('\n'), std::string::npos);
  EXPECT_NE(e.message.find("No such column 'Foo' on entity 'User'"), std::string::npos);
  const auto m = parse_error_body(400, fixture("error-malformed-query.json"));
  EXPECT_EQ(m.error_code, "MALFORMED_QUERY");
  EXPECT_EQ(m.message, "SELECT Id FRM User ^ ERROR at Row:1:Column:11 unexpected token: FRM");
}

TEST(RestWireError, ReadsFieldsAndCountsFurtherErrors) {
  const auto e =
      parse_error_body(400, R"([{"message":"bad","errorCode":"INVALID_FIELD","fields":["Email",3]},
               {"message":"worse","errorCode":"X"}])");
  EXPECT_EQ(e.fields, std::vector<std::string>{"Email"});
  EXPECT_EQ(e.message, "bad (and 1 more errors)");
}

TEST(RestWireError, ReadsTheOAuthErrorObject) {
  const auto e = parse_error_body(400, fixture("oauth-invalid-grant.json"));
  EXPECT_EQ(e.error_code, "invalid_grant");
  EXPECT_EQ(e.message, "user hasn't approved this consumer");
  const auto bare = parse_error_body(400, R"({"error":"invalid_client_id"})");
  EXPECT_EQ(bare.message, "invalid_client_id");
}

TEST(RestWireError, DescribesBodiesThatAreNotSalesforceErrors) {
  EXPECT_EQ(parse_error_body(502, "").message, "HTTP 502 with an empty body");
  EXPECT_EQ(parse_error_body(503, " \r\n").message, "HTTP 503 with an empty body");
  const auto html = parse_error_body(503, "<html><body>Down for\nmaintenance</body></html>");
  EXPECT_TRUE(html.error_code.empty());
  EXPECT_EQ(html.message,
            "unexpected non-JSON body: <html><body>Down for maintenance</body></html>");
  EXPECT_EQ(parse_error_body(500, "[]").message, "unexpected error body: []");
  EXPECT_EQ(parse_error_body(500, R"({"errorCode":"UNKNOWN_EXCEPTION","message":"boom"})").message,
            "boom");
}

TEST(RestWireError, NeverPassesControlCharactersOrEndlessText) {
  std::string message = "a";
  message += '\0';
  message += "b\u202Ec" + std::string(5000, 'z');
  const std::string evil =
      json::array({{{"errorCode", "X\u001b[31m"}, {"message", message}}}).dump();
  const auto e = parse_error_body(400, evil);
  EXPECT_EQ(e.error_code, "X?[31m");
  EXPECT_EQ(e.message.substr(0, 5), "a?b?c");
  EXPECT_LT(e.message.size(), 520u);
  EXPECT_EQ(e.message.substr(e.message.size() - 3), "...");
}

// --- Identity URL --------------------------------------------------------------------------

TEST(RestWireIdentity, ReadsBothIdsInEighteenCharacters) {
  const auto ids =
      parse_identity_url("https://login.salesforce.com/id/00D5g000004XyZaEAK/0055g00000AbCdEAAV");
  ASSERT_TRUE(ids) << ids.error();
  EXPECT_EQ(ids->organization_id, "00D5g000004XyZaEAK");
  EXPECT_EQ(ids->user_id, "0055g00000AbCdEAAV");
  const auto short_ids =
      parse_identity_url("https://test.salesforce.com/id/00D5g000004XyZa/0055g00000AbCdE");
  ASSERT_TRUE(short_ids) << short_ids.error();
  EXPECT_EQ(short_ids->organization_id, "00D5g000004XyZaEAK");
}

TEST(RestWireIdentity, RefusesUrlsWithoutValidIds) {
  for (const char* url : {"", "https://login.salesforce.com/", "https://x/id/00D5g000004XyZaEAK",
                          "https://x/id/00D5g000004XyZaEAK/",
                          "https://x/id/00D5g000004XyZaEAA/"
                          "0055g00000AbCdEAAV",
                          "https://x/id/0055g00000AbCdEAAV/0055g00000AbCdEAAV",
                          "https://x/id/00D5g000004XyZaEAK/0055g00000AbCdEAAV/extra"}) {
    EXPECT_FALSE(parse_identity_url(url)) << url;
  }
}

// --- Requests -------------------------------------------------------------------------------

TEST(RestWireJwt, RefusesKeysThatCannotSignRs256) {
  const auto garbage =
      jwt_signer::from_pem("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n");
  ASSERT_FALSE(garbage);
  EXPECT_NE(garbage.error().find("cannot read the private key"), std::string::npos);
  EXPECT_EQ(garbage.error().find("AAAA"), std::string::npos);
  EXPECT_FALSE(jwt_signer::from_pem(""));
}

config::salesforce_settings settings(std::string filter = "UserType = 'Standard'") {
  config::salesforce_settings s;
  s.query_filter = std::move(filter);
  return s;
}

TEST(RestWireSoql, BuildsTheReconciliationQuery) {
  EXPECT_EQ(build_query(settings(), {"Id", "Username", "Email", "Manager.Email", "Custom__c"}),
            "SELECT Id, Username, Email, Manager.Email, Custom__c FROM User "
            "WHERE UserType = 'Standard' ORDER BY Id");
  EXPECT_EQ(build_query(settings(""), {"Id"}), "SELECT Id FROM User ORDER BY Id");
  auto contacts = settings("");
  contacts.source_object = "Contact";
  EXPECT_EQ(build_query(contacts, {"Id", "Email"}), "SELECT Id, Email FROM Contact ORDER BY Id");
}

TEST(RestWireSoql, SelectsEachFieldOnceKeepingTheFirstSpelling) {
  // Salesforce refuses "duplicate field selected", in any letter case.
  EXPECT_EQ(build_query(settings(""), {"Id", "Email", "email", "Id", "Manager.Email", "EMAIL"}),
            "SELECT Id, Email, Manager.Email FROM User ORDER BY Id");
}

TEST(RestWireSoql, BuildsAQueryForAFewIds) {
  EXPECT_EQ(
      build_query_for_ids(settings(), {"Id", "Email"}, {"0055g00000AbCdEAAV", "0055g00000AbCdF"}),
      "SELECT Id, Email FROM User WHERE (UserType = 'Standard') AND "
      "Id IN ('0055g00000AbCdEAAV','0055g00000AbCdF') ORDER BY Id");
  EXPECT_EQ(build_query_for_ids(settings(""), {"Id"}, {"0055g00000AbCdEAAV"}),
            "SELECT Id FROM User WHERE Id IN ('0055g00000AbCdEAAV') ORDER BY Id");
  // An OR in the filter stays inside its parentheses.
  EXPECT_EQ(build_query_for_ids(settings("IsActive = true OR Department = 'X'"), {"Id"},
                                {"0055g00000AbCdEAAV"}),
            "SELECT Id FROM User WHERE (IsActive = true OR Department = 'X') AND "
            "Id IN ('0055g00000AbCdEAAV') ORDER BY Id");
}

TEST(RestWireSoql, RefusesFieldNamesThatCouldChangeTheQuery) {
  for (const char* field :
       {"", "Id, (SELECT Id FROM Users)", "Email FROM User--", "Id;", "Name'", "Manager..Email",
        ".Email", "Email.", "1Field", "Email WHERE IsActive = false", "Fi eld", "Email\n"}) {
    EXPECT_THROW(build_query(settings(), {"Id", field}), std::invalid_argument) << field;
    EXPECT_FALSE(is_soql_field_path(field)) << field;
  }
  EXPECT_THROW(build_query(settings(), {}), std::invalid_argument);
  auto bad_object = settings();
  bad_object.source_object = "User WHERE Id != null";
  EXPECT_THROW(build_query(bad_object, {"Id"}), std::invalid_argument);
}

TEST(RestWireSoql, RefusesIdsThatAreNotSalesforceIds) {
  for (const char* id : {"", "0055g00000AbCdE'", "' OR Id != '", "0055g00000AbCdEAAZ",
                         "0055g00000AbCd", "0055g00000AbCdEAAV0", "0055g00000AbC\\E"}) {
    EXPECT_THROW(build_query_for_ids(settings(), {"Id"}, {"0055g00000AbCdEAAV", id}),
                 std::invalid_argument)
        << id;
  }
  EXPECT_THROW(build_query_for_ids(settings(), {"Id"}, {}), std::invalid_argument);
  const std::vector<std::string> too_many(max_ids_per_query + 1, "0055g00000AbCdEAAV");
  EXPECT_THROW(build_query_for_ids(settings(), {"Id"}, too_many), std::invalid_argument);
  try {
    build_query_for_ids(settings(), {"Id"}, {"' OR Id != '"});
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("not a valid Salesforce record id"), std::string::npos);
  }
}

}  // namespace
}  // namespace connector::salesforce

#pragma once
// Salesforce REST wire formats (reference salesforce.md §D): the OAuth token response, query
// pages, error bodies, and the SOQL text we send. Pure functions over bytes and values: no
// sockets, no clock, so they are unit-tested and fuzzed (tests/fuzz/fuzz_salesforce_rest.cpp).
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "connector/config/config.hpp"
#include "connector/expected.hpp"

namespace connector::salesforce {

template <class T>
using wire_result = expected<T, std::string>;  // the error says what is wrong with the body

// POST /services/oauth2/token → 200 (§D.1).
struct oauth_token {
  std::string access_token;
  std::string instance_url;  // where every API call goes
  std::string identity_url;  // "id": "https://login.salesforce.com/id/<orgId>/<userId>"; may be ""
  std::string token_type;    // "Bearer" when given
  std::string issued_at;     // epoch milliseconds as text, when given
};

// GET …/query and nextRecordsUrl → 200 (§D.2).
struct query_page {
  std::int64_t total_size = 0;
  bool done = true;
  std::string next_records_url;  // a path; empty when done
  // Fields only: "attributes" removed at every level; relationship fields stay nested
  // ({"Manager": {"Email": …}}) or null, as Salesforce returns them.
  std::vector<nlohmann::json> records;
};

// Any non-2xx body (§D.3): a JSON array [{message, errorCode, fields?}], an OAuth object
// {error, error_description}, or something else (an HTML page from a proxy).
struct rest_error {
  std::string error_code;  // errorCode or OAuth "error"; "" when the body has none
  std::string message;     // printable, bounded; never empty
  std::vector<std::string> fields;
};

// The two ids in an identity URL, both in their 18-character form.
struct identity {
  std::string organization_id;
  std::string user_id;
};

// --- Response parsers: never throw, never trust the input. ------------------------------

wire_result<oauth_token> parse_token_response(std::string_view body);
wire_result<query_page> parse_query_page(std::string_view body);
// Always a value: an unreadable body becomes the message ("HTTP 502 with an empty body").
rest_error parse_error_body(int http_status, std::string_view body);
// ".../id/<orgId>/<userId>" with valid Salesforce ids (15 or 18 characters).
wire_result<identity> parse_identity_url(std::string_view url);
// nextRecordsUrl must be a plain path under /services/data/ (it is sent with our token, so
// never a URL to another host): no scheme, "..", backslash, whitespace or control characters.
bool is_safe_records_path(std::string_view path);

// The domains a token answer's instance_url may be on: Salesforce's own (reference
// salesforce.md §A.5 host forms; Salesforce help "Salesforce IP Addresses and Domains to
// Allow"), subdomains included. Every API call carries the access token there, so a token
// answer naming another host (a tampered or spoofed login endpoint) must not be followed.
inline constexpr std::string_view salesforce_domains[] = {"salesforce.com", "force.com",
                                                          "cloudforce.com", "database.com",
                                                          "salesforce.mil", "sfcrmproducts.cn"};
// Nothing when `url` is an https URL on one of salesforce_domains or on a host of
// `extra_hosts` (exact, or "*.example.com" for its subdomains; salesforce.
// allowed_instance_hosts), else why not. Ports are allowed; user info is not.
std::optional<std::string> check_instance_url(std::string_view url,
                                              const std::vector<std::string>& extra_hosts);
// A dateTime field of a query result in milliseconds since the epoch: REST writes
// "2024-05-01T10:00:00.000+0000" (no colon in the offset, unlike the xsd:dateTime of
// outbound messages, which parse_datetime_ms reads and this accepts too). nullopt when
// unreadable.
std::optional<std::int64_t> parse_rest_datetime_ms(std::string_view text);

// --- Requests ---------------------------------------------------------------------------

// A SOQL field API name or relationship path ("Email", "Custom__c", "Manager.Email"): each
// dot-separated part a letter then letters, digits or '_'. Anything else could change the
// query, so the builders refuse it.
bool is_soql_field_path(std::string_view text);

// Most ids build_query_for_ids puts into one query: keeps the GET URL far below the REST
// URI limit (an id costs 27 bytes encoded). Callers split longer lists.
inline constexpr std::size_t max_ids_per_query = 300;

// SELECT <fields, each once (case-insensitive, first spelling kept), in the given order>
// FROM <settings.source_object> [WHERE <settings.query_filter>] ORDER BY Id.
// Throws std::invalid_argument (naming the value) on an empty field list or a field or
// object name that is not a plain identifier path: configuration is validated at load, so
// reaching this is a bug, not an input error.
std::string build_query(const config::salesforce_settings& settings,
                        const std::vector<std::string>& fields);
// Same with Id IN ('…','…') ANDed with the filter (in parentheses, so an OR in the filter
// stays inside it). Ids must pass is_valid_id (15 or 18 characters, checksum) — they are
// quoted into the query — and there must be 1..max_ids_per_query of them; otherwise
// std::invalid_argument.
std::string build_query_for_ids(const config::salesforce_settings& settings,
                                const std::vector<std::string>& fields,
                                const std::vector<std::string>& ids);

}  // namespace connector::salesforce

// The in-memory Salesforce org. Section numbers (§) refer to ../shared/reference/salesforce.md.
#include "support/salesforce_sandbox.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>
#include <stdexcept>
#include <unordered_map>
#include <utility>

#include "connector/expected.hpp"
#include "connector/salesforce/ids.hpp"
#include "connector/salesforce/jwt.hpp"
#include "connector/text/ascii.hpp"
#include "connector/text/base64.hpp"
#include "connector/text/url.hpp"

namespace connector::testing {
namespace {

using json = nlohmann::json;
namespace sf = connector::salesforce;

constexpr int min_batch_size = 200;   // §D.2
constexpr int max_batch_size = 2000;  // §D.2, also the default
constexpr std::size_t max_open_cursors = 10;
constexpr std::int64_t cursor_idle_ms = 15 * 60 * 1000;
constexpr std::size_t max_offset = 2000;          // SOQL OFFSET
constexpr std::size_t max_aggregate_rows = 2000;  // one batch: grouped queries have no queryMore
constexpr int oldest_api_version = 20;
constexpr int newest_api_version = 66;
constexpr const char* jwt_grant_type = "urn:ietf:params:oauth:grant-type:jwt-bearer";

constexpr const char* endpoint_token = "POST /services/oauth2/token";
constexpr const char* endpoint_query = "GET /services/data/{version}/query";
constexpr const char* endpoint_query_more = "GET /services/data/{version}/query/{locator}";
constexpr const char* endpoint_describe = "GET /services/data/{version}/sobjects/{object}/describe";

// --- Text --------------------------------------------------------------------------------

using text::ascii_lower;
using text::iequals;
std::string lower(std::string_view s) {
  return text::ascii_lower(s);
}

// The connector's own rules (text::query_params): bad escapes and repeated names refused.
std::optional<std::map<std::string, std::string>> parse_form(std::string_view text) {
  const auto params = text::query_params::parse(text);
  if (!params) return std::nullopt;
  return std::map<std::string, std::string>(params->all().begin(), params->all().end());
}

// Salesforce's REST dateTime form: 2024-05-01T10:00:00.000+0000.
std::string salesforce_datetime(std::int64_t epoch_ms) {
  const auto seconds = static_cast<std::time_t>(epoch_ms / 1000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char text[40];
  const std::size_t n = std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf(text + n, sizeof text - n, ".%03d+0000", static_cast<int>(epoch_ms % 1000));
  return text;
}

void append_json_string(std::string& out, std::string_view s) {
  out += '"';
  for (const char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char escaped[8];
          std::snprintf(escaped, sizeof escaped, "\\u%04x", static_cast<unsigned>(c));
          out += escaped;
        } else {
          out += c;
        }
    }
  }
  out += '"';
}

// Fixed-width base 62 in ASCII order (0-9A-Za-z), so ids made in sequence sort in sequence.
std::string base62(std::uint64_t n, std::size_t width) {
  constexpr char digits[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  std::string out(width, '0');
  for (std::size_t i = width; i-- > 0 && n > 0; n /= 62) out[i] = digits[n % 62];
  return out;
}

// A valid 18-character id: `prefix` (5 characters) and a 10-character counter.
std::string make_id(std::string_view prefix, std::uint64_t counter) {
  return *sf::to_18_char_id(std::string(prefix) + base62(counter, 10));
}

http::response json_reply(int status, std::string body) {
  return http::response::json(status, std::move(body));
}

// The REST error body (§D.3): [{"message","errorCode"}].
http::response api_error(int status, const std::string& code, const std::string& message) {
  json item = json::object();
  item["message"] = message;
  item["errorCode"] = code;
  return json_reply(status, json::array({item}).dump());
}

// The OAuth error body (§D.1): {"error","error_description"}.
http::response oauth_error(int status, const std::string& error, const std::string& description) {
  return json_reply(status, json{{"error", error}, {"error_description", description}}.dump());
}

http::response session_invalid() {
  return api_error(401, "INVALID_SESSION_ID", "Session expired or invalid");
}

std::string default_error_code(int status, bool oauth) {
  if (oauth) return status >= 500 ? "server_error" : "invalid_grant";
  switch (status) {
    case 400:
      return "MALFORMED_QUERY";
    case 401:
      return "INVALID_SESSION_ID";
    case 403:
      return "REQUEST_LIMIT_EXCEEDED";
    case 404:
      return "NOT_FOUND";
    case 503:
      return "SERVER_UNAVAILABLE";
    default:
      return status >= 500 ? "UNKNOWN_EXCEPTION" : "BAD_REQUEST";
  }
}

std::vector<std::string_view> split(std::string_view text, char separator) {
  std::vector<std::string_view> out;
  for (;;) {
    const auto at = text.find(separator);
    out.push_back(text.substr(0, at));
    if (at == std::string_view::npos) return out;
    text.remove_prefix(at + 1);
  }
}

// "v61.0" with a version Salesforce serves.
bool is_api_version(std::string_view segment) {
  if (segment.size() < 4 || segment[0] != 'v') return false;
  const auto dot = segment.find('.');
  if (dot == std::string_view::npos || dot < 2 || dot + 1 >= segment.size()) return false;
  const auto digits = [](std::string_view s) {
    return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  const std::string_view major = segment.substr(1, dot - 1);
  if (!digits(major) || major.size() > 3 || segment.substr(dot + 1) != "0") return false;
  const int number = std::stoi(std::string(major));
  return number >= oldest_api_version && number <= newest_api_version;
}

// --- The User object ---------------------------------------------------------------------

enum class field_type { id, text, boolean, reference, datetime, full_name };

struct field_def {
  std::string name;
  field_type type;
};

const field_def standard_fields[] = {
    {"Id", field_type::id},
    {"Username", field_type::text},
    {"Email", field_type::text},
    {"FirstName", field_type::text},
    {"LastName", field_type::text},
    {"Name", field_type::full_name},  // read-only: FirstName LastName
    {"Title", field_type::text},
    {"Department", field_type::text},
    {"Division", field_type::text},
    {"IsActive", field_type::boolean},
    {"UserType", field_type::text},
    {"ManagerId", field_type::reference},
    {"FederationIdentifier", field_type::text},
    {"EmployeeNumber", field_type::text},
    {"ProfileId", field_type::reference},
    {"CompanyName", field_type::text},
    {"Phone", field_type::text},
    {"MobilePhone", field_type::text},
    {"City", field_type::text},
    {"Country", field_type::text},
    {"CreatedDate", field_type::datetime},
    {"LastModifiedDate", field_type::datetime},
    {"SystemModstamp", field_type::datetime},
};

const char* type_name(field_type type) {
  switch (type) {
    case field_type::id:
    case field_type::reference:
      return "id";
    case field_type::boolean:
      return "boolean";
    case field_type::datetime:
      return "dateTime";
    case field_type::text:
    case field_type::full_name:
      return "string";
  }
  return "string";
}

// describe's label: Salesforce's for the standard fields; a custom field's from its name
// ("iSpring_Groups__c" → "iSpring Groups"), as the Setup default would make it.
std::string label_of(const std::string& name) {
  static const std::map<std::string, std::string> standard{
      {"Id", "User ID"},
      {"FirstName", "First Name"},
      {"LastName", "Last Name"},
      {"Name", "Full Name"},
      {"IsActive", "Active"},
      {"UserType", "User Type"},
      {"ManagerId", "Manager ID"},
      {"FederationIdentifier", "SAML Federation ID"},
      {"EmployeeNumber", "Employee Number"},
      {"ProfileId", "Profile ID"},
      {"CompanyName", "Company Name"},
      {"MobilePhone", "Mobile"},
      {"CreatedDate", "Created Date"},
      {"LastModifiedDate", "Last Modified Date"},
      {"SystemModstamp", "System Modstamp"}};
  if (const auto it = standard.find(name); it != standard.end()) return it->second;
  std::string label = name;
  if (label.size() > 3 && label.compare(label.size() - 3, 3, "__c") == 0)
    label.resize(label.size() - 3);
  std::replace(label.begin(), label.end(), '_', ' ');
  return label;
}

// describe's type names (Salesforce's field types, lower-case).
std::string describe_type(const field_def& f) {
  if (f.name == "Email") return "email";
  if (f.name == "Phone" || f.name == "MobilePhone") return "phone";
  switch (f.type) {
    case field_type::id:
      return "id";
    case field_type::reference:
      return "reference";
    case field_type::boolean:
      return "boolean";
    case field_type::datetime:
      return "datetime";
    case field_type::text:
    case field_type::full_name:
      return "string";
  }
  return "string";
}

using field_index = std::uint16_t;

// Only the fields that are set, sorted by index; booleans as "true"/"false", ids in 18
// characters. Immutable once shared: an update replaces the record, so a query's snapshot
// keeps what it saw.
struct user_record {
  std::string id;
  std::vector<std::pair<field_index, std::string>> values;

  const std::string* get(field_index field) const {
    const auto it = std::lower_bound(values.begin(), values.end(), field,
                                     [](const auto& v, field_index f) { return v.first < f; });
    return it != values.end() && it->first == field ? &it->second : nullptr;
  }
  void set(field_index field, std::optional<std::string> value) {
    auto it = std::lower_bound(values.begin(), values.end(), field,
                               [](const auto& v, field_index f) { return v.first < f; });
    const bool present = it != values.end() && it->first == field;
    if (!value) {
      if (present) values.erase(it);
    } else if (present) {
      it->second = std::move(*value);
    } else {
      values.insert(it, {field, std::move(*value)});
    }
  }
};
using user_ptr = std::shared_ptr<const user_record>;

// --- SOQL: tokens and syntax ----------------------------------------------------------

struct query_error {
  int status = 400;
  std::string code;
  std::string message;
};

template <class T>
using query_result = expected<T, query_error>;

struct soql_token {
  enum kind_t { word, string, number, comma, open, close, equals, not_equals, end } kind;
  std::string text;    // words as written; strings decoded
  std::size_t column;  // 1-based, for messages
};

// Salesforce points at the offending column: "ERROR at Row:1:Column:8\nunexpected token: X".
query_error malformed(std::string_view soql, std::size_t column, const std::string& what) {
  return {400, "MALFORMED_QUERY",
          "\n" + std::string(soql) + "\n" + std::string(column > 0 ? column - 1 : 0, ' ') +
              "^\nERROR at Row:1:Column:" + std::to_string(column) + "\n" + what};
}

// SOQL Salesforce accepts that this sandbox does not implement: refused, never guessed at.
query_error outside_subset(const std::string& what) {
  return {400, "MALFORMED_QUERY", "sandbox: " + what};
}

// A 'quoted' literal starting at soql[i], decoded; i ends after the closing quote.
query_result<std::string> string_literal(std::string_view soql, std::size_t& i) {
  const std::size_t column = i + 1;
  std::string text;
  bool closed = false;
  for (++i; i < soql.size(); ++i) {
    if (soql[i] == '\'') {
      closed = true;
      ++i;
      break;
    }
    if (soql[i] != '\\') {
      text += soql[i];
      continue;
    }
    if (++i >= soql.size()) break;
    switch (soql[i]) {  // SOQL's escape sequences
      case 'n':
        text += '\n';
        break;
      case 'r':
        text += '\r';
        break;
      case 't':
        text += '\t';
        break;
      case 'b':
        text += '\b';
        break;
      case 'f':
        text += '\f';
        break;
      case '\'':
      case '"':
      case '\\':
        text += soql[i];
        break;
      case '_':
      case '%':
        text += '\\';
        text += soql[i];
        break;  // LIKE escapes stay
      default:
        return unexpected{malformed(soql, i,
                                    "Invalid string literal '\\" + std::string(1, soql[i]) +
                                        "'. Illegal character sequence '\\" +
                                        std::string(1, soql[i]) + "' in string literal.")};
    }
  }
  if (!closed)
    return unexpected{malformed(
        soql, column, "unexpected token: '" + std::string(soql.substr(column - 1)) + "'")};
  return text;
}

std::optional<soql_token::kind_t> punctuation(char c) {
  switch (c) {
    case ',':
      return soql_token::comma;
    case '(':
      return soql_token::open;
    case ')':
      return soql_token::close;
    case '=':
      return soql_token::equals;
    default:
      return std::nullopt;
  }
}

query_result<std::vector<soql_token>> tokenize(std::string_view soql) {
  std::vector<soql_token> out;
  std::size_t i = 0;
  while (i < soql.size()) {
    const char c = soql[i];
    const std::size_t column = i + 1;
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
      ++i;
    } else if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      const std::size_t start = i;
      while (i < soql.size() && (std::isalnum(static_cast<unsigned char>(soql[i])) ||
                                 soql[i] == '_' || soql[i] == '.')) {
        ++i;
      }
      out.push_back({soql_token::word, std::string(soql.substr(start, i - start)), column});
    } else if (std::isdigit(static_cast<unsigned char>(c))) {
      const std::size_t start = i;  // LIMIT and OFFSET counts; no other numbers in our subset
      while (i < soql.size() && std::isdigit(static_cast<unsigned char>(soql[i]))) ++i;
      out.push_back({soql_token::number, std::string(soql.substr(start, i - start)), column});
    } else if (c == '\'') {
      auto text = string_literal(soql, i);
      if (!text) return unexpected{text.error()};
      out.push_back({soql_token::string, std::move(*text), column});
    } else if (const auto kind = punctuation(c)) {
      out.push_back({*kind, std::string(1, c), column});
      ++i;
    } else if ((c == '!' && i + 1 < soql.size() && soql[i + 1] == '=') ||
               (c == '<' && i + 1 < soql.size() && soql[i + 1] == '>')) {
      out.push_back({soql_token::not_equals, std::string(soql.substr(i, 2)), column});
      i += 2;
    } else {
      // <, >, date literals, bind variables: outside our subset.
      std::size_t end = i + 1;
      while (end < soql.size() && soql[end] != ' ') ++end;
      return unexpected{malformed(
          soql, column, "unexpected token: '" + std::string(soql.substr(i, end - i)) + "'")};
    }
  }
  out.push_back({soql_token::end, "<EOF>", soql.size() + 1});
  return out;
}

struct soql_literal {
  enum kind_t { text, boolean, null } kind;
  std::string value;  // text as decoded; "true"/"false"
  std::size_t column;
};

struct soql_condition {
  enum kind_t { compare, all_of, any_of } kind = compare;
  std::string path;
  std::size_t column = 0;
  bool negated = false;  // != and NOT IN
  bool like = false;     // F LIKE 'pattern' (one value)
  std::vector<soql_literal> values;
  std::vector<soql_condition> children;
};

struct soql_select_item {
  std::string path;
  std::size_t column = 0;
  bool count = false;  // COUNT(path)
};

struct soql_order_item {
  std::string path;
  std::size_t column = 0;
  bool descending = false;
};

struct soql_query {
  std::vector<soql_select_item> fields;
  std::string object;
  std::size_t object_column = 0;
  std::optional<soql_condition> where;
  std::vector<std::pair<std::string, std::size_t>> group_by;  // path, column
  std::vector<soql_order_item> order_by;
  std::optional<std::size_t> limit, offset;
};

class soql_parser {
 public:
  soql_parser(std::string_view soql, std::vector<soql_token> tokens)
      : soql_(soql), tokens_(std::move(tokens)) {}

  query_result<soql_query> parse() {
    soql_query q;
    if (!keyword("SELECT")) return unexpected{unexpected_token()};
    do {
      auto item = select_item();
      if (!item) return unexpected{item.error()};
      q.fields.push_back(std::move(*item));
    } while (punct(soql_token::comma));
    if (!keyword("FROM")) return unexpected{unexpected_token()};
    if (peek().kind != soql_token::word) return unexpected{unexpected_token()};
    q.object = peek().text;
    q.object_column = peek().column;
    ++pos_;
    if (keyword("WHERE")) {
      auto where = conditions();
      if (!where) return unexpected{where.error()};
      q.where = std::move(*where);
    }
    if (keyword("GROUP")) {
      if (!keyword("BY")) return unexpected{unexpected_token()};
      do {
        if (peek().kind != soql_token::word) return unexpected{unexpected_token()};
        q.group_by.emplace_back(peek().text, peek().column);
        ++pos_;
      } while (punct(soql_token::comma));
    }
    if (keyword("ORDER")) {
      if (!keyword("BY")) return unexpected{unexpected_token()};
      do {
        if (peek().kind != soql_token::word) return unexpected{unexpected_token()};
        soql_order_item item{peek().text, peek().column, false};
        ++pos_;
        if (keyword("DESC"))
          item.descending = true;
        else
          keyword("ASC");
        q.order_by.push_back(std::move(item));
      } while (punct(soql_token::comma));
    }
    if (keyword("LIMIT")) {
      auto n = count();
      if (!n) return unexpected{n.error()};
      q.limit = *n;
    }
    if (keyword("OFFSET")) {
      auto n = count();
      if (!n) return unexpected{n.error()};
      q.offset = *n;
    }
    if (peek().kind != soql_token::end) return unexpected{unexpected_token()};
    return q;
  }

 private:
  const soql_token& peek() const { return tokens_[pos_]; }

  static bool is_keyword(const std::string& text, std::string_view keyword) {
    return iequals(text, keyword);
  }
  bool keyword(std::string_view word) {
    if (peek().kind == soql_token::word && is_keyword(peek().text, word)) {
      ++pos_;
      return true;
    }
    return false;
  }
  bool punct(soql_token::kind_t kind) {
    if (peek().kind != kind) return false;
    ++pos_;
    return true;
  }
  query_error unexpected_token() const {
    return malformed(soql_, peek().column, "unexpected token: '" + peek().text + "'");
  }

  // A field path, or COUNT(path). COUNT() (a bare row count) is outside the subset.
  query_result<soql_select_item> select_item() {
    const soql_token& t = peek();
    if (t.kind != soql_token::word || is_keyword(t.text, "FROM")) {
      return unexpected{unexpected_token()};
    }
    soql_select_item item{t.text, t.column, false};
    ++pos_;
    if (!punct(soql_token::open)) return item;
    if (!is_keyword(item.path, "COUNT"))
      return unexpected{malformed(soql_, item.column, "sandbox: only COUNT() is implemented")};
    if (peek().kind != soql_token::word)
      return unexpected{malformed(soql_, peek().column, "sandbox: COUNT() needs a field")};
    item.path = peek().text;
    item.count = true;
    ++pos_;
    if (!punct(soql_token::close)) return unexpected{unexpected_token()};
    return item;
  }

  query_result<std::size_t> count() {
    const soql_token& t = peek();
    if (t.kind != soql_token::number || t.text.size() > 9) return unexpected{unexpected_token()};
    ++pos_;
    return static_cast<std::size_t>(std::stoul(t.text));
  }

  // primary (AND primary)* or primary (OR primary)*: SOQL refuses mixing them unbracketed.
  query_result<soql_condition> conditions() {
    auto first = primary();
    if (!first) return first;
    soql_condition combined;
    std::optional<bool> is_and;
    combined.children.push_back(std::move(*first));
    for (;;) {
      const bool and_next = peek().kind == soql_token::word && is_keyword(peek().text, "AND");
      const bool or_next = peek().kind == soql_token::word && is_keyword(peek().text, "OR");
      if (!and_next && !or_next) break;
      if (is_and && *is_and != and_next) return unexpected{unexpected_token()};
      is_and = and_next;
      ++pos_;
      auto next = primary();
      if (!next) return next;
      combined.children.push_back(std::move(*next));
    }
    if (combined.children.size() == 1) return std::move(combined.children.front());
    combined.kind = *is_and ? soql_condition::all_of : soql_condition::any_of;
    return combined;
  }

  query_result<soql_condition> primary() {
    if (punct(soql_token::open)) {
      auto inner = conditions();
      if (!inner) return inner;
      if (!punct(soql_token::close)) return unexpected{unexpected_token()};
      return inner;
    }
    const soql_token& field = peek();
    if (field.kind != soql_token::word || is_keyword(field.text, "NOT")) {
      return unexpected{unexpected_token()};
    }
    soql_condition c;
    c.path = field.text;
    c.column = field.column;
    ++pos_;
    const bool equals = punct(soql_token::equals);
    c.negated = !equals && punct(soql_token::not_equals);
    c.like = !equals && !c.negated && keyword("LIKE");
    if (c.like && peek().kind != soql_token::string) return unexpected{unexpected_token()};
    if (equals || c.negated || c.like) {
      auto value = literal();
      if (!value) return unexpected{value.error()};
      c.values.push_back(std::move(*value));
      return c;
    }
    c.negated = keyword("NOT");
    if (!keyword("IN") || !punct(soql_token::open)) return unexpected{unexpected_token()};
    do {
      auto value = literal();
      if (!value) return unexpected{value.error()};
      c.values.push_back(std::move(*value));
    } while (punct(soql_token::comma));
    if (!punct(soql_token::close)) return unexpected{unexpected_token()};
    return c;
  }

  query_result<soql_literal> literal() {
    const soql_token& t = peek();
    soql_literal out{soql_literal::text, t.text, t.column};
    if (t.kind == soql_token::string) {
      out.kind = soql_literal::text;
    } else if (t.kind == soql_token::word &&
               (is_keyword(t.text, "true") || is_keyword(t.text, "false"))) {
      out.kind = soql_literal::boolean;
      out.value = lower(t.text);
    } else if (t.kind == soql_token::word && is_keyword(t.text, "null")) {
      out.kind = soql_literal::null;
    } else {
      return unexpected{unexpected_token()};
    }
    ++pos_;
    return out;
  }

  std::string_view soql_;
  std::vector<soql_token> tokens_;
  std::size_t pos_ = 0;
};

// --- SOQL: resolved against the User object ----------------------------------------------

// A field reached through zero or more Manager hops.
struct column {
  std::vector<field_index> hops;  // the ManagerId field, once per hop
  field_index field = 0;
  field_type type = field_type::text;
};

struct condition {
  soql_condition::kind_t kind = soql_condition::compare;
  column target;
  bool negated = false;
  bool like = false;                               // values[0] is the pattern
  std::vector<std::optional<std::string>> values;  // normalized; nullopt is null
  std::vector<condition> children;
};

// What a record renders as: fields and nested relationships in the order selected.
struct projection {
  struct item {
    std::string name;       // canonical field or relationship name
    field_index field = 0;  // the field, or the relationship's ManagerId
    bool relationship = false;
    std::unique_ptr<projection> child;
    std::size_t nested_relationships = 0;  // relationships inside child, all levels
  };
  std::vector<item> items;
};

std::size_t count_relationships(const projection& p) {
  std::size_t n = 0;
  for (const auto& item : p.items) {
    if (item.relationship) n += 1 + item.nested_relationships;
  }
  return n;
}

// GROUP BY and COUNT(): each row is one group, rendered as an AggregateResult.
struct aggregate_plan {
  struct item {
    std::string name;  // the grouped field's name, or expr0, expr1… for COUNT()s in order
    field_index field = 0;
    bool count = false;
  };
  std::vector<item> items;
  std::vector<field_index> group_by;
};

struct order_key {
  column target;
  bool descending = false;
};

struct compiled_query {
  std::shared_ptr<const projection> fields;
  std::optional<condition> where;
  std::optional<aggregate_plan> aggregate;
  std::vector<order_key> order;
  std::optional<std::size_t> limit, offset;
};

// SOQL LIKE: % any run, _ one character, \% and \_ themselves; case-insensitive (ASCII).
bool like_match(std::string_view value, std::string_view pattern) {
  if (pattern.empty()) return value.empty();
  if (pattern[0] == '%') {
    for (std::size_t i = 0; i <= value.size(); ++i)
      if (like_match(value.substr(i), pattern.substr(1))) return true;
    return false;
  }
  if (value.empty()) return false;
  std::size_t used = 1;
  char expected = pattern[0];
  if (expected == '\\' && pattern.size() > 1 && (pattern[1] == '%' || pattern[1] == '_')) {
    expected = pattern[1];
    used = 2;
  } else if (expected == '_') {
    return like_match(value.substr(1), pattern.substr(1));
  }
  return std::tolower(static_cast<unsigned char>(value[0])) ==
             std::tolower(static_cast<unsigned char>(expected)) &&
         like_match(value.substr(1), pattern.substr(used));
}

struct snapshot_row {
  user_ptr record;
  std::vector<user_ptr> related;  // one per relationship of the projection, pre-order
};

struct cursor {
  std::shared_ptr<const projection> fields;
  std::vector<snapshot_row> rows;
  std::size_t batch = max_batch_size;
  std::int64_t last_used_ms = 0;
  std::uint64_t created = 0;
};

struct session {
  std::int64_t last_used_ms = 0;
};

// Verifies RS256 with the connected app's key.
struct public_key {
  EVP_PKEY* key = nullptr;
  public_key() = default;
  explicit public_key(const std::string& pem) {
    if (pem.empty()) return;
    BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
    key = PEM_read_bio_PUBKEY(bio, nullptr, nullptr, nullptr);
    if (!key) {
      (void)BIO_reset(bio);
      if (X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr)) {
        key = X509_get_pubkey(cert);
        X509_free(cert);
      }
    }
    BIO_free(bio);
    ERR_clear_error();  // a failed first attempt must not surface in a later TLS error
    if (!key || EVP_PKEY_base_id(key) != EVP_PKEY_RSA) {
      EVP_PKEY_free(key);
      throw std::invalid_argument(
          "salesforce sandbox: public_key_pem is neither an RSA public key nor a certificate");
    }
  }
  ~public_key() { EVP_PKEY_free(key); }
  public_key(const public_key&) = delete;
  public_key& operator=(const public_key&) = delete;

  bool verify(std::string_view signed_text, std::string_view signature) const {
    if (!key) return false;
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    const bool ok = ctx && EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, key) == 1 &&
                    EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(signature.data()),
                                     signature.size(),
                                     reinterpret_cast<const unsigned char*>(signed_text.data()),
                                     signed_text.size()) == 1;
    EVP_MD_CTX_free(ctx);
    return ok;
  }
};

std::string hmac_sha256_base64(const std::string& key, const std::string& text) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest, &length);
  std::string out(4 * ((length + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), digest,
                                static_cast<int>(length));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

std::string strip_trailing_slash(std::string url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

// "https://host:port/…" → "host:port", as a Host header carries it.
std::string authority_of(const std::string& url) {
  auto start = url.find("://");
  start = start == std::string::npos ? 0 : start + 3;
  return lower(url.substr(start, url.find('/', start) - start));
}

}  // namespace

// --- State -------------------------------------------------------------------------------

struct salesforce_sandbox::state {
  const salesforce_sandbox_options options;
  const public_key jwt_key;
  const std::string org_id;
  const std::string integration_user;

  mutable std::mutex mutex;
  std::string base_url;
  std::string instance_url;  // empty: base_url

  std::vector<field_def> fields;
  std::unordered_map<std::string, field_index> field_by_name;  // lower-case name
  field_index f_id = 0, f_username = 0, f_email = 0, f_first = 0, f_last = 0, f_name = 0,
              f_active = 0, f_type = 0, f_manager = 0, f_created = 0, f_modified = 0,
              f_modstamp = 0;

  std::map<std::string, user_ptr> users;                        // by Id: ORDER BY Id is map order
  std::unordered_map<std::string, std::string> id_by_username;  // lower-case username
  std::uint64_t user_counter = 0;
  std::uint64_t generated_counter = 0;

  std::map<std::string, session> sessions;  // by access token
  std::uint64_t token_counter = 0;
  std::map<std::string, cursor> cursors;  // by locator id
  std::uint64_t cursor_counter = 0;

  int latency_ms = 0;
  int fail_count = 0;
  int fail_status = 0;
  std::string fail_code, fail_message;
  salesforce_fault_target fail_target = salesforce_fault_target::api;
  bool outage = false;
  int request_limit = 0;
  int api_requests_since_limit = 0;

  std::vector<salesforce_sandbox_log_entry> log;
  std::map<std::string, int> call_counts;

  explicit state(salesforce_sandbox_options o)
      : options(std::move(o)),
        jwt_key(options.public_key_pem),
        org_id(checked_org_id(options.org_id)),
        integration_user(make_id("0055g", 0x7FFFFFFF)),
        base_url(strip_trailing_slash(options.base_url)) {
    for (const auto& f : standard_fields) add_field(f.name, f.type);
    f_id = field_by_name.at("id");
    f_username = field_by_name.at("username");
    f_email = field_by_name.at("email");
    f_first = field_by_name.at("firstname");
    f_last = field_by_name.at("lastname");
    f_name = field_by_name.at("name");
    f_active = field_by_name.at("isactive");
    f_type = field_by_name.at("usertype");
    f_manager = field_by_name.at("managerid");
    f_created = field_by_name.at("createddate");
    f_modified = field_by_name.at("lastmodifieddate");
    f_modstamp = field_by_name.at("systemmodstamp");
  }

  static std::string checked_org_id(const std::string& id) {
    auto id18 = sf::to_18_char_id(id);
    if (!sf::is_valid_id(id) || !id18 || id18->compare(0, 3, "00D") != 0) {
      throw std::invalid_argument("salesforce sandbox: org_id '" + id +
                                  "' is not a valid organization id (00D…)");
    }
    return *id18;
  }

  std::int64_t now_ms() const {
    if (options.clock) return options.clock();
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }

  field_index add_field(const std::string& name, field_type type) {
    const auto index = static_cast<field_index>(fields.size());
    fields.push_back({name, type});
    field_by_name.emplace(lower(name), index);
    return index;
  }

  std::optional<field_index> find_field(std::string_view name) const {
    const auto it = field_by_name.find(lower(name));
    if (it == field_by_name.end()) return std::nullopt;
    return it->second;
  }

  std::string effective_instance_url() const {
    return instance_url.empty() ? base_url : instance_url;
  }

  void reset() {
    users.clear();
    id_by_username.clear();
    sessions.clear();
    cursors.clear();
    latency_ms = 0;
    fail_count = 0;
    outage = false;
    request_limit = 0;
    api_requests_since_limit = 0;
    log.clear();
    call_counts.clear();
  }

  // --- Users -----------------------------------------------------------------------------

  user_ptr find(const std::string* id) const {
    if (!id) return nullptr;
    const auto it = users.find(*id);
    return it == users.end() ? nullptr : it->second;
  }

  // The value of `name` in `fields` converted for storage; throws on a bad one.
  std::optional<std::string> stored_value(const std::string& name, field_index index,
                                          const json& value, const std::string& self_id) const {
    const field_type type = fields[index].type;
    if (value.is_null()) return std::nullopt;
    if (type == field_type::boolean) {
      if (!value.is_boolean()) throw std::invalid_argument(name + ": expected true or false");
      return value.get<bool>() ? "true" : "false";
    }
    if (!value.is_string()) throw std::invalid_argument(name + ": expected a string or null");
    std::string text = value.get<std::string>();
    if (text.empty()) return std::nullopt;  // Salesforce stores "" as null
    if (type == field_type::reference) {
      auto id18 = sf::to_18_char_id(text);
      if (!sf::is_valid_id(text) || !id18) {
        throw std::invalid_argument(name + ": '" + text + "' is not a valid id");
      }
      if (index == f_manager) {
        if (*id18 == self_id) throw std::invalid_argument("ManagerId: a user cannot manage itself");
        if (users.count(*id18) == 0) {
          throw std::invalid_argument("ManagerId: no user " + *id18);
        }
      }
      return *id18;
    }
    return text;
  }

  // Applies `fields` to `record`; creates `…__c` fields on first use.
  void apply(user_record& record, const json& fields_json, bool creating) {
    if (!fields_json.is_object()) throw std::invalid_argument("user fields must be a JSON object");
    for (const auto& [name, value] : fields_json.items()) {
      auto index = find_field(name);
      if (!index) {
        const bool custom = name.size() > 3 && name.compare(name.size() - 3, 3, "__c") == 0 &&
                            std::isalpha(static_cast<unsigned char>(name.front())) &&
                            std::all_of(name.begin(), name.end(), [](unsigned char c) {
                              return std::isalnum(c) || c == '_';
                            });
        if (!custom) {
          throw std::invalid_argument("No such column '" + name + "' on entity 'User'");
        }
        index = add_field(name, value.is_boolean() ? field_type::boolean : field_type::text);
      }
      const field_def& def = fields[*index];
      if (*index == f_id) {
        if (!creating) throw std::invalid_argument("Id cannot be changed");
        continue;  // read by the caller
      }
      if (def.type == field_type::full_name) {
        throw std::invalid_argument("Name is read-only (FirstName LastName)");
      }
      if (def.type == field_type::datetime && !value.is_null() && !value.is_string()) {
        throw std::invalid_argument(def.name + ": expected a dateTime string");
      }
      record.set(*index, stored_value(def.name, *index, value, record.id));
    }
  }

  void check_required(const user_record& record, const std::string& old_username_key) const {
    for (const field_index f : {f_username, f_last, f_email}) {
      if (!record.get(f)) {
        throw std::invalid_argument("Required fields are missing: [" + fields[f].name + "]");
      }
    }
    const std::string& username = *record.get(f_username);
    if (username.find('@') == std::string::npos || username.find(' ') != std::string::npos) {
      throw std::invalid_argument("Username '" + username + "' must be in the form of an e-mail");
    }
    const std::string key = lower(username);
    if (key != old_username_key && id_by_username.count(key) != 0) {
      throw std::invalid_argument("Duplicate Username: '" + username + "' is taken");
    }
  }

  std::string new_id() { return make_id("0055g", ++user_counter); }

  std::string insert(const json& fields_json, const std::string& stamp) {
    auto record = std::make_shared<user_record>();
    if (fields_json.is_object()) {
      for (const auto& [name, value] : fields_json.items()) {
        if (!iequals(name, "Id")) continue;
        const std::string given = value.is_string() ? value.get<std::string>() : std::string();
        const auto id18 = sf::to_18_char_id(given);
        if (!sf::is_valid_id(given) || !id18 || id18->compare(0, 3, "005") != 0) {
          throw std::invalid_argument("Id: '" + given + "' is not a valid User id (005…)");
        }
        record->id = *id18;
      }
    }
    if (record->id.empty()) record->id = new_id();
    if (users.count(record->id) != 0) {
      throw std::invalid_argument("Id: a user " + record->id + " exists already");
    }
    record->set(f_active, "true");
    record->set(f_type, "Standard");
    record->set(f_created, stamp);
    record->set(f_modified, stamp);
    record->set(f_modstamp, stamp);
    apply(*record, fields_json, true);
    check_required(*record, {});
    id_by_username.emplace(lower(*record->get(f_username)), record->id);
    const std::string id = record->id;
    users.emplace(id, std::move(record));
    return id;
  }

  void update(const std::string& id, const json& fields_json) {
    const auto id18 = sf::to_18_char_id(id).value_or(id);
    const auto it = users.find(id18);
    if (it == users.end()) throw std::invalid_argument("no user " + id);
    auto record = std::make_shared<user_record>(*it->second);  // copy: snapshots keep the old
    const std::string old_key = lower(*record->get(f_username));
    const std::string stamp = salesforce_datetime(now_ms());
    record->set(f_modified, stamp);
    record->set(f_modstamp, stamp);
    apply(*record, fields_json, false);
    check_required(*record, old_key);
    const std::string new_key = lower(*record->get(f_username));
    if (new_key != old_key) {
      id_by_username.erase(old_key);
      id_by_username.emplace(new_key, id18);
    }
    it->second = std::move(record);
  }

  // The rendered value of one field, or nullopt for null.
  std::optional<std::string> value_of(const user_record& record, field_index field) const {
    if (field == f_id) return record.id;
    if (fields[field].type == field_type::full_name) {
      const std::string* first = record.get(f_first);
      const std::string* last = record.get(f_last);
      if (!first && !last) return std::nullopt;
      if (!first) return *last;
      if (!last) return *first;
      return *first + " " + *last;
    }
    if (const std::string* v = record.get(field)) return *v;
    return std::nullopt;
  }

  void append_value(std::string& out, const user_record& record, field_index field) const {
    const auto value = value_of(record, field);
    if (!value) {
      out += "null";
    } else if (fields[field].type == field_type::boolean) {
      out += *value;
    } else {
      append_json_string(out, *value);
    }
  }

  json user_json(const user_record& record) const {
    json out = json::object();
    for (field_index f = 0; f < fields.size(); ++f) {
      const auto value = value_of(record, f);
      if (!value) {
        out[fields[f].name] = nullptr;
      } else if (fields[f].type == field_type::boolean) {
        out[fields[f].name] = *value == "true";
      } else {
        out[fields[f].name] = *value;
      }
    }
    return out;
  }

  // --- SOQL ------------------------------------------------------------------------------

  static query_error no_such_column(const std::string& name) {
    return {400, "INVALID_FIELD",
            "No such column '" + name +
                "' on entity 'User'. If you are attempting to use a custom field, be sure to "
                "append the '__c' after the custom field name. Please reference your WSDL or the "
                "describe call for the appropriate names."};
  }

  // "Manager.Manager.Email" → hops through ManagerId, then the field.
  query_result<column> resolve(const std::string& path, std::vector<std::string>* names) const {
    const auto parts = split(path, '.');
    column out;
    for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
      if (!iequals(parts[i], "Manager")) {
        return unexpected{query_error{
            400, "INVALID_FIELD",
            "Didn't understand relationship '" + std::string(parts[i]) +
                "' in field path. If you are attempting to use a custom relationship, be sure to "
                "append the '__r' after the custom relationship name. Please reference your WSDL "
                "or the describe call for the appropriate names."}};
      }
      out.hops.push_back(f_manager);
      if (names) names->push_back("Manager");
    }
    const auto field = find_field(parts.back());
    if (!field || parts.back().empty())
      return unexpected{no_such_column(std::string(parts.back()))};
    out.field = *field;
    out.type = fields[*field].type;
    if (names) names->push_back(fields[*field].name);
    return out;
  }

  query_result<condition> compile_condition(const soql_condition& c) const {
    condition out;
    out.kind = c.kind;
    if (c.kind != soql_condition::compare) {
      for (const auto& child : c.children) {
        auto compiled = compile_condition(child);
        if (!compiled) return compiled;
        out.children.push_back(std::move(*compiled));
      }
      return out;
    }
    auto target = resolve(c.path, nullptr);
    if (!target) return unexpected{target.error()};
    out.target = *target;
    out.negated = c.negated;
    out.like = c.like;
    const std::string& name = fields[target->field].name;
    if (c.like && target->type != field_type::text && target->type != field_type::full_name) {
      return unexpected{query_error{
          400, "INVALID_QUERY_FILTER_OPERATOR",
          std::string("invalid operator on ") + type_name(target->type) + " field: " + name}};
    }
    const auto wrong_type = [&](bool quoted) {
      const char* type = type_name(target->type);
      return query_error{400, "INVALID_QUERY_FILTER_OPERATOR",
                         "value of filter criterion for field '" + name + "' must be of type " +
                             type +
                             (quoted ? " and should not be enclosed in quotes"
                                     : " and should be enclosed in quotes")};
    };
    for (const auto& v : c.values) {
      if (v.kind == soql_literal::null) {
        out.values.emplace_back(std::nullopt);
        continue;
      }
      switch (target->type) {
        case field_type::boolean:
          if (v.kind != soql_literal::boolean) return unexpected{wrong_type(true)};
          out.values.emplace_back(v.value);
          break;
        case field_type::datetime:
          // Date literals are outside the subset; a quoted one is wrong in SOQL too.
          return unexpected{wrong_type(v.kind == soql_literal::text)};
        case field_type::id:
        case field_type::reference: {
          if (v.kind != soql_literal::text) return unexpected{wrong_type(false)};
          const auto id18 = sf::to_18_char_id(v.value);
          if (!sf::is_valid_id(v.value) || !id18) {
            return unexpected{
                query_error{400, "INVALID_QUERY_FILTER_OPERATOR", "invalid ID field: " + v.value}};
          }
          out.values.emplace_back(*id18);
          break;
        }
        case field_type::text:
        case field_type::full_name:
          if (v.kind != soql_literal::text) return unexpected{wrong_type(false)};
          out.values.emplace_back(v.value);
          break;
      }
    }
    return out;
  }

  query_result<compiled_query> compile(std::string_view soql) const {
    auto tokens = tokenize(soql);
    if (!tokens) return unexpected{tokens.error()};
    auto parsed = soql_parser(soql, std::move(*tokens)).parse();
    if (!parsed) return unexpected{parsed.error()};
    if (!iequals(parsed->object, "User")) {
      return unexpected{query_error{
          400, "INVALID_TYPE",
          "\n" + std::string(soql) + "\n" + std::string(parsed->object_column - 1, ' ') +
              "^\nERROR at Row:1:Column:" + std::to_string(parsed->object_column) +
              "\nsObject type '" + parsed->object +
              "' is not supported. If you are attempting to use a custom object, be sure to "
              "append the '__c' after the entity name. Please reference your WSDL or the "
              "describe call for the appropriate names."}};
    }
    compiled_query out{std::make_shared<projection>(),
                       std::nullopt,
                       std::nullopt,
                       {},
                       parsed->limit,
                       parsed->offset};
    if (parsed->offset && *parsed->offset > max_offset) {
      return unexpected{
          query_error{400, "NUMBER_OUTSIDE_VALID_RANGE", "Maximum SOQL offset allowed is 2000"}};
    }
    if (parsed->where) {
      auto where = compile_condition(*parsed->where);
      if (!where) return unexpected{where.error()};
      out.where = std::move(*where);
    }
    const bool aggregate =
        !parsed->group_by.empty() || std::any_of(parsed->fields.begin(), parsed->fields.end(),
                                                 [](const auto& item) { return item.count; });
    if (aggregate) {
      auto plan = compile_aggregate(*parsed);
      if (!plan) return unexpected{plan.error()};
      out.aggregate = std::move(*plan);
      return out;
    }
    for (const auto& item : parsed->order_by) {
      auto target = resolve(item.path, nullptr);
      if (!target) return unexpected{target.error()};
      out.order.push_back({*target, item.descending});
    }
    auto root = std::make_shared<projection>();
    std::vector<std::string> selected;  // canonical paths, lower-case
    for (const auto& [path, col, is_count] : parsed->fields) {
      std::vector<std::string> names;
      auto resolved = resolve(path, &names);
      if (!resolved) return unexpected{resolved.error()};
      std::string canonical;
      for (const auto& n : names) canonical += (canonical.empty() ? "" : ".") + n;
      if (std::find(selected.begin(), selected.end(), lower(canonical)) != selected.end()) {
        return unexpected{
            query_error{400, "MALFORMED_QUERY", "duplicate field selected: " + canonical}};
      }
      selected.push_back(lower(canonical));
      // Walk/extend the nested projection: one object per relationship, first-use order.
      projection* node = root.get();
      for (std::size_t i = 0; i + 1 < names.size(); ++i) {
        auto it = std::find_if(node->items.begin(), node->items.end(), [&](const auto& item) {
          return item.relationship && item.name == names[i];
        });
        if (it == node->items.end()) {
          projection::item rel;
          rel.name = names[i];
          rel.field = f_manager;
          rel.relationship = true;
          rel.child = std::make_unique<projection>();
          node->items.push_back(std::move(rel));
          it = std::prev(node->items.end());
        }
        node = it->child.get();
      }
      projection::item leaf;
      leaf.name = names.back();
      leaf.field = resolved->field;
      node->items.push_back(std::move(leaf));
    }
    fix_counts(*root);
    out.fields = root;
    return out;
  }

  // Rules Salesforce applies to grouped queries: every selected field grouped or
  // aggregated, grouped fields groupable (not dateTime), COUNT()s named expr0, expr1, ….
  // Outside the subset: relationship paths and ORDER BY in a grouped query.
  query_result<aggregate_plan> compile_aggregate(const soql_query& parsed) const {
    aggregate_plan plan;
    for (const auto& [path, col] : parsed.group_by) {
      auto target = resolve(path, nullptr);
      if (!target) return unexpected{target.error()};
      if (!target->hops.empty())
        return unexpected{outside_subset("GROUP BY a relationship is not implemented")};
      if (target->type == field_type::datetime)
        return unexpected{query_error{
            400, "INVALID_FIELD",
            "field '" + fields[target->field].name + "' can not be grouped in a query call"}};
      plan.group_by.push_back(target->field);
    }
    if (!parsed.order_by.empty())
      return unexpected{outside_subset("ORDER BY in a grouped query is not implemented")};
    int expressions = 0;
    for (const auto& [path, col, is_count] : parsed.fields) {
      auto target = resolve(path, nullptr);
      if (!target) return unexpected{target.error()};
      if (!target->hops.empty())
        return unexpected{outside_subset("relationships in a grouped query are not implemented")};
      const std::string& name = fields[target->field].name;
      if (is_count) {
        plan.items.push_back({"expr" + std::to_string(expressions++), target->field, true});
        continue;
      }
      if (std::find(plan.group_by.begin(), plan.group_by.end(), target->field) ==
          plan.group_by.end())
        return unexpected{
            query_error{400, "MALFORMED_QUERY", "Field must be grouped or aggregated: " + name}};
      plan.items.push_back({name, target->field, false});
    }
    return plan;
  }

  static void fix_counts(projection& p) {
    for (auto& item : p.items) {
      if (!item.relationship) continue;
      fix_counts(*item.child);
      item.nested_relationships = count_relationships(*item.child);
    }
  }

  std::optional<std::string> column_value(const user_record& record, const column& c) const {
    const user_record* current = &record;
    user_ptr hold;
    for (const field_index hop : c.hops) {
      hold = find(current->get(hop));
      if (!hold) return std::nullopt;
      current = hold.get();
    }
    return value_of(*current, c.field);
  }

  bool matches(const user_record& record, const condition& c) const {
    switch (c.kind) {
      case soql_condition::all_of:
        return std::all_of(c.children.begin(), c.children.end(),
                           [&](const condition& child) { return matches(record, child); });
      case soql_condition::any_of:
        return std::any_of(c.children.begin(), c.children.end(),
                           [&](const condition& child) { return matches(record, child); });
      case soql_condition::compare:
        break;
    }
    const auto value = column_value(record, c.target);
    const bool text = c.target.type == field_type::text || c.target.type == field_type::full_name;
    if (c.like) return value && c.values.front() && like_match(*value, *c.values.front());
    const bool found = std::any_of(c.values.begin(), c.values.end(), [&](const auto& v) {
      if (!v || !value) return !v && !value;
      // Text compares ignore case in SOQL; ids are stored and compared in 18 characters.
      return text ? iequals(*v, *value) : *v == *value;
    });
    return found != c.negated;
  }

  void resolve_related(const projection& p, const user_record* record,
                       std::vector<user_ptr>& out) const {
    for (const auto& item : p.items) {
      if (!item.relationship) continue;
      user_ptr related = record ? find(record->get(item.field)) : nullptr;
      out.push_back(related);
      resolve_related(*item.child, related.get(), out);
    }
  }

  void render(const projection& p, const user_record& record, const snapshot_row& row,
              std::size_t& next, const std::string& version, std::string& out) const {
    out += R"({"attributes":{"type":"User","url":"/services/data/)";
    out += version;
    out += "/sobjects/User/";
    out += record.id;
    out += "\"}";
    for (const auto& item : p.items) {
      out += ",\"";
      out += item.name;
      out += "\":";
      if (!item.relationship) {
        append_value(out, record, item.field);
        continue;
      }
      const user_ptr& related = row.related[next++];
      if (related) {
        render(*item.child, *related, row, next, version, out);
      } else {
        out += "null";
        next += item.nested_relationships;
      }
    }
    out += '}';
  }

  http::response page(const projection& p, const std::vector<snapshot_row>& rows,
                      std::size_t offset, std::size_t batch, const std::string& locator,
                      const std::string& version) const {
    const std::size_t end = std::min(rows.size(), offset + batch);
    std::string out = "{\"totalSize\":" + std::to_string(rows.size()) + ",\"done\":";
    out += end >= rows.size() ? "true" : "false";
    if (end < rows.size()) {
      out += ",\"nextRecordsUrl\":\"/services/data/" + version + "/query/" + locator + "-" +
             std::to_string(end) + "\"";
    }
    out += ",\"records\":[";
    out.reserve(out.size() + (end - offset) * 400);
    for (std::size_t i = offset; i < end; ++i) {
      if (i > offset) out += ',';
      std::size_t next = 0;
      render(p, *rows[i].record, rows[i], next, version, out);
    }
    out += "]}";
    return json_reply(200, std::move(out));
  }

  // --- Sessions --------------------------------------------------------------------------

  std::string issue_token() {
    // Shaped like Salesforce's: the 15-character org id, '!', then opaque text.
    std::uint64_t x = ++token_counter * 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    x ^= x >> 31;
    char text[64];
    std::snprintf(text, sizeof text, "%s!AQ.sbx%016llx.%llu", org_id.substr(0, 15).c_str(),
                  static_cast<unsigned long long>(x),
                  static_cast<unsigned long long>(token_counter));
    sessions[text] = session{now_ms()};
    return text;
  }

  http::response token_response() {
    const std::string token = issue_token();
    const std::string issued_at = std::to_string(now_ms());
    const std::string identity = base_url + "/id/" + org_id + "/" + integration_user;
    json body;
    body["access_token"] = token;
    body["signature"] = hmac_sha256_base64(
        options.client_secret.empty() ? std::string("sandbox") : options.client_secret,
        identity + issued_at);
    body["scope"] = "api";
    body["instance_url"] = effective_instance_url();
    body["id"] = identity;
    body["token_type"] = "Bearer";
    body["issued_at"] = issued_at;
    return json_reply(200, body.dump());
  }

  // A session that is open and not idle longer than the timeout; its clock restarts.
  bool authorized(const http::request& request) {
    std::string_view value = request.header("authorization");
    if (value.size() > 7 && iequals(value.substr(0, 7), "Bearer ")) {
      value.remove_prefix(7);
    } else if (value.size() > 6 && iequals(value.substr(0, 6), "OAuth ")) {
      value.remove_prefix(6);
    } else {
      return false;
    }
    const auto it = sessions.find(std::string(value));
    if (it == sessions.end()) return false;
    const std::int64_t now = now_ms();
    if (now - it->second.last_used_ms >= options.session_timeout_s * 1000) {
      sessions.erase(it);
      return false;
    }
    it->second.last_used_ms = now;
    return true;
  }

  // --- Endpoints -------------------------------------------------------------------------

  http::response post_token(const http::request& request) {
    const std::string_view type = request.header("content-type");
    if (lower(type.substr(0, type.find(';'))) != "application/x-www-form-urlencoded") {
      return oauth_error(400, "invalid_request",
                         "must use application/x-www-form-urlencoded for the token request");
    }
    const auto form = parse_form(request.body);
    if (!form) return oauth_error(400, "invalid_request", "malformed or repeated parameters");
    const auto value = [&form](const char* name) {
      const auto it = form->find(name);
      return it == form->end() ? std::string() : it->second;
    };
    const std::string grant = value("grant_type");
    if (grant == jwt_grant_type) return jwt_bearer(value("assertion"));
    if (grant == "client_credentials") {
      if (value("client_id") != options.client_id) {
        return oauth_error(400, "invalid_client_id", "client identifier invalid");
      }
      if (options.client_secret.empty()) {
        return oauth_error(400, "invalid_grant", "no client credentials user enabled");
      }
      if (value("client_secret") != options.client_secret) {
        return oauth_error(400, "invalid_client", "invalid client credentials");
      }
      return token_response();
    }
    return oauth_error(400, "unsupported_grant_type", "grant type not supported");
  }

  // The JWT bearer flow (§D.1), checked the way Salesforce answers.
  http::response jwt_bearer(const std::string& assertion) {
    const auto invalid = [] { return oauth_error(400, "invalid_grant", "invalid assertion"); };
    const auto parts = split(assertion, '.');
    if (parts.size() != 3 || parts[0].empty() || parts[1].empty() || parts[2].empty()) {
      return invalid();
    }
    const auto header_text = text::base64url_decode(parts[0]);
    const auto claims_text = text::base64url_decode(parts[1]);
    const auto signature = text::base64url_decode(parts[2]);
    if (!header_text || !claims_text || !signature) return invalid();
    const json header = json::parse(*header_text, nullptr, false);
    const json claims = json::parse(*claims_text, nullptr, false);
    if (!header.is_object() || !claims.is_object() || header.value("alg", "") != "RS256") {
      return invalid();
    }
    const auto text_claim = [&claims](const char* name) {
      const auto it = claims.find(name);
      return it != claims.end() && it->is_string() ? it->get<std::string>() : std::string();
    };
    if (text_claim("iss") != options.client_id) {
      return oauth_error(400, "invalid_client_id", "client identifier invalid");
    }
    const std::string_view signed_text(assertion.data(), parts[0].size() + 1 + parts[1].size());
    if (!jwt_key.verify(signed_text, *signature)) return invalid();
    const std::string audience =
        strip_trailing_slash(options.audience.empty() ? base_url : options.audience);
    if (strip_trailing_slash(text_claim("aud")) != audience) {
      return oauth_error(400, "invalid_grant", "audience is invalid");
    }
    const auto exp = claims.find("exp");
    if (exp == claims.end() || !exp->is_number_integer()) return invalid();
    const std::int64_t now_s = now_ms() / 1000;
    if (exp->get<std::int64_t>() <= now_s) {
      return oauth_error(400, "invalid_grant", "expired authorization code");
    }
    if (exp->get<std::int64_t>() > now_s + options.max_assertion_lifetime_s) return invalid();
    if (!iequals(text_claim("sub"), options.username)) {
      return oauth_error(400, "invalid_grant", "user hasn't approved this consumer");
    }
    return token_response();
  }

  int batch_size(const http::request& request) const {
    // "batchSize=N"; outside 200..2000 clamped, unreadable ignored (inferred, see header).
    int batch = max_batch_size;
    const std::string_view header = request.header("sforce-query-options");
    for (const auto item : split(header, ',')) {
      const auto eq = item.find('=');
      if (eq == std::string_view::npos) continue;
      std::string name(item.substr(0, eq));
      name.erase(std::remove(name.begin(), name.end(), ' '), name.end());
      if (name != "batchSize") continue;
      try {
        batch =
            std::clamp(std::stoi(std::string(item.substr(eq + 1))), min_batch_size, max_batch_size);
      } catch (const std::exception&) {
      }
    }
    return std::min(batch, std::max(1, options.max_batch_size));
  }

  http::response query(const http::request& request, const std::string& version,
                       const std::string& soql) {
    if (soql.empty()) {
      return api_error(400, "MALFORMED_QUERY", "A query string has to be specified");
    }
    auto compiled = compile(soql);
    if (!compiled)
      return api_error(compiled.error().status, compiled.error().code, compiled.error().message);
    if (compiled->aggregate) return aggregate_page(*compiled);
    std::vector<snapshot_row> rows;
    const bool has_relationships = count_relationships(*compiled->fields) > 0;
    for (const auto& [id, record] : users) {
      if (compiled->where && !matches(*record, *compiled->where)) continue;
      snapshot_row row{record, {}};
      if (has_relationships) resolve_related(*compiled->fields, record.get(), row.related);
      rows.push_back(std::move(row));
    }
    sort_rows(rows, compiled->order);
    cut_rows(rows, compiled->offset, compiled->limit);
    const std::size_t batch = static_cast<std::size_t>(batch_size(request));
    std::string locator;
    if (rows.size() > batch) {
      locator = make_id("01g5g", ++cursor_counter);
      cursor& c = cursors[locator];
      c.fields = compiled->fields;
      c.batch = batch;
      c.last_used_ms = now_ms();
      c.created = cursor_counter;
      if (cursors.size() > max_open_cursors) {
        const auto oldest = std::min_element(
            cursors.begin(), cursors.end(),
            [](const auto& a, const auto& b) { return a.second.created < b.second.created; });
        cursors.erase(oldest);
      }
      auto reply = page(*c.fields, rows, 0, batch, locator, version);
      c.rows = std::move(rows);
      return reply;
    }
    return page(*compiled->fields, rows, 0, batch, locator, version);
  }

  // ORDER BY: text ignoring case (ids and the rest as stored), nulls first ascending and
  // last descending (SOQL's defaults); ties keep Id order.
  void sort_rows(std::vector<snapshot_row>& rows, const std::vector<order_key>& order) const {
    if (order.empty()) return;
    std::stable_sort(rows.begin(), rows.end(), [&](const snapshot_row& a, const snapshot_row& b) {
      for (const auto& key : order) {
        const auto x = column_value(*a.record, key.target);
        const auto y = column_value(*b.record, key.target);
        if (!x && !y) continue;
        if (!x || !y) return key.descending ? !y : !x;
        const bool text =
            key.target.type == field_type::text || key.target.type == field_type::full_name;
        const int c = text ? lower(*x).compare(lower(*y)) : x->compare(*y);
        if (c != 0) return key.descending ? c > 0 : c < 0;
      }
      return false;
    });
  }

  template <class T>
  static void cut_rows(std::vector<T>& rows, std::optional<std::size_t> offset,
                       std::optional<std::size_t> limit) {
    const std::size_t skip = std::min(rows.size(), offset.value_or(0));
    rows.erase(rows.begin(), rows.begin() + static_cast<std::ptrdiff_t>(skip));
    if (limit && rows.size() > *limit) rows.resize(*limit);
  }

  // A grouped query's rows, in one page (inferred: no nextRecordsUrl; more rows than one
  // batch is EXCEEDED_ID_LIMIT, Salesforce's answer to an aggregate query without a LIMIT
  // small enough). Text groups ignore case (inferred), spelled as first met in Id order.
  http::response aggregate_page(const compiled_query& q) const {
    struct group {
      std::vector<std::optional<std::string>> keys;
      std::vector<std::int64_t> counts;
    };
    const aggregate_plan& plan = *q.aggregate;
    std::vector<group> groups;
    std::unordered_map<std::string, std::size_t> by_key;
    for (const auto& [id, record] : users) {
      if (q.where && !matches(*record, *q.where)) continue;
      std::string key;
      std::vector<std::optional<std::string>> keys;
      for (const field_index f : plan.group_by) {
        keys.push_back(value_of(*record, f));
        key += keys.back() ? "v" + lower(*keys.back()) : std::string("n");
        key += '\x1f';
      }
      auto [it, added] = by_key.emplace(key, groups.size());
      if (added) groups.push_back({std::move(keys), std::vector<std::int64_t>(plan.items.size())});
      group& g = groups[it->second];
      for (std::size_t i = 0; i < plan.items.size(); ++i)
        if (plan.items[i].count && value_of(*record, plan.items[i].field)) ++g.counts[i];
    }
    cut_rows(groups, q.offset, q.limit);
    if (groups.size() > max_aggregate_rows) {
      return api_error(400, "EXCEEDED_ID_LIMIT",
                       "Aggregate query does not support queryMore(), use LIMIT to restrict the "
                       "results to a single batch");
    }
    json records = json::array();
    for (const auto& g : groups) {
      json r = {{"attributes", {{"type", "AggregateResult"}}}};
      for (std::size_t i = 0; i < plan.items.size(); ++i) {
        const auto& item = plan.items[i];
        if (item.count) {
          r[item.name] = g.counts[i];
          continue;
        }
        const auto at = std::find(plan.group_by.begin(), plan.group_by.end(), item.field) -
                        plan.group_by.begin();
        const auto& key = g.keys[static_cast<std::size_t>(at)];
        if (!key)
          r[item.name] = nullptr;
        else if (fields[item.field].type == field_type::boolean)
          r[item.name] = *key == "true";
        else
          r[item.name] = *key;
      }
      records.push_back(std::move(r));
    }
    return json_reply(
        200, json{{"totalSize", records.size()}, {"done", true}, {"records", records}}.dump());
  }

  // GET …/sobjects/User/describe: the User object's fields as describe lists them (a subset
  // of describe's keys: name, label, type, custom, nillable, filterable, groupable).
  http::response describe(const std::string& object) const {
    if (!iequals(object, "User"))
      return api_error(404, "NOT_FOUND", "The requested resource does not exist");
    json list = json::array();
    for (const auto& f : fields) {
      const bool custom = f.name.size() > 3 && f.name.compare(f.name.size() - 3, 3, "__c") == 0;
      list.push_back({{"name", f.name},
                      {"label", label_of(f.name)},
                      {"type", describe_type(f)},
                      {"custom", custom},
                      {"nillable", f.name != "Id" && f.name != "Username" && f.name != "LastName"},
                      {"filterable", true},
                      {"groupable", f.type != field_type::datetime}});
    }
    return json_reply(200, json{{"name", "User"},
                                {"label", "User"},
                                {"custom", false},
                                {"queryable", true},
                                {"fields", std::move(list)}}
                               .dump());
  }

  http::response query_more(const std::string& version, const std::string& locator_and_offset) {
    const auto invalid = [] {
      return api_error(400, "INVALID_QUERY_LOCATOR", "invalid query locator");
    };
    const auto dash = locator_and_offset.rfind('-');
    if (dash == std::string::npos) return invalid();
    const std::string locator = locator_and_offset.substr(0, dash);
    const std::string offset_text = locator_and_offset.substr(dash + 1);
    if (offset_text.empty() || offset_text.size() > 9 ||
        !std::all_of(offset_text.begin(), offset_text.end(),
                     [](char c) { return c >= '0' && c <= '9'; })) {
      return invalid();
    }
    const std::size_t offset = std::stoul(offset_text);
    const auto it = cursors.find(locator);
    if (it == cursors.end()) return invalid();
    cursor& c = it->second;
    const std::int64_t now = now_ms();
    if (now - c.last_used_ms > cursor_idle_ms || offset == 0 || offset >= c.rows.size()) {
      if (now - c.last_used_ms > cursor_idle_ms) cursors.erase(it);
      return invalid();
    }
    c.last_used_ms = now;
    auto reply = page(*c.fields, c.rows, offset, c.batch, locator, version);
    if (offset + c.batch >= c.rows.size()) cursors.erase(it);  // the last batch closes it
    return reply;
  }

  // --- Routing ---------------------------------------------------------------------------

  http::response dispatch(const http::request& request, const std::string& path,
                          const std::string& query_text, salesforce_sandbox_log_entry& entry) {
    const auto segments = split(path, '/');  // "", "services", …
    const bool is_token = path == "/services/oauth2/token";
    const bool is_data = segments.size() >= 4 && segments[1] == "services" && segments[2] == "data";
    const bool is_query =
        is_data && segments.size() == 5 && is_api_version(segments[3]) && segments[4] == "query";
    const bool is_query_more = is_data && segments.size() == 6 && is_api_version(segments[3]) &&
                               segments[4] == "query" && !segments[5].empty();
    const bool is_describe = is_data && segments.size() == 7 && is_api_version(segments[3]) &&
                             segments[4] == "sobjects" && segments[6] == "describe";
    if (is_describe && request.method == "GET") entry.endpoint = endpoint_describe;
    if (is_token && request.method == "POST") entry.endpoint = endpoint_token;
    if (is_query && request.method == "GET") entry.endpoint = endpoint_query;
    if (is_query_more && request.method == "GET") entry.endpoint = endpoint_query_more;
    const auto form = parse_form(query_text);
    const auto q = form ? form->find("q") : std::map<std::string, std::string>::const_iterator{};
    if (is_query && form && q != form->end()) entry.soql = q->second;

    if (outage) return api_error(503, "SERVER_UNAVAILABLE", "sandbox: outage injected");
    const bool fault_applies = fail_target == salesforce_fault_target::any ||
                               (fail_target == salesforce_fault_target::token) == is_token;
    if (fail_count > 0 && fault_applies) {
      --fail_count;
      const bool oauth = is_token;
      const std::string code =
          fail_code.empty() ? default_error_code(fail_status, oauth) : fail_code;
      const std::string message = fail_message.empty() ? "sandbox: injected failure" : fail_message;
      return oauth ? oauth_error(fail_status, code, message)
                   : api_error(fail_status, code, message);
    }

    if (is_token) {
      if (request.method != "POST") {
        return oauth_error(400, "invalid_request", "must use HTTP POST");
      }
      return post_token(request);
    }
    if (!is_query && !is_query_more && !is_describe) {
      return api_error(404, "NOT_FOUND", "The requested resource does not exist");
    }
    if (request.method != "GET" && request.method != "HEAD") {
      return api_error(405, "METHOD_NOT_ALLOWED",
                       "HTTP Method '" + request.method + "' not allowed. Allowed are GET,HEAD");
    }
    if (request_limit > 0 && ++api_requests_since_limit > request_limit) {
      return api_error(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.");
    }
    if (!authorized(request)) return session_invalid();
    // A token is good only on its org's instance (nango.dev in §D.3: a wrong instance looks
    // like an expired session).
    if (!instance_url.empty() && lower(request.header("host")) != authority_of(instance_url)) {
      return session_invalid();
    }
    const std::string_view accept = request.header("accept");
    if (!accept.empty() && accept.find("json") == std::string_view::npos &&
        accept.find("*/*") == std::string_view::npos) {
      return api_error(406, "NOT_ACCEPTABLE",
                       "sandbox: answers JSON only (Salesforce would send XML for this Accept)");
    }
    const std::string version(segments[3]);
    if (is_query_more) return query_more(version, std::string(segments[5]));
    if (is_describe) return describe(std::string(segments[5]));
    if (!form) return api_error(400, "MALFORMED_QUERY", "malformed query string");
    return query(request, version, q == form->end() ? std::string() : q->second);
  }
};

// --- Public face ---------------------------------------------------------------------------

salesforce_sandbox::salesforce_sandbox(salesforce_sandbox_options options)
    : state_(std::make_unique<state>(std::move(options))) {}

salesforce_sandbox::~salesforce_sandbox() = default;

http::response salesforce_sandbox::handle(const http::request& request) {
  std::lock_guard lock(state_->mutex);
  const auto question = request.target.find('?');
  const std::string path = request.target.substr(0, question);
  const std::string query =
      question == std::string::npos ? "" : request.target.substr(question + 1);
  salesforce_sandbox_log_entry entry{request.method,
                                     path,
                                     "unrouted",
                                     0,
                                     std::string(request.header("host")),
                                     {},
                                     std::string(request.header("sforce-query-options"))};
  http::response response = state_->dispatch(request, path, query, entry);
  entry.status = response.status;
  ++state_->call_counts[entry.endpoint];
  state_->log.push_back(std::move(entry));
  return response;
}

void salesforce_sandbox::set_base_url(std::string url) {
  std::lock_guard lock(state_->mutex);
  state_->base_url = strip_trailing_slash(std::move(url));
}

void salesforce_sandbox::set_instance_url(std::string url) {
  std::lock_guard lock(state_->mutex);
  state_->instance_url = strip_trailing_slash(std::move(url));
}

std::string salesforce_sandbox::base_url() const {
  std::lock_guard lock(state_->mutex);
  return state_->base_url;
}

std::string salesforce_sandbox::instance_url() const {
  std::lock_guard lock(state_->mutex);
  return state_->effective_instance_url();
}

void salesforce_sandbox::set_latency_ms(int ms) {
  std::lock_guard lock(state_->mutex);
  state_->latency_ms = std::max(ms, 0);
}

int salesforce_sandbox::latency_ms() const {
  std::lock_guard lock(state_->mutex);
  return state_->latency_ms;
}

void salesforce_sandbox::fail_next(int count, int status, std::string error_code,
                                   std::string message, salesforce_fault_target target) {
  std::lock_guard lock(state_->mutex);
  state_->fail_count = std::max(count, 0);
  state_->fail_status = status;
  state_->fail_code = std::move(error_code);
  state_->fail_message = std::move(message);
  state_->fail_target = target;
}

void salesforce_sandbox::set_outage(bool on) {
  std::lock_guard lock(state_->mutex);
  state_->outage = on;
}

void salesforce_sandbox::set_request_limit(int max_api_requests) {
  std::lock_guard lock(state_->mutex);
  state_->request_limit = std::max(max_api_requests, 0);
  state_->api_requests_since_limit = 0;
}

void salesforce_sandbox::expire_tokens() {
  std::lock_guard lock(state_->mutex);
  state_->sessions.clear();
}

std::vector<salesforce_sandbox_log_entry> salesforce_sandbox::request_log() const {
  std::lock_guard lock(state_->mutex);
  return state_->log;
}

std::map<std::string, int> salesforce_sandbox::call_counts() const {
  std::lock_guard lock(state_->mutex);
  return state_->call_counts;
}

int salesforce_sandbox::calls(const std::string& endpoint) const {
  std::lock_guard lock(state_->mutex);
  const auto it = state_->call_counts.find(endpoint);
  return it == state_->call_counts.end() ? 0 : it->second;
}

std::size_t salesforce_sandbox::open_cursors() const {
  std::lock_guard lock(state_->mutex);
  return state_->cursors.size();
}

std::string salesforce_sandbox::organization_id() const {
  return state_->org_id;
}

std::string salesforce_sandbox::integration_user_id() const {
  return state_->integration_user;
}

void salesforce_sandbox::reset() {
  std::lock_guard lock(state_->mutex);
  state_->reset();
}

std::string salesforce_sandbox::add_user(const nlohmann::json& fields) {
  std::lock_guard lock(state_->mutex);
  return state_->insert(fields, salesforce_datetime(state_->now_ms()));
}

std::vector<std::string> salesforce_sandbox::add_users(const std::vector<nlohmann::json>& users) {
  std::lock_guard lock(state_->mutex);
  const std::string stamp = salesforce_datetime(state_->now_ms());
  std::vector<std::string> ids;
  ids.reserve(users.size());
  for (const auto& fields : users) ids.push_back(state_->insert(fields, stamp));
  return ids;
}

std::vector<std::string> salesforce_sandbox::add_generated_users(std::size_t count,
                                                                 const nlohmann::json& common,
                                                                 std::size_t departments) {
  std::lock_guard lock(state_->mutex);
  state& s = *state_;
  const std::string stamp = salesforce_datetime(s.now_ms());
  // The common fields, checked once on a template record.
  user_record common_values;
  s.apply(common_values, common.is_null() ? json::object() : common, false);
  std::vector<std::string> ids;
  ids.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    const std::uint64_t n = ++s.generated_counter;
    auto record = std::make_shared<user_record>(common_values);
    record->id = s.new_id();
    const std::string username = "user" + std::to_string(n) + "@sandbox.example.com";
    const auto set_default = [&record](field_index f, std::string value) {
      if (!record->get(f)) record->set(f, std::move(value));
    };
    set_default(s.f_username, username);
    set_default(s.f_email, username);
    set_default(s.f_first, "User");
    set_default(s.f_last, "Number " + std::to_string(n));
    set_default(s.field_by_name.at("department"),
                "Department " + std::to_string(n % std::max<std::size_t>(departments, 1)));
    set_default(s.f_active, "true");
    set_default(s.f_type, "Standard");
    set_default(s.f_created, stamp);
    set_default(s.f_modified, stamp);
    set_default(s.f_modstamp, stamp);
    s.check_required(*record, {});
    s.id_by_username.emplace(lower(*record->get(s.f_username)), record->id);
    ids.push_back(record->id);
    s.users.emplace_hint(s.users.end(), record->id, std::move(record));
  }
  return ids;
}

void salesforce_sandbox::update_user(const std::string& id, const nlohmann::json& fields) {
  std::lock_guard lock(state_->mutex);
  state_->update(id, fields);
}

std::optional<nlohmann::json> salesforce_sandbox::find_user(const std::string& id) const {
  std::lock_guard lock(state_->mutex);
  const auto id18 = sf::to_18_char_id(id).value_or(id);
  const auto it = state_->users.find(id18);
  if (it == state_->users.end()) return std::nullopt;
  return state_->user_json(*it->second);
}

std::size_t salesforce_sandbox::user_count() const {
  std::lock_guard lock(state_->mutex);
  return state_->users.size();
}

std::string salesforce_sandbox::issue_token() {
  std::lock_guard lock(state_->mutex);
  return state_->issue_token();
}

}  // namespace connector::testing

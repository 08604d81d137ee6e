// Salesforce REST wire formats; section numbers (§) refer to reference/salesforce.md.
#include "connector/salesforce/rest_wire.hpp"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <stdexcept>
#include <utility>

#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>

#include "connector/salesforce/change_order.hpp"
#include "connector/salesforce/ids.hpp"
#include "connector/text/ascii.hpp"
#include "connector/text/utf8.hpp"

namespace connector::salesforce {
namespace {

using json = nlohmann::json;

constexpr std::size_t max_records_path_length = 2048;
constexpr std::size_t max_error_code_chars = 100;
constexpr std::size_t max_message_chars = 500;

std::string text_member(const json& object, const char* name) {
  const auto it = object.find(name);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// "attributes" is metadata (type, url), not a field: removed at every level, so a
// relationship ({"Manager": {"attributes": …, "Email": …}}) holds only its fields too.
void strip_attributes(json& value) {
  if (value.is_object()) {
    value.erase("attributes");
    for (auto& [key, member] : value.items()) strip_attributes(member);
  } else if (value.is_array()) {
    for (auto& item : value) strip_attributes(item);
  }
}

// An access token goes into a header: visible ASCII only, so a hostile or broken token
// response cannot inject header lines.
bool is_header_safe_token(std::string_view token) {
  return !token.empty() && token.size() <= 4096 &&
         std::all_of(token.begin(), token.end(), [](char c) { return c > 0x20 && c < 0x7F; });
}

std::string in_quotes(std::string_view text) {
  return "'" + text::printable_text(text, 80) + "'";
}

}  // namespace

wire_result<oauth_token> parse_token_response(std::string_view body) {
  const json parsed = json::parse(body.begin(), body.end(), nullptr, false);
  if (parsed.is_discarded()) return unexpected{std::string("token response is not JSON")};
  if (!parsed.is_object()) return unexpected{std::string("token response is not a JSON object")};
  oauth_token token;
  token.access_token = text_member(parsed, "access_token");
  if (token.access_token.empty()) {
    return unexpected{std::string("token response has no access_token")};
  }
  if (!is_header_safe_token(token.access_token)) {
    return unexpected{std::string("token response has an access_token with unusable characters")};
  }
  token.instance_url = text_member(parsed, "instance_url");
  if (token.instance_url.empty()) {
    return unexpected{std::string("token response has no instance_url")};
  }
  token.identity_url = text_member(parsed, "id");
  token.token_type = text_member(parsed, "token_type");
  if (!token.token_type.empty() && !text::iequals(token.token_type, "Bearer")) {
    return unexpected{"token response has token_type " + in_quotes(token.token_type) +
                      ", expected Bearer"};
  }
  if (const auto it = parsed.find("issued_at"); it != parsed.end()) {
    if (it->is_string()) {
      token.issued_at = it->get<std::string>();
    } else if (it->is_number_integer()) {
      token.issued_at = it->dump();
    }
  }
  return token;
}

namespace {

// `host` is `domain` or one of its subdomains.
bool within(std::string_view host, std::string_view domain) {
  return host == domain || (host.size() > domain.size() && host.ends_with(domain) &&
                            host[host.size() - domain.size() - 1] == '.');
}

}  // namespace

std::optional<std::string> check_instance_url(std::string_view url,
                                              const std::vector<std::string>& extra_hosts) {
  const auto parsed = boost::urls::parse_absolute_uri(url);
  if (!parsed || parsed->scheme_id() != boost::urls::scheme::https || !parsed->has_authority()) {
    return "instance_url " + in_quotes(url) + " is not an https URL";
  }
  // The host as written: a %-escape in it could decode to a '/' or an '@'.
  const std::string_view host = parsed->encoded_host_address();
  if (parsed->has_userinfo() || host.empty() || host.find('%') != std::string_view::npos) {
    return "instance_url " + in_quotes(url) + " has no plain host";
  }
  const auto name = text::ascii_lower(host);
  for (const auto domain : salesforce_domains) {
    if (within(name, domain)) return std::nullopt;
  }
  for (const auto& allowed : extra_hosts) {
    const auto pattern = text::ascii_lower(allowed);
    if (pattern.starts_with("*.") ? within(name, std::string_view(pattern).substr(2)) &&
                                        name != std::string_view(pattern).substr(2)
                                  : name == pattern) {
      return std::nullopt;
    }
  }
  return "instance_url " + in_quotes(url) +
         " is not on a Salesforce domain (*.salesforce.com, *.force.com, …); add its host to "
         "salesforce.allowed_instance_hosts only if it is yours";
}

wire_result<query_page> parse_query_page(std::string_view body) {
  json parsed = json::parse(body.begin(), body.end(), nullptr, false);
  if (parsed.is_discarded()) return unexpected{std::string("query response is not JSON")};
  if (!parsed.is_object()) return unexpected{std::string("query response is not a JSON object")};
  query_page page;
  const auto total = parsed.find("totalSize");
  if (total == parsed.end() || !total->is_number_integer() || total->get<std::int64_t>() < 0) {
    return unexpected{std::string("query response has no totalSize (a count of records)")};
  }
  page.total_size = total->get<std::int64_t>();
  const auto done = parsed.find("done");
  if (done == parsed.end() || !done->is_boolean()) {
    return unexpected{std::string("query response has no done flag")};
  }
  page.done = done->get<bool>();
  if (!page.done) {
    page.next_records_url = text_member(parsed, "nextRecordsUrl");
    if (page.next_records_url.empty()) {
      return unexpected{std::string("query response is not done but has no nextRecordsUrl")};
    }
    if (!is_safe_records_path(page.next_records_url)) {
      return unexpected{"query response has a nextRecordsUrl that is not a /services/data/ path: " +
                        in_quotes(page.next_records_url)};
    }
  }
  const auto records = parsed.find("records");
  if (records == parsed.end() || !records->is_array()) {
    return unexpected{std::string("query response has no records array")};
  }
  page.records.reserve(records->size());
  for (auto& record : *records) {
    if (!record.is_object()) {
      return unexpected{std::string("query response has a record that is not a JSON object")};
    }
    strip_attributes(record);
    page.records.push_back(std::move(record));
  }
  return page;
}

rest_error parse_error_body(int http_status, std::string_view body) {
  rest_error error;
  const json parsed = json::parse(body.begin(), body.end(), nullptr, false);
  const auto take = [&error](const json& object, const char* code_key, const char* message_key) {
    error.error_code = text::printable_text(text_member(object, code_key), max_error_code_chars);
    error.message = text::printable_text(text_member(object, message_key), max_message_chars);
  };
  if (parsed.is_array() && !parsed.empty() && parsed.front().is_object()) {
    // [{message, errorCode, fields?}, …]: the first names the cause; others are rare.
    const json& first = parsed.front();
    take(first, "errorCode", "message");
    if (const auto fields = first.find("fields"); fields != first.end() && fields->is_array()) {
      for (const auto& field : *fields) {
        if (field.is_string())
          error.fields.push_back(text::printable_text(field.get<std::string>(), 80));
      }
    }
    if (parsed.size() > 1) {
      error.message += " (and " + std::to_string(parsed.size() - 1) + " more errors)";
    }
  } else if (parsed.is_object() && parsed.contains("error")) {
    take(parsed, "error", "error_description");  // OAuth (§D.1)
  } else if (parsed.is_object() && parsed.contains("errorCode")) {
    take(parsed, "errorCode", "message");
  } else if (!parsed.is_discarded() ||
             body.find_first_not_of(" \t\r\n") != std::string_view::npos) {
    if (parsed.is_discarded()) {
      error.message = "unexpected non-JSON body: " + text::printable_text(body, 200);
    } else {
      error.message = "unexpected error body: " + text::printable_text(body, 200);
    }
  }
  if (error.message.empty()) {
    error.message = error.error_code.empty()
                        ? "HTTP " + std::to_string(http_status) + " with an empty body"
                        : error.error_code;
  }
  return error;
}

wire_result<identity> parse_identity_url(std::string_view url) {
  const auto at = url.rfind("/id/");
  if (at == std::string_view::npos) {
    return unexpected{"identity URL " + in_quotes(url) + " has no /id/<orgId>/<userId> part"};
  }
  const std::string_view ids = url.substr(at + 4);
  const auto slash = ids.find('/');
  if (slash == std::string_view::npos) {
    return unexpected{"identity URL " + in_quotes(url) +
                      " has no user id after the organization id"};
  }
  const std::string_view org = ids.substr(0, slash);
  const std::string_view user = ids.substr(slash + 1);
  const auto org18 = to_18_char_id(org);
  const auto user18 = to_18_char_id(user);
  if (!is_valid_id(org) || !org18 || org18->compare(0, 3, "00D") != 0) {
    return unexpected{"identity URL " + in_quotes(url) + " has no valid organization id"};
  }
  if (!is_valid_id(user) || !user18 || user18->compare(0, 3, "005") != 0) {
    return unexpected{"identity URL " + in_quotes(url) + " has no valid user id"};
  }
  return identity{*org18, *user18};
}

bool is_safe_records_path(std::string_view path) {
  constexpr std::string_view prefix = "/services/data/";
  if (path.size() <= prefix.size() || path.size() > max_records_path_length ||
      path.substr(0, prefix.size()) != prefix) {
    return false;
  }
  if (path.find("..") != std::string_view::npos || path.find("//") != std::string_view::npos) {
    return false;
  }
  constexpr std::string_view allowed_punctuation = "-._~!$&'()*+,;=:@/%?";
  return std::all_of(path.begin(), path.end(), [&](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) ||
           allowed_punctuation.find(c) != std::string_view::npos;
  });
}

// The rule config.cpp applies to mapped fields (is_salesforce_field): keep the two equal, so
// a configuration that loads never makes build_query throw.
bool is_soql_field_path(std::string_view text) {
  std::size_t start = 0;
  for (;;) {
    const auto dot = text.find('.', start);
    const auto part = text.substr(start, dot == std::string_view::npos ? dot : dot - start);
    if (part.empty() || !std::isalpha(static_cast<unsigned char>(part.front())) ||
        !std::all_of(part.begin(), part.end(),
                     [](unsigned char c) { return std::isalnum(c) || c == '_'; })) {
      return false;
    }
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

namespace {

std::string select_from(const config::salesforce_settings& settings,
                        const std::vector<std::string>& fields) {
  if (fields.empty()) throw std::invalid_argument("a SOQL query needs at least one field");
  const std::string& object = settings.source_object;
  if (!is_soql_field_path(object) || object.find('.') != std::string::npos) {
    throw std::invalid_argument("refusing to query object " + in_quotes(object) +
                                ": not a plain Salesforce object name");
  }
  std::string soql = "SELECT ";
  std::vector<std::string_view> selected;
  for (const auto& field : fields) {
    if (!is_soql_field_path(field)) {
      throw std::invalid_argument("refusing to query field " + in_quotes(field) +
                                  ": not a Salesforce field name or relationship path");
    }
    // Salesforce refuses a field selected twice ("duplicate field selected"), in any case.
    const bool seen = std::any_of(selected.begin(), selected.end(),
                                  [&](std::string_view s) { return text::iequals(s, field); });
    if (seen) continue;
    if (!selected.empty()) soql += ", ";
    soql += field;
    selected.push_back(field);
  }
  soql += " FROM " + object;
  return soql;
}

}  // namespace

std::string build_query(const config::salesforce_settings& settings,
                        const std::vector<std::string>& fields) {
  std::string soql = select_from(settings, fields);
  if (!settings.query_filter.empty()) soql += " WHERE " + settings.query_filter;
  return soql + " ORDER BY Id";
}

std::optional<std::int64_t> parse_rest_datetime_ms(std::string_view text) {
  // "…+0000" → "…+00:00"; everything else as xsd:dateTime.
  const auto offset = text.size() >= 5 ? text.size() - 5 : std::string_view::npos;
  if (offset != std::string_view::npos && (text[offset] == '+' || text[offset] == '-') &&
      std::all_of(text.begin() + static_cast<std::ptrdiff_t>(offset) + 1, text.end(),
                  [](char c) { return c >= '0' && c <= '9'; })) {
    std::string with_colon(text);
    with_colon.insert(offset + 3, 1, ':');
    return parse_datetime_ms(with_colon);
  }
  return parse_datetime_ms(text);
}

std::string build_query_for_ids(const config::salesforce_settings& settings,
                                const std::vector<std::string>& fields,
                                const std::vector<std::string>& ids) {
  if (ids.empty()) throw std::invalid_argument("a query by ids needs at least one id");
  if (ids.size() > max_ids_per_query) {
    throw std::invalid_argument("a query by ids takes at most " +
                                std::to_string(max_ids_per_query) + " ids, got " +
                                std::to_string(ids.size()));
  }
  std::string in_list;
  for (const auto& id : ids) {
    // Only [A-Za-z0-9] passes, so quoting needs no escaping.
    if (!is_valid_id(id)) {
      throw std::invalid_argument("refusing to query id " + in_quotes(id) +
                                  ": not a valid Salesforce record id");
    }
    if (!in_list.empty()) in_list += ",";
    in_list += "'" + id + "'";
  }
  std::string soql = select_from(settings, fields) + " WHERE ";
  if (!settings.query_filter.empty()) soql += "(" + settings.query_filter + ") AND ";
  return soql + "Id IN (" + in_list + ") ORDER BY Id";
}

}  // namespace connector::salesforce

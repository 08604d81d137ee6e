// libFuzzer target: every Salesforce REST wire parser on the same bytes, the instance_url
// check, plus the SOQL
// builders on fields and ids cut from them. Parsers must return a value or an error for any
// input, never crash, hang or throw; the builders either refuse (std::invalid_argument) or
// produce a query whose quoted ids cannot break out of their quotes.
// Seed corpus: tests/fixtures/salesforce-rest/.
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

#include "connector/salesforce/rest_wire.hpp"
#include "connector/text/url.hpp"
#include "connector/text/utf8.hpp"

namespace {

using namespace connector::salesforce;

void require(bool condition) {
  if (!condition) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);

  if (const auto token = parse_token_response(body)) {
    require(!token->access_token.empty() && !token->instance_url.empty());
    for (const char c : token->access_token) require(c > 0x20 && c < 0x7F);
  }
  if (const auto page = parse_query_page(body)) {
    require(page->done || is_safe_records_path(page->next_records_url));
    for (const auto& record : page->records)
      require(record.is_object() && !record.contains("attributes"));
  }
  for (const int status : {400, 401, 403, 500}) {
    const auto error = parse_error_body(status, body);
    require(!error.message.empty());
    for (const char c : error.message) require(static_cast<unsigned char>(c) >= 0x20 && c != 0x7F);
  }
  if (const auto ids = parse_identity_url(body)) {
    require(ids->organization_id.size() == 18 && ids->user_id.size() == 18);
  }
  (void)connector::text::printable_text(body, 40);
  (void)connector::text::percent_encode(body);
  // An instance_url passes only as https on a Salesforce domain (no extra hosts here), never
  // with user info that would send the token elsewhere.
  if (!check_instance_url(body, {})) {
    std::string scheme(body.substr(0, 8));
    for (auto& c : scheme) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    require(body.size() > 8 && scheme == "https://");
    require(body.substr(8, body.find_first_of("/?#", 8) - 8).find('@') == std::string_view::npos);
  }

  // The first line as a field, the second as an id.
  const auto newline = body.find('\n');
  const std::string field(body.substr(0, newline));
  const std::string id(newline == std::string_view::npos ? "" : body.substr(newline + 1));
  connector::config::salesforce_settings settings;
  try {
    const std::string soql = build_query_for_ids(settings, {"Id", field}, {id});
    require(soql.find("'" + id + "'") != std::string::npos);
    require(id.find('\'') == std::string::npos && id.find('\\') == std::string::npos);
    require(field.find_first_of(" '()\\,") == std::string::npos);
  } catch (const std::invalid_argument&) {
  }
  return 0;
}

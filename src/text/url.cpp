#include "connector/text/url.hpp"

#include <algorithm>
#include <boost/url/encode.hpp>
#include <boost/url/pct_string_view.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>
#include <charconv>

#include "connector/text/ascii.hpp"
#include "connector/text/utf8.hpp"

namespace connector::text {
namespace {

// %XX (and, for query pieces, '+') decoded; nullopt when an escape is broken or is a NUL,
// which no name or value of ours holds and which C APIs further on would cut at.
std::optional<std::string> decode(std::string_view text, bool plus_is_space) {
  const auto checked = boost::urls::make_pct_string_view(text);
  if (!checked) return std::nullopt;
  boost::urls::encoding_opts options;
  options.space_as_plus = plus_is_space;
  std::string out = checked->decode(options);
  if (out.find('\0') != std::string::npos) return std::nullopt;
  return out;
}

std::string quoted_name(std::string_view name) {
  return printable_text(name, 40);
}

}  // namespace

std::string percent_encode(std::string_view text) {
  return boost::urls::encode(text, boost::urls::unreserved_chars);
}

std::string form_encode(const std::vector<std::pair<std::string, std::string>>& fields) {
  std::string out;
  for (const auto& [name, value] : fields) {
    if (!out.empty()) out += '&';
    out += percent_encode(name) + '=' + percent_encode(value);
  }
  return out;
}

std::optional<std::string> percent_decode(std::string_view text) {
  return decode(text, false);
}

expected<query_list, std::string> parse_query(std::string_view query) {
  query_list out;
  while (!query.empty()) {
    const auto amp = query.find('&');
    const auto piece = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    if (piece.empty()) continue;
    const auto eq = piece.find('=');
    const auto raw_name = piece.substr(0, eq);
    auto name = decode(raw_name, true);
    if (!name) return unexpected{quoted_name(raw_name) + ": broken %-escape in the name"};
    auto value = decode(eq == std::string_view::npos ? "" : piece.substr(eq + 1), true);
    if (!value) return unexpected{quoted_name(*name) + ": broken %-escape"};
    out.emplace_back(std::move(*name), std::move(*value));
  }
  return out;
}

expected<query_params, std::string> query_params::parse(std::string_view query) {
  auto params = parse_query(query);
  if (!params) return unexpected{std::move(params.error())};
  query_params out;
  for (auto& [name, value] : *params) {
    if (out.find(name)) return unexpected{quoted_name(name) + ": given twice"};
    out.params_.emplace_back(std::move(name), std::move(value));
  }
  return out;
}

const std::string* query_params::find(std::string_view name) const {
  const auto it = std::find_if(params_.begin(), params_.end(),
                               [&](const auto& param) { return param.first == name; });
  return it == params_.end() ? nullptr : &it->second;
}

expected<bool, std::string> query_params::flag(std::string_view name, bool fallback) const {
  const auto* value = find(name);
  if (!value) return fallback;
  for (const auto yes : {"", "true", "1", "yes"})
    if (iequals(*value, yes)) return true;
  for (const auto no : {"false", "0", "no"})
    if (iequals(*value, no)) return false;
  return unexpected{std::string(name) + ": expected true or false"};
}

expected<std::size_t, std::string> query_params::whole_number(std::string_view name,
                                                              std::size_t fallback) const {
  const auto* value = find(name);
  if (!value || value->empty()) return fallback;
  std::size_t number = 0;
  const auto [end, ec] = std::from_chars(value->data(), value->data() + value->size(), number);
  if (ec != std::errc() || end != value->data() + value->size())
    return unexpected{std::string(name) + ": expected a whole number"};
  return number;
}

}  // namespace connector::text

#pragma once
// Percent-coding (RFC 3986 §2.1) and query strings, on Boost.URL. One rule set for every
// query the connector reads (the admin API, the admin page's data routes, the sandboxes).
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "connector/expected.hpp"

namespace connector::text {

// Everything but the unreserved characters (ALPHA DIGIT - . _ ~) as %XX: safe in a path
// segment, a query value and a form field alike.
std::string percent_encode(std::string_view text);

// name=value&… (application/x-www-form-urlencoded), both sides percent-encoded.
std::string form_encode(const std::vector<std::pair<std::string, std::string>>& fields);

// A path segment with %XX decoded and '+' kept ("bob+test@acme.example" is a name, not two);
// nullopt when an escape is broken or decodes to NUL.
std::optional<std::string> percent_decode(std::string_view text);

using query_list = std::vector<std::pair<std::string, std::string>>;

// Every name=value pair of a query string (or form body) in order, decoded the way HTML
// forms and URLSearchParams send them ('+' is a space), repeats kept: some APIs take lists
// as `emails[]=a&emails[]=b`. A name alone ("?dry_run") has the empty value; empty pieces
// ("a=1&&b=2") are skipped. A broken %-escape or an escaped NUL is an error naming the
// parameter.
expected<query_list, std::string> parse_query(std::string_view query);

// A query string's parameters by name: parse_query's rules, and a parameter named twice is
// an error too (which of the two values was meant cannot be guessed). Names the caller does
// not ask for are ignored (cache busters, options of a later version).
class query_params {
 public:
  static expected<query_params, std::string> parse(std::string_view query);

  // The decoded value ("" for a name alone); null when the parameter is absent.
  const std::string* find(std::string_view name) const;
  // Present with no value or true/1/yes: true; false/0/no: false; absent: `fallback`.
  expected<bool, std::string> flag(std::string_view name, bool fallback = false) const;
  // A whole number in decimal; absent or empty: `fallback`.
  expected<std::size_t, std::string> whole_number(std::string_view name,
                                                  std::size_t fallback) const;
  // Every parameter in the order given.
  const query_list& all() const { return params_; }

 private:
  query_list params_;
};

}  // namespace connector::text

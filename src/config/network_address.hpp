#pragma once
// Syntax checks for the network addresses a config names: listen endpoints, allowlist
// entries and the base URLs of remote services. Pure functions over strings.
#include <string>
#include <string_view>

#include "connector/config/config.hpp"
#include "connector/expected.hpp"

namespace connector::config::detail {

// parse_endpoint with the reason for a refusal ("missing port", ...), for error messages.
expected<endpoint, std::string> parse_endpoint_explained(std::string_view text);

// An IPv4 address, an IPv6 address (without brackets) or a host name.
bool is_valid_host(std::string_view text);

// "203.0.113.0/24", "2001:db8::/32" or a single address (a /32 or /128).
bool is_valid_cidr(std::string_view text);

// An absolute http(s) URL without credentials, query or fragment; returns it without a
// trailing '/', so that callers append "/path". Plain http only for a loopback host,
// since the local sandboxes may run without TLS but nothing remote should.
expected<std::string, std::string> normalize_base_url(std::string_view text);

}  // namespace connector::config::detail

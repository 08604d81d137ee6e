#include "network_address.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <strings.h>

#include <algorithm>
#include <cctype>
#include <charconv>

namespace connector::config {
namespace detail {
namespace {

unexpected<std::string> refuse(std::string reason) {
  return {std::move(reason)};
}

bool is_ipv4(const std::string& text) {
  in_addr address{};
  return inet_pton(AF_INET, text.c_str(), &address) == 1;
}

bool is_ipv6(const std::string& text) {
  in6_addr address{};
  return inet_pton(AF_INET6, text.c_str(), &address) == 1;
}

// RFC 1123 host name: dot-separated labels of letters, digits and inner hyphens.
bool is_host_name(std::string_view text) {
  if (text.empty() || text.size() > 253) return false;
  std::size_t label_start = 0;
  while (true) {
    const auto dot = text.find('.', label_start);
    const auto label = text.substr(
        label_start, dot == std::string_view::npos ? std::string_view::npos : dot - label_start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') {
      return false;
    }
    const bool valid_chars = std::all_of(
        label.begin(), label.end(), [](unsigned char c) { return std::isalnum(c) || c == '-'; });
    if (!valid_chars) return false;
    if (dot == std::string_view::npos) {
      // An all-digit last label is a mistyped IPv4 address ("999.1.1.1"), not a name.
      return !std::all_of(label.begin(), label.end(),
                          [](unsigned char c) { return std::isdigit(c); });
    }
    label_start = dot + 1;
  }
}

std::optional<unsigned> parse_decimal(std::string_view text, unsigned max) {
  if (text.empty() || text.size() > 5) return std::nullopt;
  unsigned value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc{} || end != text.data() + text.size() || value > max) return std::nullopt;
  return value;
}

struct host_port {
  std::string host;
  std::string_view port;  // empty when absent
  bool bracketed = false;
};

// Splits "host", "host:port", "[v6]" or "[v6]:port"; the reason when it cannot.
expected<host_port, std::string> split_host_port(std::string_view text) {
  host_port result;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos) return refuse("missing ']'");
    result.host = std::string(text.substr(1, close - 1));
    result.bracketed = true;
    const auto rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return refuse("unexpected text after ']'");
      result.port = rest.substr(1);
      if (result.port.empty()) return refuse("missing port");
    }
    if (!is_ipv6(result.host)) return refuse("invalid IPv6 address");
    return result;
  }
  const auto colon = text.find(':');
  if (colon != std::string_view::npos && text.find(':', colon + 1) != std::string_view::npos) {
    return refuse("an IPv6 address must be in brackets, e.g. [::1]:8443");
  }
  result.host = std::string(text.substr(0, colon));
  if (colon != std::string_view::npos) {
    result.port = text.substr(colon + 1);
    if (result.port.empty()) return refuse("missing port");
  }
  if (result.host.empty()) return refuse("missing host");
  if (!is_ipv4(result.host) && !is_host_name(result.host)) {
    return refuse("invalid host");
  }
  return result;
}

}  // namespace

expected<endpoint, std::string> parse_endpoint_explained(std::string_view text) {
  // "8443" alone is the likeliest mistake; say so rather than "invalid host".
  if (text.find(':') == std::string_view::npos) return refuse("missing port");
  auto parts = split_host_port(text);
  if (!parts) return refuse(parts.error());
  if (parts->port.empty()) return refuse("missing port");
  const auto port = parse_decimal(parts->port, 65535);
  if (!port) return refuse("the port must be a number from 0 to 65535");
  return endpoint{std::move(parts->host), static_cast<std::uint16_t>(*port)};
}

bool is_valid_host(std::string_view text) {
  const std::string host(text);
  return is_ipv4(host) || is_ipv6(host) || is_host_name(host);
}

bool is_valid_cidr(std::string_view text) {
  const auto slash = text.find('/');
  const std::string address(text.substr(0, slash));
  unsigned max_bits = 0;
  if (is_ipv4(address)) {
    max_bits = 32;
  } else if (is_ipv6(address)) {
    max_bits = 128;
  } else {
    return false;
  }
  return slash == std::string_view::npos || parse_decimal(text.substr(slash + 1), max_bits);
}

expected<std::string, std::string> normalize_base_url(std::string_view text) {
  const auto scheme_end = text.find("://");
  if (scheme_end == std::string_view::npos) {
    return refuse("expected an absolute URL, e.g. https://host");
  }
  const auto scheme = text.substr(0, scheme_end);
  if (scheme != "https" && scheme != "http") {
    return refuse("the scheme must be https");
  }
  if (text.find_first_of("?#") != std::string_view::npos) {
    return refuse("a base URL has no query or fragment");
  }
  const auto rest = text.substr(scheme_end + 3);
  const auto authority = rest.substr(0, rest.find('/'));
  if (authority.find('@') != std::string_view::npos) {
    // Credentials in a URL end up in logs; they belong in the secret keys.
    return refuse("credentials do not belong in the URL");
  }
  auto parts = split_host_port(authority);
  if (!parts) return refuse("invalid host: " + parts.error());
  if (!parts->port.empty() && !parse_decimal(parts->port, 65535)) {
    return refuse("the port must be a number from 0 to 65535");
  }
  if (scheme == "http" && !is_loopback(parts->host)) {
    return refuse("plain http is allowed only for a loopback host; use https");
  }
  std::string normalized(text);
  while (normalized.size() > scheme_end + 3 + authority.size() && normalized.back() == '/') {
    normalized.pop_back();
  }
  return normalized;
}

}  // namespace detail

std::optional<endpoint> parse_endpoint(const std::string& text) {
  auto parsed = detail::parse_endpoint_explained(text);
  if (!parsed) return std::nullopt;
  return std::move(parsed).value();
}

bool is_loopback(const std::string& host) {
  std::string bare = host;
  if (bare.size() >= 2 && bare.front() == '[' && bare.back() == ']') {
    bare = bare.substr(1, bare.size() - 2);
  }
  if (strcasecmp(bare.c_str(), "localhost") == 0) return true;
  in_addr v4{};
  if (inet_pton(AF_INET, bare.c_str(), &v4) == 1) {
    return (ntohl(v4.s_addr) >> 24) == 127;  // 127.0.0.0/8
  }
  in6_addr v6{};
  if (inet_pton(AF_INET6, bare.c_str(), &v6) == 1) {
    if (IN6_IS_ADDR_LOOPBACK(&v6)) return true;
    // ::ffff:127.x.y.z is the IPv4 loopback seen through a dual-stack socket.
    return IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127;
  }
  return false;
}

}  // namespace connector::config

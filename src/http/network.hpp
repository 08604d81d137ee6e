#pragma once
// IP allowlists: "203.0.113.0/24", "2001:db8::/32", or a single address.
#include <boost/asio/ip/address.hpp>
#include <optional>
#include <string>

namespace connector::http {

struct network {
  boost::asio::ip::address base;
  unsigned prefix_length = 0;
  bool contains(const boost::asio::ip::address& address) const;
};

std::optional<network> parse_network(const std::string& cidr);

}  // namespace connector::http

// Listen addresses: "host:port" with the host as written, IPv6 in brackets.
#include <gtest/gtest.h>

#include <optional>
#include <string>

#include "connector/config/config.hpp"

namespace connector::config {
namespace {

void expect_endpoint(const std::string& text, const std::string& host, std::uint16_t port) {
  const auto parsed = parse_endpoint(text);
  ASSERT_TRUE(parsed) << text;
  EXPECT_EQ(parsed->host, host) << text;
  EXPECT_EQ(parsed->port, port) << text;
}

TEST(parse_endpoint, accepts_ipv4_ipv6_and_names) {
  expect_endpoint("0.0.0.0:8443", "0.0.0.0", 8443);
  expect_endpoint("127.0.0.1:0", "127.0.0.1", 0);  // 0: the kernel picks a port (tests)
  expect_endpoint("[::1]:8444", "::1", 8444);
  expect_endpoint("[::]:443", "::", 443);
  expect_endpoint("localhost:9000", "localhost", 9000);
  expect_endpoint("connector.example.com:65535", "connector.example.com", 65535);
}

TEST(parse_endpoint, refuses_what_is_not_host_and_port) {
  for (const std::string text : {"",
                                 "8443",
                                 "0.0.0.0",
                                 "0.0.0.0:",
                                 ":8443",
                                 "0.0.0.0:65536",
                                 "0.0.0.0:99999999",
                                 "0.0.0.0:-1",
                                 "0.0.0.0:+80",
                                 "0.0.0.0:80x",
                                 "::1:8443",
                                 "[::1]",
                                 "[::1]8443",
                                 "[::1:8443",
                                 "[not-v6]:80",
                                 "999.1.1.1:80",
                                 "bad host:80",
                                 "-bad.example:80",
                                 "host_name:80",
                                 "http://0.0.0.0:80"}) {
    EXPECT_FALSE(parse_endpoint(text)) << '"' << text << '"';
  }
}

TEST(is_loopback, knows_the_loopback_addresses) {
  for (const std::string host : {"127.0.0.1", "127.1.2.3", "127.255.255.254", "::1", "[::1]",
                                 "0:0:0:0:0:0:0:1", "localhost", "LocalHost", "::ffff:127.0.0.1"}) {
    EXPECT_TRUE(is_loopback(host)) << host;
  }
  for (const std::string host : {"0.0.0.0", "::", "10.0.0.1", "128.0.0.1", "::2",
                                 "localhost.example.com", "example.com", "", "127.0.0"}) {
    EXPECT_FALSE(is_loopback(host)) << host;
  }
}

}  // namespace
}  // namespace connector::config

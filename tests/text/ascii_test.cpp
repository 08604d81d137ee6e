#include "connector/text/ascii.hpp"

#include <string>

#include <gtest/gtest.h>

namespace connector::text {
namespace {

using namespace std::string_literals;

TEST(AsciiCase, FoldsOnlyAtoZ) {
  EXPECT_EQ(ascii_lower("Content-Type: TEXT/XML; Charset=UTF-8"),
            "content-type: text/xml; charset=utf-8");
  // UTF-8 bytes and punctuation next to the letters' ranges ('@', '[', '`', '{') stay.
  EXPECT_EQ(ascii_lower("@[`{ÄÖ\xC3\x9F"), "@[`{ÄÖ\xC3\x9F");
  EXPECT_EQ(ascii_lower("a\0B"s), "a\0b"s);
  EXPECT_EQ(ascii_lower('Z'), 'z');
  EXPECT_EQ(ascii_lower('\xC4'), '\xC4');
}

TEST(AsciiCase, ComparesWithoutCaseAndWithoutLocale) {
  EXPECT_TRUE(iequals("Bearer", "bEARER"));
  EXPECT_FALSE(iequals("Bearer", "Bearer "));
  EXPECT_FALSE(iequals("Ä", "ä"));  // not ASCII: compared as bytes
  EXPECT_FALSE(iequals("a\0b"s, "a\0c"s));
  EXPECT_TRUE(iequals("", ""));
  EXPECT_TRUE(istarts_with("HTTPS://x", "https://"));
  EXPECT_FALSE(istarts_with("http", "https://"));
}

}  // namespace
}  // namespace connector::text

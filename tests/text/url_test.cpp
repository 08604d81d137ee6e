// Percent-coding and query strings: the one rule set every query of ours is read with.
#include "connector/text/url.hpp"

#include <string>

#include <gtest/gtest.h>

namespace connector::text {
namespace {

using namespace std::string_literals;

TEST(PercentEncode, KeepsOnlyUnreservedCharacters) {
  EXPECT_EQ(percent_encode("SELECT Id FROM User WHERE Name = 'O\\'Hara'"),
            "SELECT%20Id%20FROM%20User%20WHERE%20Name%20%3D%20%27O%5C%27Hara%27");
  EXPECT_EQ(percent_encode("a-b.c_d~é"), "a-b.c_d~%C3%A9");
  EXPECT_EQ(percent_encode("a+b/c=d&e?f#g%h"), "a%2Bb%2Fc%3Dd%26e%3Ff%23g%25h");
  EXPECT_EQ(percent_encode("a\0b"s), "a%00b");
  EXPECT_EQ(
      form_encode(
          {{"grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"}, {"assertion", "a.b+/="}}),
      "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=a.b%2B%2F%3D");
}

TEST(PercentDecode, DecodesAPathSegmentWithPlusKept) {
  EXPECT_EQ(percent_decode("bob%2Btest%40acme.example"), "bob+test@acme.example");
  EXPECT_EQ(percent_decode("bob+test@acme.example"), "bob+test@acme.example");
  EXPECT_EQ(percent_decode("%C3%A9%c3%a9"), "éé");
  EXPECT_EQ(percent_decode(""), "");
  for (const auto* bad : {"%", "%4", "a%zz", "%G0", "%%41", "a%00b"}) {
    EXPECT_FALSE(percent_decode(bad)) << bad;
  }
  const auto text = "any text: é ~!*'()"s;
  EXPECT_EQ(percent_decode(percent_encode(text)), text);
}

TEST(ParseQuery, KeepsRepeatsInOrderAndReadsPlusAsSpace) {
  const auto items = parse_query("emails[]=a%2Bb%40x&emails[]=c+d&&flag&=orphan");
  ASSERT_TRUE(items) << items.error();
  const query_list expected{
      {"emails[]", "a+b@x"}, {"emails[]", "c d"}, {"flag", ""}, {"", "orphan"}};
  EXPECT_EQ(*items, expected);
  EXPECT_TRUE(parse_query("")->empty());
}

TEST(ParseQuery, ABrokenEscapeNamesItsParameter) {
  const auto bad_value = parse_query("limit=10&q=%E2%82");  // a cut escape at the end
  ASSERT_TRUE(bad_value);  // %E2%82 is well-formed percent-coding (bytes are not checked)
  const auto broken = parse_query("limit=10&q=50%");
  ASSERT_FALSE(broken);
  EXPECT_EQ(broken.error(), "q: broken %-escape");
  const auto bad_name = parse_query("a%zz=1");
  ASSERT_FALSE(bad_name);
  EXPECT_EQ(bad_name.error(), "a%zz: broken %-escape in the name");
  const auto nul = parse_query("q=a%00b");
  ASSERT_FALSE(nul);
  EXPECT_EQ(nul.error(), "q: broken %-escape");
}

TEST(QueryParams, ANameGivenTwiceIsAnError) {
  for (const auto* query : {"limit=10&limit=20", "limit=10&limit=10", "limit&limit=1",
                            "li%6Dit=1&limit=2" /* the same name once decoded */}) {
    const auto params = query_params::parse(query);
    ASSERT_FALSE(params) << query;
    EXPECT_EQ(params.error(), "limit: given twice") << query;
  }
}

TEST(QueryParams, FindsDecodedValuesAndIgnoresOtherNames) {
  const auto params = query_params::parse("q=Ann+O%27Hara&_=1712345678&empty=");
  ASSERT_TRUE(params) << params.error();
  ASSERT_TRUE(params->find("q"));
  EXPECT_EQ(*params->find("q"), "Ann O'Hara");
  EXPECT_EQ(*params->find("empty"), "");
  EXPECT_EQ(params->find("Q"), nullptr);  // names are exact
  EXPECT_EQ(params->find("missing"), nullptr);
}

TEST(QueryParams, FlagsArePresenceOrAWordAndNothingElse) {
  const auto params = query_params::parse("a&b=&c=true&d=1&e=YES&f=false&g=0&h=no&i=maybe&j=truee");
  ASSERT_TRUE(params);
  for (const auto* name : {"a", "b", "c", "d", "e"}) EXPECT_TRUE(*params->flag(name)) << name;
  for (const auto* name : {"f", "g", "h"}) EXPECT_FALSE(*params->flag(name, true)) << name;
  EXPECT_FALSE(*params->flag("absent"));
  EXPECT_TRUE(*params->flag("absent", true));
  for (const auto* name : {"i", "j"}) {
    const auto flag = params->flag(name);
    ASSERT_FALSE(flag) << name;
    EXPECT_EQ(flag.error(), std::string(name) + ": expected true or false");
  }
}

TEST(QueryParams, NumbersAreWholeOrAnError) {
  const auto params =
      query_params::parse("a=25&b=&c=-1&d=1.5&e=12abc&f=+3&g=99999999999999999999999");
  ASSERT_TRUE(params);
  EXPECT_EQ(*params->whole_number("a", 7), 25U);
  EXPECT_EQ(*params->whole_number("b", 7), 7U);  // empty: the default
  EXPECT_EQ(*params->whole_number("absent", 7), 7U);
  for (const auto* name : {"c", "d", "e", "f", "g"}) {
    const auto number = params->whole_number(name, 7);
    ASSERT_FALSE(number) << name;
    EXPECT_EQ(number.error(), std::string(name) + ": expected a whole number");
  }
}

}  // namespace
}  // namespace connector::text

// UTF-8 as RFC 3629 defines it, against the inputs an attacker would send: overlong forms,
// surrogates, code points past U+10FFFF, cut sequences, stray continuation bytes, NULs.
#include "connector/text/utf8.hpp"

#include <string>

#include <gtest/gtest.h>

namespace connector::text {
namespace {

using namespace std::string_literals;

TEST(Utf8Decode, ReadsEachLengthAndItsCodePoint) {
  const std::string text = "a\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80";  // a é € 😀
  EXPECT_EQ(decode_utf8(text, 0)->code_point, 0x61U);
  EXPECT_EQ(decode_utf8(text, 1)->code_point, 0xE9U);
  EXPECT_EQ(decode_utf8(text, 1)->length, 2U);
  EXPECT_EQ(decode_utf8(text, 3)->code_point, 0x20ACU);
  EXPECT_EQ(decode_utf8(text, 3)->length, 3U);
  EXPECT_EQ(decode_utf8(text, 6)->code_point, 0x1F600U);
  EXPECT_EQ(decode_utf8(text, 6)->length, 4U);
  EXPECT_FALSE(decode_utf8(text, text.size()));  // past the end
}

TEST(Utf8Decode, RefusesEveryMalformedForm) {
  for (const std::string bad : {
           "\xC0\xAF"s,          // overlong '/'
           "\xC1\xBF"s,          // overlong, two bytes
           "\xE0\x80\xAF"s,      // overlong, three bytes
           "\xF0\x80\x80\xAF"s,  // overlong, four bytes
           "\xED\xA0\x80"s,      // U+D800, a surrogate
           "\xED\xBF\xBF"s,      // U+DFFF
           "\xF4\x90\x80\x80"s,  // U+110000
           "\xF5\x80\x80\x80"s,  // no lead byte past F4
           "\xFF"s, "\xFE"s,     // never in UTF-8
           "\x80"s,              // a continuation byte alone
           "\xC3"s,              // cut after the lead byte
           "\xE2\x82"s,          // cut in the middle
           "\xC3\x28"s,          // a lead byte followed by ASCII
       }) {
    EXPECT_FALSE(decode_utf8(bad, 0)) << testing::PrintToString(bad);
    EXPECT_EQ(find_invalid_utf8("ok " + bad + " ok"), 3U) << testing::PrintToString(bad);
  }
}

TEST(Utf8Decode, AcceptsTheEdgesOfEachRange) {
  for (const std::string good :
       {"\x7F"s, "\xC2\x80"s, "\xDF\xBF"s, "\xE0\xA0\x80"s, "\xED\x9F\xBF"s /* U+D7FF */,
        "\xEE\x80\x80"s /* U+E000 */, "\xEF\xBF\xBF"s, "\xF0\x90\x80\x80"s, "\xF4\x8F\xBF\xBF"s}) {
    EXPECT_TRUE(decode_utf8(good, 0)) << testing::PrintToString(good);
    EXPECT_TRUE(is_valid_utf8(good)) << testing::PrintToString(good);
  }
}

TEST(Utf8Find, FindsTheFirstBadByteAfterTheAsciiFastPath) {
  const std::string clean(100, 'x');
  EXPECT_EQ(find_invalid_utf8(clean), std::string_view::npos);
  EXPECT_EQ(find_invalid_utf8(clean + "\xE2\x82\xAC" + clean), std::string_view::npos);
  EXPECT_EQ(find_invalid_utf8(clean + "\xC3" + clean), 100U);
  EXPECT_EQ(find_invalid_utf8(""), std::string_view::npos);
}

TEST(Utf8Find, NulIsRefusedOnlyWhenAsked) {
  // Inside the fast path's eight-byte words and outside them.
  for (const std::size_t at : {0UL, 3UL, 8UL, 17UL, 20UL}) {
    std::string text(21, 'a');
    text[at] = '\0';
    EXPECT_EQ(find_invalid_utf8(text), std::string_view::npos) << at;
    EXPECT_EQ(find_invalid_utf8(text, nul_bytes::refused), at) << at;
  }
  EXPECT_FALSE(is_valid_utf8("a\0b"s, nul_bytes::refused));
}

TEST(PrintableText, ReplacesInvalidBytesAndControlsAndFoldsWhitespace) {
  EXPECT_EQ(printable_text("\xff\xfe ok"), "?? ok");
  EXPECT_EQ(printable_text("line\r\nforged: entry"), "line forged: entry");
  EXPECT_EQ(printable_text("a\0b"s), "a?b");
  EXPECT_EQ(printable_text("a\x1b[31mred"), "a?[31mred");
  EXPECT_EQ(printable_text("\xC2\x85next"), "?next");              // U+0085 NEL
  EXPECT_EQ(printable_text("x\xE2\x80\xAEtxt.exe"), "x?txt.exe");  // right-to-left override
  EXPECT_EQ(printable_text("a\xE2\x80\xA8"
                           "b"),
            "a?b");                                  // line separator
  EXPECT_EQ(printable_text("\xED\xA0\x80"), "???");  // a surrogate, byte by byte
  EXPECT_EQ(printable_text("  Grüße \t aus  Köln  "), "Grüße aus Köln");
}

TEST(PrintableText, CutsAtMaxCharsByCodePointAndSaysSo) {
  EXPECT_EQ(printable_text("ééééé", {.max_chars = 3}), "ééé...");
  EXPECT_EQ(printable_text("ééé", {.max_chars = 3}), "ééé");  // nothing left: no marker
  const std::string huge(1'000'000, 'x');
  EXPECT_EQ(printable_text(huge).size(), 303U);  // the default 300 and "..."
}

TEST(PrintableText, DropsTagsOnlyWhenAsked) {
  EXPECT_EQ(printable_text("<html><b>Bad</b> gateway</html>", {.drop_tags = true}), "Bad gateway");
  EXPECT_EQ(printable_text("<b>x", {.drop_tags = false}), "<b>x");
  EXPECT_EQ(printable_text("a <unclosed", {.drop_tags = true}), "a");
}

}  // namespace
}  // namespace connector::text

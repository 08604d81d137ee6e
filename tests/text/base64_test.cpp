// Base64 and base64url: the RFC 4648 test vectors, and everything a strict decoder refuses
// (what it decodes are webhook secrets, signatures and JWT parts).
#include "connector/text/base64.hpp"

#include <string>

#include <gtest/gtest.h>

namespace connector::text {
namespace {

using namespace std::string_literals;

TEST(Base64, EncodesTheRfc4648Vectors) {
  EXPECT_EQ(base64_encode(""), "");
  EXPECT_EQ(base64_encode("f"), "Zg==");
  EXPECT_EQ(base64_encode("fo"), "Zm8=");
  EXPECT_EQ(base64_encode("foo"), "Zm9v");
  EXPECT_EQ(base64_encode("foob"), "Zm9vYg==");
  EXPECT_EQ(base64_encode("fooba"), "Zm9vYmE=");
  EXPECT_EQ(base64_encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(base64_encode("\xfb\xff"), "+/8=");
}

TEST(Base64, RoundTripsEveryByteAndEveryLength) {
  std::string bytes;
  for (int i = 0; i < 256; ++i) bytes += static_cast<char>(i);
  for (std::size_t n = 0; n <= bytes.size(); n += 7) {
    const auto part = bytes.substr(0, n);
    EXPECT_EQ(base64_decode(base64_encode(part)), part) << n;
    EXPECT_EQ(base64url_decode(base64url_encode(part)), part) << n;
  }
  EXPECT_EQ(base64_decode(base64_encode("a\0b"s)), "a\0b"s);  // embedded NUL survives
}

TEST(Base64, PaddingIsOptionalButMustBeRight) {
  EXPECT_EQ(base64_decode("Zg=="), "f");
  EXPECT_EQ(base64_decode("Zg"), "f");
  EXPECT_EQ(base64_decode("Zm8="), "fo");
  EXPECT_EQ(base64_decode("Zm8"), "fo");
  EXPECT_EQ(base64_decode(""), "");
  for (const std::string bad : {"Zg="s, "Zg==="s, "Zm9v="s, "Zm9v===="s, "="s, "=="s, "===="s,
                                "Z==="s,  // one character is no byte
                                "Z"s, "Zm9vY"s}) {
    EXPECT_FALSE(base64_decode(bad)) << bad;
  }
}

TEST(Base64, RefusesWhatEvpDecodeBlockAloneWouldAccept) {
  for (const std::string bad : {
           " Zm9v"s, "Zm9v "s, "Zm9v\n"s, "Zm\r\n9v"s, "\tZm9v"s,  // whitespace anywhere
           "Zm=v"s, "Z=9v"s, "=Zm9"s,                              // '=' inside
           "Zm9v\0"s, "Zm\0v"s,                                    // embedded NUL
           "Zm9-"s, "Zm9_"s,                                       // the URL alphabet
           "Zm9*"s, "Zm9\xC3\xA9"s, "Zm9."s,                       // no alphabet at all
           "Zh=="s, "Zm9="s,                                       // leftover bits set
       }) {
    EXPECT_FALSE(base64_decode(bad)) << testing::PrintToString(bad);
  }
}

TEST(Base64Url, IsUnpaddedWithTheUrlAlphabet) {
  EXPECT_EQ(base64url_encode(R"({"alg":"RS256"})"), "eyJhbGciOiJSUzI1NiJ9");
  EXPECT_EQ(base64url_encode("\xfb\xff"), "-_8");
  EXPECT_EQ(base64url_decode("-_8"), "\xfb\xff");
  EXPECT_EQ(base64url_encode(""), "");
  for (const std::string bad : {"Zm9v="s, "Zg=="s,  // padding
                                "Zm+v"s, "Zm/v"s,   // the standard alphabet
                                "Z"s,               // impossible length
                                "Zh"s,              // leftover bits set
                                "Zm 9v"s, "Zm9v\0"s, "Zm9v\n"s}) {
    EXPECT_FALSE(base64url_decode(bad)) << testing::PrintToString(bad);
  }
}

}  // namespace
}  // namespace connector::text

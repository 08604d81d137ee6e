// The RFC 5322 form of an alert e-mail, checked byte by byte where it matters.
#include "connector/alerts/email.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "connector/text/base64.hpp"
#include "connector/text/utf8.hpp"

namespace connector::alerts {
namespace {

// The shared decoders; an encoded word or body that does not decode fails the test.
std::string base64_decode(const std::string& text) {
  const auto bytes = text::base64_decode(text);
  EXPECT_TRUE(bytes) << text;
  return bytes.value_or("");
}

bool valid_utf8(const std::string& text) {
  return text::is_valid_utf8(text);
}

std::vector<std::string> split(const std::string& text, const std::string& separator) {
  std::vector<std::string> parts;
  std::size_t at = 0;
  for (auto next = text.find(separator); next != std::string::npos;
       at = next + separator.size(), next = text.find(separator, at)) {
    parts.push_back(text.substr(at, next - at));
  }
  parts.push_back(text.substr(at));
  return parts;
}

TEST(email, DatesAreInRfc5322FormInUtc) {
  EXPECT_EQ(rfc5322_date(1'772'532'005'000), "Tue, 03 Mar 2026 10:00:05 +0000");
  EXPECT_EQ(rfc5322_date(0), "Thu, 01 Jan 1970 00:00:00 +0000");
  EXPECT_EQ(utc_clock_time(1'772'532'005'999), "2026-03-03 10:00:05");
}

TEST(email, AsciiSubjectsStayAsTheyAre) {
  EXPECT_EQ(encode_header_text("[connector] Users were dead-lettered"),
            "[connector] Users were dead-lettered");
  // A line break would end the header and start a forged one.
  EXPECT_EQ(encode_header_text("a\r\nBcc: x@example.com"), "a  Bcc: x@example.com");
}

TEST(email, NonAsciiSubjectsBecomeEncodedWordsThatNeverSplitACharacter) {
  EXPECT_EQ(encode_header_text("Größe"), "=?UTF-8?B?R3LDtsOfZQ==?=");
  std::string long_text;
  for (int i = 0; i < 30; ++i) long_text += "Ärger € ";
  const auto encoded = encode_header_text(long_text);
  std::string decoded;
  for (const auto& word : split(encoded, "\r\n ")) {
    EXPECT_LE(word.size(), 75u) << word;
    ASSERT_EQ(word.rfind("=?UTF-8?B?", 0), 0u) << word;
    ASSERT_EQ(word.substr(word.size() - 2), "?=");
    const auto part = base64_decode(word.substr(10, word.size() - 12));
    EXPECT_TRUE(valid_utf8(part)) << word;
    decoded += part;
  }
  EXPECT_EQ(decoded, long_text);
}

TEST(email, TheMessageHasTheHeadersABase64BodyAndOnlyCrlfLineEnds) {
  email message{
      "[connector] Test", "Hello,\nline two: Grüße\n.\nend", {{"X-Connector-Alert", "test"}}};
  const auto text =
      format_message(message, {"from@example.com", {"a@example.com", "b@example.com"}},
                     1'772'532'005'000, "123.abc@example.com");
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\n') {
      ASSERT_GT(i, 0u);
      EXPECT_EQ(text[i - 1], '\r') << "bare LF at " << i;
    }
  }
  const auto head_end = text.find("\r\n\r\n");
  ASSERT_NE(head_end, std::string::npos);
  const auto head = text.substr(0, head_end + 2);
  EXPECT_NE(head.find("Date: Tue, 03 Mar 2026 10:00:05 +0000\r\n"), std::string::npos) << head;
  EXPECT_NE(head.find("From: from@example.com\r\n"), std::string::npos);
  EXPECT_NE(head.find("To: a@example.com,\r\n b@example.com\r\n"), std::string::npos);
  EXPECT_NE(head.find("Message-ID: <123.abc@example.com>\r\n"), std::string::npos);
  EXPECT_NE(head.find("Subject: [connector] Test\r\n"), std::string::npos);
  EXPECT_NE(head.find("X-Connector-Alert: test\r\n"), std::string::npos);
  EXPECT_NE(head.find("MIME-Version: 1.0\r\n"), std::string::npos);
  EXPECT_NE(head.find("Content-Type: text/plain; charset=UTF-8\r\n"), std::string::npos);
  EXPECT_NE(head.find("Content-Transfer-Encoding: base64\r\n"), std::string::npos);

  std::string body_base64;
  for (const auto& line : split(text.substr(head_end + 4), "\r\n")) {
    EXPECT_LE(line.size(), 76u);
    body_base64 += line;
  }
  EXPECT_EQ(base64_decode(body_base64), "Hello,\r\nline two: Grüße\r\n.\r\nend");
}

}  // namespace
}  // namespace connector::alerts

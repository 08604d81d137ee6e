#include "connector/alerts/email.hpp"

#include <algorithm>
#include <ctime>

#include "connector/text/base64.hpp"
#include "connector/text/utf8.hpp"

namespace connector::alerts {
namespace {

bool is_plain_ascii(std::string_view text) {
  return std::all_of(text.begin(), text.end(),
                     [](unsigned char c) { return c >= 0x20 && c < 0x7f; });
}

// Header values are ours, but a control character in one would end the header early.
std::string one_line(std::string_view text) {
  std::string out(text);
  std::replace_if(
      out.begin(), out.end(), [](unsigned char c) { return c < 0x20 || c == 0x7f; }, ' ');
  return out;
}

}  // namespace

std::string rfc5322_date(epoch_ms time) {
  const std::time_t seconds = static_cast<std::time_t>(time / 1000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[64];
  // Day and month names in English whatever the locale (RFC 5322 §3.3).
  static constexpr const char* days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                           "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const int n = std::snprintf(text, sizeof text, "%s, %02d %s %04d %02d:%02d:%02d +0000",
                              days[utc.tm_wday], utc.tm_mday, months[utc.tm_mon],
                              utc.tm_year + 1900, utc.tm_hour, utc.tm_min, utc.tm_sec);
  return std::string(text, static_cast<std::size_t>(n));
}

std::string utc_clock_time(epoch_ms time) {
  const std::time_t seconds = static_cast<std::time_t>(time / 1000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[32];
  const auto n = std::strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S", &utc);
  return std::string(text, n);
}

std::string encode_header_text(std::string_view text) {
  const std::string line = one_line(text);
  if (is_plain_ascii(line)) return line;
  // 75 characters per encoded word (RFC 2047 §2): "=?UTF-8?B?" + base64 + "?=" leaves 63
  // for base64, so at most 45 bytes of text, never cutting a character in two.
  constexpr std::size_t max_bytes = 45;
  std::string out;
  std::size_t at = 0;
  while (at < line.size()) {
    std::size_t end = at;
    while (end < line.size()) {
      const auto character = text::decode_utf8(line, end);  // a stray byte goes alone
      const std::size_t next = end + (character ? character->length : 1);
      if (next - at > max_bytes) break;
      end = std::min(next, line.size());
    }
    if (end == at) end = std::min(at + max_bytes, line.size());
    if (!out.empty()) out += "\r\n ";
    out += "=?UTF-8?B?" + text::base64_encode(std::string_view(line).substr(at, end - at)) + "?=";
    at = end;
  }
  return out;
}

std::string format_message(const email& message, const envelope& addresses, epoch_ms date,
                           const std::string& message_id) {
  std::string to;
  for (const auto& address : addresses.to) {
    if (!to.empty()) to += ",\r\n ";
    to += address;
  }
  std::string out;
  out += "Date: " + rfc5322_date(date) + "\r\n";
  out += "From: " + addresses.from + "\r\n";
  out += "To: " + to + "\r\n";
  out += "Message-ID: <" + one_line(message_id) + ">\r\n";
  out += "Subject: " + encode_header_text(message.subject) + "\r\n";
  for (const auto& [name, value] : message.headers) {
    out += one_line(name) + ": " + one_line(value) + "\r\n";
  }
  out += "MIME-Version: 1.0\r\n";
  out += "Content-Type: text/plain; charset=UTF-8\r\n";
  out += "Content-Transfer-Encoding: base64\r\n";
  out += "\r\n";
  std::string body;
  for (const char c : message.body) {
    if (c == '\r') continue;  // '\n' alone ends a line; CRLF is added here
    if (c == '\n') body += '\r';
    body += c;
  }
  const std::string encoded = text::base64_encode(body);
  for (std::size_t at = 0; at < encoded.size(); at += 76) {
    out += encoded.substr(at, 76) + "\r\n";
  }
  return out;
}

}  // namespace connector::alerts

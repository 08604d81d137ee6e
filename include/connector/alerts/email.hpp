#pragma once
// An alert e-mail and its RFC 5322 form: plain UTF-8 text, CRLF line ends, base64 body (so
// no line is too long and no relay needs 8BITMIME), RFC 2047 encoded words for a non-ASCII
// subject. Pure: the date and Message-ID come from the caller.
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "connector/clock.hpp"

namespace connector::alerts {

struct email {
  std::string subject;  // UTF-8, one line
  std::string body;     // UTF-8, '\n' line ends
  // Extra header fields, e.g. {"X-Connector-Alert", "dead_letters"}: ASCII names and values.
  std::vector<std::pair<std::string, std::string>> headers;
};

struct envelope {
  std::string from;             // a bare address, "alerts@example.com"
  std::vector<std::string> to;  // bare addresses
};

// "Tue, 03 Mar 2026 10:00:05 +0000"
std::string rfc5322_date(epoch_ms time);

// "2026-03-03 10:00:05", UTC, for the text of alerts.
std::string utc_clock_time(epoch_ms time);

// `text` as is when it is printable ASCII, else as RFC 2047 "=?UTF-8?B?…?=" words of at
// most 75 characters each, split between UTF-8 characters, folded onto continuation lines.
std::string encode_header_text(std::string_view text);

// The whole message as it goes after SMTP DATA. `message_id` without the angle brackets.
std::string format_message(const email& message, const envelope& addresses, epoch_ms date,
                           const std::string& message_id);

}  // namespace connector::alerts

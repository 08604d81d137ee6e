#pragma once
// Input quoted in an error message: in double quotes, cut after 80 bytes on a UTF-8
// boundary and marked "...", so a refusal names what was wrong without echoing a whole body.
// Shared by the Salesforce parsers (outbound messages, change events).
#include <cstddef>
#include <string>
#include <string_view>

namespace connector::salesforce::detail {

inline constexpr std::size_t max_quoted_bytes = 80;

inline std::string quote_input(std::string_view text) {
  std::string out = "\"";
  if (text.size() <= max_quoted_bytes) {
    out.append(text);
  } else {
    std::size_t cut = max_quoted_bytes;
    while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
    out.append(text.substr(0, cut)).append("...");
  }
  out += '"';
  return out;
}

}  // namespace connector::salesforce::detail

#include "connector/text/xml.hpp"

#include <cstdint>

namespace connector::text {

std::size_t find_unencodable_char_ref(std::string_view text) {
  for (std::size_t pos = text.find("&#"); pos != std::string_view::npos;
       pos = text.find("&#", pos + 2)) {
    std::size_t i = pos + 2;
    const bool hex = i < text.size() && text[i] == 'x';
    if (hex) ++i;
    std::uint32_t code_point = 0;
    bool too_big = false;
    std::size_t digits = 0;
    for (; i < text.size(); ++i, ++digits) {
      const char c = text[i];
      std::uint32_t digit = 0;
      if (c >= '0' && c <= '9') {
        digit = static_cast<std::uint32_t>(c - '0');
      } else if (hex && (c | 0x20) >= 'a' && (c | 0x20) <= 'f') {
        digit = static_cast<std::uint32_t>((c | 0x20) - 'a' + 10);
      } else {
        break;
      }
      code_point = code_point * (hex ? 16U : 10U) + digit;
      if (code_point > 0x10FFFF) {
        too_big = true;
        code_point = 0x110000;  // saturate: pugixml's own arithmetic would wrap around
      }
    }
    if (digits == 0 || i >= text.size() || text[i] != ';') continue;
    if (too_big || code_point == 0 || (code_point >= 0xD800 && code_point <= 0xDFFF)) return pos;
  }
  return std::string_view::npos;
}

}  // namespace connector::text

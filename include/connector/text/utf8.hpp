#pragma once
// UTF-8 as RFC 3629 defines it (no overlong forms, no surrogates, nothing above U+10FFFF),
// for text that comes from outside: checked before it is parsed, made printable before it
// reaches a log line or the operator's screen. Pure functions over bytes.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace connector::text {

struct utf8_char {
  std::uint32_t code_point = 0;
  std::size_t length = 0;  // bytes, 1 to 4
};

// The well-formed character that starts at text[at]; nullopt when the bytes there are not
// one (a stray continuation byte, an overlong form, a surrogate, a cut sequence, past the end).
std::optional<utf8_char> decode_utf8(std::string_view text, std::size_t at);

enum class nul_bytes { allowed, refused };

// Offset of the first byte that is not well-formed UTF-8 (with nul_bytes::refused, also of
// the first NUL: a C parser would stop there and silently drop the rest); npos when clean.
std::size_t find_invalid_utf8(std::string_view text, nul_bytes nul = nul_bytes::allowed);
inline bool is_valid_utf8(std::string_view text, nul_bytes nul = nul_bytes::allowed) {
  return find_invalid_utf8(text, nul) == std::string_view::npos;
}

struct printable_options {
  std::size_t max_chars = 300;  // code points kept; "..." marks a cut
  bool drop_tags = false;       // "<b>x</b>" reads "x": error pages arrive as HTML
};

// Remote text made safe for logs and the operator UI: invalid bytes, control and
// direction-changing characters (which could forge log lines or reorder what is displayed)
// become '?', runs of whitespace one space, at most `max_chars` code points.
std::string printable_text(std::string_view text, printable_options options = {});
inline std::string printable_text(std::string_view text, std::size_t max_chars) {
  return printable_text(text, printable_options{.max_chars = max_chars});
}

}  // namespace connector::text

#include "connector/text/utf8.hpp"

#include <cstring>

namespace connector::text {
namespace {

bool has_zero_byte(std::uint64_t word) {
  return ((word - 0x0101010101010101ULL) & ~word & 0x8080808080808080ULL) != 0;
}

bool is_space(std::uint32_t cp) {
  return cp == ' ' || cp == '\t' || cp == '\r' || cp == '\n' || cp == '\v' || cp == '\f';
}

// Code points that would let a remote body forge log lines or reorder displayed text.
bool is_unsafe_code_point(std::uint32_t cp) {
  return cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp <= 0x9F) || cp == 0x2028 || cp == 0x2029 ||
         (cp >= 0x200E && cp <= 0x200F) || (cp >= 0x202A && cp <= 0x202E) ||
         (cp >= 0x2066 && cp <= 0x2069);
}

}  // namespace

std::optional<utf8_char> decode_utf8(std::string_view text, std::size_t at) {
  if (at >= text.size()) return std::nullopt;
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char lead = byte(at);
  if (lead < 0x80) return utf8_char{lead, 1};
  std::size_t length = 0;
  std::uint32_t cp = 0;
  // The second byte's range rules out overlong forms (E0, F0), surrogates (ED) and code
  // points above U+10FFFF (F4); C0, C1 and F5-FF never start a character.
  unsigned char low = 0x80, high = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
    cp = lead & 0x1FU;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    cp = lead & 0x0FU;
    if (lead == 0xE0) low = 0xA0;
    if (lead == 0xED) high = 0x9F;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    cp = lead & 0x07U;
    if (lead == 0xF0) low = 0x90;
    if (lead == 0xF4) high = 0x8F;
  } else {
    return std::nullopt;
  }
  if (text.size() - at < length) return std::nullopt;
  for (std::size_t k = 1; k < length; ++k) {
    const unsigned char next = byte(at + k);
    if (next < (k == 1 ? low : 0x80) || next > (k == 1 ? high : 0xBF)) return std::nullopt;
    cp = (cp << 6) | (next & 0x3FU);
  }
  return utf8_char{cp, length};
}

std::size_t find_invalid_utf8(std::string_view text, nul_bytes nul) {
  const auto* bytes = reinterpret_cast<const unsigned char*>(text.data());
  const bool refuse_nul = nul == nul_bytes::refused;
  std::size_t i = 0;
  while (i < text.size()) {
    if (text.size() - i >= 8) {  // ASCII fast path: bodies are mostly ASCII markup
      std::uint64_t word;
      std::memcpy(&word, bytes + i, sizeof word);
      if ((word & 0x8080808080808080ULL) == 0 && !(refuse_nul && has_zero_byte(word))) {
        i += 8;
        continue;
      }
    }
    if (bytes[i] == 0 && refuse_nul) return i;
    const auto c = decode_utf8(text, i);
    if (!c) return i;
    i += c->length;
  }
  return std::string_view::npos;
}

std::string printable_text(std::string_view in, printable_options options) {
  std::string out;
  std::size_t chars = 0;
  bool pending_space = false;
  const auto put = [&](std::string_view piece) {
    if (pending_space && !out.empty()) {
      out += ' ';
      ++chars;
    }
    pending_space = false;
    out += piece;
    ++chars;
  };
  std::size_t i = 0;
  while (i < in.size() && chars < options.max_chars) {
    if (options.drop_tags && in[i] == '<') {
      const auto close = in.find('>', i);
      i = close == std::string_view::npos ? in.size() : close + 1;
      pending_space = true;
      continue;
    }
    const auto c = decode_utf8(in, i);
    if (!c) {
      put("?");
      ++i;
    } else {
      if (is_space(c->code_point)) {
        pending_space = true;
      } else {
        put(is_unsafe_code_point(c->code_point) ? "?" : in.substr(i, c->length));
      }
      i += c->length;
    }
  }
  if (i < in.size()) out += "...";
  return out;
}

}  // namespace connector::text

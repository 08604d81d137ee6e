#include "connector/salesforce/ids.hpp"

#include <array>
#include <cstddef>

namespace connector::salesforce {
namespace {

constexpr std::size_t short_id_length = 15;
constexpr std::size_t long_id_length = 18;

constexpr bool is_id_char(char c) {
  return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

// 15 or 18 characters of [A-Za-z0-9], whatever the suffix says.
bool has_id_shape(std::string_view id) {
  if (id.size() != short_id_length && id.size() != long_id_length) return false;
  for (char c : id) {
    if (!is_id_char(c)) return false;
  }
  return true;
}

// The case-insensitive suffix: one character per 5-character chunk of the 15-character id,
// bit i set when character i of the chunk is an upper-case letter (salesforce.md §A.2).
std::array<char, 3> checksum_suffix(std::string_view first15) {
  constexpr std::string_view alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345";
  std::array<char, 3> suffix{};
  for (std::size_t chunk = 0; chunk < suffix.size(); ++chunk) {
    unsigned flags = 0;
    for (std::size_t i = 0; i < 5; ++i) {
      const char c = first15[chunk * 5 + i];
      if (c >= 'A' && c <= 'Z') flags |= 1U << i;
    }
    suffix[chunk] = alphabet[flags];
  }
  return suffix;
}

}  // namespace

bool is_valid_id(std::string_view id) {
  if (!has_id_shape(id)) return false;
  if (id.size() == short_id_length) return true;
  const auto suffix = checksum_suffix(id.substr(0, short_id_length));
  return id.substr(short_id_length) == std::string_view(suffix.data(), suffix.size());
}

// Accepts an 18-character id whose suffix is wrong: public samples carry ids edited by hand
// (sample 01's "001d000001XD5XKAA2"), and the first 15 characters are what names the record,
// so the suffix is recomputed rather than trusted.
std::optional<std::string> to_18_char_id(std::string_view id) {
  if (!has_id_shape(id)) return std::nullopt;
  const std::string_view first15 = id.substr(0, short_id_length);
  const auto suffix = checksum_suffix(first15);
  std::string out;
  out.reserve(long_id_length);
  out.append(first15);
  out.append(suffix.data(), suffix.size());
  return out;
}

// Only well-formed ids are compared on their first 15 characters: anything else (placeholders,
// an 18-character id with a corrupted suffix) must match exactly, so a typo never aliases.
bool same_id(std::string_view a, std::string_view b) {
  if (is_valid_id(a) && is_valid_id(b)) {
    return a.substr(0, short_id_length) == b.substr(0, short_id_length);
  }
  return a == b;
}

}  // namespace connector::salesforce

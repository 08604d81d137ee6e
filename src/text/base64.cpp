#include "connector/text/base64.hpp"

#include <openssl/evp.h>

#include <array>
#include <climits>
#include <stdexcept>

namespace connector::text {
namespace {

constexpr std::string_view standard_alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// Each byte's value in the standard alphabet; -1 for everything else ('=' included).
constexpr std::array<signed char, 256> standard_values = [] {
  std::array<signed char, 256> values{};
  values.fill(-1);
  for (std::size_t i = 0; i < standard_alphabet.size(); ++i)
    values[static_cast<unsigned char>(standard_alphabet[i])] = static_cast<signed char>(i);
  return values;
}();

int value_of(char c) {
  return standard_values[static_cast<unsigned char>(c)];
}

// Unpadded standard-alphabet text to bytes. EVP_DecodeBlock alone would skip surrounding
// whitespace, accept '=' inside and ignore leftover bits, so the text is checked first.
std::optional<std::string> decode_unpadded(std::string_view text) {
  if (text.size() % 4 == 1 || text.size() > INT_MAX / 2) return std::nullopt;
  for (const char c : text)
    if (value_of(c) < 0) return std::nullopt;
  // The last character's bits past the final byte must be zero, or two texts decode alike.
  const std::size_t tail = text.size() % 4;
  if (tail != 0 && (value_of(text.back()) & (tail == 2 ? 0x0F : 0x03)) != 0) return std::nullopt;
  const std::size_t padding = tail == 0 ? 0 : 4 - tail;
  std::string padded(text);
  padded.append(padding, '=');
  std::string out(padded.size() / 4 * 3, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(padded.data()),
                                static_cast<int>(padded.size()));
  if (n < 0 || static_cast<std::size_t>(n) != out.size()) return std::nullopt;
  out.resize(out.size() - padding);  // EVP_DecodeBlock counts the padding as zero bytes
  return out;
}

}  // namespace

std::string base64_encode(std::string_view bytes) {
  if (bytes.size() > INT_MAX / 4 * 3 - 3) throw std::length_error("base64_encode: too long");
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');  // + the NUL it writes
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(bytes.data()),
                                static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
  std::size_t padding = 0;
  while (padding < text.size() && text[text.size() - 1 - padding] == '=') ++padding;
  if (padding > 0 && (padding > 2 || text.size() % 4 != 0)) return std::nullopt;
  return decode_unpadded(text.substr(0, text.size() - padding));
}

std::string base64url_encode(std::string_view bytes) {
  std::string out = base64_encode(bytes);
  while (!out.empty() && out.back() == '=') out.pop_back();
  for (auto& c : out) {
    if (c == '+') c = '-';
    if (c == '/') c = '_';
  }
  return out;
}

std::optional<std::string> base64url_decode(std::string_view text) {
  std::string standard(text);
  for (auto& c : standard) {
    // The standard alphabet's own '+' and '/' are not base64url: refused, not translated.
    if (c == '+' || c == '/') return std::nullopt;
    if (c == '-') c = '+';
    if (c == '_') c = '/';
  }
  return decode_unpadded(standard);
}

}  // namespace connector::text

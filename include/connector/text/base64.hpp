#pragma once
// Base64 (RFC 4648 §4) and base64url (§5) on OpenSSL's EVP_EncodeBlock/EVP_DecodeBlock.
// Decoding is strict, because what it reads are secrets and signatures: no whitespace, no
// characters outside the alphabet, no embedded '=' and no leftover bits (one text per value).
#include <optional>
#include <string>
#include <string_view>

namespace connector::text {

// Padded with '=' to a multiple of four characters.
std::string base64_encode(std::string_view bytes);
// Padding optional, but when present it must complete the last group of four.
std::optional<std::string> base64_decode(std::string_view text);

// The URL- and file-safe alphabet ('-', '_') without padding, as JWTs use it (RFC 7515 §2).
std::string base64url_encode(std::string_view bytes);
// Unpadded only (a JWT part with '=' is not one).
std::optional<std::string> base64url_decode(std::string_view text);

}  // namespace connector::text

#pragma once
// ASCII case folding, the way HTTP header names, media types, URL schemes and host names
// compare (and iSpring logins and e-mails): only A-Z fold, whatever the locale; other bytes,
// UTF-8 included, are left as they are.
#include <string>
#include <string_view>

namespace connector::text {

constexpr char ascii_lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}
std::string ascii_lower(std::string_view text);
bool iequals(std::string_view a, std::string_view b);
bool istarts_with(std::string_view text, std::string_view prefix);

}  // namespace connector::text

#include "text.hpp"

namespace connector::sync {
namespace {

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

}  // namespace

std::string_view trim(std::string_view text) {
  while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
  return text;
}

std::string quoted(std::string_view value) {
  return "'" + std::string(value) + "'";
}

bool same_field_value(std::string_view field, std::string_view current, std::string_view wanted) {
  if (field == "login" || field == "email") return iequals(current, wanted);
  return current == wanted;
}

}  // namespace connector::sync

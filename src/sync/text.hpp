#pragma once
// Text comparisons the sync rules share. iSpring treats logins, e-mails, department and
// group names as equal regardless of ASCII case (they are unique that way), so the sync
// compares them the same way: a case-only difference is not a change.
#include <string>
#include <string_view>

namespace connector::sync {

std::string_view trim(std::string_view text);
std::string ascii_lower(std::string_view text);
bool iequals(std::string_view a, std::string_view b);
// 'value' with quotes, for the sentences an operator reads.
std::string quoted(std::string_view value);

}  // namespace connector::sync

#pragma once
// Text comparisons the sync rules share. iSpring treats logins, e-mails, department and
// group names as equal regardless of ASCII case (they are unique that way), so the sync
// compares them the same way: a case-only difference is not a change.
#include <string>
#include <string_view>

#include "connector/text/ascii.hpp"

namespace connector::sync {

std::string_view trim(std::string_view text);
using text::ascii_lower;
using text::iequals;
// Is a profile field's value in iSpring (`current`) the one wanted? Logins and e-mails are
// unique in iSpring regardless of case; a case-only difference is not worth an update (and
// would loop if iSpring normalised the case).
bool same_field_value(std::string_view field, std::string_view current, std::string_view wanted);
// 'value' with quotes, for the sentences an operator reads.
std::string quoted(std::string_view value);

}  // namespace connector::sync

#pragma once
// What XML text must not hold before pugixml reads it (the Salesforce and iSpring parsers).
#include <cstddef>
#include <string_view>

namespace connector::text {

// pugixml decodes numeric character references unchecked: "&#0;" would cut a value short and
// "&#xD800;" or "&#x110000;" would put invalid UTF-8 into the result. Offset of the first such
// reference, or npos. Mirrors pugixml's syntax (lower-case x only; no ';' means plain text).
std::size_t find_unencodable_char_ref(std::string_view text);

}  // namespace connector::text

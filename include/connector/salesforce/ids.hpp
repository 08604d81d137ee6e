#pragma once
// Salesforce record ids: 15-character case-sensitive, or 18-character with a
// case-insensitive checksum suffix (reference salesforce.md §A.2).
#include <optional>
#include <string>
#include <string_view>

namespace connector::salesforce {

// True for 15 or 18 characters of [A-Za-z0-9] (and, for 18, a valid checksum suffix).
bool is_valid_id(std::string_view id);

// The 18-character form of a valid 15- or 18-character id; nullopt when `id` is not valid.
// For 18-character input the suffix is recomputed from the first 15 characters.
std::optional<std::string> to_18_char_id(std::string_view id);

// Same record: equal on the case-sensitive first 15 characters.
bool same_id(std::string_view a, std::string_view b);

}  // namespace connector::salesforce

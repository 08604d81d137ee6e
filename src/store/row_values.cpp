#include "row_values.hpp"

#include <algorithm>
#include <cassert>
#include <limits>

#include <nlohmann/json.hpp>

namespace connector::store {

// released: NULL-safe without coalesce's type (SQLite would give 0, PostgreSQL false).
const char* const record_columns =
    "organization_id, record_id, object_type, fields_json, modstamp, version, attempts, "
    "last_error, due_at, state, last_outcome, needs_reread, "
    "(released_version IS NOT NULL AND released_version = version)";

const char* const record_row_columns =
    "object_type, fields_json, modstamp, version, state, attempts, last_error, due_at, "
    "waiting_since, needs_reread";

record_state parse_state(const std::string& text) {
  for (auto state : {record_state::pending, record_state::retrying, record_state::done,
                     record_state::dead, record_state::held}) {
    if (text == to_string(state)) return state;
  }
  assert(false && "the CHECK constraint admits no other state");
  return record_state::pending;
}

std::int64_t as_limit(std::size_t limit) {
  return static_cast<std::int64_t>(
      std::min<std::size_t>(limit, std::numeric_limits<std::int64_t>::max()));
}

std::string counts_to_json(const std::map<std::string, std::int64_t>& counts) {
  return nlohmann::json(counts).dump();
}

std::map<std::string, std::int64_t> counts_from_json(const std::string& text) {
  std::map<std::string, std::int64_t> counts;
  const auto parsed = nlohmann::json::parse(text, nullptr, false);
  if (!parsed.is_object()) return counts;
  for (const auto& [key, value] : parsed.items()) {
    if (value.is_number_integer()) counts[key] = value.get<std::int64_t>();
  }
  return counts;
}

std::string sections_to_text(const std::vector<std::string>& sections) {
  std::string text;
  for (const auto& name : sections) text += (text.empty() ? "" : ",") + name;
  return text;
}

std::vector<std::string> sections_from_text(const std::string& text) {
  std::vector<std::string> sections;
  std::size_t start = 0;
  while (start < text.size()) {
    const auto comma = std::min(text.find(',', start), text.size());
    sections.push_back(text.substr(start, comma - start));
    start = comma + 1;
  }
  return sections;
}

}  // namespace connector::store

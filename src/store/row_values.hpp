#pragma once
// How both engines turn stored columns into values and back: a record's state, the run's
// counts, a limit. One definition each, so SQLite and PostgreSQL read their rows alike.
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "connector/store/types.hpp"

namespace connector::store {

// The stored text of a record_state (to_string's); the schemas' CHECK admits no other.
record_state parse_state(const std::string& text);

// A caller's limit as a bound SQL parameter (size_t beyond int64 means "all").
std::int64_t as_limit(std::size_t limit);

// Column lists both dialects spell alike. Whole statements stay each engine's own: SQLite
// numbers parameters ?1, PostgreSQL $1, and their writes differ where it matters (PostgreSQL
// takes a batch as array parameters, locks rows FOR UPDATE, claims with SKIP LOCKED).
//
// The columns a pending_record is read from, in this order, for SELECT and RETURNING lists:
// organization_id, record_id, object_type, fields_json, modstamp, version, attempts,
// last_error, due_at, state, last_outcome, needs_reread, released. Spelt so both dialects
// agree; each engine reads the booleans its way (SQLite 0/1, PostgreSQL t/f).
extern const char* const record_columns;
// The columns newest_wins rules over (record_row), in this order: object_type, fields_json,
// modstamp, version, state, attempts, last_error, due_at, waiting_since, needs_reread.
extern const char* const record_row_columns;

std::string counts_to_json(const std::map<std::string, std::int64_t>& counts);
// Written by counts_to_json only; anything else in the column reads as no counts.
std::map<std::string, std::int64_t> counts_from_json(const std::string& text);

// A settings revision's changed sections as stored: names joined by ',' (no section name
// holds one).
std::string sections_to_text(const std::vector<std::string>& sections);
std::vector<std::string> sections_from_text(const std::string& text);

}  // namespace connector::store

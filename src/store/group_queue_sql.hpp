#pragma once
// The group queue's statements that SQLite and PostgreSQL spell alike (group_queue.hpp): the
// stats status and the metrics read. The claims differ (SQLite's writer holds the whole file,
// PostgreSQL's writers meet on row locks), so each engine writes its own.
namespace connector::store::group_queue_sql {

// Users waiting, the groups they wait for, and the oldest addition's time.
inline constexpr const char* totals = R"sql(
SELECT COUNT(*), COUNT(DISTINCT group_id), MIN(queued_at) FROM group_additions)sql";

// Groups backing off after a failed replace that still have users waiting, and the error of
// the one due last.
inline constexpr const char* retrying = R"sql(
WITH backing_off AS (
  SELECT c.due_at, c.last_error FROM group_claims c
  WHERE c.attempts > 0
    AND EXISTS (SELECT 1 FROM group_additions a WHERE a.group_id = c.group_id))
SELECT (SELECT COUNT(*) FROM backing_off),
       (SELECT last_error FROM backing_off ORDER BY due_at DESC LIMIT 1))sql";

}  // namespace connector::store::group_queue_sql

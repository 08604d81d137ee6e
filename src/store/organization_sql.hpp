#pragma once
// The organization binding's statements (organization_binding.hpp), the same SQL on both
// engines in SQLite's placeholders (postgres_sql turns ?N into $N). One row, named 'ispring'.
namespace connector::store::organization_sql {

inline constexpr const char* bound =
    "SELECT identity, bound_at FROM organization_binding WHERE name = 'ispring'";

inline constexpr const char* state = R"sql(
SELECT (SELECT count(*) FROM links), (SELECT count(*) FROM department_links),
       (SELECT count(*) FROM group_additions),
       (SELECT count(*) FROM records WHERE state = 'held'),
       (SELECT count(*) FROM records WHERE state = 'dead'))sql";

// ?1 identity, ?2 now.
inline constexpr const char* bind_if_unbound = R"sql(
INSERT INTO organization_binding (name, identity, bound_at) VALUES ('ispring', ?1, ?2)
ON CONFLICT (name) DO NOTHING
RETURNING name)sql";

inline constexpr const char* rebind = R"sql(
INSERT INTO organization_binding (name, identity, bound_at) VALUES ('ispring', ?1, ?2)
ON CONFLICT (name) DO UPDATE SET identity = excluded.identity, bound_at = excluded.bound_at)sql";

inline constexpr const char* links =
    "SELECT organization_id, record_id, ispring_user_id FROM links";

// What a reset forgets: every statement runs in the reset's one transaction.
inline constexpr const char* forget[] = {"DELETE FROM links", "DELETE FROM department_links",
                                         "DELETE FROM group_additions", "DELETE FROM group_claims"};

// Held and dead records are Salesforce's state: applied again, to the new organization. A
// held one is released as `release_held` releases it (the hour's limit let it through).
// ?1 now.
inline constexpr const char* requeue = R"sql(
UPDATE records SET state = 'pending', attempts = 0, due_at = ?1, waiting_since = ?1,
  released_version = CASE WHEN state = 'held' THEN version ELSE released_version END
WHERE state IN ('held', 'dead'))sql";

}  // namespace connector::store::organization_sql

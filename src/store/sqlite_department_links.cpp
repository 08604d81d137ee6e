#include "sqlite_department_links.hpp"

namespace connector::store {
namespace {

using run = sqlite_statement::run;

department_link read_link(run& row) {
  return {row.text(0), row.text(1), row.text(2)};
}

}  // namespace

department_link_writes::department_link_writes(const sqlite_connection& db)
    // The key's spelling follows the newest writer: a key matched ignoring case keeps one row.
    : upsert(db, R"sql(
INSERT INTO department_links
  (organization_id, department_key, ispring_department_id, ispring_name, linked_at)
VALUES (?1, ?2, ?3, ?4, ?5)
ON CONFLICT (organization_id, department_key) DO UPDATE SET
  department_key = excluded.department_key,
  ispring_department_id = excluded.ispring_department_id,
  ispring_name = excluded.ispring_name, linked_at = excluded.linked_at
WHERE department_links.ispring_department_id <> excluded.ispring_department_id
   OR department_links.ispring_name <> excluded.ispring_name
   OR department_links.department_key <> excluded.department_key COLLATE BINARY)sql",
             "store department link"),
      remove_by_department(db, R"sql(
DELETE FROM department_links WHERE organization_id = ?1 AND ispring_department_id = ?2)sql",
                           "remove department links") {}

void department_link_writes::set(const std::string& organization_id,
                                 const std::vector<department_link>& links, epoch_ms now) {
  for (const auto& link : links)
    run(upsert)
        .bind(1, organization_id)
        .bind(2, link.key)
        .bind(3, link.department_id)
        .bind(4, link.name)
        .bind(5, now)
        .execute();
}

void department_link_writes::remove(const std::string& organization_id,
                                    const std::vector<std::string>& department_ids) {
  for (const auto& id : department_ids)
    run(remove_by_department).bind(1, organization_id).bind(2, id).execute();
}

department_link_reads::department_link_reads(const sqlite_connection& db)
    : list_links(db, R"sql(
SELECT department_key, ispring_department_id, ispring_name FROM department_links
WHERE organization_id = ?1 ORDER BY department_key)sql",
                 "list department links"),
      find_link(db, R"sql(
SELECT department_key, ispring_department_id, ispring_name FROM department_links
WHERE organization_id = ?1 AND department_key = ?2)sql",
                "select department link") {}

std::vector<department_link> department_link_reads::list(const std::string& organization_id) {
  std::vector<department_link> links;
  run rows(list_links);
  rows.bind(1, organization_id);
  while (rows.step()) links.push_back(read_link(rows));
  return links;
}

std::optional<department_link> department_link_reads::find(const std::string& organization_id,
                                                           const std::string& key) {
  run row(find_link);
  row.bind(1, organization_id).bind(2, key);
  if (!row.step()) return std::nullopt;
  return read_link(row);
}

}  // namespace connector::store

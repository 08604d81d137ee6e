#pragma once
// Department links in SQLite (types.hpp department_link): their statements, apart from the
// inbox's, prepared on a connection that sees schema version 7 or later.
#include <string>
#include <vector>

#include "connector/clock.hpp"
#include "connector/store/sqlite.hpp"
#include "connector/store/types.hpp"

namespace connector::store {

// On the writer's connection, inside its transaction.
struct department_link_writes {
  explicit department_link_writes(const sqlite_connection& db);
  void set(const std::string& organization_id, const std::vector<department_link>& links,
           epoch_ms now);
  void remove(const std::string& organization_id, const std::vector<std::string>& department_ids);

  sqlite_statement upsert, remove_by_department;
};

// On a reading connection; the caller serialises.
struct department_link_reads {
  explicit department_link_reads(const sqlite_connection& db);
  std::vector<department_link> list(const std::string& organization_id);
  std::optional<department_link> find(const std::string& organization_id, const std::string& key);

  sqlite_statement list_links, find_link;
};

}  // namespace connector::store

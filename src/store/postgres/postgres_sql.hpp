#pragma once
// A statement of shared_sql.hpp in PostgreSQL's placeholders: ?N becomes $N. The shared
// statements hold no '?' of their own (no string literal, no JSON operator).
#include <cctype>
#include <string>
#include <string_view>

namespace connector::store {

inline std::string postgres_sql(std::string_view sqlite_sql) {
  std::string sql(sqlite_sql);
  for (std::size_t i = 0; i + 1 < sql.size(); ++i) {
    if (sql[i] == '?' && std::isdigit(static_cast<unsigned char>(sql[i + 1]))) sql[i] = '$';
  }
  return sql;
}

}  // namespace connector::store

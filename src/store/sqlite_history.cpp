#include "sqlite_history.hpp"

#include <algorithm>
#include <optional>
#include <vector>

namespace connector::store {

namespace {

// Events in one staged row (stage): the writer moves whole rows, so this bounds a busy step.
constexpr std::int64_t staged_row_events = 200;
// Users whose cap pruning looks at per step.
constexpr std::size_t users_per_step = 200;

std::size_t changes(const sqlite_connection& db) {
  return static_cast<std::size_t>(sqlite3_changes(db.handle()));
}

}  // namespace

void append_json_string(std::string& out, std::string_view text) {
  static constexpr char hex[] = "0123456789abcdef";
  out += '"';
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20) {
      out += "\\u00";
      out += hex[u >> 4];
      out += hex[u & 0xf];
    } else {
      out += c;
    }
  }
  out += '"';
}

sqlite_history::sqlite_history(const sqlite_connection& db, write_statements& write,
                               std::int64_t retention_ms, std::size_t max_events_per_user)
    : db_(db), write_(write), retention_ms_(retention_ms), cap_(as_limit(max_events_per_user)) {
  resume_sequence();
}

void sqlite_history::resume_sequence() {
  run row(write_.max_history_id);
  if (row.step()) next_id_ = row.int64(0) + 1;
}

void sqlite_history::insert(const std::string& organization_id, const std::string& record_id,
                            epoch_ms time, std::string_view kind, std::string_view details) {
  run(write_.insert_history)
      .bind(1, next_id_++)
      .bind(2, organization_id)
      .bind(3, record_id)
      .bind(4, time)
      .bind(5, kind)
      .bind(6, details)
      .execute();
  if (cap_ > 0) touched_.emplace(organization_id, record_id);
}

void sqlite_history::stage(const std::string& organization_id, epoch_ms time,
                           const std::string& record_id, const char* kind,
                           std::string_view details) {
  // Rows of at most staged_row_events: the writer moves whole rows while intake is busy.
  if (staged_count_ > 0 &&
      (organization_id != staged_organization_ || staged_count_ >= staged_row_events))
    flush_staged();
  if (staged_count_ == 0) {
    staged_organization_ = organization_id;
    staged_time_ = time;
  }
  staged_ += staged_count_++ == 0 ? R"([{"record_id":)" : R"(,{"record_id":)";
  append_json_string(staged_, record_id);
  staged_ += R"(,"time":)";
  staged_ += std::to_string(time);
  staged_ += R"(,"kind":")";
  staged_ += kind;
  staged_ += R"(","details":)";
  staged_ += details;
  staged_ += '}';
}

// One row for the staged events (see user_history_new): one insert per group commit (and
// organization), not per request.
void sqlite_history::flush_staged() {
  if (staged_count_ == 0) return;
  staged_ += ']';
  run(write_.insert_new_history)
      .bind(1, next_id_)
      .bind(2, staged_organization_)
      .bind(3, std::string_view(""))  // several users: see the events
      .bind(4, staged_time_)
      .bind(5, std::string_view("intake"))
      .bind(6, staged_)
      .execute();
  next_id_ += staged_count_;
  drop_staged();
}

void sqlite_history::drop_staged() {
  staged_.clear();
  staged_count_ = 0;
}

std::size_t sqlite_history::move_staged(std::size_t max_events) {
  std::vector<history_event> events;
  std::optional<std::int64_t> last;
  {
    run rows(write_.select_new_history);
    rows.bind(1, as_limit(max_events));
    while (events.size() < max_events && rows.step()) {
      last = rows.int64(0);
      for (auto& e : staged_events(rows.int64(0), rows.text(1), rows.int64(2), rows.text(3)))
        events.push_back(std::move(e));
    }
  }
  if (!last) return 0;
  for (const auto& e : events) {
    run(write_.insert_history)
        .bind(1, e.id)
        .bind(2, e.organization_id)
        .bind(3, e.record_id)
        .bind(4, e.time)
        .bind(5, e.kind)
        .bind(6, e.details_json)
        .execute();
    if (cap_ > 0) touched_.emplace(e.organization_id, e.record_id);
  }
  run(write_.delete_new_history).bind(1, *last).execute();
  return std::max<std::size_t>(events.size(), 1);  // a row of events all unreadable: 1
}

std::size_t sqlite_history::prune(epoch_ms now, std::size_t max_rows) {
  std::size_t removed = 0;
  if (retention_ms_ > 0) {
    run(write_.prune_old_history)
        .bind(1, now - retention_ms_)
        .bind(2, as_limit(max_rows))
        .execute();
    removed += changes(db_);
  }
  // Users who gained events since the last look, a bounded number per step.
  for (std::size_t looked = 0; looked < users_per_step && removed < max_rows && !touched_.empty();
       ++looked) {
    const auto user = touched_.extract(touched_.begin()).value();
    run(write_.prune_user_history)
        .bind(1, user.first)
        .bind(2, user.second)
        .bind(3, cap_)
        .bind(4, as_limit(max_rows - removed))
        .execute();
    removed += changes(db_);
  }
  return removed;
}

}  // namespace connector::store

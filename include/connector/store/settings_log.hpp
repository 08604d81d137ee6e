#pragma once
// Settings edited in the page (design.md "Settings edited in the page"): what the seed's
// tabs hold, kept as numbered revisions 1, 2, 3… Each revision holds the whole set (so one
// revision reads alone and a restore is a copy), who saved it (the admin token's name),
// when, and which sections it changed.
//
// A save is a compare-and-set: revision R+1 is written only while R is the newest, so two
// administrators (or two instances on one PostgreSQL) editing from R cannot both win; the
// second is told its revision is stale. The log has a connection of its own beside the
// store's writer: saves are rare, and the service polls current_revision() often and cheaply.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "connector/clock.hpp"
#include "connector/store/open.hpp"

namespace connector::store {

struct settings_revision {
  std::int64_t revision = 0;
  epoch_ms saved_at = 0;
  std::string saved_by;               // the admin token's name, "cli", …
  std::vector<std::string> sections;  // the sections this revision changed
  std::string settings_json;          // the whole set: {"mapping": …, "schedule": …}
};

class settings_log {
 public:
  virtual ~settings_log() = default;

  // The newest revision's number; 0 before the first save.
  virtual std::int64_t current_revision() = 0;
  // One revision, with its content; nullopt when there is no such revision.
  virtual std::optional<settings_revision> read_revision(std::int64_t revision) = 0;
  // Newest first, at most `limit`, without settings_json.
  virtual std::vector<settings_revision> list_revisions(std::size_t limit) = 0;
  // Saves `next` (its revision field ignored) as revision `expected` + 1 when `expected` is
  // the newest revision now; returns the new revision, or nullopt when `expected` is stale
  // (nothing is written then).
  virtual std::optional<std::int64_t> save_revision(std::int64_t expected,
                                                    const settings_revision& next) = 0;
};

// Opens the settings log of the store `settings` locates, on a connection of its own. The
// store must have been opened (and so migrated) by open_store first. Throws
// std::runtime_error naming the engine (never the PostgreSQL password) when it cannot.
std::unique_ptr<settings_log> open_settings_log(const store_settings& settings);

}  // namespace connector::store

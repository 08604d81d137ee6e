#pragma once
// Settings edited in the admin page (design.md "Settings edited in the page"), over the
// store's settings log: the effective settings (the file's sections where it sets them, else
// the newest revision's, else defaults), the saves of the admin API and `connector
// settings` with their rules (If-Match, file-managed, validation exactly as the file's), and
// the poll that brings a revision saved by another instance to this one.
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "connector/clock.hpp"
#include "connector/config/config.hpp"
#include "connector/expected.hpp"
#include "connector/store/settings_log.hpp"
#include "connector/sync/settings_snapshot.hpp"

namespace connector::app {

// The editable sections of `settings` as JSON the config reader reads back to the same
// values (the page's forms, export).
nlohmann::json editable_to_json(const config::settings& settings);
// One of them by name ("alerts.email_to": the list of addresses).
nlohmann::json section_to_json(const config::settings& settings, const std::string& section);

bool is_editable_section(const std::string& name);

// A save's answer, as the admin API gives it: 200 with the revision, or the status and why.
struct save_outcome {
  int status = 200;  // 200, 400 (invalid: key names it), 404, 409 (stale, file-managed), 428
  std::string error;
  std::string key;
  std::int64_t revision = 0;  // the newest revision after the save
  bool saved = false;         // false on 200 when the value was already the stored one
};

class live_settings {
 public:
  // `file` as load_file returned it; `log` and `time` must outlive this. Reads the newest
  // revision; throws std::runtime_error naming the revision and the key when it does not
  // validate against this file (a start-up stops on it), unless `lenient` (the CLI, which
  // must still be able to save a revision that fixes it): then the file and defaults apply.
  live_settings(config::settings file, store::settings_log& log, const clock& time,
                bool lenient = false);
  ~live_settings();
  live_settings(const live_settings&) = delete;
  live_settings& operator=(const live_settings&) = delete;

  sync::settings_snapshot current() const;
  sync::settings_source source() const;
  const config::settings& file() const { return file_; }
  // The newest revision's set as stored ({} before the first).
  nlohmann::json stored() const;

  // Sets one section from `value` when `if_match` (the revision the editor started from; none:
  // 428) is the newest. Validated as the file would be; nothing saved on any error.
  save_outcome save_section(const std::string& section, const nlohmann::json& value,
                            std::optional<std::int64_t> if_match, const std::string& who);
  // What the settings would be with `sections` (one or more page-managed sections, e.g.
  // {"sync": …}) in place of the newest revision's, checked exactly as a save would be (400
  // naming the key, 409 for a file-managed section), nothing saved: the Sync preview runs on
  // it. The snapshot's revision is the one it is based on.
  expected<sync::settings_snapshot, save_outcome> candidate(const nlohmann::json& sections);
  // A new revision with revision `old`'s content (its page-managed sections).
  save_outcome restore(std::int64_t old, std::optional<std::int64_t> if_match,
                       const std::string& who);
  // The whole set at once (import): every section given, none file-managed.
  save_outcome save_all(const nlohmann::json& sections, std::optional<std::int64_t> if_match,
                        const std::string& who);

  // The log's revisions (newest first, without content) and one with its content.
  std::vector<store::settings_revision> list_revisions(std::size_t limit);
  std::optional<store::settings_revision> read_revision(std::int64_t revision);

  // Reads the newest revision when it changed: true when a new one applies now. A revision
  // that no longer validates against the file is logged and left out (the last good one
  // stays).
  bool refresh();
  // Runs `on_change` (on the poll thread or the saver's) after each new revision applies.
  void on_change(std::function<void(const sync::settings_snapshot&)> listener);
  // Polls the log every `interval_ms` on a thread of its own, for revisions other instances
  // (or the CLI) save.
  void start_polling(int interval_ms);
  void stop_polling();

 private:
  // Why `section` cannot be saved here (unknown, file-managed, alerts without smtp).
  std::optional<save_outcome> section_refusal(const std::string& section) const;
  save_outcome replace_page_sections(const nlohmann::json& content, std::int64_t newest,
                                     const std::string& who);
  save_outcome save_set(nlohmann::json next, const std::vector<std::string>& changed,
                        std::int64_t from, const std::string& who);
  void apply(std::int64_t revision, nlohmann::json stored,
             std::shared_ptr<const config::settings> effective);

  const config::settings file_;
  store::settings_log& log_;
  const clock& time_;
  mutable std::mutex mutex_;
  std::mutex log_mutex_;  // the log's connection is one thread's at a time
  sync::settings_snapshot current_;
  nlohmann::json stored_ = nlohmann::json::object();
  std::atomic<std::int64_t> refused_revision_{0};  // logged once, not at every poll
  std::vector<std::function<void(const sync::settings_snapshot&)>> listeners_;
  std::mutex poll_mutex_;
  std::condition_variable poll_wake_;
  bool polling_stop_ = false;
  std::thread poller_;
};

}  // namespace connector::app

#pragma once
// Logs: one JSON object per line on stderr (time, level, event, record_id, run_id, message
// and the fields of the work in progress), or plain text. spdlog does the writing; this
// adds what a log search needs: a stable event name per kind of line, and the record or run
// the line is about without repeating it at every call.
//
//   log::scope user("record_id", record.record_id);  // every line of this thread, until the
//                                                    // scope ends, carries the record id
//   log::info("user.applied", "user {}: {}", id, outcome);
//
// Lines logged straight through spdlog still work; their event is "log".
#include <spdlog/spdlog.h>

#include <memory>
#include <string>
#include <string_view>
#include <utility>

namespace connector::log {

// Adds `key: value` to every line this thread logs while the scope lives; scopes nest, and
// an inner scope with the same key hides the outer one. Keys are plain identifiers.
class scope {
 public:
  scope(std::string key, std::string value);
  ~scope();
  scope(const scope&) = delete;
  scope& operator=(const scope&) = delete;
};

namespace detail {
// Names the event of the next line this thread logs (reset after the line).
class event_name {
 public:
  explicit event_name(std::string_view name);
  ~event_name();
  event_name(const event_name&) = delete;
  event_name& operator=(const event_name&) = delete;
};
}  // namespace detail

template <typename... Args>
void write(spdlog::level::level_enum level, std::string_view event,
           spdlog::format_string_t<Args...> format, Args&&... args) {
  if (!spdlog::should_log(level)) return;
  detail::event_name name(event);
  spdlog::log(level, format, std::forward<Args>(args)...);
}

template <typename... Args>
void debug(std::string_view event, spdlog::format_string_t<Args...> format, Args&&... args) {
  write(spdlog::level::debug, event, format, std::forward<Args>(args)...);
}
template <typename... Args>
void info(std::string_view event, spdlog::format_string_t<Args...> format, Args&&... args) {
  write(spdlog::level::info, event, format, std::forward<Args>(args)...);
}
template <typename... Args>
void warn(std::string_view event, spdlog::format_string_t<Args...> format, Args&&... args) {
  write(spdlog::level::warn, event, format, std::forward<Args>(args)...);
}
template <typename... Args>
void error(std::string_view event, spdlog::format_string_t<Args...> format, Args&&... args) {
  write(spdlog::level::err, event, format, std::forward<Args>(args)...);
}

// Installs the default logger: `format` is "json", "text" or "" (text when stderr is a
// terminal, JSON otherwise), `level` one of trace, debug,
// info, warn, error (anything else: info). `sink` defaults to stderr (tests pass their own).
void configure(const std::string& level, const std::string& format,
               std::shared_ptr<spdlog::sinks::sink> sink = {});

}  // namespace connector::log

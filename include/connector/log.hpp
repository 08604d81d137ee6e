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
// Lines logged straight through spdlog still work; their event is "log". Only log.cpp
// includes spdlog.
#include <fmt/core.h>

#include <memory>
#include <string>
#include <string_view>
#include <utility>

namespace spdlog::sinks {
class sink;
}

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

enum class level { trace, debug, info, warn, error, critical };

// Whether a line of `lvl` would be written (the configured level).
bool enabled(level lvl);

// Formats and writes one line. The templates below check the format string at compile time
// and pass their arguments type-erased, so a file that logs compiles fmt's small core only,
// not spdlog's templates (the service's build time: issue 18).
void vwrite(level lvl, std::string_view event, fmt::string_view format, fmt::format_args args);

template <typename... Args>
void write(level lvl, std::string_view event, fmt::format_string<Args...> format, Args&&... args) {
  if (enabled(lvl)) vwrite(lvl, event, format, fmt::make_format_args(args...));
}

template <typename... Args>
void debug(std::string_view event, fmt::format_string<Args...> format, Args&&... args) {
  write(level::debug, event, format, std::forward<Args>(args)...);
}
template <typename... Args>
void info(std::string_view event, fmt::format_string<Args...> format, Args&&... args) {
  write(level::info, event, format, std::forward<Args>(args)...);
}
template <typename... Args>
void warn(std::string_view event, fmt::format_string<Args...> format, Args&&... args) {
  write(level::warn, event, format, std::forward<Args>(args)...);
}
template <typename... Args>
void error(std::string_view event, fmt::format_string<Args...> format, Args&&... args) {
  write(level::error, event, format, std::forward<Args>(args)...);
}

// Installs the default logger: `format` is "json", "text" or "" (text when stderr is a
// terminal, JSON otherwise), `level` one of trace, debug,
// info, warn, error (anything else: info). `sink` defaults to stderr (tests pass their own).
void configure(const std::string& level, const std::string& format,
               std::shared_ptr<spdlog::sinks::sink> sink = {});

}  // namespace connector::log

#include "connector/log.hpp"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <iterator>
#include <nlohmann/json.hpp>
#include <vector>

namespace connector::log {
namespace {

struct thread_context {
  std::vector<std::pair<std::string, std::string>> fields;  // outermost first
  std::string event;
};

thread_context& context() {
  thread_local thread_context c;
  return c;
}

// The inside of a JSON string: a quote or a newline in a message (an error text from a
// remote service) cannot break the line's JSON.
void append_json_string(std::string_view text, spdlog::memory_buf_t& dest) {
  const std::string quoted = nlohmann::json(std::string(text))
                                 .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  dest.append(quoted.data() + 1, quoted.data() + quoted.size() - 1);
}

// The innermost value of each key, in the order the keys were first set.
std::vector<std::pair<std::string_view, std::string_view>> visible_fields() {
  std::vector<std::pair<std::string_view, std::string_view>> out;
  for (const auto& [key, value] : context().fields) {
    auto it = std::find_if(out.begin(), out.end(), [&](const auto& f) { return f.first == key; });
    if (it == out.end()) {
      out.emplace_back(key, value);
    } else {
      it->second = value;
    }
  }
  return out;
}

std::string_view current_event() {
  const auto& event = context().event;
  return event.empty() ? std::string_view("log") : std::string_view(event);
}

// `%*`: the message, JSON-escaped.
class json_message_flag final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    append_json_string(std::string_view(msg.payload.data(), msg.payload.size()), dest);
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<json_message_flag>();
  }
};

// `%&`: `"event":"…"` and the scope's fields as JSON members, each followed by a comma.
class json_context_flag final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg&, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    append("event", current_event(), dest);
    for (const auto& [key, value] : visible_fields()) append(key, value, dest);
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<json_context_flag>();
  }

 private:
  static void append(std::string_view key, std::string_view value, spdlog::memory_buf_t& dest) {
    dest.push_back('"');
    append_json_string(key, dest);
    dest.append(std::string_view("\":\""));
    append_json_string(value, dest);
    dest.append(std::string_view("\","));
  }
};

// `%&` in text: " [event]" for named events, then " key=value" per field at the end.
class text_event_flag final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg&, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    if (context().event.empty()) return;
    dest.append(std::string_view(" ["));
    dest.append(std::string_view(context().event));
    dest.push_back(']');
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<text_event_flag>();
  }
};

class text_fields_flag final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg&, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    for (const auto& [key, value] : visible_fields()) {
      dest.push_back(' ');
      dest.append(key);
      dest.push_back('=');
      dest.append(value);
    }
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<text_fields_flag>();
  }
};

}  // namespace

scope::scope(std::string key, std::string value) {
  context().fields.emplace_back(std::move(key), std::move(value));
}

scope::~scope() {
  context().fields.pop_back();
}

namespace {

spdlog::level::level_enum to_spdlog(level lvl) {
  switch (lvl) {
    case level::trace:
      return spdlog::level::trace;
    case level::debug:
      return spdlog::level::debug;
    case level::info:
      return spdlog::level::info;
    case level::warn:
      return spdlog::level::warn;
    case level::error:
      return spdlog::level::err;
    case level::critical:
      return spdlog::level::critical;
  }
  return spdlog::level::info;
}

// Names the event of the line being written (reset after it).
class event_name {
 public:
  explicit event_name(std::string_view name) { context().event.assign(name); }
  ~event_name() { context().event.clear(); }
  event_name(const event_name&) = delete;
  event_name& operator=(const event_name&) = delete;
};

}  // namespace

bool enabled(level lvl) {
  return spdlog::should_log(to_spdlog(lvl));
}

void vwrite(level lvl, std::string_view event, fmt::string_view format, fmt::format_args args) {
  fmt::memory_buffer text;
  fmt::vformat_to(std::back_inserter(text), format, args);
  event_name name(event);
  spdlog::default_logger_raw()->log(to_spdlog(lvl),
                                    spdlog::string_view_t(text.data(), text.size()));
}

void configure(const std::string& level, const std::string& format,
               std::shared_ptr<spdlog::sinks::sink> sink) {
  if (!sink) sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
  spdlog::drop("connector");
  auto logger = std::make_shared<spdlog::logger>("connector", std::move(sink));
  auto formatter = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
  // Not configured: people read a terminal, programs read everything else.
  const bool json = format == "json" || (format.empty() && ::isatty(STDERR_FILENO) == 0);
  if (json) {
    formatter->add_flag<json_message_flag>('*').add_flag<json_context_flag>('&').set_pattern(
        R"({"time":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l",%&"message":"%*"})");
  } else {
    formatter->add_flag<text_event_flag>('&').add_flag<text_fields_flag>('~').set_pattern(
        "%Y-%m-%dT%H:%M:%S.%eZ %l%& %v%~");
  }
  logger->set_formatter(std::move(formatter));
  logger->set_level(spdlog::level::from_str(level));
  spdlog::set_default_logger(std::move(logger));
}

}  // namespace connector::log

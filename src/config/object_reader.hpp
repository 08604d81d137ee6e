#pragma once
// Typed, key-naming access to one JSON object of the config file. Every read checks the
// type and the value and, when they are wrong, stops loading with an error that names the
// full dotted key; construction refuses keys the section does not know.
#include <cstdint>
#include <filesystem>
#include <initializer_list>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "connector/config/config.hpp"

namespace connector::config::detail {

// Thrown by the readers and turned into the config_error that load_text returns, so that
// each section reads as a plain list of keys instead of a chain of error checks.
struct load_failure : std::runtime_error {
  explicit load_failure(config_error e) : std::runtime_error("config error"), error(std::move(e)) {}
  config_error error;
};

[[noreturn]] void fail(std::string key, std::string message);

// "server" + "tls" -> "server.tls"; names that are not plain words are quoted:
// "sync.departments" + "R&D" -> `sync.departments["R&D"]`.
std::string child_key(std::string_view parent, std::string_view name);
// "server.events_signing_secrets" + 0 -> "server.events_signing_secrets[0]".
std::string element_key(std::string_view parent, std::size_t index);

// `text` in double quotes, JSON-escaped, for messages: control characters cannot garble
// a log line.
std::string in_quotes(std::string_view text);

// "a string", "an array", ...: for "expected X, got Y" without echoing the value.
std::string json_type_name(const nlohmann::json& value);

// The entry of `known` that `typo` most likely misspells, if any.
std::optional<std::string> closest_match(std::string_view typo,
                                         const std::vector<std::string_view>& known);

// The largest value of Int that an int64_t holds: the default upper bound of a read.
template <class Int>
constexpr std::int64_t largest() {
  if constexpr (sizeof(Int) >= sizeof(std::int64_t)) {
    return std::numeric_limits<std::int64_t>::max();
  } else {
    return static_cast<std::int64_t>(std::numeric_limits<Int>::max());
  }
}

struct load_context {
  std::filesystem::path base_dir;  // absolute: relative paths in the file start here
};

// `path` made absolute against the config file's directory, lexically normalised.
std::string resolve_path(const load_context& context, const std::string& path);

// Fails naming `key` unless `path` is a readable regular file.
void check_readable_file(const std::string& path, const std::string& key);

// The content of a regular file of at most 1 MiB (a config file or a secret); fails
// naming `key` with "cannot read <what><path>: <reason>".
std::string read_small_file(const std::string& path, const std::string& key,
                            std::string_view what = "");

// A string value; fails naming `key` otherwise.
const std::string& expect_string(const nlohmann::json& value, const std::string& key,
                                 std::string_view expected = "a string");

// A literal, "env:NAME" or "file:PATH" secret, resolved. Errors never contain the value.
secret resolve_secret(const load_context& context, const nlohmann::json& value,
                      const std::string& key);

class object_reader {
 public:
  // Fails unless `value` is an object whose keys are all among `known_keys`.
  object_reader(const load_context& context, const nlohmann::json& value, std::string key,
                std::initializer_list<std::string_view> known_keys);

  const std::string& key() const { return key_; }
  std::string key_of(std::string_view name) const { return child_key(key_, name); }
  const load_context& context() const { return *context_; }

  // The value of `name`, or nullptr when it is absent or null: null means "not set".
  const nlohmann::json* find(std::string_view name) const;
  bool has(std::string_view name) const { return find(name) != nullptr; }

  std::optional<object_reader> object(std::string_view name,
                                      std::initializer_list<std::string_view> known_keys) const;
  // Any string, "" included.
  std::optional<std::string> string(std::string_view name) const;
  // A string that is not empty.
  std::optional<std::string> text(std::string_view name) const;
  std::string required_text(std::string_view name) const;
  // One of `allowed`.
  std::optional<std::string> choice(std::string_view name,
                                    std::initializer_list<std::string_view> allowed) const;
  std::optional<bool> boolean(std::string_view name) const;
  std::optional<std::int64_t> integer(std::string_view name, std::int64_t min,
                                      std::int64_t max) const;
  // An array of non-empty strings.
  std::optional<std::vector<std::string>> text_list(std::string_view name) const;
  std::optional<secret> secret_value(std::string_view name) const;
  // A path, resolved against the config file's directory; readable_file also checks it.
  std::optional<std::string> path(std::string_view name) const;
  std::optional<std::string> readable_file(std::string_view name) const;

  // Overwrite `out` (which holds the default) when `name` is set.
  void read_text(std::string_view name, std::string& out) const;
  void read_boolean(std::string_view name, bool& out) const;
  template <class Int>
  void read_integer(std::string_view name, Int& out, std::int64_t min,
                    std::int64_t max = largest<Int>()) const {
    if (auto value = integer(name, min, max)) out = static_cast<Int>(*value);
  }

 private:
  const load_context* context_;
  const nlohmann::json* value_;
  std::string key_;
};

}  // namespace connector::config::detail

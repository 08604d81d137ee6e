#include "object_reader.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "connector/text/ascii.hpp"

namespace connector::config::detail {
namespace {

using nlohmann::json;

bool is_plain_name(std::string_view name) {
  return name == "*" ||
         (!name.empty() && std::all_of(name.begin(), name.end(), [](unsigned char c) {
           return std::isalnum(c) || c == '_' || c == '-';
         }));
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

// Opens `path` for reading and checks that it is a regular file, not a directory or a
// device that never ends (O_NONBLOCK: opening a FIFO must not hang start-up); fails
// naming `key`.
int open_regular_file(const std::string& path, const std::string& key, std::string_view what) {
  const auto cannot_read = "cannot read " + std::string(what) + path + ": ";
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) fail(key, cannot_read + std::strerror(errno));
  struct stat info {};
  if (::fstat(fd, &info) != 0 || !S_ISREG(info.st_mode)) {
    ::close(fd);
    fail(key, cannot_read + "not a regular file");
  }
  return fd;
}

bool is_env_name(std::string_view name) {
  return !name.empty() && !std::isdigit(static_cast<unsigned char>(name.front())) &&
         std::all_of(name.begin(), name.end(),
                     [](unsigned char c) { return std::isalnum(c) || c == '_'; });
}

}  // namespace

void fail(std::string key, std::string message) {
  throw load_failure(config_error{std::move(key), std::move(message)});
}

std::string child_key(std::string_view parent, std::string_view name) {
  std::string result(parent);
  if (is_plain_name(name)) {
    if (!result.empty()) result += '.';
    result += name;
  } else {
    result += "[" + in_quotes(name) + "]";
  }
  return result;
}

std::string element_key(std::string_view parent, std::size_t index) {
  return std::string(parent) + "[" + std::to_string(index) + "]";
}

std::string in_quotes(std::string_view text) {
  return json(std::string(text)).dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string json_type_name(const json& value) {
  switch (value.type()) {
    case json::value_t::null:
      return "null";
    case json::value_t::object:
      return "an object";
    case json::value_t::array:
      return "an array";
    case json::value_t::string:
      return "a string";
    case json::value_t::boolean:
      return "a boolean";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
    case json::value_t::number_float:
      return "a number";
    default:
      return "an unsupported value";
  }
}

std::optional<std::string> closest_match(std::string_view typo,
                                         const std::vector<std::string_view>& known) {
  const auto lower_typo = text::ascii_lower(typo);
  std::optional<std::string> best;
  std::size_t best_distance = std::string::npos;
  for (const auto candidate : known) {
    const auto distance = edit_distance(lower_typo, text::ascii_lower(candidate));
    // Two edits catch most typos ("certifcate", "privatekey"); short names get one, or
    // every short word would look like a typo of them.
    const std::size_t allowed = candidate.size() >= 6 ? 2 : 1;
    if (distance <= allowed && distance < best_distance) {
      best_distance = distance;
      best = std::string(candidate);
    }
  }
  return best;
}

std::string resolve_path(const load_context& context, const std::string& path) {
  const std::filesystem::path given(path);
  const auto absolute = given.is_absolute() ? given : context.base_dir / given;
  return absolute.lexically_normal().string();
}

void check_readable_file(const std::string& path, const std::string& key) {
  ::close(open_regular_file(path, key, ""));
}

std::string read_small_file(const std::string& path, const std::string& key,
                            std::string_view what) {
  const int fd = open_regular_file(path, key, what);
  const auto cannot_read = "cannot read " + std::string(what) + path + ": ";
  // Config files and secrets are small; anything larger is the wrong file.
  constexpr std::size_t max_size = 1024 * 1024;
  std::string content;
  char buffer[4096];
  while (true) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int error = errno;
      ::close(fd);
      fail(key, cannot_read + std::strerror(error));
    }
    if (n == 0) break;
    content.append(buffer, static_cast<std::size_t>(n));
    if (content.size() > max_size) {
      ::close(fd);
      fail(key, cannot_read + "larger than 1 MiB");
    }
  }
  ::close(fd);
  return content;
}

const std::string& expect_string(const json& value, const std::string& key,
                                 std::string_view expected) {
  if (!value.is_string()) {
    fail(key, "expected " + std::string(expected) + ", got " + json_type_name(value));
  }
  return value.get_ref<const std::string&>();
}

secret resolve_secret(const load_context& context, const json& value, const std::string& key) {
  const auto& text =
      expect_string(value, key, "a string (the secret, \"env:NAME\" or \"file:PATH\")");
  if (text.rfind("env:", 0) == 0) {
    const auto name = text.substr(4);
    if (!is_env_name(name)) fail(key, "expected an environment variable name after \"env:\"");
    const char* variable = std::getenv(name.c_str());
    if (variable == nullptr) fail(key, "environment variable " + name + " is not set");
    if (*variable == '\0') fail(key, "environment variable " + name + " is empty");
    return secret(variable);
  }
  if (text.rfind("file:", 0) == 0) {
    if (text.size() == 5) fail(key, "expected a path after \"file:\"");
    const auto path = resolve_path(context, text.substr(5));
    auto content = read_small_file(path, key);
    // Editors and `echo` end files with a newline that is no part of the secret.
    while (!content.empty() && (content.back() == '\n' || content.back() == '\r')) {
      content.pop_back();
    }
    if (content.empty()) fail(key, "file " + path + " is empty");
    return secret(std::move(content));
  }
  if (text.empty()) fail(key, "must not be empty");
  return secret(text);
}

object_reader::object_reader(const load_context& context, const json& value, std::string key,
                             std::initializer_list<std::string_view> known_keys)
    : context_(&context), value_(&value), key_(std::move(key)) {
  if (!value.is_object()) fail(key_, "expected an object, got " + json_type_name(value));
  const std::vector<std::string_view> known(known_keys);
  for (const auto& item : value.items()) {
    if (std::find(known.begin(), known.end(), item.key()) != known.end()) continue;
    std::string message = "unknown key";
    if (auto suggestion = closest_match(item.key(), known)) {
      message += "; did you mean " + in_quotes(*suggestion) + "?";
    }
    fail(key_of(item.key()), std::move(message));
  }
}

const json* object_reader::find(std::string_view name) const {
  const auto it = value_->find(name);
  if (it == value_->end() || it->is_null()) return nullptr;
  return &*it;
}

std::optional<object_reader> object_reader::object(
    std::string_view name, std::initializer_list<std::string_view> known_keys) const {
  const auto* value = find(name);
  if (value == nullptr) return std::nullopt;
  return object_reader(*context_, *value, key_of(name), known_keys);
}

std::optional<std::string> object_reader::string(std::string_view name) const {
  const auto* value = find(name);
  if (value == nullptr) return std::nullopt;
  return expect_string(*value, key_of(name));
}

std::optional<std::string> object_reader::text(std::string_view name) const {
  auto value = string(name);
  if (value && value->empty()) fail(key_of(name), "must not be empty");
  return value;
}

std::string object_reader::required_text(std::string_view name) const {
  auto value = text(name);
  if (!value) fail(key_of(name), "required");
  return *value;
}

std::optional<std::string> object_reader::choice(
    std::string_view name, std::initializer_list<std::string_view> allowed) const {
  auto value = string(name);
  if (!value) return std::nullopt;
  if (std::find(allowed.begin(), allowed.end(), *value) != allowed.end()) return value;
  std::string list;
  for (const auto option : allowed) {
    if (!list.empty()) list += ", ";
    list += in_quotes(option);
  }
  fail(key_of(name), "expected one of " + list + ", got " + in_quotes(*value));
}

std::optional<bool> object_reader::boolean(std::string_view name) const {
  const auto* value = find(name);
  if (value == nullptr) return std::nullopt;
  if (!value->is_boolean()) {
    fail(key_of(name), "expected true or false, got " + json_type_name(*value));
  }
  return value->get<bool>();
}

std::optional<std::int64_t> object_reader::integer(std::string_view name, std::int64_t min,
                                                   std::int64_t max) const {
  const auto* value = find(name);
  if (value == nullptr) return std::nullopt;
  const auto key = key_of(name);
  if (value->is_number_float()) fail(key, "expected a whole number, got " + value->dump());
  if (!value->is_number_integer()) {
    fail(key, "expected a whole number, got " + json_type_name(*value));
  }
  const bool too_large = value->is_number_unsigned() &&
                         value->get<std::uint64_t>() >
                             static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  const auto number = too_large ? max : value->get<std::int64_t>();
  if (too_large || number < min || number > max) {
    const auto range = max >= std::numeric_limits<std::int32_t>::max()
                           ? "must be at least " + std::to_string(min)
                           : "must be from " + std::to_string(min) + " to " + std::to_string(max);
    fail(key, range + ", got " + value->dump());
  }
  return number;
}

std::optional<std::vector<std::string>> object_reader::text_list(std::string_view name) const {
  const auto* value = find(name);
  if (value == nullptr) return std::nullopt;
  const auto key = key_of(name);
  if (!value->is_array()) {
    fail(key, "expected an array of strings, got " + json_type_name(*value));
  }
  std::vector<std::string> result;
  for (std::size_t i = 0; i < value->size(); ++i) {
    const auto item_key = element_key(key, i);
    const auto& item = expect_string((*value)[i], item_key);
    if (item.empty()) fail(item_key, "must not be empty");
    result.push_back(item);
  }
  return result;
}

std::optional<secret> object_reader::secret_value(std::string_view name) const {
  const auto* value = find(name);
  if (value == nullptr) return std::nullopt;
  return resolve_secret(*context_, *value, key_of(name));
}

std::optional<std::string> object_reader::path(std::string_view name) const {
  auto value = text(name);
  if (!value) return std::nullopt;
  if (value->find('\0') != std::string::npos) fail(key_of(name), "must not contain NUL");
  return resolve_path(*context_, *value);
}

std::optional<std::string> object_reader::readable_file(std::string_view name) const {
  auto resolved = path(name);
  if (resolved) check_readable_file(*resolved, key_of(name));
  return resolved;
}

void object_reader::read_text(std::string_view name, std::string& out) const {
  if (auto value = text(name)) out = std::move(*value);
}

void object_reader::read_boolean(std::string_view name, bool& out) const {
  if (auto value = boolean(name)) out = *value;
}

}  // namespace connector::config::detail

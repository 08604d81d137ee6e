#include "connector/sync/desired_pack.hpp"

#include <cstdint>
#include <cstring>
#include <stdexcept>

namespace connector::sync {
namespace {

// Lengths and counts: 4 bytes, native order (the bytes never leave the process).
void put_size(std::string& out, std::size_t n) {
  const auto size = static_cast<std::uint32_t>(n);
  out.append(reinterpret_cast<const char*>(&size), sizeof size);
}

void put_text(std::string& out, std::string_view text) {
  put_size(out, text.size());
  out.append(text);
}

void put_flag(std::string& out, bool flag) {
  out.push_back(flag ? '\1' : '\0');
}

void put_optional(std::string& out, const std::optional<std::string>& text) {
  put_flag(out, text.has_value());
  if (text) put_text(out, *text);
}

void put_list(std::string& out, const std::optional<std::vector<std::string>>& list) {
  put_flag(out, list.has_value());
  if (!list) return;
  put_size(out, list->size());
  for (const auto& item : *list) put_text(out, item);
}

class reader {
 public:
  explicit reader(std::string_view& in) : in_(in) {}

  std::size_t size() {
    std::uint32_t n = 0;
    std::memcpy(&n, take(sizeof n).data(), sizeof n);
    return n;
  }
  std::string text() { return std::string(take(size())); }
  char byte() { return take(1)[0]; }
  bool flag() { return byte() != '\0'; }
  std::optional<std::string> optional() {
    if (!flag()) return std::nullopt;
    return text();
  }
  std::optional<std::vector<std::string>> list() {
    if (!flag()) return std::nullopt;
    std::vector<std::string> out(size());
    for (auto& item : out) item = text();
    return out;
  }

 private:
  std::string_view take(std::size_t n) {
    if (in_.size() < n) throw std::runtime_error("packed desired user is cut short");
    const auto part = in_.substr(0, n);
    in_.remove_prefix(n);
    return part;
  }

  std::string_view& in_;
};

}  // namespace

void pack_desired_user(const desired_user& user, std::string& out) {
  put_text(out, user.record_id);
  out.push_back(static_cast<char>(user.action));
  put_text(out, user.reason);
  put_optional(out, user.login);
  put_optional(out, user.email);
  put_size(out, user.fields.size());
  for (const auto& [key, value] : user.fields) {
    put_text(out, key);
    put_text(out, value);
  }
  put_text(out, user.department);
  put_text(out, user.department_key);
  put_flag(out, user.department_link.has_value());
  if (user.department_link) {
    put_text(out, user.department_link->id);
    put_text(out, user.department_link->name);
  }
  put_optional(out, user.parent_department);
  put_flag(out, user.active.has_value());
  if (user.active) put_flag(out, *user.active);
  put_list(out, user.groups);
  put_list(out, user.managed_groups);
}

desired_user unpack_desired_user(std::string_view& in) {
  reader r(in);
  desired_user user;
  user.record_id = r.text();
  user.action = static_cast<sync_action>(r.byte());
  user.reason = r.text();
  user.login = r.optional();
  user.email = r.optional();
  for (std::size_t n = r.size(); n > 0; --n) {
    std::string key = r.text();
    user.fields.emplace_hint(user.fields.end(), std::move(key), r.text());
  }
  user.department = r.text();
  user.department_key = r.text();
  if (r.flag()) {
    std::string id = r.text();
    user.department_link = linked_department{std::move(id), r.text()};
  }
  user.parent_department = r.optional();
  if (r.flag()) user.active = r.flag();
  user.groups = r.list();
  user.managed_groups = r.list();
  return user;
}

}  // namespace connector::sync

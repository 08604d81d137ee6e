#include "connector/sync/ispring_index.hpp"

#include <stdexcept>

#include "text.hpp"

namespace connector::sync {
namespace {

// A user's bytes: flags, id, [login], [email], department, role, status, the fields as
// (key, value) pairs, the group ids. Numbers are varints; interned strings are numbers;
// login and e-mail are stored apart only when they differ from fields["login"/"email"]
// (ispring::user keeps them as copies).
enum : unsigned { login_apart = 1, email_apart = 2 };

void put_number(std::string& out, std::uint64_t n) {
  while (n >= 0x80) {
    out.push_back(static_cast<char>((n & 0x7f) | 0x80));
    n >>= 7;
  }
  out.push_back(static_cast<char>(n));
}

void put_text(std::string& out, std::string_view text) {
  put_number(out, text.size());
  out.append(text);
}

struct reader {
  std::string_view bytes;
  std::size_t at = 0;

  std::uint64_t number() {
    std::uint64_t n = 0;
    for (int shift = 0;; shift += 7) {
      const auto byte = static_cast<unsigned char>(bytes[at++]);
      n |= static_cast<std::uint64_t>(byte & 0x7f) << shift;
      if (!(byte & 0x80)) return n;
    }
  }
  std::string_view text() {
    const auto size = static_cast<std::size_t>(number());
    const auto out = bytes.substr(at, size);
    at += size;
    return out;
  }
};

std::string field_value(const ispring::user& user, const char* field) {
  const auto it = user.fields.find(field);
  return it == user.fields.end() ? std::string() : it->second;
}

// The hash of `text` in ASCII lower case (logins and e-mails), without a copy on the heap for
// keys of usual length.
std::uint64_t lower_hash_of(std::string_view text) {
  char lowered[128];
  if (text.size() > sizeof lowered) return hash_slots::hash(ascii_lower(text));
  for (std::size_t i = 0; i < text.size(); ++i) lowered[i] = ascii_lower(text[i]);
  return hash_slots::hash(std::string_view(lowered, text.size()));
}

}  // namespace

struct ispring_index::packed_view {
  std::string_view id, login, email;
  std::uint32_t department = 0, role = 0;
  int status = 0;
  reader rest;  // at the fields
};

std::uint32_t ispring_index::intern(const std::string& text) {
  // Looked up first: emplace builds a node (a copy of the text) before it finds the key, and
  // nearly every call is for a department, role or field name already known.
  if (const auto it = intern_ids_.find(text); it != intern_ids_.end()) return it->second;
  const auto id = static_cast<std::uint32_t>(interned_.size());
  intern_ids_.emplace(text, id);
  interned_.push_back(text);
  return id;
}

void ispring_index::add(const ispring::user& user) {
  if (sealed_) throw std::logic_error("ispring_index: add after seal");
  const auto number = static_cast<std::uint32_t>(starts_.size());
  // Read twice (moved between departments while they were read at once): the first copy stays.
  if (!user.id.empty() &&
      by_id_.insert(hash_slots::hash(user.id), number,
                    [&](std::uint32_t other) { return key_of(other, key_kind::id) == user.id; }))
    return;
  add_key(by_login_, key_kind::login, user.login, number);
  add_key(by_email_, key_kind::email, user.email, number);
  const bool login_differs = user.login != field_value(user, "login");
  const bool email_differs = user.email != field_value(user, "email");
  std::string& out = scratch_;
  out.clear();
  put_number(out, (login_differs ? login_apart : 0u) | (email_differs ? email_apart : 0u));
  put_text(out, user.id);
  if (login_differs) put_text(out, user.login);
  if (email_differs) put_text(out, user.email);
  put_number(out, intern(user.department_id));
  put_number(out, intern(user.role));
  put_number(out, static_cast<std::uint32_t>(user.status));
  put_number(out, user.fields.size());
  for (const auto& [field, value] : user.fields) {
    put_number(out, intern(field));
    put_text(out, value);
  }
  put_number(out, user.group_ids.size());
  for (const auto& group : user.group_ids) put_number(out, intern(group));
  starts_.push_back(bytes_.append(out));
}

ispring_index::packed_view ispring_index::view(std::size_t i, bool with_keys) const {
  packed_view v;
  v.rest = reader{bytes_.from(starts_[i])};
  const auto flags = v.rest.number();
  v.id = v.rest.text();
  const bool login_stored = flags & login_apart, email_stored = flags & email_apart;
  if (login_stored) v.login = v.rest.text();
  if (email_stored) v.email = v.rest.text();
  v.department = static_cast<std::uint32_t>(v.rest.number());
  v.role = static_cast<std::uint32_t>(v.rest.number());
  v.status = static_cast<int>(static_cast<std::uint32_t>(v.rest.number()));
  if (!with_keys || (login_stored && email_stored)) return v;
  // Copies of the fields: found without decoding the rest.
  reader fields = v.rest;
  for (auto n = fields.number(); n > 0; --n) {
    const std::string& field = interned_[fields.number()];
    const auto value = fields.text();
    if (!login_stored && field == "login") v.login = value;
    if (!email_stored && field == "email") v.email = value;
  }
  return v;
}

ispring::user ispring_index::at(std::size_t i) const {
  packed_view v = view(i);
  ispring::user user;
  user.id = v.id;
  user.login = v.login;
  user.email = v.email;
  user.department_id = interned_[v.department];
  user.role = interned_[v.role];
  user.status = v.status;
  for (auto n = v.rest.number(); n > 0; --n) {
    const std::string& field = interned_[v.rest.number()];
    user.fields.emplace_hint(user.fields.end(), field, v.rest.text());
  }
  for (auto n = v.rest.number(); n > 0; --n) user.group_ids.push_back(interned_[v.rest.number()]);
  return user;
}

std::string ispring_index::id(std::size_t i) const {
  return std::string(view(i, false).id);
}

const std::string& ispring_index::department_id(std::size_t i) const {
  return interned_[view(i, false).department];
}

int ispring_index::status(std::size_t i) const {
  return view(i, false).status;
}

std::optional<std::string_view> ispring_index::field(std::size_t i, std::string_view name) const {
  reader fields = view(i, false).rest;
  for (auto n = fields.number(); n > 0; --n) {
    const std::string& key = interned_[fields.number()];
    const auto value = fields.text();
    if (key == name) return value;
  }
  return std::nullopt;
}

std::string_view ispring_index::key_of(std::size_t i, key_kind kind) const {
  const packed_view v = view(i, kind != key_kind::id);
  switch (kind) {
    case key_kind::id:
      return v.id;
    case key_kind::login:
      return v.login;
    case key_kind::email:
      return v.email;
  }
  return {};
}

// Logins and e-mails ignoring case; the first user added keeps a key that several share.
void ispring_index::add_key(hash_slots& table, key_kind kind, std::string_view key,
                            std::uint32_t number) {
  if (key.empty()) return;
  table.insert(lower_hash_of(key), number,
               [&](std::uint32_t other) { return iequals(key_of(other, kind), key); });
}

std::optional<std::size_t> ispring_index::find(const hash_slots& table, std::string_view wanted,
                                               key_kind kind) const {
  if (wanted.empty()) return std::nullopt;
  if (kind == key_kind::id)
    return table.find(hash_slots::hash(wanted),
                      [&](std::uint32_t user) { return key_of(user, kind) == wanted; });
  return table.find(lower_hash_of(wanted),
                    [&](std::uint32_t user) { return iequals(key_of(user, kind), wanted); });
}

void ispring_index::seal() {
  sealed_ = true;
}

std::optional<std::size_t> ispring_index::find_id(std::string_view id) const {
  return find(by_id_, id, key_kind::id);
}
std::optional<std::size_t> ispring_index::find_login(std::string_view login) const {
  return find(by_login_, login, key_kind::login);
}
std::optional<std::size_t> ispring_index::find_email(std::string_view email) const {
  return find(by_email_, email, key_kind::email);
}

std::unordered_map<std::string, std::int64_t> ispring_index::users_per_department() const {
  std::vector<std::int64_t> counts(interned_.size(), 0);
  for (std::size_t i = 0; i < starts_.size(); ++i) ++counts[view(i, false).department];
  std::unordered_map<std::string, std::int64_t> out;
  for (std::size_t n = 0; n < counts.size(); ++n)
    if (counts[n] > 0) out.emplace(interned_[n], counts[n]);
  return out;
}

}  // namespace connector::sync

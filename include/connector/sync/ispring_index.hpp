#pragma once
// Every iSpring user of a reconciliation, packed: the full reconciliation holds 1,000,000 of
// them while the Salesforce pages are planned against them, so each user is one run of
// bytes (department ids, roles, field keys and group ids interned), about 150 bytes instead
// of the 1 KB of an ispring::user, and the lookups are hash slots of 8 bytes, filled as the
// users are added (so sealing sorts nothing). A user comes back whole (`at`) only for the few
// the plan changes.
//
// Matching keys (reconcile_plan.hpp): the id, the login and the e-mail ignoring case; the
// first user added wins a login or e-mail shared by several. A user read twice (moved between
// departments during the read) is kept once, as first added.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "connector/ispring/wire.hpp"
#include "connector/sync/byte_blocks.hpp"
#include "connector/sync/hash_slots.hpp"

namespace connector::sync {

class ispring_index {
 public:
  // Before seal() only. A user whose id was added before is not added again.
  void add(const ispring::user& user);
  // Complete: add() is refused afterwards.
  void seal();

  std::size_t size() const { return starts_.size(); }
  ispring::user at(std::size_t i) const;
  std::string id(std::size_t i) const;
  // Without decoding the user: the reconciliation's check of an unchanged user.
  const std::string& department_id(std::size_t i) const;
  int status(std::size_t i) const;
  std::optional<std::string_view> field(std::size_t i, std::string_view name) const;
  std::optional<std::size_t> find_id(std::string_view id) const;
  // `login` and `email` in any case.
  std::optional<std::size_t> find_login(std::string_view login) const;
  std::optional<std::size_t> find_email(std::string_view email) const;
  // Department id → how many users it holds.
  std::unordered_map<std::string, std::int64_t> users_per_department() const;

 private:
  enum class key_kind { id, login, email };
  struct packed_view;

  std::uint32_t intern(const std::string& text);
  // `with_keys`: login and e-mail too (found among the fields when they are their copies).
  packed_view view(std::size_t i, bool with_keys = true) const;
  std::string_view key_of(std::size_t i, key_kind kind) const;
  void add_key(hash_slots& table, key_kind kind, std::string_view key, std::uint32_t number);
  std::optional<std::size_t> find(const hash_slots& table, std::string_view wanted,
                                  key_kind kind) const;

  byte_blocks bytes_;
  std::vector<std::uint64_t> starts_;  // where each user's bytes begin in bytes_
  std::string scratch_;                // the user being added
  std::vector<std::string> interned_;
  std::unordered_map<std::string, std::uint32_t> intern_ids_;
  hash_slots by_id_, by_login_, by_email_;
  bool sealed_ = false;
};

}  // namespace connector::sync

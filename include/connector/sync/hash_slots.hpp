#pragma once
// A hash index of numbered items whose keys live elsewhere (the reconciliation's packed users
// and stored links): 8 bytes a slot, the key's hash (upper half) and the item's number, open
// addressing with linear probing, at most half full. The caller confirms a match by comparing
// its key: `same(item)`. Built as items arrive, so nothing is sorted at the end, and a lookup
// touches one cache line where a binary search over 1,000,000 keys touched twenty.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <string_view>
#include <vector>

namespace connector::sync {

class hash_slots {
 public:
  // The hash its users key text by.
  static std::uint64_t hash(std::string_view text) { return std::hash<std::string_view>{}(text); }

  // The first item inserted with a key equal to `same`'s, if any; the item is not inserted then.
  template <class Same>
  std::optional<std::uint32_t> insert(std::uint64_t hash, std::uint32_t item, Same&& same) {
    if (2 * (size_ + 1) > slots_.size()) grow();
    const auto tag = tag_of(hash);
    for (std::size_t at = tag & mask();; at = (at + 1) & mask()) {
      slot& s = slots_[at];
      if (s.item == empty) {
        s = {tag, item};
        ++size_;
        return std::nullopt;
      }
      if (s.tag == tag && same(s.item)) return s.item;
    }
  }

  template <class Same>
  std::optional<std::uint32_t> find(std::uint64_t hash, Same&& same) const {
    if (slots_.empty()) return std::nullopt;
    const auto tag = tag_of(hash);
    for (std::size_t at = tag & mask();; at = (at + 1) & mask()) {
      const slot& s = slots_[at];
      if (s.item == empty) return std::nullopt;
      if (s.tag == tag && same(s.item)) return s.item;
    }
  }

  std::size_t size() const { return size_; }

  // Room for `items` without growing.
  void reserve(std::size_t items) {
    while (2 * items > slots_.size()) grow();
  }

 private:
  struct slot {
    std::uint32_t tag = 0;
    std::uint32_t item = empty;
  };
  static constexpr std::uint32_t empty = std::numeric_limits<std::uint32_t>::max();

  static std::uint32_t tag_of(std::uint64_t hash) { return static_cast<std::uint32_t>(hash >> 32); }
  std::size_t mask() const { return slots_.size() - 1; }

  // Doubles the slots and places every item again by its tag (the keys are not hashed again).
  void grow() {
    std::vector<slot> old(slots_.empty() ? 16 : 2 * slots_.size());
    old.swap(slots_);
    for (const slot& s : old) {
      if (s.item == empty) continue;
      std::size_t at = s.tag & mask();
      while (slots_[at].item != empty) at = (at + 1) & mask();
      slots_[at] = s;
    }
  }

  std::vector<slot> slots_;
  std::size_t size_ = 0;
};

}  // namespace connector::sync

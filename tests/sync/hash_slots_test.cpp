// The reconciliation's hash index: an item is found by its key and nothing else, whatever the
// hashes do (equal hashes for different keys, equal tags, a table that grew many times), and
// of two items with one key the first inserted is the one kept.
#include "connector/sync/hash_slots.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace connector::sync {
namespace {

struct keyed {
  std::vector<std::string> keys;
  hash_slots slots;

  // Inserts `key` with `hash`: the item kept for it (the one before, or this one).
  std::uint32_t insert(const std::string& key, std::uint64_t hash) {
    const auto item = static_cast<std::uint32_t>(keys.size());
    keys.push_back(key);
    const auto before =
        slots.insert(hash, item, [&](std::uint32_t other) { return keys[other] == key; });
    return before ? *before : item;
  }

  std::optional<std::uint32_t> find(const std::string& key, std::uint64_t hash) const {
    return slots.find(hash, [&](std::uint32_t item) { return keys[item] == key; });
  }
};

TEST(HashSlots, KeysWithOneHashAreToldApartByTheirText) {
  keyed k;
  const std::uint64_t same_hash = 0xabcdef0123456789u;
  EXPECT_EQ(k.insert("ann", same_hash), 0u);
  EXPECT_EQ(k.insert("bob", same_hash), 1u);
  EXPECT_EQ(k.insert("carl", same_hash), 2u);
  EXPECT_EQ(k.find("bob", same_hash), 1u);
  EXPECT_EQ(k.find("carl", same_hash), 2u);
  EXPECT_FALSE(k.find("dora", same_hash));
  EXPECT_FALSE(k.find("ann", same_hash ^ (1ull << 40)));  // another tag: not compared at all
  EXPECT_EQ(k.slots.size(), 3u);
}

TEST(HashSlots, TheFirstItemInsertedKeepsItsKey) {
  keyed k;
  EXPECT_EQ(k.insert("ann", 42), 0u);
  EXPECT_EQ(k.insert("ann", 42), 0u);  // refused: the first stays
  EXPECT_EQ(k.find("ann", 42), 0u);
  EXPECT_EQ(k.slots.size(), 1u);
}

TEST(HashSlots, AnEmptyTableFindsNothing) {
  const hash_slots slots;
  EXPECT_FALSE(slots.find(7, [](std::uint32_t) { return true; }));
}

// 200,000 keys whose hashes share their upper halves in runs of 50 (the tag, and so the first
// slot): every one is still found through the growth, and nothing else is.
TEST(HashSlots, EveryKeyIsFoundAfterGrowingThroughCrowdedTags) {
  keyed k;
  constexpr std::uint32_t n = 200'000;
  const auto hash = [](std::uint32_t i) {
    return ((i / 50) * 0x9e3779b97f4a7c15u & 0xffffffff00000000u) | i;
  };
  for (std::uint32_t i = 0; i < n; ++i) ASSERT_EQ(k.insert("key" + std::to_string(i), hash(i)), i);
  EXPECT_EQ(k.slots.size(), n);
  for (std::uint32_t i = 0; i < n; i += 13)
    ASSERT_EQ(k.find("key" + std::to_string(i), hash(i)), i);
  EXPECT_FALSE(k.find("key" + std::to_string(n), hash(n)));
  EXPECT_FALSE(k.find("key5x", hash(5)));  // key5's tag, not its text
}

TEST(HashSlots, ReservingKeepsWhatIsThere) {
  keyed k;
  for (std::uint32_t i = 0; i < 100; ++i) k.insert(std::to_string(i), i * 0x9e3779b97f4a7c15u);
  k.slots.reserve(1'000'000);
  for (std::uint32_t i = 0; i < 100; ++i)
    ASSERT_EQ(k.find(std::to_string(i), i * 0x9e3779b97f4a7c15u), i);
}

}  // namespace
}  // namespace connector::sync

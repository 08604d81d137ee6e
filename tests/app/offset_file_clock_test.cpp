#include "connector/offset_file_clock.hpp"

#include <gtest/gtest.h>

#include <filesystem>

#include "support/service.hpp"

namespace connector {
namespace {

using testing::temp_dir;
using testing::write_text;

constexpr std::int64_t hour_ms = 60 * 60 * 1000;

TEST(OffsetFileClock, MissingFileIsTheSystemClock) {
  temp_dir dir;
  const offset_file_clock shifted((dir.path() / "absent").string());
  const auto before = system_clock().now();
  const auto now = shifted.now();
  EXPECT_GE(now, before);
  EXPECT_LT(now, before + hour_ms);
}

TEST(OffsetFileClock, FollowsTheFileAsItChanges) {
  temp_dir dir;
  const auto path = dir.path() / "offset";
  const offset_file_clock shifted(path.string());
  write_text(path, "7200000\n");
  const auto before = system_clock().now();
  EXPECT_GE(shifted.now(), before + 2 * hour_ms);
  EXPECT_LT(shifted.now(), before + 3 * hour_ms);
  // A longer text: the size changes even within the file system's time granularity.
  write_text(path, "-36000000\n");
  EXPECT_LT(shifted.now(), system_clock().now() - 9 * hour_ms);
}

TEST(OffsetFileClock, UnreadableTextKeepsTheLastOffset) {
  temp_dir dir;
  const auto path = dir.path() / "offset";
  const offset_file_clock shifted(path.string());
  write_text(path, "3600000");
  EXPECT_GE(shifted.now(), system_clock().now() + hour_ms - 1000);
  write_text(path, "not a number, longer");
  EXPECT_GE(shifted.now(), system_clock().now() + hour_ms - 1000);
}

}  // namespace
}  // namespace connector

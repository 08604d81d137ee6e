// What a well-formed notification must pass before anything is stored, as a specification:
// stamps from the future are refused (a forged SystemModstamp would pin a record's state),
// a little clock skew is not.
#include "connector/salesforce/acceptance.hpp"

#include <gtest/gtest.h>

#include "connector/salesforce/change_order.hpp"
#include "support/outbound_builder.hpp"
#include "support/service.hpp"

namespace connector::salesforce {
namespace {

using testing::build_user_message;
using testing::sample_user;
using testing::test_org_id;

constexpr std::int64_t minute = 60'000;
// 2026-11-01T10:00:00Z, sample_user's default stamp.
const std::int64_t stamp = *parse_datetime_ms("2026-11-01T10:00:00.000Z");

outbound_message parsed(const std::vector<testing::user_notification>& users) {
  auto message = parse_outbound_message(build_user_message(test_org_id, users));
  EXPECT_TRUE(message) << message.error().message;
  return message ? std::move(*message) : outbound_message{};
}

parsed_event event_at(std::int64_t commit_ms, change_type type = change_type::update) {
  parsed_event e;
  e.event_index = 2;
  e.record_id = testing::make_id("005", 7);
  e.event_name = type == change_type::platform_event ? "Employee_Changed__e" : "UserChangeEvent";
  e.type = type;
  e.commit_timestamp_ms = commit_ms;
  return e;
}

TEST(FutureStamps, UpToFiveMinutesAheadIsClockSkewNotForgery) {
  const auto message = parsed({sample_user(1, 1)});
  EXPECT_FALSE(check_stamps_not_future(message, stamp));
  EXPECT_FALSE(check_stamps_not_future(message, stamp - 5 * minute));
  EXPECT_TRUE(check_stamps_not_future(message, stamp - 5 * minute - 1));
}

TEST(FutureStamps, TheRefusalNamesTheNotificationTheRecordAndTheField) {
  const auto forged = sample_user(2, 9, "2099-01-01T00:00:00.000Z");
  const auto refusal = check_stamps_not_future(parsed({sample_user(1, 1), forged}), stamp);
  ASSERT_TRUE(refusal);
  EXPECT_NE(refusal->find("Notification 2 (" + forged.notification_id + ")"), std::string::npos)
      << *refusal;
  EXPECT_NE(refusal->find("record " + forged.user_id), std::string::npos) << *refusal;
  EXPECT_NE(refusal->find("SystemModstamp 2099-01-01T00:00:00.000Z"), std::string::npos)
      << *refusal;
  EXPECT_NE(refusal->find("nothing of this request was stored"), std::string::npos) << *refusal;
}

TEST(FutureStamps, OnlyTheStampThatOrdersCounts) {
  // LastModifiedDate orders only without a SystemModstamp (change_order.hpp).
  auto both = sample_user(1, 1);
  both.fields["LastModifiedDate"] = "2099-01-01T00:00:00Z";
  EXPECT_FALSE(check_stamps_not_future(parsed({both}), stamp));
  auto last_modified_only = sample_user(1, 1);
  last_modified_only.fields.erase("SystemModstamp");
  last_modified_only.fields["LastModifiedDate"] = "2099-01-01T00:00:00Z";
  const auto refusal = check_stamps_not_future(parsed({last_modified_only}), stamp);
  ASSERT_TRUE(refusal);
  EXPECT_NE(refusal->find("LastModifiedDate"), std::string::npos) << *refusal;
  // An unreadable SystemModstamp falls back to LastModifiedDate, as the ordering does.
  auto unreadable = last_modified_only;
  unreadable.fields["SystemModstamp"] = "yesterday";
  EXPECT_TRUE(check_stamps_not_future(parsed({unreadable}), stamp));
  // No stamp at all orders by arrival: nothing to refuse.
  auto none = sample_user(1, 1);
  none.fields.erase("SystemModstamp");
  none.fields.erase("LastModifiedDate");
  EXPECT_FALSE(check_stamps_not_future(parsed({none}), stamp));
}

TEST(FutureStamps, EventsAreCheckedByTheirCommitTimestamp) {
  const std::vector<parsed_event> fine{event_at(stamp), event_at(stamp + 5 * minute)};
  EXPECT_FALSE(check_stamps_not_future(fine, stamp));
  const std::vector<parsed_event> forged{event_at(stamp), event_at(stamp + 5 * minute + 1)};
  const auto refusal = check_stamps_not_future(forged, stamp);
  ASSERT_TRUE(refusal);
  EXPECT_NE(refusal->find("commitTimestamp"), std::string::npos) << *refusal;
  EXPECT_NE(refusal->find(testing::make_id("005", 7)), std::string::npos) << *refusal;
  const auto platform = check_stamps_not_future(
      std::vector<parsed_event>{event_at(stamp + 60 * minute, change_type::platform_event)}, stamp);
  ASSERT_TRUE(platform);
  EXPECT_NE(platform->find("CreatedDate"), std::string::npos) << *platform;
  // A GAP event or one without a stamp orders by arrival: nothing to refuse.
  parsed_event unstamped = event_at(0);
  unstamped.commit_timestamp_ms.reset();
  EXPECT_FALSE(check_stamps_not_future(std::vector<parsed_event>{unstamped}, stamp));
}

}  // namespace
}  // namespace connector::salesforce

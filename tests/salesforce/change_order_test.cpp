// Which state of a record is newer (salesforce.md §A.4): Salesforce redelivers out of order,
// so the newest SystemModstamp wins, else LastModifiedDate.
#include "connector/salesforce/change_order.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace connector::salesforce {
namespace {

constexpr std::int64_t may_2_2017_115353_utc_ms = 1493726033000;

TEST(DatetimeParsing, ReadsSalesforceFormatWithMilliseconds) {
  EXPECT_EQ(parse_datetime_ms("2017-05-02T11:53:53.000Z"), may_2_2017_115353_utc_ms);
  EXPECT_EQ(parse_datetime_ms("2024-05-02T11:00:00.250Z"), 1714647600250);
}

TEST(DatetimeParsing, ReadsTheEpochAndDatesAroundIt) {
  EXPECT_EQ(parse_datetime_ms("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(parse_datetime_ms("1969-12-31T23:59:59Z"), -1000);
  EXPECT_EQ(parse_datetime_ms("0001-01-01T00:00:00Z"), -62135596800000);
  EXPECT_EQ(parse_datetime_ms("9999-12-31T23:59:59.999Z"), 253402300799999);
}

TEST(DatetimeParsing, AcceptsNoFraction) {
  EXPECT_EQ(parse_datetime_ms("2017-05-02T11:53:53Z"), may_2_2017_115353_utc_ms);
}

TEST(DatetimeParsing, ScalesShortFractionsToMilliseconds) {
  EXPECT_EQ(parse_datetime_ms("2017-05-02T11:53:53.1Z"), may_2_2017_115353_utc_ms + 100);
  EXPECT_EQ(parse_datetime_ms("2017-05-02T11:53:53.12Z"), may_2_2017_115353_utc_ms + 120);
}

TEST(DatetimeParsing, TruncatesFractionsBeyondMilliseconds) {
  EXPECT_EQ(parse_datetime_ms("2017-05-02T11:53:53.123999Z"), may_2_2017_115353_utc_ms + 123);
}

TEST(DatetimeParsing, AppliesAZoneOffset) {
  EXPECT_EQ(parse_datetime_ms("2017-05-02T13:53:53.123+02:00"), may_2_2017_115353_utc_ms + 123);
  EXPECT_EQ(parse_datetime_ms("2017-05-02T06:23:53-05:30"), may_2_2017_115353_utc_ms);
  EXPECT_EQ(parse_datetime_ms("2017-05-02T11:53:53+00:00"), may_2_2017_115353_utc_ms);
}

TEST(DatetimeParsing, IgnoresSurroundingWhitespaceAsXsdDoes) {
  EXPECT_EQ(parse_datetime_ms(" 2017-05-02T11:53:53.000Z\n"), may_2_2017_115353_utc_ms);
}

TEST(DatetimeParsing, KnowsLeapYears) {
  EXPECT_EQ(parse_datetime_ms("2024-02-29T23:59:59Z"), 1709251199000);
  EXPECT_TRUE(parse_datetime_ms("2000-02-29T00:00:00Z"));
  EXPECT_FALSE(parse_datetime_ms("2023-02-29T00:00:00Z"));
  EXPECT_FALSE(parse_datetime_ms("1900-02-29T00:00:00Z"));
}

TEST(DatetimeParsing, RejectsOutOfRangeFields) {
  for (const char* text : {"2017-13-02T11:53:53Z", "2017-00-02T11:53:53Z", "2017-05-00T11:53:53Z",
                           "2017-04-31T11:53:53Z", "2017-05-02T24:00:00Z", "2017-05-02T11:60:53Z",
                           "2017-05-02T11:53:60Z", "0000-01-01T00:00:00Z",
                           "2017-05-02T11:53:53+14:01", "2017-05-02T11:53:53+02:60"}) {
    EXPECT_EQ(parse_datetime_ms(text), std::nullopt) << text;
  }
}

TEST(DatetimeParsing, RejectsAnythingButAFullDateTimeWithZone) {
  for (const char* text :
       {"", "garbage", "2017-05-02", "2017-04-03", "2017-05-02T11:53:53",  // no zone
        "2017-05-02 11:53:53Z", "2017-05-02T11:53:53.Z", "2017-05-02T11:53:53.000ZZ",
        "2017-05-02T11:53:53.000z", "17-05-02T11:53:53Z", "2017-5-2T11:53:53Z",
        "-2017-05-02T11:53:53Z", "2017-05-02T11:53:53+0200", "2017-05-02T11:53:53+2:00",
        "+2017-05-02T11:53:53Z", "2017-05-02T11:53:53.000Z trailing", "１２３４-05-02T11:53:53Z"}) {
    EXPECT_EQ(parse_datetime_ms(text), std::nullopt) << text;
  }
}

notification with_fields(std::vector<sobject_field> fields) {
  notification n;
  n.id = "04l5g00000Lm007AAB";
  n.object_type = "User";
  n.record_id = "0055g00000Qx000AAB";
  n.fields = std::move(fields);
  n.has_data = !n.fields.empty();
  return n;
}

TEST(Modstamp, PrefersSystemModstamp) {
  const auto n = with_fields({{"LastModifiedDate", "2017-05-02T11:53:53.000Z"},
                              {"SystemModstamp", "2017-05-02T11:53:54.000Z"}});
  EXPECT_EQ(modstamp_ms(n), may_2_2017_115353_utc_ms + 1000);
}

TEST(Modstamp, FallsBackToLastModifiedDate) {
  const auto n = with_fields({{"LastModifiedDate", "2017-05-02T11:53:53.000Z"}});
  EXPECT_EQ(modstamp_ms(n), may_2_2017_115353_utc_ms);
}

TEST(Modstamp, FallsBackWhenSystemModstampIsNilOrUnreadable) {
  EXPECT_EQ(modstamp_ms(with_fields({{"SystemModstamp", std::nullopt},
                                     {"LastModifiedDate", "2017-05-02T11:53:53.000Z"}})),
            may_2_2017_115353_utc_ms);
  EXPECT_EQ(modstamp_ms(with_fields({{"SystemModstamp", "yesterday"},
                                     {"LastModifiedDate", "2017-05-02T11:53:53.000Z"}})),
            may_2_2017_115353_utc_ms);
}

TEST(Modstamp, IsAbsentWithoutEitherStamp) {
  EXPECT_EQ(modstamp_ms(with_fields({})), std::nullopt);  // a deleted record
  EXPECT_EQ(modstamp_ms(with_fields({{"CreatedDate", "2017-05-02T11:53:53.000Z"}})), std::nullopt);
  EXPECT_EQ(modstamp_ms(with_fields({{"LastModifiedDate", ""}})), std::nullopt);
}

TEST(Modstamp, OrdersTwoDeliveriesOfTheSameUser) {
  const auto older = with_fields({{"SystemModstamp", "2024-05-02T11:00:00.250Z"}});
  const auto newer = with_fields({{"SystemModstamp", "2024-05-02T11:00:00.251Z"}});
  EXPECT_LT(*modstamp_ms(older), *modstamp_ms(newer));
}

TEST(Modstamp, ReadsTheStampOfAParsedUserMessage) {
  std::ifstream in(
      std::filesystem::path(CONNECTOR_FIXTURES_DIR) / "outbound" / "user-1-notification.xml",
      std::ios::binary);
  std::ostringstream body;
  body << in.rdbuf();
  const auto message = parse_outbound_message(body.str());
  ASSERT_TRUE(message.has_value()) << message.error().message;
  EXPECT_EQ(modstamp_ms(message->notifications.at(0)), 1714647600250);
}

}  // namespace
}  // namespace connector::salesforce

// The `schedule` section at load time: what it yields, and that a schedule the scheduler
// could not run stops start-up with the key named (the same rules as sync::schedule::make).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "connector/config/config.hpp"
#include "connector/config/schedule_check.hpp"
#include "support/service.hpp"

namespace connector::config {
namespace {

using nlohmann::json;

class ScheduleConfig : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::write_text(dir_.path() / "server.crt", "-----BEGIN CERTIFICATE-----\n");
    testing::write_text(dir_.path() / "server.key", "-----BEGIN PRIVATE KEY-----\n");
  }

  // The smallest file that loads, with `schedule` as its schedule section.
  expected<settings, config_error> load(const json& schedule) const {
    json document = {
        {"server", {{"tls", {{"certificate", "server.crt"}, {"private_key", "server.key"}}}}},
        {"admin", {{"token", testing::test_admin_token}}},
        {"store", {{"sqlite_path", "connector.db"}}},
        {"salesforce", {{"organization_ids", {testing::test_org_id}}}},
        {"schedule", schedule}};
    return load_text(document.dump(), dir_.path().string());
  }

  std::string error_of(const json& schedule) const {
    const auto loaded = load(schedule);
    if (loaded) return "(loaded)";
    return loaded.error().to_string();
  }

  testing::temp_dir dir_;
};

TEST_F(ScheduleConfig, LoadsEveryKey) {
  const auto loaded = load({{"run_type", "daily"},
                            {"run_interval_minutes", 90},
                            {"start_work_time", "22:00"},
                            {"stop_work_time", "06:00"},
                            {"time_zone", "Pacific/Auckland"},
                            {"check_sync_status_after_seconds", 30},
                            {"check_sync_status_duration_minutes", 45},
                            {"interval_after_expire_duration_minutes", 5}});
  ASSERT_TRUE(loaded) << loaded.error().to_string();
  const auto& s = loaded->schedule;
  EXPECT_EQ(s.run_type, "daily");
  EXPECT_EQ(s.run_interval_minutes, 90);
  EXPECT_EQ(s.start_work_time, "22:00");
  EXPECT_EQ(s.stop_work_time, "06:00");
  EXPECT_EQ(s.time_zone, "Pacific/Auckland");
  EXPECT_EQ(s.check_sync_status_after_seconds, 30);
  EXPECT_EQ(s.check_sync_status_duration_minutes, 45);
  EXPECT_EQ(s.interval_after_expire_duration_minutes, 5);
}

TEST_F(ScheduleConfig, ADailyRunNeedsOnlyItsStartTime) {
  const auto loaded = load({{"run_type", "daily"}, {"start_work_time", "02:30"}});
  ASSERT_TRUE(loaded) << loaded.error().to_string();
  EXPECT_FALSE(loaded->schedule.stop_work_time);
}

TEST_F(ScheduleConfig, RefusalsNameTheKey) {
  EXPECT_EQ(error_of({{"run_type", "hourly"}}),
            "schedule.run_type: expected one of \"interval\", \"daily\", \"manual\", got "
            "\"hourly\"");
  EXPECT_EQ(error_of({{"run_interval_minutes", 10081}}),
            "schedule.run_interval_minutes: must be from 1 to 10080, got 10081");
  EXPECT_EQ(error_of({{"start_work_time", "7:00"}, {"stop_work_time", "21:00"}}),
            "schedule.start_work_time: expected \"HH:MM\" (00:00 to 23:59), got \"7:00\"");
  EXPECT_EQ(error_of({{"start_work_time", 700}}),
            "schedule.start_work_time: expected a string, got a number");
  EXPECT_EQ(error_of({{"time_zone", "Europe/Berlim"}}),
            "schedule.time_zone: unknown time zone \"Europe/Berlim\"; did you mean "
            "\"Europe/Berlin\"?");
  EXPECT_EQ(error_of({{"time_zone", ""}}), "schedule.time_zone: must not be empty");
  EXPECT_EQ(error_of({{"check_sync_status_after_seconds", 0}}),
            "schedule.check_sync_status_after_seconds: must be at least 1, got 0");
  EXPECT_EQ(error_of({{"check_sync_status_duration_minutes", 0}}),
            "schedule.check_sync_status_duration_minutes: must be at least 1, got 0");
  EXPECT_EQ(error_of({{"interval_after_expire_duration_minutes", 0}}),
            "schedule.interval_after_expire_duration_minutes: must be at least 1, got 0");
  EXPECT_EQ(error_of({{"run_type", "daily"}}),
            "schedule.start_work_time: required when run_type is \"daily\" (the time of the "
            "run)");
  EXPECT_EQ(error_of({{"run_type", "interval"}, {"start_work_time", "07:00"}}),
            "schedule.stop_work_time: required with schedule.start_work_time (the work window)");
  EXPECT_EQ(error_of({{"start_work_time", "07:00"}, {"stop_work_time", "07:00"}}),
            "schedule.stop_work_time: must differ from start_work_time (an empty work window)");
}

TEST(ScheduleClockTime, ParsesTwoDigitHoursAndMinutes) {
  EXPECT_EQ(parse_clock_time("00:00"), 0);
  EXPECT_EQ(parse_clock_time("07:05"), 7 * 60 + 5);
  EXPECT_EQ(parse_clock_time("23:59"), 23 * 60 + 59);
  for (const char* bad : {"", "7:00", "07:0", "0700", "07-00", "24:00", "23:60", " 07:00", "07:00 ",
                          "+7:00", "07:5x", "007:00"}) {
    EXPECT_EQ(parse_clock_time(bad), std::nullopt) << '"' << bad << '"';
  }
}

}  // namespace
}  // namespace connector::config

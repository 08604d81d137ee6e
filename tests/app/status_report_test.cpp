// What `connector status` and GET /admin/status say about the last sync.
#include "connector/app/status_report.hpp"

#include <gtest/gtest.h>

namespace connector::app {
namespace {

store::run_record finished_sync() {
  store::run_record run;
  run.id = 42;
  run.trigger = "scheduled";
  run.status = "succeeded";
  run.queued_at = 1'764'383'000'000;
  run.started_at = 1'764'383'017'123;  // 2025-11-29T02:23:37.123Z
  run.ended_at = 1'764'383'020'000;
  run.message = "3 created, 1 deactivated";
  return run;
}

TEST(status_report, the_last_sync_is_null_before_a_first_run) {
  const auto json = status_to_json(status_snapshot{});
  for (const char* key : {"last_sync_start", "last_sync_status", "last_run_id"}) {
    ASSERT_TRUE(json.contains(key)) << key;
    EXPECT_TRUE(json[key].is_null()) << key;
  }
  const auto text = status_to_text(status_snapshot{});
  EXPECT_NE(text.find("Last sync start:        never\n"), std::string::npos) << text;
  EXPECT_NE(text.find("Last sync status:       none\n"), std::string::npos) << text;
}

TEST(status_report, the_last_sync_shows_its_start_status_and_run) {
  status_snapshot status;
  status.last_sync = finished_sync();
  const auto json = status_to_json(status);
  EXPECT_EQ(json["last_sync_start"], "2025-11-29T02:23:37.123Z");
  EXPECT_EQ(json["last_sync_status"], "succeeded");
  EXPECT_EQ(json["last_sync_message"], "3 created, 1 deactivated");
  EXPECT_EQ(json["last_run_id"], 42);
  const auto text = status_to_text(status);
  EXPECT_NE(text.find("Last sync start:        2025-11-29T02:23:37.123Z\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find("Last sync status:       succeeded (run 42): 3 created, 1 deactivated\n"),
            std::string::npos)
      << text;
}

TEST(status_report, a_running_sync_has_a_start_and_no_message) {
  status_snapshot status;
  status.last_sync = finished_sync();
  status.last_sync->status = "running";
  status.last_sync->ended_at.reset();
  status.last_sync->message.clear();
  EXPECT_EQ(status_to_json(status)["last_sync_status"], "running");
  EXPECT_NE(status_to_text(status).find("Last sync status:       running (run 42)\n"),
            std::string::npos);
}

TEST(status_report, the_live_instances_are_listed_with_host_pid_and_last_beat) {
  status_snapshot status;
  EXPECT_TRUE(status_to_json(status)["instances"].empty());
  EXPECT_NE(status_to_text(status).find("Live instances:         0\n"), std::string::npos);
  status.instances.push_back(
      {"9f2c@node-a/41", "node-a", 41, "serve", "0.1.0", 1'764'383'017'123, 1'764'383'020'000});
  status.instances.push_back(
      {"77ab@node-b/7", "node-b", 7, "cli", "0.1.0", 1'764'383'018'000, 1'764'383'019'000});
  const auto json = status_to_json(status);
  ASSERT_EQ(json["instances"].size(), 2u);
  EXPECT_EQ(json["instances"][0]["id"], "9f2c@node-a/41");
  EXPECT_EQ(json["instances"][0]["host"], "node-a");
  EXPECT_EQ(json["instances"][0]["pid"], 41);
  EXPECT_EQ(json["instances"][0]["role"], "serve");
  EXPECT_EQ(json["instances"][0]["version"], "0.1.0");
  EXPECT_EQ(json["instances"][0]["started_at"], "2025-11-29T02:23:37.123Z");
  EXPECT_EQ(json["instances"][0]["last_seen"], "2025-11-29T02:23:40.000Z");
  EXPECT_EQ(json["instances"][1]["role"], "cli");
  const auto text = status_to_text(status);
  EXPECT_NE(text.find("Live instances:         2\n"), std::string::npos) << text;
  EXPECT_NE(text.find("  9f2c@node-a/41  serve 0.1.0, since 2025-11-29T02:23:37.123Z, last seen "
                      "2025-11-29T02:23:40.000Z\n"),
            std::string::npos)
      << text;
}

}  // namespace
}  // namespace connector::app

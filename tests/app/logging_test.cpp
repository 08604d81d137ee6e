// The log lines: JSON objects with the event name and the scope's fields, or plain text,
// whatever the message holds.
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "connector/log.hpp"

namespace connector::log {
namespace {

class logging_test : public ::testing::Test {
 protected:
  void use(const std::string& format, const std::string& level = "info") {
    configure(level, format, std::make_shared<spdlog::sinks::ostream_sink_mt>(out_));
  }
  std::vector<std::string> lines() {
    std::vector<std::string> result;
    std::istringstream in(out_.str());
    for (std::string line; std::getline(in, line);) result.push_back(line);
    return result;
  }
  void TearDown() override { configure("info", "text"); }

  std::ostringstream out_;
};

TEST_F(logging_test, a_json_line_names_its_event_and_carries_the_scope) {
  use("json");
  {
    const scope run("run_id", "42");
    const scope user("record_id", "0055g00000AbCdEAAZ");
    info("user.applied", "user {}: {}", "0055g00000AbCdEAAZ", "applied (create)");
  }
  info("service.stopped", "stopped cleanly");
  const auto all = lines();
  ASSERT_EQ(all.size(), 2u);
  const auto first = nlohmann::json::parse(all[0]);
  EXPECT_EQ(first["event"], "user.applied");
  EXPECT_EQ(first["level"], "info");
  EXPECT_EQ(first["record_id"], "0055g00000AbCdEAAZ");
  EXPECT_EQ(first["run_id"], "42");
  EXPECT_EQ(first["message"], "user 0055g00000AbCdEAAZ: applied (create)");
  EXPECT_TRUE(first["time"].get<std::string>().ends_with("Z"));
  const auto second = nlohmann::json::parse(all[1]);
  EXPECT_EQ(second["event"], "service.stopped");
  EXPECT_FALSE(second.contains("record_id")) << "the scope ended";
}

TEST_F(logging_test, hostile_text_cannot_break_a_json_line) {
  use("json");
  const scope odd("record_id", "\"},\"level\":\"fake\n");
  warn("intake.refused", "refused: {}", "<\"quoted\"\n\\ \x01 broken \xff");
  spdlog::info("a line straight through spdlog");
  const auto all = lines();
  ASSERT_EQ(all.size(), 2u);
  const auto first = nlohmann::json::parse(all[0]);
  EXPECT_EQ(first["level"], "warning");
  EXPECT_EQ(first["record_id"], "\"},\"level\":\"fake\n");
  const auto second = nlohmann::json::parse(all[1]);
  EXPECT_EQ(second["event"], "log");
  EXPECT_EQ(second["message"], "a line straight through spdlog");
}

TEST_F(logging_test, inner_scopes_hide_outer_ones_of_the_same_key_and_threads_do_not_mix) {
  use("json");
  const scope outer("record_id", "outer");
  {
    const scope inner("record_id", "inner");
    info("a", "x");
  }
  std::thread([] { info("b", "from another thread"); }).join();
  info("c", "y");
  const auto all = lines();
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(nlohmann::json::parse(all[0])["record_id"], "inner");
  EXPECT_FALSE(nlohmann::json::parse(all[1]).contains("record_id"));
  EXPECT_EQ(nlohmann::json::parse(all[2])["record_id"], "outer");
}

TEST_F(logging_test, text_lines_show_the_event_and_fields_and_the_level_filters) {
  use("text", "warn");
  const scope user("record_id", "0055g00000AbCdEAAZ");
  info("user.applied", "not shown at warn");
  warn("user.retry", "attempt {} failed", 2);
  spdlog::error("plain");
  const auto all = lines();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_NE(all[0].find(" warning [user.retry] attempt 2 failed record_id=0055g00000AbCdEAAZ"),
            std::string::npos)
      << all[0];
  EXPECT_NE(all[1].find(" error plain record_id=0055g00000AbCdEAAZ"), std::string::npos) << all[1];
}

}  // namespace
}  // namespace connector::log

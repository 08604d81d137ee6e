// `connector status` and `connector retry` against a store with dead letters in it.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "connector/store/open.hpp"
#include "support/outbound_builder.hpp"
#include "support/service.hpp"

namespace connector::testing {
namespace {

// Two users' changes stored and taken by the worker, for each fixture to settle its way.
class cli_with_two_users : public ::testing::Test {
 protected:
  std::vector<store::pending_record> store_two_users(store::store& inbox,
                                                     const std::string& fields_json) {
    store::intake_request request;
    request.organization_id = test_org_id;
    request.source = "outbound_message";
    request.received_at = 1'000;
    for (int i = 1; i <= 2; ++i) {
      store::incoming_change c;
      c.notification_id = make_id("04l", i);
      c.record_id = make_id("005", i);
      c.object_type = "User";
      c.fields_json = fields_json;
      request.changes.push_back(c);
    }
    EXPECT_TRUE(inbox.submit_and_wait(request).committed);
    return inbox.take_due(1'000, 10);
  }
  std::unique_ptr<store::store> open_store() {
    write_text(config_, test_config(dir_.path()).dump());
    return store::open_store({(dir_.path() / "connector.db").string()});
  }

  temp_dir dir_;
  std::filesystem::path config_ = dir_.path() / "config.json";
};

class cli_with_dead_letters : public cli_with_two_users {
 protected:
  void SetUp() override {
    auto inbox = open_store();
    for (const auto& r : store_two_users(*inbox, R"({"Email":"not-an-email"})")) {
      inbox->mark_failed(test_org_id, r.record_id, r.version, "400: email is not valid", 0, true);
    }
  }
};

TEST_F(cli_with_dead_letters, status_lists_them_with_their_reasons) {
  const auto text = run_connector({"status", "--config", config_.string()});
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("Dead letters:           2"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find(make_id("005", 1) + "  after 1 attempt(s): 400: email is not valid"),
            std::string::npos)
      << text.out;

  const auto json = run_connector({"status", "--json", "--config", config_.string()});
  const auto status = nlohmann::json::parse(json.out);
  EXPECT_EQ(status["dead_letters"], 2);
  ASSERT_EQ(status["dead_letter_records"].size(), 2u);
  EXPECT_EQ(status["dead_letter_records"][0]["last_error"], "400: email is not valid");
}

TEST_F(cli_with_dead_letters, retry_requeues_one_by_its_15_character_id_then_all) {
  const auto one =
      run_connector({"retry", "--config", config_.string(), make_id("005", 1).substr(0, 15)});
  ASSERT_EQ(one.exit_code, 0) << one.err;
  EXPECT_NE(one.out.find("re-queued 1 dead letter(s)"), std::string::npos);

  const auto again = run_connector({"retry", "--config", config_.string(), make_id("005", 1)});
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_NE(again.err.find("is not a dead letter"), std::string::npos);

  const auto all = run_connector({"retry", "--all", "--config", config_.string()});
  ASSERT_EQ(all.exit_code, 0) << all.err;
  EXPECT_NE(all.out.find("re-queued 1 dead letter(s)"), std::string::npos);

  const auto status =
      nlohmann::json::parse(run_connector({"status", "--json", "--config", config_.string()}).out);
  EXPECT_EQ(status["dead_letters"], 0);
  EXPECT_EQ(status["pending"], 2);
}

TEST_F(cli_with_dead_letters, status_shows_the_last_sync_run) {
  auto json =
      nlohmann::json::parse(run_connector({"status", "--json", "--config", config_.string()}).out);
  EXPECT_TRUE(json["last_sync_start"].is_null());
  EXPECT_TRUE(json["last_sync_status"].is_null());
  EXPECT_TRUE(json["last_run_id"].is_null());
  {
    auto inbox = store::open_store({(dir_.path() / "connector.db").string()});
    const auto id = inbox->create_run("scheduled", false, 1'764'383'000'000);
    inbox->start_run(id, 1'764'383'017'123);  // 2025-11-29T02:23:37.123Z
    inbox->finish_run(id, "failed", 1'764'383'020'000, {{"read", 0}},
                      "Salesforce login failed: invalid_grant");
  }
  json =
      nlohmann::json::parse(run_connector({"status", "--json", "--config", config_.string()}).out);
  EXPECT_EQ(json["last_sync_start"], "2025-11-29T02:23:37.123Z");
  EXPECT_EQ(json["last_sync_status"], "failed");
  EXPECT_EQ(json["last_run_id"], 1);
  const auto text = run_connector({"status", "--config", config_.string()});
  EXPECT_NE(text.out.find("Last sync start:        2025-11-29T02:23:37.123Z"), std::string::npos)
      << text.out;
  EXPECT_NE(text.out.find(
                "Last sync status:       failed (run 1): Salesforce login failed: invalid_grant"),
            std::string::npos)
      << text.out;
}

TEST_F(cli_with_dead_letters, retry_without_an_id_or_all_is_a_usage_error) {
  const auto result = run_connector({"retry", "--config", config_.string()});
  EXPECT_NE(result.exit_code, 0);
  EXPECT_NE(result.err.find("--all"), std::string::npos) << result.err;
}

// `connector release` against a store with records held by the safety limit.
class cli_with_held_records : public cli_with_two_users {
 protected:
  void SetUp() override {
    auto inbox = open_store();
    for (const auto& r : store_two_users(*inbox, R"({"IsActive":false})"))
      inbox->mark_held(test_org_id, r.record_id, r.version, "held by the safety limit: test");
  }
};

TEST_F(cli_with_held_records, status_lists_them_and_release_lets_one_then_all_through) {
  const auto text = run_connector({"status", "--config", config_.string()});
  EXPECT_NE(text.out.find("Held (safety limit):    2"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find(make_id("005", 1) + "  held by the safety limit: test"),
            std::string::npos)
      << text.out;

  // By its 15-character id, as an operator may paste it.
  const auto one =
      run_connector({"release", "--config", config_.string(), make_id("005", 1).substr(0, 15)});
  ASSERT_EQ(one.exit_code, 0) << one.err;
  EXPECT_NE(one.out.find("released 1 held record(s)"), std::string::npos) << one.out;
  const auto again = run_connector({"release", "--config", config_.string(), make_id("005", 1)});
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_NE(again.err.find("is not held by the safety limit"), std::string::npos) << again.err;

  const auto all = run_connector({"release", "--all", "--config", config_.string()});
  ASSERT_EQ(all.exit_code, 0) << all.err;
  EXPECT_NE(all.out.find("released 1 held record(s)"), std::string::npos) << all.out;
  const auto status =
      nlohmann::json::parse(run_connector({"status", "--json", "--config", config_.string()}).out);
  EXPECT_EQ(status["held"], 0);
  EXPECT_EQ(status["pending"], 2);
  EXPECT_EQ(status["held_records"].size(), 0u);

  const auto usage = run_connector({"release", "--config", config_.string()});
  EXPECT_NE(usage.exit_code, 0);
  EXPECT_NE(usage.err.find("--all"), std::string::npos) << usage.err;
}

}  // namespace
}  // namespace connector::testing

// End to end: Salesforce outbound messages into the real binary, out to the iSpring Learn
// sandbox over real TLS, checked against the sandbox's state.
#include <gtest/gtest.h>

#include <csignal>
#include <functional>
#include <thread>

#include "support/eventually.hpp"
#include "support/ispring_sandbox_server.hpp"
#include "support/outbound_builder.hpp"
#include "support/sandbox_config.hpp"
#include "support/service.hpp"
#include "support/service_status.hpp"

namespace connector::testing {
namespace {

const std::string outbound_path = "/salesforce/outbound";

class sync_e2e : public ::testing::Test {
 protected:
  sync_e2e()
      : sandbox_server_({}, {"127.0.0.1", 0, test_certs::get().server_crt.string(),
                             test_certs::get().server_key.string(), 2}) {}

  nlohmann::json config() const {
    return {{"ispring", ispring_sandbox_config(sandbox_server_)},
            {"mapping",
             {{"groups", "iSpring_Groups__c"},
              {"fields", {{"first_name", "FirstName"}, {"job_title", "Title"}}}}},
            {"sync", {{"retry_base_ms", 20}, {"retry_max_ms", 200}, {"max_attempts", 50}}}};
  }

  void start(const nlohmann::json& overrides = nlohmann::json::object()) {
    auto c = config();
    c.merge_patch(overrides);
    service_ = std::make_unique<running_service>(dir_.path(), c);
    client_ = std::make_unique<https_client>(service_->public_client());
  }

  void post(const std::vector<user_notification>& users) {
    const auto reply = client_->post_xml(outbound_path, build_user_message(test_org_id, users));
    ASSERT_EQ(reply.status, 200) << reply.body;
  }

  ispring_sandbox& sandbox() { return sandbox_server_.sandbox(); }
  std::optional<sandbox_user> user(std::uint64_t n) {
    return sandbox().find_user_by_login("user" + std::to_string(n) + "@acme.example.prod");
  }
  std::string department_name(const sandbox_user& u) {
    for (const auto& d : sandbox().departments()) {
      if (d.id == u.department_id) return d.name;
    }
    return {};
  }
  nlohmann::json status() { return status_of(*service_); }
  bool drained() { return connector::testing::drained(*service_); }

  temp_dir dir_;
  ispring_sandbox_server sandbox_server_;
  std::unique_ptr<running_service> service_;
  std::unique_ptr<https_client> client_;
};

TEST_F(sync_e2e, a_new_user_appears_with_fields_department_and_groups) {
  start();
  post({sample_user(1, 1)});
  ASSERT_TRUE(eventually([&] { return user(1).has_value(); })) << service_->process().stderr_text();
  const auto u = *user(1);
  EXPECT_EQ(u.fields.at("email"), "user1@acme.example");
  EXPECT_EQ(u.fields.at("first_name"), "First1");
  EXPECT_EQ(u.fields.at("last_name"), "Last1");
  EXPECT_EQ(u.fields.at("job_title"), "Engineer");
  EXPECT_EQ(u.status, 1);
  EXPECT_EQ(department_name(u), "Engineering");
  ASSERT_TRUE(eventually([&] {
    const auto onboarding = sandbox().find_group_by_name("Onboarding");
    const auto compliance = sandbox().find_group_by_name("Compliance");
    return onboarding && compliance && onboarding->user_ids == std::vector<std::string>{u.id} &&
           compliance->user_ids == std::vector<std::string>{u.id};
  }));
  ASSERT_TRUE(eventually([&] { return drained(); }));
}

TEST_F(sync_e2e, an_update_changes_only_what_changed_and_a_move_changes_department) {
  start();
  post({sample_user(2, 1, "2026-11-01T10:00:00.000Z")});
  ASSERT_TRUE(eventually([&] { return user(2).has_value() && drained(); }));
  const int creates_before = sandbox().calls("POST /user");

  auto changed = sample_user(2, 2, "2026-11-01T11:00:00.000Z");
  changed.fields["Title"] = "Lead Engineer";
  changed.fields["Department"] = "Sales";
  post({changed});
  ASSERT_TRUE(eventually([&] {
    const auto u = user(2);
    return u && u->fields.at("job_title") == "Lead Engineer" && department_name(*u) == "Sales";
  }));
  EXPECT_EQ(sandbox().calls("POST /user"), creates_before);
  EXPECT_EQ(sandbox().users().size(), 1u);
  EXPECT_EQ(user(2)->fields.at("first_name"), "First2");
}

TEST_F(sync_e2e, is_active_false_deactivates_and_true_reactivates) {
  start();
  post({sample_user(3, 1, "2026-11-01T10:00:00.000Z")});
  ASSERT_TRUE(eventually([&] { return user(3).has_value(); }));
  auto leaving = sample_user(3, 2, "2026-11-02T10:00:00.000Z");
  leaving.fields["IsActive"] = "false";
  post({leaving});
  ASSERT_TRUE(eventually([&] { return user(3)->status == 3; }));
  auto back = sample_user(3, 3, "2026-11-03T10:00:00.000Z");
  post({back});
  ASSERT_TRUE(eventually([&] { return user(3)->status == 1; }));
}

TEST_F(sync_e2e, repeats_and_out_of_order_deliveries_give_one_user_in_the_newest_state) {
  start();
  auto newest = sample_user(4, 3, "2026-11-03T10:00:00.000Z");
  newest.fields["Title"] = "Newest";
  auto older = sample_user(4, 2, "2026-11-02T10:00:00.000Z");
  older.fields["Title"] = "Older";
  for (int i = 0; i < 3; ++i) post({newest});
  post({older});
  post({newest, older});
  ASSERT_TRUE(eventually([&] { return user(4).has_value() && drained(); }));
  EXPECT_EQ(sandbox().users().size(), 1u);
  EXPECT_EQ(user(4)->fields.at("job_title"), "Newest");
}

TEST_F(sync_e2e, an_existing_ispring_user_with_the_same_login_is_linked_not_duplicated) {
  const auto existing = sandbox().add_user("user5@acme.example.prod", "old5@acme.example");
  start();
  post({sample_user(5, 1)});
  ASSERT_TRUE(eventually([&] { return drained(); }));
  ASSERT_EQ(sandbox().users().size(), 1u);
  EXPECT_EQ(sandbox().users()[0].id, existing);
  EXPECT_EQ(sandbox().users()[0].fields.at("email"), "user5@acme.example");
}

TEST_F(sync_e2e, an_outage_loses_nothing_and_the_backlog_drains_after_recovery) {
  start();
  sandbox().set_outage(true);
  for (int i = 10; i < 30; ++i) post({sample_user(i, i)});
  ASSERT_TRUE(eventually([&] { return status()["retrying"].get<int>() > 0; }));
  EXPECT_TRUE(sandbox().users().empty());
  sandbox().set_outage(false);
  ASSERT_TRUE(eventually([&] { return sandbox().users().size() == 20 && drained(); }));
  EXPECT_EQ(status()["dead_letters"], 0);
}

TEST_F(sync_e2e, a_429_storm_is_ridden_out) {
  start();
  sandbox().fail_next(30, 429, 0);
  for (int i = 40; i < 45; ++i) post({sample_user(i, i)});
  ASSERT_TRUE(eventually([&] { return sandbox().users().size() == 5 && drained(); }));
  EXPECT_EQ(status()["dead_letters"], 0);
}

TEST_F(sync_e2e, a_permanently_rejected_user_becomes_a_dead_letter_and_can_be_retried) {
  start();
  sandbox().fail_next(1, 400);
  post({sample_user(6, 1)});
  ASSERT_TRUE(eventually([&] { return status()["dead_letters"] == 1; }));
  const auto s = status();
  ASSERT_EQ(s["dead_letter_records"].size(), 1u);
  EXPECT_NE(s["dead_letter_records"][0]["last_error"].get<std::string>().find("400"),
            std::string::npos)
      << s.dump();
  EXPECT_FALSE(user(6).has_value());

  const auto retried =
      run_connector({"retry", "--all", "--config", service_->config_path().string()});
  ASSERT_EQ(retried.exit_code, 0) << retried.err;
  ASSERT_TRUE(eventually([&] { return user(6).has_value() && drained(); }))
      << status().dump() << service_->process().stderr_text();
  EXPECT_EQ(status()["dead_letters"], 0);
}

TEST_F(sync_e2e, a_user_without_a_department_is_not_synchronised_and_status_says_so) {
  start();
  auto no_department = sample_user(7, 1);
  no_department.fields.erase("Department");
  post({no_department});
  ASSERT_TRUE(eventually([&] { return status()["skipped"] == 1; }));
  EXPECT_TRUE(sandbox().users().empty());
}

TEST_F(sync_e2e, check_verifies_credentials_and_the_mapping_against_the_account) {
  const auto config_path = dir_.path() / "check.json";
  write_text(config_path, [&] {
    auto c = test_config(dir_.path(), config());
    return c.dump();
  }());
  const auto good = run_connector({"check", "--config", config_path.string()});
  EXPECT_EQ(good.exit_code, 0) << good.out << good.err;
  EXPECT_NE(good.out.find("ok    ispring: signed in"), std::string::npos) << good.out;
  EXPECT_NE(good.out.find("ok    mapping.fields.job_title"), std::string::npos) << good.out;

  auto wrong = test_config(dir_.path(), config());
  wrong["ispring"]["client_secret"] = "definitely-wrong-secret";
  wrong["mapping"]["fields"]["NO_SUCH_FIELD"] = "Division";
  write_text(config_path, wrong.dump());
  const auto bad = run_connector({"check", "--config", config_path.string()});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.out.find("FAIL  ispring:"), std::string::npos) << bad.out;
  EXPECT_EQ(bad.out.find("definitely-wrong-secret"), std::string::npos) << bad.out;

  wrong["ispring"]["client_secret"] = "sandbox-client-secret";
  write_text(config_path, wrong.dump());
  const auto unmapped = run_connector({"check", "--config", config_path.string()});
  EXPECT_EQ(unmapped.exit_code, 1);
  EXPECT_NE(unmapped.out.find("FAIL  mapping.fields.NO_SUCH_FIELD"), std::string::npos)
      << unmapped.out;
}

TEST_F(sync_e2e, sync_user_applies_one_user_now_and_prints_each_step) {
  // Intake only (no ispring section), so the user waits in the queue.
  service_ = std::make_unique<running_service>(dir_.path());
  client_ = std::make_unique<https_client>(service_->public_client());
  post({sample_user(8, 1)});
  ASSERT_EQ(service_->stop(), 0);

  const auto config_path = dir_.path() / "with-ispring.json";
  write_text(config_path, test_config(dir_.path(), config()).dump());
  const auto result =
      run_connector({"sync-user", "--config", config_path.string(), make_id("005", 8)});
  ASSERT_EQ(result.exit_code, 0) << result.out << result.err;
  EXPECT_NE(result.out.find("scope:"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("create:"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("department:"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("result: applied"), std::string::npos) << result.out;
  ASSERT_TRUE(user(8).has_value());

  // Applied and recorded: the status shows nothing left to do.
  const auto status = nlohmann::json::parse(
      run_connector({"status", "--json", "--config", config_path.string()}).out);
  EXPECT_EQ(status["pending"], 0);
}

}  // namespace
}  // namespace connector::testing

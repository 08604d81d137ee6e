// Settings edited in the admin page, as the config sees them: named admin tokens, which
// sections the file manages, and the effective settings from the file plus a stored set,
// validated exactly as the file is (errors name the key; the file wins where it speaks).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "connector/config/config.hpp"
#include "support/service.hpp"

namespace connector::config {
namespace {

using nlohmann::json;

class stored_sections_test : public ::testing::Test {
 protected:
  expected<settings, config_error> load(const json& overrides) const {
    return load_text(testing::test_config(dir_.path(), overrides).dump(), dir_.path().string());
  }
  settings load_ok(const json& overrides = json::object()) const {
    auto loaded = load(overrides);
    if (!loaded) ADD_FAILURE() << loaded.error().to_string();
    return loaded ? *loaded : settings{};
  }
  testing::temp_dir dir_;
};

constexpr const char* ops_token = "ops-token-abcdefghijklmnop-0123";

TEST_F(stored_sections_test, named_tokens_sit_beside_the_single_token) {
  const auto s = load_ok({{"admin", {{"tokens", {{{"name", "ops"}, {"token", ops_token}}}}}}});
  ASSERT_EQ(s.admin.tokens.size(), 2u);
  EXPECT_EQ(s.admin.tokens[0].name, "admin");
  EXPECT_EQ(s.admin.tokens[0].token.reveal(), testing::test_admin_token);
  EXPECT_EQ(s.admin.tokens[1].name, "ops");
  EXPECT_EQ(s.admin.tokens[1].token.reveal(), ops_token);

  // Named tokens alone are enough.
  const auto named = load_ok(
      {{"admin", {{"token", nullptr}, {"tokens", {{{"name", "ops"}, {"token", ops_token}}}}}}});
  ASSERT_EQ(named.admin.tokens.size(), 1u);
  EXPECT_EQ(named.admin.token.reveal(), ops_token);
}

TEST_F(stored_sections_test, bad_named_tokens_are_refused_naming_the_key_never_the_token) {
  const auto error_of = [&](const json& tokens, const json& single = testing::test_admin_token) {
    auto loaded = load({{"admin", {{"token", single}, {"tokens", tokens}}}});
    EXPECT_FALSE(loaded) << tokens.dump();
    return loaded ? config_error{} : loaded.error();
  };
  EXPECT_EQ(error_of({{{"name", "ops"}, {"token", "short"}}}).key, "admin.tokens[0].token");
  EXPECT_EQ(error_of({{{"name", "bad name"}, {"token", ops_token}}}).key, "admin.tokens[0].name");
  EXPECT_EQ(error_of({{{"token", ops_token}}}).key, "admin.tokens[0].name");
  EXPECT_EQ(error_of({{{"name", "ops"}, {"token", ops_token}, {"role", "x"}}}).key,
            "admin.tokens[0].role");
  const auto taken = error_of({{{"name", "admin"}, {"token", ops_token}}});
  EXPECT_EQ(taken.key, "admin.tokens[0].name");
  const auto reused = error_of({{{"name", "ops"}, {"token", testing::test_admin_token}}});
  EXPECT_EQ(reused.key, "admin.tokens[0].token");
  EXPECT_EQ(reused.to_string().find(testing::test_admin_token), std::string::npos);
  EXPECT_EQ(error_of("ops").key, "admin.tokens");
  EXPECT_EQ(error_of(json::array(), nullptr).key, "admin.token");
}

TEST_F(stored_sections_test, the_file_manages_the_sections_it_sets) {
  EXPECT_TRUE(load_ok().file_managed.empty());
  const auto s = load_ok(
      {{"schedule", {{"run_type", "manual"}}},
       {"sync", json::object()},
       {"alerts",
        {{"email_to", {"ops@example.com"}},
         {"smtp", {{"host", "127.0.0.1"}, {"security", "none"}, {"from", "c@example.com"}}}}}});
  EXPECT_EQ(s.file_managed, (std::vector<std::string>{"schedule", "sync", "alerts.email_to"}));
  // alerts without email_to: the addresses are the page's.
  const auto page = load_ok(
      {{"alerts",
        {{"smtp", {{"host", "127.0.0.1"}, {"security", "none"}, {"from", "c@example.com"}}}}}});
  EXPECT_TRUE(page.file_managed.empty());
  ASSERT_TRUE(page.alerts);
  EXPECT_TRUE(page.alerts->email_to.empty());
}

TEST_F(stored_sections_test, stored_sections_apply_where_the_file_is_silent) {
  const auto file = load_ok(
      {{"mapping", {{"department", "Division"}}},
       {"alerts",
        {{"smtp", {{"host", "127.0.0.1"}, {"security", "none"}, {"from", "c@example.com"}}}}}});
  const json stored = {{"mapping", {{"department", "Ignored"}}},
                       {"schedule", {{"run_type", "interval"}, {"run_interval_minutes", 5}}},
                       {"sync", {{"departments", {{"Sales", {{"ispring_name", "Sales EMEA"}}}}}}},
                       {"alerts.email_to", {"ops@example.com"}}};
  const auto s = with_stored_sections(file, stored.dump());
  ASSERT_TRUE(s) << s.error().to_string();
  EXPECT_EQ(s->mapping.department, "Division");  // file-managed: the file wins
  EXPECT_EQ(s->schedule.run_type, "interval");
  EXPECT_EQ(s->schedule.run_interval_minutes, 5);
  EXPECT_EQ(s->sync.departments.at("Sales").ispring_name, "Sales EMEA");
  EXPECT_EQ(s->alerts->email_to, (std::vector<std::string>{"ops@example.com"}));
  EXPECT_EQ(s->file_managed, (std::vector<std::string>{"mapping"}));
  EXPECT_EQ(s->admin.token.reveal(), file.admin.token.reveal());

  // Nothing stored: the defaults.
  const auto defaults = with_stored_sections(file, "");
  ASSERT_TRUE(defaults);
  EXPECT_EQ(defaults->schedule.run_type, "manual");
  EXPECT_TRUE(defaults->sync.departments.empty());
}

TEST_F(stored_sections_test, a_stored_section_is_validated_as_the_file_is) {
  const auto file = load_ok();
  const auto error_of = [&](const json& stored) {
    const auto s = with_stored_sections(file, stored.dump());
    EXPECT_FALSE(s) << stored.dump();
    return s ? config_error{} : s.error();
  };
  EXPECT_EQ(error_of({{"schedule", {{"run_type", "interval"}, {"run_interval_minutes", 0}}}}).key,
            "schedule.run_interval_minutes");
  EXPECT_EQ(error_of({{"schedule", {{"run_type", "hourly"}}}}).key, "schedule.run_type");
  EXPECT_EQ(error_of({{"sync", {{"max_deactivations", "150%"}}}}).key, "sync.max_deactivations");
  EXPECT_EQ(
      error_of(
          {{"sync", {{"departments", {{"Sales", {{"users", {"a"}}, {"sync_all_users", true}}}}}}}})
          .key,
      "sync.departments.Sales.users");
  EXPECT_EQ(error_of({{"mapping", {{"email", "Email; DROP"}}}}).key, "mapping.email");
  EXPECT_EQ(error_of({{"mapping", "Email"}}).key, "mapping");
  EXPECT_EQ(error_of({{"server", json::object()}}).key, "server");
}

}  // namespace
}  // namespace connector::config

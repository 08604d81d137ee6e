// Settings edited in the page, as the service holds them (live_settings.hpp), on both store
// engines: a save by one instance reaches another on the same store by its poll; a stale
// save from either is refused; a bad value saves nothing; a listener sees each new revision
// once, and the snapshot a run took stays as it was.
#include <gtest/gtest.h>

#include <atomic>

#include "connector/app/live_settings.hpp"
#include "connector/store/settings_log.hpp"
#include "connector/sync/scope.hpp"
#include "support/eventually.hpp"
#include "support/service.hpp"
#include "support/store_engines.hpp"

namespace connector::app {
namespace {

using nlohmann::json;

class live_settings_test : public testing::store_test {
 protected:
  void SetUp() override {
    store_test::SetUp();
    store_ = open_located();
    auto loaded = config::load_text(testing::test_config(dir_.path()).dump(), dir_.path().string());
    ASSERT_TRUE(loaded) << loaded.error().to_string();
    file_ = *loaded;
  }
  std::unique_ptr<store::settings_log> open_log() { return store::open_settings_log(located()); }

  testing::temp_dir dir_;
  manual_clock clock_{1'000'000};
  std::unique_ptr<store::store> store_;
  config::settings file_;
};

INSTANTIATE_STORE_ENGINES(live_settings_test);

const json interval_5 = {{"run_type", "interval"}, {"run_interval_minutes", 5}};

TEST_P(live_settings_test, a_revision_saved_by_one_instance_reaches_the_other) {
  auto log_a = open_log();
  auto log_b = open_log();
  live_settings a(file_, *log_a, clock_);
  live_settings b(file_, *log_b, clock_);
  std::atomic<int> seen_by_b{0};
  b.on_change([&](const sync::settings_snapshot& now) {
    EXPECT_EQ(now.revision, 1);
    EXPECT_EQ(now.settings->schedule.run_interval_minutes, 5);
    ++seen_by_b;
  });
  const auto before = b.current();
  EXPECT_EQ(before.revision, 0);
  EXPECT_EQ(before.settings->schedule.run_type, "manual");

  b.start_polling(20);
  const auto saved = a.save_section("schedule", interval_5, 0, "ops");
  ASSERT_EQ(saved.status, 200) << saved.error;
  EXPECT_EQ(saved.revision, 1);
  EXPECT_EQ(a.current().revision, 1);  // the saver applies it at once
  ASSERT_TRUE(testing::eventually([&] { return b.current().revision == 1; }));
  EXPECT_EQ(b.current().settings->schedule.run_type, "interval");
  // Listeners run just after the snapshot is switched.
  ASSERT_TRUE(testing::eventually([&] { return seen_by_b.load() == 1; }));
  // What a run took before the save is untouched.
  EXPECT_EQ(before.settings->schedule.run_type, "manual");

  // B still edits revision 0: stale, and nothing is written.
  const auto stale = b.save_section("sync", {{"departments", {{"Sales", json::object()}}}}, 0, "x");
  EXPECT_EQ(stale.status, 409);
  EXPECT_EQ(log_a->current_revision(), 1);
  b.stop_polling();
  EXPECT_EQ(seen_by_b.load(), 1);
}

TEST_P(live_settings_test, refused_saves_write_nothing) {
  auto log = open_log();
  live_settings live(file_, *log, clock_);
  auto zero = interval_5;
  zero["run_interval_minutes"] = 0;
  const auto bad = live.save_section("schedule", zero, 0, "ops");
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(bad.key, "schedule.run_interval_minutes");
  EXPECT_EQ(live.save_section("schedule", interval_5, std::nullopt, "ops").status, 428);
  EXPECT_EQ(live.save_section("server", json::object(), 0, "ops").status, 404);
  // No alerts section in the file: no addresses to keep.
  const auto alerts = live.save_section("alerts.email_to", {"ops@example.com"}, 0, "ops");
  EXPECT_EQ(alerts.status, 409);
  EXPECT_EQ(alerts.key, "alerts.smtp");
  EXPECT_EQ(log->current_revision(), 0);
  EXPECT_TRUE(log->list_revisions(10).empty());
  EXPECT_EQ(live.current().revision, 0);
}

TEST_P(live_settings_test, custom_departments_and_choosing_by_group_apply_without_a_restart) {
  auto log_a = open_log();
  auto log_b = open_log();
  live_settings a(file_, *log_a, clock_);
  live_settings b(file_, *log_b, clock_);
  b.start_polling(20);
  const json by_group = {{"select_by", "group"},
                         {"groups", {"Mentors"}},
                         {"departments",
                          {{"Sales", {{"ispring_name", "Sales EMEA"}}},
                           {"Onboarding", {{"custom", true}, {"users", {"ann@acme.com"}}}}}}};
  // Without mapping.groups there is nothing to choose by: refused naming the key, unsaved.
  const auto refused = a.save_section("sync", by_group, 0, "ops");
  EXPECT_EQ(refused.status, 400);
  EXPECT_EQ(refused.key, "sync.select_by");
  EXPECT_EQ(log_a->current_revision(), 0);

  ASSERT_EQ(a.save_section("mapping", {{"groups", "Groups__c"}}, 0, "ops").status, 200);
  const auto saved = a.save_section("sync", by_group, 1, "ops");
  ASSERT_EQ(saved.status, 200) << saved.error;
  ASSERT_TRUE(testing::eventually([&] { return b.current().revision == 2; }));
  const auto now = b.current();
  EXPECT_EQ(now.settings->sync.select_by, "group");
  EXPECT_TRUE(now.settings->sync.departments.at("Onboarding").custom);
  sync::mapped_user ann;
  ann.record_id = "005000000000001AAA";
  ann.username = "Ann@acme.com";
  ann.department = "Support";
  ann.groups = std::vector<std::string>{"Mentors"};
  ann.active = true;
  const auto scope = sync::decide_scope(ann, now.settings->sync);
  EXPECT_TRUE(scope.in_scope) << scope.reason;
  EXPECT_EQ(scope.department, "Onboarding");

  // The section as served (GET /admin/settings, export) saves back as it is: the same rules.
  const json served = section_to_json(*now.settings, "sync");
  EXPECT_EQ(served["select_by"], "group");
  EXPECT_EQ(served["departments"]["Onboarding"],
            (json{{"custom", true}, {"users", {"ann@acme.com"}}}));
  const auto again = a.save_section("sync", served, 2, "ops");
  EXPECT_EQ(again.status, 200) << again.error;
  b.stop_polling();
}

TEST_P(live_settings_test, a_stored_revision_the_file_no_longer_accepts_stops_a_start) {
  {
    auto log = open_log();
    live_settings live(file_, *log, clock_);
    ASSERT_EQ(live.save_section("sync", {{"verify_notifications", false}}, 0, "ops").status, 200);
  }
  // Written by hand (or by an older connector): a value the file's rules refuse.
  auto log = open_log();
  store::settings_revision bad;
  bad.saved_by = "hand";
  bad.sections = {"schedule"};
  bad.settings_json = json{{"schedule", {{"run_type", "sometimes"}}}}.dump();
  ASSERT_EQ(log->save_revision(1, bad), 2);
  try {
    live_settings refused(file_, *log, clock_);
    ADD_FAILURE() << "started on a revision that does not validate";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("schedule.run_type"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("revision 2"), std::string::npos) << e.what();
  }
  // The CLI still opens it, to save a revision that fixes it.
  live_settings lenient(file_, *log, clock_, true);
  EXPECT_EQ(lenient.save_section("schedule", interval_5, 2, "ops").status, 200);
  EXPECT_EQ(lenient.current().revision, 3);
}

}  // namespace
}  // namespace connector::app

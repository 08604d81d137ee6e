// Settings revisions (settings_log.hpp) on both engines: numbered from 1, each with who saved
// it, when and which sections changed; a save from a stale revision writes nothing, even when
// two logs (two instances) race from the same revision; the content reads back byte for byte
// and survives reopening the store.
#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "connector/store/settings_log.hpp"
#include "support/store_engines.hpp"

namespace connector::store {
namespace {

settings_revision revision_of(const std::string& who, std::vector<std::string> sections,
                              const std::string& content, epoch_ms at = 1'000) {
  settings_revision r;
  r.saved_at = at;
  r.saved_by = who;
  r.sections = std::move(sections);
  r.settings_json = content;
  return r;
}

class settings_log_test : public testing::store_test {
 protected:
  void SetUp() override {
    store_test::SetUp();
    store_ = open_located();  // creates and migrates the schema
  }
  std::unique_ptr<settings_log> open_log() { return open_settings_log(located()); }

  std::unique_ptr<store> store_;
};

INSTANTIATE_STORE_ENGINES(settings_log_test);

TEST_P(settings_log_test, a_fresh_store_has_no_revision) {
  auto log = open_log();
  EXPECT_EQ(log->current_revision(), 0);
  EXPECT_FALSE(log->read_revision(1));
  EXPECT_FALSE(log->read_revision(0));
  EXPECT_TRUE(log->list_revisions(10).empty());
}

TEST_P(settings_log_test, saves_number_revisions_and_keep_who_when_and_what_changed) {
  auto log = open_log();
  const std::string first = R"({"schedule":{"run_type":"interval","run_interval_minutes":5}})";
  const std::string second =
      R"({"schedule":{"run_type":"interval","run_interval_minutes":5},"sync":{"departments":{"Sales":{}}}})";
  EXPECT_EQ(log->save_revision(0, revision_of("ops", {"schedule"}, first, 1'000)), 1);
  EXPECT_EQ(log->save_revision(1, revision_of("admin", {"sync", "mapping"}, second, 2'000)), 2);
  EXPECT_EQ(log->current_revision(), 2);

  const auto one = log->read_revision(1);
  ASSERT_TRUE(one);
  EXPECT_EQ(one->revision, 1);
  EXPECT_EQ(one->saved_by, "ops");
  EXPECT_EQ(one->saved_at, 1'000);
  EXPECT_EQ(one->sections, (std::vector<std::string>{"schedule"}));
  EXPECT_EQ(one->settings_json, first);

  const auto list = log->list_revisions(10);
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].revision, 2);  // newest first
  EXPECT_EQ(list[0].saved_by, "admin");
  EXPECT_EQ(list[0].saved_at, 2'000);
  EXPECT_EQ(list[0].sections, (std::vector<std::string>{"sync", "mapping"}));
  EXPECT_TRUE(list[0].settings_json.empty());  // the list leaves the content out
  EXPECT_EQ(list[1].revision, 1);
  EXPECT_EQ(log->list_revisions(1).size(), 1u);
}

TEST_P(settings_log_test, a_stale_or_future_revision_is_refused_and_writes_nothing) {
  auto log = open_log();
  ASSERT_EQ(log->save_revision(0, revision_of("a", {"schedule"}, "{\"a\":1}")), 1);
  ASSERT_EQ(log->save_revision(1, revision_of("a", {"schedule"}, "{\"a\":2}")), 2);
  // Editing from revision 1 after 2 was saved: the other administrator's change must not be
  // overwritten unseen.
  EXPECT_FALSE(log->save_revision(1, revision_of("b", {"sync"}, "{\"b\":1}")));
  EXPECT_FALSE(log->save_revision(0, revision_of("b", {"sync"}, "{\"b\":1}")));
  // A revision nobody saved yet: no gap in the numbers.
  EXPECT_FALSE(log->save_revision(5, revision_of("b", {"sync"}, "{\"b\":1}")));
  EXPECT_EQ(log->current_revision(), 2);
  EXPECT_EQ(log->read_revision(2)->settings_json, "{\"a\":2}");
  EXPECT_FALSE(log->read_revision(3));
  EXPECT_FALSE(log->read_revision(6));
}

TEST_P(settings_log_test,
       two_instances_saving_from_one_revision_at_once_make_exactly_one_revision) {
  constexpr int instances = 4;
  constexpr int rounds = 20;
  std::vector<std::unique_ptr<settings_log>> logs;
  for (int i = 0; i < instances; ++i) logs.push_back(open_log());
  for (int round = 0; round < rounds; ++round) {
    const std::int64_t from = logs[0]->current_revision();
    std::atomic<int> ready{0};
    std::vector<std::future<std::optional<std::int64_t>>> saves;
    for (int i = 0; i < instances; ++i) {
      saves.push_back(std::async(std::launch::async, [&, i] {
        ++ready;
        while (ready.load() < instances) std::this_thread::yield();
        return logs[i]->save_revision(
            from, revision_of("i" + std::to_string(i), {"sync"}, std::to_string(i)));
      }));
    }
    int won = 0;
    for (auto& s : saves) {
      const auto saved = s.get();
      if (saved) {
        ++won;
        EXPECT_EQ(*saved, from + 1);
      }
    }
    EXPECT_EQ(won, 1) << "round " << round;
    EXPECT_EQ(logs[1]->current_revision(), from + 1);
  }
  EXPECT_EQ(logs[0]->list_revisions(1000).size(), static_cast<std::size_t>(rounds));
}

TEST_P(settings_log_test, revisions_are_kept_when_the_store_is_opened_again) {
  {
    auto log = open_log();
    ASSERT_EQ(log->save_revision(0, revision_of("ops", {"mapping"}, "{\"mapping\":{}}")), 1);
  }
  store_.reset();
  store_ = open_located();
  auto log = open_log();
  EXPECT_EQ(log->current_revision(), 1);
  EXPECT_EQ(log->read_revision(1)->saved_by, "ops");
  EXPECT_EQ(log->read_revision(1)->settings_json, "{\"mapping\":{}}");
}

}  // namespace
}  // namespace connector::store

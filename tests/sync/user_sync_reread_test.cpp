// Records Salesforce sent without data (GAP events) are read over REST before they are
// applied; those due together are read in one query, and a read is used only for a state
// that arrived before it. Through the real chain (user_sync over the in-process iSpring
// sandbox), a real SQLite inbox and an injected clock; Salesforce is a map behind the reader.
#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "connector/salesforce/rest_wire.hpp"
#include "connector/store/inbox.hpp"
#include "connector/sync/user_sync.hpp"
#include "connector/sync/worker.hpp"
#include "support/in_process_ispring.hpp"
#include "support/ispring_sandbox.hpp"
#include "support/service.hpp"

namespace connector::sync {
namespace {

using nlohmann::json;

constexpr const char* org = "00D5g000004XyZaEAK";

// 18-character user ids 0055g0000000001AAA, 0055g0000000002AAA, … (unique, well formed).
std::string user_id(int n) {
  std::string digits = std::to_string(n);
  return "0055g" + std::string(10 - digits.size(), '0') + digits + "AAA";
}

class user_sync_reread : public ::testing::Test {
 protected:
  user_sync_reread() {
    settings_.mapping.fields = {{"job_title", "Title"}};
    settings_.sync.departments["Sales"] = {true, std::nullopt, {}};
    store::sqlite_options o;
    o.path = (dir_.path() / "r.db").string();
    o.time = &clock_;
    inbox_ = store::open_sqlite_inbox(o);
    reread_options reread;
    reread.read = [this](const std::vector<std::string>& ids)
        -> expected<std::map<std::string, json>, std::string> {
      queries_.push_back(ids);
      if (fail_reads_ > 0) {
        --fail_reads_;
        return unexpected{std::string("HTTP 503: service unavailable")};
      }
      std::map<std::string, json> found;
      for (const auto& id : ids)
        if (auto it = salesforce_.find(id); it != salesforce_.end()) found[id] = it->second;
      return found;
    };
    reread.others_due = [this](const store::pending_record& record) {
      return inbox_->due_rereads(record.organization_id, clock_.now(),
                                 salesforce::max_ids_per_query);
    };
    reread.time = &clock_;
    chain_ = std::make_unique<user_sync>(settings_, api_, std::move(reread));
  }

  void in_salesforce(int n, const std::string& title) {
    salesforce_[user_id(n)] = {{"Id", user_id(n)},
                               {"Username", "user" + std::to_string(n) + "@acme.com"},
                               {"Email", "user" + std::to_string(n) + "@acme.com"},
                               {"LastName", "User" + std::to_string(n)},
                               {"Department", "Sales"},
                               {"IsActive", true},
                               {"Title", title}};
  }

  // One GAP event naming these users, as the events intake stores it.
  void gap(const std::vector<int>& users, const std::string& notification) {
    store::intake_request r;
    r.organization_id = org;
    r.source = "event";
    r.received_at = clock_.now();
    for (const int n : users) {
      store::incoming_change c;
      c.notification_id = notification + "-" + std::to_string(n);
      c.record_id = user_id(n);
      c.object_type = "User";
      c.fields_json = "{}";
      c.has_data = false;
      c.reread = true;
      r.changes.push_back(c);
    }
    ASSERT_TRUE(inbox_->submit_and_wait(r).committed);
  }

  std::size_t run_worker() {
    worker w(*inbox_, chain_->processor(), clock_, worker_options{1, 3, 1'000, 60'000, 64, 1'000});
    return w.run_once();
  }

  std::optional<std::string> title_in_ispring(int n) {
    const auto user = sandbox_.find_user_by_login("user" + std::to_string(n) + "@acme.com");
    if (!user) return std::nullopt;
    const auto it = user->fields.find("job_title");
    return it == user->fields.end() ? std::string() : it->second;
  }

  testing::temp_dir dir_;
  manual_clock clock_{1'700'000'000'000};
  testing::ispring_sandbox sandbox_;
  testing::in_process_ispring api_{sandbox_};
  config::settings settings_;
  std::unique_ptr<store::inbox> inbox_;
  std::unique_ptr<user_sync> chain_;
  std::map<std::string, json> salesforce_;
  std::vector<std::vector<std::string>> queries_;
  int fail_reads_ = 0;
};

TEST_F(user_sync_reread, records_due_together_are_read_in_one_query) {
  for (int n = 1; n <= 4; ++n) in_salesforce(n, "Title " + std::to_string(n));
  gap({1, 2, 3, 4, 5}, "gap-1");  // user 5 is gone from Salesforce (or outside the filter)

  EXPECT_EQ(run_worker(), 5u);
  ASSERT_EQ(queries_.size(), 1u);
  EXPECT_EQ(queries_[0].size(), 5u);
  for (int n = 1; n <= 4; ++n) {
    EXPECT_EQ(title_in_ispring(n), "Title " + std::to_string(n)) << n;
    EXPECT_FALSE(inbox_->find_record(org, user_id(n))->needs_reread) << n;
  }
  EXPECT_FALSE(title_in_ispring(5));
  const auto gone = inbox_->find_record(org, user_id(5));
  EXPECT_EQ(gone->state, store::record_state::done);
  EXPECT_NE(gone->last_outcome.find("no longer returns"), std::string::npos) << gone->last_outcome;
  EXPECT_FALSE(gone->needs_reread);
}

TEST_F(user_sync_reread, a_read_older_than_the_records_newest_change_is_not_used) {
  in_salesforce(1, "Engineer");
  in_salesforce(2, "Engineer");
  gap({1, 2}, "gap-1");
  // User 1 is applied, reading user 2 along.
  auto due = inbox_->take_due(clock_.now(), 10);
  ASSERT_EQ(due.size(), 2u);
  ASSERT_EQ(due[0].record_id, user_id(1));
  EXPECT_EQ(chain_->run(due[0], std::nullopt).result.result, record_result::kind::applied);
  inbox_->mark_done(org, user_id(1), due[0].version, "applied");
  ASSERT_EQ(queries_.size(), 1u);
  EXPECT_EQ(queries_[0].size(), 2u);

  // User 2 changes in Salesforce and a second GAP event says so before its turn.
  clock_.advance(5'000);
  in_salesforce(2, "Lead Engineer");
  gap({2}, "gap-2");
  EXPECT_EQ(run_worker(), 1u);
  ASSERT_EQ(queries_.size(), 2u);  // read again: what was read ahead predates gap-2
  EXPECT_EQ(queries_[1], std::vector<std::string>{user_id(2)});
  EXPECT_EQ(title_in_ispring(2), "Lead Engineer");
}

TEST_F(user_sync_reread, a_failed_read_is_retried_and_nothing_is_read_ahead_from_it) {
  in_salesforce(1, "Engineer");
  in_salesforce(2, "Engineer");
  gap({1, 2}, "gap-1");
  fail_reads_ = 2;  // user 1's read, then user 2's own
  EXPECT_EQ(run_worker(), 2u);
  EXPECT_EQ(queries_.size(), 2u);
  for (const int n : {1, 2}) {
    const auto record = inbox_->find_record(org, user_id(n));
    EXPECT_EQ(record->state, store::record_state::retrying) << n;
    EXPECT_NE(record->last_error.find("HTTP 503"), std::string::npos) << record->last_error;
    EXPECT_TRUE(record->needs_reread) << n;
  }
  // Salesforce is back: both are read (together) and applied once their retry is due.
  clock_.advance(120'000);
  EXPECT_EQ(run_worker(), 2u);
  ASSERT_EQ(queries_.size(), 3u);
  EXPECT_EQ(queries_[2].size(), 2u);
  EXPECT_EQ(title_in_ispring(1), "Engineer");
  EXPECT_EQ(title_in_ispring(2), "Engineer");
}

TEST_F(user_sync_reread, a_query_carries_at_most_the_rest_apis_id_limit) {
  const int users = static_cast<int>(salesforce::max_ids_per_query) + 1;
  std::vector<int> all;
  for (int n = 1; n <= users; ++n) {
    in_salesforce(n, "Rep");
    all.push_back(n);
  }
  gap(all, "gap-overflowing");
  EXPECT_EQ(run_worker(), static_cast<std::size_t>(users));
  ASSERT_EQ(queries_.size(), 2u);
  EXPECT_EQ(queries_[0].size(), salesforce::max_ids_per_query);
  EXPECT_EQ(queries_[1].size(), 1u);
  EXPECT_EQ(sandbox_.users().size(), static_cast<std::size_t>(users));
}

}  // namespace
}  // namespace connector::sync

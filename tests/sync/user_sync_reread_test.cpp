// Records Salesforce sent without data (GAP events) are read over REST before they are
// applied; those due together are read in one query, and a read is used only for a state
// that arrived before it. Through the real chain (user_sync over the in-process iSpring
// sandbox), a real SQLite inbox and an injected clock; Salesforce is a map behind the reader.
#include <gtest/gtest.h>

#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "connector/metrics/registry.hpp"
#include "connector/salesforce/change_order.hpp"
#include "connector/salesforce/rest_wire.hpp"
#include "connector/store/open.hpp"
#include "connector/sync/user_sync.hpp"
#include "connector/sync/worker.hpp"
#include "support/eventually.hpp"
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
    open_inbox(false);
    make_chain(false);
  }

  // `requeue_stale`: as the service opens it when verifying (store_settings).
  void open_inbox(bool requeue_stale) {
    inbox_.reset();
    store::store_settings o;
    o.sqlite_path = (dir_.path() / "r.db").string();
    o.time = &clock_;
    o.requeue_stale_while_waiting = requeue_stale;
    inbox_ = store::open_store(o);
  }

  // The chain as the service builds it: `verify` (sync.verify_notifications) or not, with
  // Salesforce REST or without (nothing to read with).
  void make_chain(bool verify, bool with_rest = true) {
    reread_options reread;
    if (with_rest) {
      reread.read = [this](const std::vector<std::string>& ids)
          -> expected<std::map<std::string, json>, std::string> {
        {
          std::lock_guard lock(queries_mutex_);  // worker threads read side by side
          queries_.push_back(ids);
        }
        if (read_gate_) read_gate_();
        std::lock_guard lock(queries_mutex_);
        if (fail_reads_ > 0) {
          --fail_reads_;
          return unexpected{std::string("HTTP 503: service unavailable")};
        }
        std::map<std::string, json> found;
        for (const auto& id : ids)
          if (auto it = salesforce_.find(id); it != salesforce_.end()) found[id] = it->second;
        return found;
      };
    }
    reread.verify = verify;
    reread.others_due = [this, verify](const store::pending_record& record) {
      return inbox_->due_rereads(record.organization_id, clock_.now(),
                                 salesforce::max_ids_per_query, verify);
    };
    reread.time = &clock_;
    reread.metrics = &metrics_;
    chain_ = std::make_unique<user_sync>(settings_, api_, std::move(reread));
  }

  void in_salesforce(int n, const std::string& title,
                     const std::string& modstamp = "2023-11-14T22:00:00.000Z") {
    salesforce_[user_id(n)] = {{"Id", user_id(n)},
                               {"Username", "user" + std::to_string(n) + "@acme.com"},
                               {"Email", "user" + std::to_string(n) + "@acme.com"},
                               {"LastName", "User" + std::to_string(n)},
                               {"Department", "Sales"},
                               {"IsActive", true},
                               {"Title", title},
                               {"SystemModstamp", modstamp}};
  }

  // Outbound messages about these users with these fields, in one request, as the intake
  // stores them: Salesforce's own values, or a forger's.
  void notify(const std::vector<std::pair<int, json>>& users, const std::string& notification,
              std::optional<epoch_ms> modstamp = std::nullopt) {
    store::intake_request r;
    r.organization_id = org;
    r.source = "outbound_message";
    r.received_at = clock_.now();
    for (const auto& [n, fields] : users) {
      store::incoming_change c;
      c.notification_id = notification + "-" + std::to_string(n);
      c.record_id = user_id(n);
      c.object_type = "User";
      c.modstamp = modstamp;
      c.fields_json = fields.dump();
      r.changes.push_back(c);
    }
    ASSERT_TRUE(inbox_->submit_and_wait(r).committed);
  }
  void notify(int n, const json& fields, const std::string& notification,
              std::optional<epoch_ms> modstamp = std::nullopt) {
    notify({{n, fields}}, notification, modstamp);
  }

  // What a forger sends about user n: every mapped field, none of them Salesforce's.
  static json forged(int n) {
    return {{"Username", "user" + std::to_string(n) + "@acme.com"},
            {"Email", "evil@example.com"},
            {"LastName", "Forged"},
            {"Department", "Sales"},
            {"IsActive", "false"},
            {"Title", "CEO"}};
  }

  // The details of the newest history event of that kind for user n (null: none).
  json newest(int n, const std::string& kind) {
    for (const auto& e : inbox_->read_history(org, user_id(n), 100))
      if (e.kind == kind) return json::parse(e.details_json);
    return nullptr;
  }

  std::uint64_t counted(const char* family, const char* result) {
    return metrics_.counter(family, "", {"result"}).with({result}).value();
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
  std::unique_ptr<store::store> inbox_;
  std::unique_ptr<user_sync> chain_;
  std::map<std::string, json> salesforce_;
  std::size_t query_count() {
    std::lock_guard lock(queries_mutex_);
    return queries_.size();
  }

  std::mutex queries_mutex_;
  std::vector<std::vector<std::string>> queries_;
  int fail_reads_ = 0;
  std::function<void()> read_gate_;  // runs in each query once counted, outside the lock
  metrics::registry metrics_;
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
  EXPECT_NE(gone->last_outcome.find("does not return the record"), std::string::npos)
      << gone->last_outcome;
  EXPECT_FALSE(gone->needs_reread);
}

TEST_F(user_sync_reread, a_read_older_than_the_records_newest_change_is_not_used) {
  in_salesforce(1, "Engineer");
  in_salesforce(2, "Engineer");
  gap({1, 2}, "gap-1");
  // User 1 is applied, reading user 2 along. Only user 1 is taken: what take_due returns is
  // claimed by this store until marked, and user 2 is left for the worker below.
  auto due = inbox_->take_due(clock_.now(), 1);
  ASSERT_EQ(due.size(), 1u);
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

// --- sync.verify_notifications: a notification is a hint, Salesforce is the truth ---------

TEST_F(user_sync_reread, a_verified_notification_applies_what_salesforce_returns_never_its_fields) {
  settings_.mapping.fields["first_name"] = "FirstName";
  make_chain(true);
  in_salesforce(1, "Engineer");
  salesforce_[user_id(1)]["FirstName"] = nullptr;  // Salesforce holds none
  auto claims = forged(1);
  claims["FirstName"] = "Mallory";
  // A near-future stamp: were it kept, genuine notifications would be stale until then.
  const epoch_ms forged_stamp = clock_.now() + 3'600'000;
  notify(1, claims, "n-forged", forged_stamp);

  EXPECT_EQ(run_worker(), 1u);
  ASSERT_EQ(queries_.size(), 1u);
  const auto user = sandbox_.find_user_by_login("user1@acme.com");
  ASSERT_TRUE(user);
  EXPECT_EQ(user->email(), "user1@acme.com");
  EXPECT_EQ(user->fields.at("last_name"), "User1");
  EXPECT_EQ(user->fields.at("job_title"), "Engineer");
  EXPECT_EQ(user->status, 1) << "Salesforce says active";
  EXPECT_NE(user->fields.count("first_name") ? user->fields.at("first_name") : "", "Mallory");

  // The store keeps what Salesforce returned, its modstamp too, nothing the forger said.
  auto record = inbox_->find_record(org, user_id(1));
  EXPECT_EQ(json::parse(record->fields_json), salesforce_[user_id(1)]);
  const auto salesforce_stamp = salesforce::parse_datetime_ms("2023-11-14T22:00:00.000Z");
  EXPECT_EQ(record->modstamp, salesforce_stamp);
  const auto read = newest(1, "read");
  EXPECT_EQ(read["purpose"], "verify");
  EXPECT_EQ(read["returned"], true);
  EXPECT_EQ(read["differing"], json({"IsActive", "Email", "LastName", "FirstName", "Title"}));

  // A genuine change later, stamped below the forged stamp: not stale, read and applied.
  clock_.advance(60'000);
  in_salesforce(1, "Lead Engineer", "2023-11-14T22:30:00.000Z");
  auto genuine = salesforce_[user_id(1)];
  genuine.erase("Id");
  notify(1, genuine, "n-genuine", salesforce::parse_datetime_ms("2023-11-14T22:30:00.000Z"));
  ASSERT_EQ(inbox_->find_record(org, user_id(1))->state, store::record_state::pending);
  EXPECT_EQ(run_worker(), 1u);
  EXPECT_EQ(title_in_ispring(1), "Lead Engineer");
  EXPECT_EQ(newest(1, "read")["differing"], nullptr) << "Salesforce confirms it";
}

TEST_F(user_sync_reread,
       a_genuine_change_stale_against_a_forged_stamp_during_an_apply_is_not_lost) {
  open_inbox(true);
  make_chain(true);
  in_salesforce(1, "Engineer");
  // A forgery with a near-future stamp waits; the worker reads Salesforce for it.
  notify(1, forged(1), "n-forged", clock_.now() + 3'600'000);
  auto due = inbox_->take_due(clock_.now(), 10);
  ASSERT_EQ(due.size(), 1u);
  auto report = chain_->run(due[0], std::nullopt);
  ASSERT_TRUE(report.result.reread);
  EXPECT_EQ(title_in_ispring(1), "Engineer");

  // Salesforce changes after that read and says so, stamped below the forgery (stale by
  // the stamp held), before the worker records its apply.
  clock_.advance(1'000);
  in_salesforce(1, "Lead", "2023-11-14T22:30:00.000Z");
  auto genuine = salesforce_[user_id(1)];
  genuine.erase("Id");
  notify(1, genuine, "n-genuine", salesforce::parse_datetime_ms("2023-11-14T22:30:00.000Z"));
  inbox_->save_reread(org, user_id(1), due[0].version, report.result.reread->fields_json,
                      report.result.reread->modstamp, true);
  inbox_->mark_done(org, user_id(1), due[0].version, report.result.outcome);
  ASSERT_EQ(inbox_->find_record(org, user_id(1))->state, store::record_state::pending)
      << "the genuine change still waits";

  EXPECT_EQ(run_worker(), 1u);
  EXPECT_EQ(queries_.size(), 2u) << "read again: the first read predates the change";
  EXPECT_EQ(title_in_ispring(1), "Lead");
}

TEST_F(user_sync_reread, a_record_salesforce_does_not_return_changes_nothing_and_says_so) {
  make_chain(true);
  notify(9, forged(9), "n-unknown", clock_.now() + 3'600'000);
  EXPECT_EQ(run_worker(), 1u);
  EXPECT_TRUE(sandbox_.users().empty());
  const auto record = inbox_->find_record(org, user_id(9));
  EXPECT_EQ(record->state, store::record_state::done);
  EXPECT_NE(record->last_outcome.find("does not return the record"), std::string::npos)
      << record->last_outcome;
  EXPECT_EQ(record->fields_json, "{}") << "nothing the notification said is kept";
  EXPECT_EQ(record->modstamp, std::nullopt);
  EXPECT_EQ(newest(9, "read")["returned"], false);
  EXPECT_NE(newest(9, "skipped")["outcome"].get<std::string>().find("nothing changed in iSpring"),
            std::string::npos);
  EXPECT_EQ(counted("connector_verification_records_total", "not_returned"), 1u);
}

TEST_F(user_sync_reread, a_failed_verification_read_is_retried_never_applied) {
  make_chain(true);
  in_salesforce(1, "Engineer");
  fail_reads_ = 1;
  notify(1, forged(1), "n-1");
  EXPECT_EQ(run_worker(), 1u);
  const auto record = inbox_->find_record(org, user_id(1));
  EXPECT_EQ(record->state, store::record_state::retrying);
  EXPECT_NE(record->last_error.find("HTTP 503"), std::string::npos) << record->last_error;
  EXPECT_TRUE(sandbox_.users().empty()) << "nothing applied from the notification";
  EXPECT_EQ(counted("connector_verification_queries_total", "failed"), 1u);

  clock_.advance(120'000);
  EXPECT_EQ(run_worker(), 1u);
  const auto user = sandbox_.find_user_by_login("user1@acme.com");
  ASSERT_TRUE(user);
  EXPECT_EQ(user->email(), "user1@acme.com");
  EXPECT_EQ(user->status, 1);
}

TEST_F(user_sync_reread, a_burst_of_notifications_is_verified_in_a_few_queries) {
  make_chain(true);
  std::vector<std::pair<int, json>> burst;
  for (int n = 1; n <= 500; ++n) {
    in_salesforce(n, "Rep");
    burst.emplace_back(n, forged(n));
  }
  notify(burst, "burst");
  EXPECT_EQ(run_worker(), 500u);
  ASSERT_EQ(queries_.size(), 2u);
  EXPECT_EQ(queries_[0].size(), salesforce::max_ids_per_query);
  EXPECT_EQ(queries_[1].size(), 500u - salesforce::max_ids_per_query);
  EXPECT_EQ(sandbox_.users().size(), 500u);
  for (const auto& u : sandbox_.users()) EXPECT_NE(u.email(), "evil@example.com");
  EXPECT_EQ(counted("connector_verification_queries_total", "succeeded"), 2u);
  EXPECT_EQ(counted("connector_verification_records_total", "returned"), 500u);
  EXPECT_EQ(counted("connector_verification_records_total", "not_returned"), 0u);
}

TEST_F(user_sync_reread, worker_threads_wait_for_the_read_that_asks_for_their_records) {
  make_chain(true);
  std::vector<std::pair<int, json>> burst;
  for (int n = 1; n <= 40; ++n) {
    in_salesforce(n, "Rep");
    burst.emplace_back(n, forged(n));
  }
  notify(burst, "burst");
  // The first query holds until the test lets it go: meanwhile the other threads take
  // records that query asks for, and must wait for it rather than query again.
  std::mutex gate_mutex;
  std::condition_variable gate;
  bool open = false;
  const auto let_go = [&] {
    {
      std::lock_guard lock(gate_mutex);
      open = true;
    }
    gate.notify_all();
  };
  read_gate_ = [&] {
    std::unique_lock lock(gate_mutex);
    gate.wait(lock, [&] { return open; });
  };
  worker w(*inbox_, chain_->processor(), clock_, worker_options{4, 3, 1'000, 60'000, 64, 1'000});
  struct opens_on_exit {
    std::function<void()> open;
    ~opens_on_exit() { open(); }
  } never_stuck{let_go};  // before `w` stops, even when an assertion ends the test
  w.start();
  ASSERT_TRUE(testing::eventually([&] { return query_count() == 1; }));
  let_go();
  ASSERT_TRUE(testing::eventually([&] {
    clock_.advance(2'000);  // a retry (two threads racing for one department) falls due
    return sandbox_.users().size() == 40;
  }));
  w.stop();
  EXPECT_EQ(query_count(), 1u) << "every thread used the one read";
  for (const auto& u : sandbox_.users()) EXPECT_NE(u.email(), "evil@example.com");
}

TEST_F(user_sync_reread, without_verification_a_complete_notification_is_applied_as_sent) {
  in_salesforce(1, "Engineer");
  auto claims = salesforce_[user_id(1)];
  claims["Title"] = "Claimed";
  notify(1, claims, "n-1");
  EXPECT_EQ(run_worker(), 1u);
  EXPECT_TRUE(queries_.empty());
  EXPECT_EQ(title_in_ispring(1), "Claimed");
}

TEST_F(user_sync_reread, a_partial_change_is_completed_by_a_read_even_without_verification) {
  // An UPDATE change event for a user seen for the first time: only the changed field.
  in_salesforce(1, "Lead");
  notify(1, {{"Title", "Lead"}}, "ev-1");
  EXPECT_EQ(run_worker(), 1u);
  ASSERT_EQ(queries_.size(), 1u);
  EXPECT_EQ(title_in_ispring(1), "Lead");
  const auto user = sandbox_.find_user_by_login("user1@acme.com");
  ASSERT_TRUE(user);
  EXPECT_EQ(user->fields.at("last_name"), "User1");
  const auto read = newest(1, "read");
  EXPECT_EQ(read["purpose"], "incomplete");
  EXPECT_NE(read["missing"].dump().find("Department"), std::string::npos) << read.dump();
  // Completed in the store: the next partial change needs no read.
  clock_.advance(1'000);
  salesforce_[user_id(1)]["Title"] = "Head";
  notify(1, {{"Title", "Head"}}, "ev-2");
  EXPECT_EQ(run_worker(), 1u);
  EXPECT_EQ(queries_.size(), 1u);
  EXPECT_EQ(title_in_ispring(1), "Head");
}

TEST_F(user_sync_reread, without_rest_a_partial_change_is_applied_as_received_and_history_says_so) {
  make_chain(false, false);
  notify(1, {{"Title", "Lead"}}, "ev-1");
  EXPECT_EQ(run_worker(), 1u);
  EXPECT_TRUE(sandbox_.users().empty());
  const auto read = newest(1, "read");
  EXPECT_EQ(read["without_rest"], true);
  EXPECT_NE(read["missing"].dump().find("Department"), std::string::npos) << read.dump();
  EXPECT_NE(newest(1, "skipped")["outcome"].get<std::string>().find("department unknown"),
            std::string::npos);
}

}  // namespace
}  // namespace connector::sync

// Group additions through the real chain (user_sync, worker, group drainer, a real SQLite
// store) over the in-process sandbox: a user's own fields are applied at once and the record
// is done once its additions are queued; the drainer adds everyone queued for a group with
// one read and one replace, keeps members it does not manage, and retries failures without
// dropping anyone; a worker slot never waits on a group.
#include <gtest/gtest.h>

#include <condition_variable>
#include <future>
#include <mutex>
#include <set>

#include <nlohmann/json.hpp>

#include "connector/store/group_queue.hpp"
#include "connector/store/open.hpp"
#include "connector/sync/group_drainer.hpp"
#include "connector/sync/user_sync.hpp"
#include "connector/sync/worker.hpp"
#include "support/eventually.hpp"
#include "support/in_process_ispring.hpp"
#include "support/ispring_sandbox.hpp"
#include "support/outbound_builder.hpp"
#include "support/service.hpp"

namespace connector::sync {
namespace {

using nlohmann::json;

constexpr const char* org = "00D5g000004XyZaEAK";

// Member replaces wait at a gate the test opens: a group as slow as the test wants.
class gated_ispring : public testing::in_process_ispring {
 public:
  using in_process_ispring::in_process_ispring;

  ispring::result<ispring::ok> set_group_members(const std::string& group_id,
                                                 const std::vector<std::string>& ids) override {
    std::unique_lock lock(mutex_);
    ++waiting_;
    changed_.notify_all();
    changed_.wait(lock, [&] { return open_; });
    --waiting_;
    replaces_.push_back(ids.size());
    lock.unlock();
    return in_process_ispring::set_group_members(group_id, ids);
  }

  void close() {
    std::lock_guard lock(mutex_);
    open_ = false;
  }
  void open() {
    std::lock_guard lock(mutex_);
    open_ = true;
    changed_.notify_all();
  }
  void wait_for_a_replace() {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return waiting_ > 0; });
  }
  std::size_t replaces() {
    std::lock_guard lock(mutex_);
    return replaces_.size();
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  bool open_ = true;
  int waiting_ = 0;
  std::vector<std::size_t> replaces_;  // members sent by each
};

// The real queue, whose finish_group fails (the database away) as often as the test says.
class flaky_group_queue : public store::group_queue {
 public:
  explicit flaky_group_queue(store::group_queue& inner) : inner_(inner) {}
  int failing_finishes = 0;
  std::string last_claimed;  // the group id of the last claim handed out

  void queue_group_additions(const std::vector<store::group_addition>& additions) override {
    inner_.queue_group_additions(additions);
  }
  std::optional<store::group_claim> claim_next_group(const std::string& owner, epoch_ms now,
                                                     epoch_ms lease_until,
                                                     std::size_t limit) override {
    auto claim = inner_.claim_next_group(owner, now, lease_until, limit);
    if (claim) last_claimed = claim->group_id;
    return claim;
  }
  bool claim_group(const std::string& group_id, const std::string& owner, epoch_ms now,
                   epoch_ms lease_until) override {
    return inner_.claim_group(group_id, owner, now, lease_until);
  }
  void finish_group(const std::string& group_id, const std::string& owner, std::int64_t up_to,
                    epoch_ms due_again_at) override {
    if (failing_finishes > 0) {
      --failing_finishes;
      throw std::runtime_error("store: the database is away");
    }
    inner_.finish_group(group_id, owner, up_to, due_again_at);
  }
  void release_group(const std::string& group_id, const std::string& owner, epoch_ms retry_at,
                     const std::string& error) override {
    inner_.release_group(group_id, owner, retry_at, error);
  }
  store::group_queue_stats group_stats() override { return inner_.group_stats(); }

 private:
  store::group_queue& inner_;
};

std::string record_id(int n) {
  return testing::make_id("005", static_cast<std::uint64_t>(n));
}

class group_drainer_test : public ::testing::Test {
 protected:
  group_drainer_test() {
    settings_.mapping.groups = "Groups__c";
    settings_.sync.departments["Sales"] = {true, std::nullopt, {}};
    store::store_settings o;
    o.sqlite_path = (dir_.path() / "g.db").string();
    o.time = &clock_;
    inbox_ = store::open_store(o);
    queue_ = inbox_.get();  // every store is a group queue
    chain_.join_groups(group_mode::deferred);
    worker_options_.group_queue = queue_;
    // Members the connector does not manage: they must survive every replace.
    const auto sales = sandbox_.add_department("Sales");
    for (int i = 0; i < 50; ++i)
      foreign_.push_back(sandbox_.add_user("staff" + std::to_string(i) + "@acme.com",
                                           "staff" + std::to_string(i) + "@acme.com", sales));
    all_ = sandbox_.add_group("All", foreign_);
  }

  void receive(int n, const std::string& title, const std::string& groups = "All") {
    store::intake_request r;
    r.organization_id = org;
    r.source = "outbound_message";
    r.received_at = clock_.now();
    store::incoming_change c;
    c.notification_id = "n-" + std::to_string(n) + "-" + title;
    c.record_id = record_id(n);
    c.object_type = "User";
    const std::string login = "user" + std::to_string(n) + "@acme.com";
    c.fields_json = json{{"Username", login},  {"Email", login},        {"LastName", "U"},
                         {"FirstName", title}, {"Department", "Sales"}, {"Groups__c", groups},
                         {"IsActive", "true"}}
                        .dump();
    r.changes.push_back(c);
    ASSERT_TRUE(inbox_->submit_and_wait(r).committed);
  }

  group_drainer make_drainer() { return make_drainer(*queue_); }
  group_drainer make_drainer(store::group_queue& queue) {
    group_drainer_options o;
    o.owner = "test";
    o.threads = 1;
    o.idle_poll_ms = 5;
    o.max_rest_ms = 0;  // no pacing: this clock stands still
    o.retry_base_ms = 1'000;
    o.retry_max_ms = 60'000;
    return group_drainer(
        queue, api_,
        [this](std::vector<store::history_event> events) {
          inbox_->record_history(std::move(events));
        },
        clock_, o);
  }

  std::vector<std::string> members() { return sandbox_.find_group_by_name("All")->user_ids; }
  std::string linked(int n) { return inbox_->find_link(org, record_id(n)).value_or(""); }
  std::vector<std::string> kinds_of(int n) {
    std::vector<std::string> kinds;
    const auto events = inbox_->read_history(org, record_id(n), 100);
    for (auto it = events.rbegin(); it != events.rend(); ++it) kinds.push_back(it->kind);
    return kinds;
  }

  testing::temp_dir dir_;
  manual_clock clock_{1'700'000'000'000};
  testing::ispring_sandbox sandbox_;
  gated_ispring api_{sandbox_};
  config::settings settings_;
  user_sync chain_{settings_, api_};
  std::unique_ptr<store::store> inbox_;
  store::group_queue* queue_ = nullptr;
  worker_options worker_options_{1, 3, 1'000, 60'000, 64, 1'000};
  std::vector<std::string> foreign_;
  std::string all_;
};

TEST_F(group_drainer_test, a_create_is_done_once_queued_and_joins_with_one_replace_later) {
  receive(1, "A");
  receive(2, "B");
  worker w(*inbox_, chain_.processor(), clock_, worker_options_);
  ASSERT_EQ(w.run_once(), 2u);
  // Created and done, not yet members: nothing was replaced by the worker.
  EXPECT_EQ(inbox_->find_record(org, record_id(1))->state, store::record_state::done);
  EXPECT_EQ(api_.replaces(), 0u);
  EXPECT_EQ(members().size(), 50u);
  EXPECT_EQ(queue_->group_stats().additions, 2);

  auto drainer = make_drainer();
  EXPECT_EQ(drainer.drain_once(), 1u);
  EXPECT_EQ(api_.replaces(), 1u) << "one replace for both users";
  const auto now = members();
  std::set<std::string> set(now.begin(), now.end());
  EXPECT_EQ(set.size(), now.size()) << "nobody twice";
  EXPECT_EQ(now.size(), 52u);
  for (const auto& id : foreign_) EXPECT_TRUE(set.contains(id)) << id << " was dropped";
  EXPECT_TRUE(set.contains(linked(1)));
  EXPECT_TRUE(set.contains(linked(2)));
  EXPECT_EQ(queue_->group_stats().additions, 0);
  const auto kinds = kinds_of(1);
  const auto queued = std::find(kinds.begin(), kinds.end(), "group_queued");
  const auto added = std::find(kinds.begin(), kinds.end(), "group_added");
  ASSERT_NE(queued, kinds.end());
  ASSERT_NE(added, kinds.end());
  EXPECT_LT(queued, added);
}

TEST_F(group_drainer_test, a_slow_group_holds_no_worker_slot_and_later_creates_join_in_one_batch) {
  receive(1, "A");
  worker w(*inbox_, chain_.processor(), clock_, worker_options_);
  ASSERT_EQ(w.run_once(), 1u);
  api_.close();
  auto drainer = make_drainer();
  drainer.start();
  api_.wait_for_a_replace();  // the drainer sits in the replace of "All"

  // Meanwhile an update of user 1 and three new users joining "All": all applied and done
  // while the replace still hangs.
  receive(1, "A2");
  for (int n = 2; n <= 4; ++n) receive(n, "N");
  ASSERT_EQ(w.run_once(), 4u);
  auto user = sandbox_.find_user(linked(1));
  ASSERT_TRUE(user);
  EXPECT_EQ(user->fields["first_name"], "A2");
  for (int n = 1; n <= 4; ++n)
    EXPECT_EQ(inbox_->find_record(org, record_id(n))->state, store::record_state::done) << n;

  api_.open();
  ASSERT_TRUE(testing::eventually([&] { return queue_->group_stats().additions == 0; }));
  drainer.stop();
  EXPECT_EQ(api_.replaces(), 2u) << "the three who came during the first replace share one";
  const auto now = members();
  std::set<std::string> set(now.begin(), now.end());
  EXPECT_EQ(now.size(), 54u);
  for (int n = 1; n <= 4; ++n) EXPECT_TRUE(set.contains(linked(n))) << n;
  for (const auto& id : foreign_) EXPECT_TRUE(set.contains(id)) << id << " was dropped";
}

TEST_F(group_drainer_test, a_failed_replace_is_retried_after_its_back_off_and_drops_nobody) {
  for (int n = 1; n <= 3; ++n) receive(n, "N");
  worker w(*inbox_, chain_.processor(), clock_, worker_options_);
  ASSERT_EQ(w.run_once(), 3u);
  auto drainer = make_drainer();
  sandbox_.fail_next(1, 503);  // the drainer's first call to iSpring
  EXPECT_EQ(drainer.drain_once(), 1u);
  auto stats = queue_->group_stats();
  EXPECT_EQ(stats.additions, 3);
  EXPECT_EQ(stats.retrying, 1);
  EXPECT_NE(stats.last_error.find("503"), std::string::npos) << stats.last_error;
  EXPECT_EQ(members().size(), 50u);
  const auto kinds = kinds_of(2);
  EXPECT_NE(std::find(kinds.begin(), kinds.end(), "group_failed"), kinds.end());

  EXPECT_EQ(drainer.drain_once(), 0u) << "backing off";
  clock_.advance(1'000);  // the first back-off is at most retry_base_ms
  EXPECT_EQ(drainer.drain_once(), 1u);
  EXPECT_EQ(queue_->group_stats().additions, 0);
  EXPECT_EQ(queue_->group_stats().retrying, 0);
  const auto now = members();
  EXPECT_EQ(now.size(), 53u);
  for (int n = 1; n <= 3; ++n)
    EXPECT_NE(std::find(now.begin(), now.end(), linked(n)), now.end()) << n;
}

// The replace went through but the store could not record it (nor, the next time, again):
// the drainer still holds the group's claim. Once the store answers it lets go at once, not
// when the minute's lease runs out (this clock stands still: it never does here), and the
// users are not replaced into the group a second time.
TEST_F(group_drainer_test, a_finish_the_store_refused_is_retried_once_it_answers_again) {
  for (int n = 1; n <= 3; ++n) receive(n, "N");
  worker w(*inbox_, chain_.processor(), clock_, worker_options_);
  ASSERT_EQ(w.run_once(), 3u);
  flaky_group_queue flaky(*queue_);
  flaky.failing_finishes = 2;
  auto drainer = make_drainer(flaky);
  EXPECT_THROW(drainer.drain_once(), std::runtime_error);
  EXPECT_EQ(members().size(), 53u);
  EXPECT_EQ(queue_->group_stats().additions, 3) << "nothing removed before it is recorded";
  const auto group_id = flaky.last_claimed;
  ASSERT_FALSE(group_id.empty());
  const epoch_ms now = clock_.now();
  EXPECT_FALSE(queue_->claim_group(group_id, "reconciliation", now, now + 60'000))
      << "the drainer still holds it";
  EXPECT_THROW(drainer.drain_once(), std::runtime_error) << "still away";
  EXPECT_EQ(flaky.failing_finishes, 0);

  EXPECT_EQ(drainer.drain_once(), 0u) << "finished, and nothing else due";
  EXPECT_EQ(queue_->group_stats().additions, 0);
  EXPECT_TRUE(queue_->claim_group(group_id, "reconciliation", now, now + 60'000))
      << "let go of without waiting for the lease";
  EXPECT_EQ(api_.replaces(), 1u);
  EXPECT_EQ(members().size(), 53u);
  for (int n = 1; n <= 3; ++n) {
    const auto kinds = kinds_of(n);
    EXPECT_EQ(std::count(kinds.begin(), kinds.end(), "group_added"), 1) << n;
  }
}

// Refuses the next member replaces with a 400, whoever they name (as iSpring refuses one for
// a reason the drainer cannot see).
class refusing_ispring : public testing::in_process_ispring {
 public:
  using in_process_ispring::in_process_ispring;
  int refusals = 0;

  ispring::result<ispring::ok> set_group_members(const std::string& group_id,
                                                 const std::vector<std::string>& ids) override {
    if (refusals > 0) {
      --refusals;
      return unexpected{ispring::failure{ispring::failure_kind::rejected, 400, "refused", {}}};
    }
    return in_process_ispring::set_group_members(group_id, ids);
  }
};

// A user queued for a group and deleted in iSpring before the replace: iSpring refuses the
// whole replace naming it. The others join at once without it; its history says why; the
// queue is empty and nothing backs off.
TEST_F(group_drainer_test, a_user_deleted_in_ispring_is_left_out_and_the_others_join_at_once) {
  for (int n = 1; n <= 5; ++n) receive(n, "N");
  worker w(*inbox_, chain_.processor(), clock_, worker_options_);
  ASSERT_EQ(w.run_once(), 5u);
  const auto gone = linked(3);
  const auto deleted = sandbox_.handle(
      {"DELETE",
       "/user/" + gone,
       {{"accept", "application/json"}, {"authorization", "Bearer " + sandbox_.issue_token()}},
       {}});
  ASSERT_EQ(deleted.status, 204);

  auto drainer = make_drainer();
  EXPECT_EQ(drainer.drain_once(), 1u);
  const auto stats = queue_->group_stats();
  EXPECT_EQ(stats.additions, 0);
  EXPECT_EQ(stats.retrying, 0);
  const auto now = members();
  const std::set<std::string> set(now.begin(), now.end());
  EXPECT_EQ(now.size(), 54u);
  EXPECT_FALSE(set.contains(gone));
  for (int n : {1, 2, 4, 5}) EXPECT_TRUE(set.contains(linked(n))) << n;
  for (const auto& id : foreign_) EXPECT_TRUE(set.contains(id)) << id << " was dropped";
  EXPECT_EQ(api_.replaces(), 2u) << "the refused one, then the one without the user";

  const auto kinds = kinds_of(3);
  EXPECT_EQ(std::count(kinds.begin(), kinds.end(), "group_dropped"), 1);
  EXPECT_EQ(std::count(kinds.begin(), kinds.end(), "group_added"), 0);
  const auto events = inbox_->read_history(org, record_id(3), 100);
  const auto dropped = std::find_if(events.begin(), events.end(),
                                    [](const auto& e) { return e.kind == "group_dropped"; });
  ASSERT_NE(dropped, events.end());
  EXPECT_EQ(json::parse(dropped->details_json)["ispring_user_id"], gone);
  EXPECT_EQ(json::parse(dropped->details_json)["batch"], 4);
  for (int n : {1, 2, 4, 5}) {
    const auto of = kinds_of(n);
    EXPECT_EQ(std::count(of.begin(), of.end(), "group_added"), 1) << n;
  }
}

// Refused with everyone still in iSpring (read back, not guessed from the message): nobody is
// left out, the batch backs off and joins whole on the retry.
TEST_F(group_drainer_test, a_refused_replace_with_everyone_still_in_ispring_drops_nobody) {
  for (int n = 1; n <= 3; ++n) receive(n, "N");
  worker w(*inbox_, chain_.processor(), clock_, worker_options_);
  ASSERT_EQ(w.run_once(), 3u);
  refusing_ispring refusing(sandbox_);
  refusing.refusals = 1;
  group_drainer_options o;
  o.owner = "test";
  o.max_rest_ms = 0;
  o.retry_base_ms = 1'000;
  o.retry_max_ms = 1'000;
  group_drainer drainer(
      *queue_, refusing,
      [this](std::vector<store::history_event> events) {
        inbox_->record_history(std::move(events));
      },
      clock_, o);
  const int reads_before = sandbox_.calls("GET /users/v2");
  EXPECT_EQ(drainer.drain_once(), 1u);
  EXPECT_EQ(sandbox_.calls("GET /users/v2") - reads_before, 1) << "the batch read back by id";
  auto stats = queue_->group_stats();
  EXPECT_EQ(stats.additions, 3);
  EXPECT_EQ(stats.retrying, 1);
  EXPECT_EQ(members().size(), 50u);
  for (int n = 1; n <= 3; ++n) {
    const auto kinds = kinds_of(n);
    EXPECT_EQ(std::count(kinds.begin(), kinds.end(), "group_dropped"), 0) << n;
    EXPECT_EQ(std::count(kinds.begin(), kinds.end(), "group_failed"), 1) << n;
  }
  clock_.advance(1'000);
  EXPECT_EQ(drainer.drain_once(), 1u);
  EXPECT_EQ(queue_->group_stats().additions, 0);
  EXPECT_EQ(members().size(), 53u);
}

TEST_F(group_drainer_test, without_a_queue_a_deferred_addition_never_marks_the_record_done) {
  worker_options_.group_queue = nullptr;
  receive(1, "A");
  worker w(*inbox_, chain_.processor(), clock_, worker_options_);
  ASSERT_EQ(w.run_once(), 1u);
  const auto record = inbox_->find_record(org, record_id(1));
  EXPECT_EQ(record->state, store::record_state::retrying);
}

TEST_F(group_drainer_test, user_update_mode_adds_by_group_ids_and_keeps_the_other_members) {
  testing::sandbox_options o;
  o.group_ids_on_update = testing::sandbox_group_ids_on_update::add_only;
  testing::ispring_sandbox additive(o);
  testing::in_process_ispring api(additive);
  const auto sales = additive.add_department("Sales");
  const auto other = additive.add_user("staff@acme.com", "staff@acme.com", sales);
  additive.add_group("All", {other});
  user_sync chain(settings_, api);
  chain.join_groups(group_mode::by_update);
  receive(1, "A");
  worker w(*inbox_, chain.processor(), clock_, worker_options_);
  ASSERT_EQ(w.run_once(), 1u);
  EXPECT_EQ(queue_->group_stats().additions, 0) << "nothing queued: added on the spot";
  const auto all = additive.find_group_by_name("All")->user_ids;
  EXPECT_EQ(all, (std::vector<std::string>{other, linked(1)}));
  EXPECT_EQ(additive.calls("POST /group/{id}/members"), 0);
}

}  // namespace
}  // namespace connector::sync

// What the sync worker keeps beside the queue: links to iSpring users, outcomes of applied
// records, and dead letters an operator puts back into the queue.
#include <gtest/gtest.h>

#include "connector/store/open.hpp"
#include "support/service.hpp"
#include "support/store_engines.hpp"

namespace connector::store {
namespace {

constexpr const char* org = "00D5g000004XyZaEAK";
constexpr const char* user_a = "0055g00000AbCdEAAZ";
constexpr const char* user_b = "0055g00000AbCdFAAZ";

intake_request two_users(epoch_ms at) {
  intake_request r;
  r.organization_id = org;
  r.source = "outbound_message";
  r.received_at = at;
  for (const char* id : {user_a, user_b}) {
    incoming_change c;
    c.notification_id = std::string("04l-") + id + "-" + std::to_string(at);
    c.record_id = id;
    c.object_type = "User";
    c.fields_json = R"({"LastName":"X"})";
    r.changes.push_back(c);
  }
  return r;
}

class links_and_requeue : public testing::store_test {
 protected:
  void SetUp() override {
    store_test::SetUp();
    inbox_ = open_located();
  }

  std::unique_ptr<store> inbox_;
};

// The SQLite file itself: its schema, its pages and its other readers.
class sqlite_file_links_and_requeue : public links_and_requeue {
 protected:
  bool sqlite_only() const override { return true; }
};

INSTANTIATE_STORE_ENGINES(links_and_requeue);

TEST_P(links_and_requeue, a_link_is_stored_replaced_and_survives_reopening) {
  EXPECT_FALSE(inbox_->find_link(org, user_a).has_value());
  inbox_->set_link(org, user_a, "00000000-0000-1000-8000-000000000002");
  EXPECT_EQ(inbox_->find_link(org, user_a), "00000000-0000-1000-8000-000000000002");
  inbox_->set_link(org, user_a, "00000000-0000-1000-8000-000000000003");
  inbox_.reset();
  inbox_ = open_located();
  EXPECT_EQ(inbox_->find_link(org, user_a), "00000000-0000-1000-8000-000000000003");
  EXPECT_FALSE(inbox_->find_link(org, user_b).has_value());
}

TEST_P(links_and_requeue,
       department_links_are_kept_per_key_ignoring_case_and_forgotten_by_department) {
  constexpr const char* other_org = "00D5g000004XyZbEAK";
  EXPECT_TRUE(inbox_->list_department_links(org).empty());
  inbox_->set_department_links(org,
                               {{"Sales", "d-1", "Sales EMEA"}, {"Support", "d-2", "Support"}});
  inbox_->set_department_links(other_org, {{"Sales", "d-9", "Sales"}});
  // The same key in another case replaces the link (iSpring names ignore case too).
  inbox_->set_department_links(org, {{"SALES", "d-1", "Vertrieb"}});
  auto found = inbox_->find_department_link(org, "sales");
  ASSERT_TRUE(found);
  EXPECT_EQ(found->key, "SALES");
  EXPECT_EQ(found->department_id, "d-1");
  EXPECT_EQ(found->name, "Vertrieb");
  EXPECT_EQ(inbox_->list_department_links(org).size(), 2u);

  inbox_.reset();
  inbox_ = open_located();
  inbox_->remove_department_links(org, {"d-1", "d-unknown"});
  const auto left = inbox_->list_department_links(org);
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left[0].key, "Support");
  EXPECT_EQ(left[0].department_id, "d-2");
  EXPECT_FALSE(inbox_->find_department_link(org, "Sales"));
  EXPECT_EQ(inbox_->find_department_link(other_org, "Sales")->department_id, "d-9");
}

TEST_P(links_and_requeue, a_skipped_outcome_is_kept_and_counted) {
  ASSERT_TRUE(inbox_->submit_and_wait(two_users(1000)).committed);
  const auto due = inbox_->take_due(1000, 10);
  ASSERT_EQ(due.size(), 2u);
  inbox_->mark_done(org, user_a, due[0].version, "skipped: no department");
  inbox_->mark_done(org, user_b, due[1].version, "applied");
  EXPECT_EQ(inbox_->find_record(org, user_a)->last_outcome, "skipped: no department");
  const auto stats = inbox_->stats();
  EXPECT_EQ(stats.skipped, 1);
  EXPECT_EQ(stats.pending, 0);
}

TEST_P(links_and_requeue, dead_letters_are_listed_and_requeued_one_or_all) {
  ASSERT_TRUE(inbox_->submit_and_wait(two_users(1000)).committed);
  for (const auto& r : inbox_->take_due(1000, 10)) {
    inbox_->mark_failed(org, r.record_id, r.version, "400: invalid e-mail", 0, true);
  }
  const auto dead = inbox_->list_records(record_state::dead, 10);
  ASSERT_EQ(dead.size(), 2u);
  EXPECT_EQ(dead[0].last_error, "400: invalid e-mail");
  EXPECT_EQ(inbox_->stats().dead_letters, 2);

  EXPECT_EQ(inbox_->requeue_dead(user_a, 5000), 1u);
  EXPECT_EQ(inbox_->requeue_dead(user_a, 5000), 0u);  // not dead any more
  auto due = inbox_->take_due(5000, 10);
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].record_id, user_a);
  EXPECT_EQ(due[0].attempts, 0);

  EXPECT_EQ(inbox_->requeue_dead("", 6000), 1u);
  const auto rest = inbox_->take_due(6000, 10);
  ASSERT_EQ(rest.size(), 1u) << "user_a is taken (claimed) already";
  EXPECT_EQ(rest[0].record_id, user_b);
  EXPECT_EQ(inbox_->stats().dead_letters, 0);
}

}  // namespace
}  // namespace connector::store

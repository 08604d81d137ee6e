// The iSpring organization the store's links belong to (organization_binding.hpp), on both
// engines: bound once, never silently replaced; a reset forgets exactly the old
// organization's links, department links and group additions in one go, gives held and dead
// records back to the queue (Salesforce's state, applied again), keeps pending and done ones
// as they are, and binds the new organization; a rebind keeps everything.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "connector/store/group_queue.hpp"
#include "connector/store/open.hpp"
#include "connector/store/organization_binding.hpp"
#include "support/inbox_input.hpp"
#include "support/service.hpp"
#include "support/store_engines.hpp"

namespace connector::store {
namespace {

using testing::inbox_input::change;
using testing::inbox_input::request;

constexpr const char* org = "00D5g000004XyZaEAK";
constexpr const char* user_a = "0055g00000AbCdEAAZ";
constexpr const char* user_b = "0055g00000AbCdFAAZ";
constexpr const char* user_c = "0055g00000AbCdGAAZ";
constexpr const char* user_d = "0055g00000AbCdHAAZ";
constexpr const char* old_org = "client-1@https://old.ispringlearn.com";
constexpr const char* new_org = "client-2@https://new.ispringlearn.com";

class organization_binding_test : public testing::store_test {
 protected:
  void SetUp() override {
    store_test::SetUp();
    store_ = open_located();
    binding_ = open_organization_binding(located());
  }
  // A: linked and done; B: held (deactivation kept back); C: dead; D: pending.
  void fill() {
    for (const auto* user : {user_a, user_b, user_c, user_d})
      ASSERT_TRUE(store_
                      ->submit_and_wait(request(
                          {change(std::string("n-") + user, user, R"({"IsActive":true})", 10)}))
                      .committed);
    for (const auto& r : store_->take_due(1'000'000, 10)) {
      const std::string id = r.record_id;
      if (id == user_a) store_->mark_done(org, id, r.version, "applied");
      if (id == user_b) store_->mark_held(org, id, r.version, "held by the safety limit");
      if (id == user_c) store_->mark_failed(org, id, r.version, "iSpring said no", 0, true);
      if (id == user_d) store_->mark_failed(org, id, r.version, "timeout", 2'000'000, false);
    }
    store_->set_links(org, {{user_a, "isp-a"}, {user_b, "isp-b"}});
    store_->set_department_links(org, {{"Sales", "dep-1", "Sales"}});
    store_->queue_group_additions({{"grp-1", "All", "isp-a", org, user_a, 9'000, 0}});
  }

  std::unique_ptr<store> store_;
  std::unique_ptr<organization_binding> binding_;
};

INSTANTIATE_STORE_ENGINES(organization_binding_test);

TEST_P(organization_binding_test, the_first_bind_takes_and_a_second_one_changes_nothing) {
  EXPECT_FALSE(binding_->bound());
  EXPECT_TRUE(binding_->bind_if_unbound(old_org, 1'000));
  EXPECT_FALSE(binding_->bind_if_unbound(new_org, 2'000)) << "never silently replaced";
  const auto bound = binding_->bound();
  ASSERT_TRUE(bound);
  EXPECT_EQ(bound->identity, old_org);
  EXPECT_EQ(bound->bound_at, 1'000);
  // Kept across reopening, and seen by another connection (another instance).
  store_.reset();
  store_ = open_located();
  EXPECT_EQ(open_organization_binding(located())->bound()->identity, old_org);
}

TEST_P(organization_binding_test, state_counts_what_a_reset_forgets_and_gives_back) {
  fill();
  const auto state = binding_->state();
  EXPECT_EQ(state.user_links, 2);
  EXPECT_EQ(state.department_links, 1);
  EXPECT_EQ(state.group_additions, 1);
  EXPECT_EQ(state.held_records, 1);
  EXPECT_EQ(state.dead_records, 1);
  EXPECT_TRUE(state.has_links());
}

TEST_P(organization_binding_test, a_reset_forgets_the_links_requeues_held_and_dead_and_binds) {
  fill();
  ASSERT_TRUE(binding_->bind_if_unbound(old_org, 1'000));
  const auto outcome = binding_->reset(new_org, 50'000);
  EXPECT_EQ(outcome.forgotten.user_links, 2);
  EXPECT_EQ(outcome.forgotten.held_records, 1);
  ASSERT_EQ(outcome.links.size(), 2u);
  EXPECT_EQ(outcome.links[0].organization_id, org);

  EXPECT_EQ(binding_->bound()->identity, new_org);
  EXPECT_EQ(binding_->bound()->bound_at, 50'000);
  EXPECT_FALSE(store_->find_link(org, user_a));
  EXPECT_FALSE(store_->find_link(org, user_b));
  EXPECT_TRUE(store_->list_department_links(org).empty());
  EXPECT_EQ(store_->group_stats().additions, 0);
  const auto after = binding_->state();
  EXPECT_FALSE(after.has_links());
  EXPECT_EQ(after.held_records, 0);
  EXPECT_EQ(after.dead_records, 0);
  // Every record is kept: done stays done, the others are due to the worker now.
  EXPECT_EQ(store_->find_record(org, user_a)->state, record_state::done);
  EXPECT_EQ(store_->find_record(org, user_b)->state, record_state::pending);
  EXPECT_EQ(store_->find_record(org, user_c)->state, record_state::pending);
  EXPECT_EQ(store_->find_record(org, user_c)->attempts, 0);
  EXPECT_EQ(store_->find_record(org, user_d)->state, record_state::retrying);
  std::vector<std::string> due;
  for (const auto& r : store_->take_due(50'000, 10)) due.push_back(r.record_id);
  std::sort(due.begin(), due.end());
  EXPECT_EQ(due, (std::vector<std::string>{user_b, user_c}));
}

TEST_P(organization_binding_test, a_rebind_keeps_every_link) {
  fill();
  ASSERT_TRUE(binding_->bind_if_unbound(old_org, 1'000));
  binding_->rebind(new_org, 3'000);
  EXPECT_EQ(binding_->bound()->identity, new_org);
  EXPECT_EQ(store_->find_link(org, user_a), "isp-a");
  EXPECT_EQ(binding_->state().user_links, 2);
  EXPECT_EQ(binding_->state().held_records, 1);
}

}  // namespace
}  // namespace connector::store

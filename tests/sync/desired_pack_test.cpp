// Desired users waiting for the iSpring index (reconciler): every one comes back from its
// pack exactly as it went in, in order, absent and empty values kept apart; a cut-short pack
// is refused, never read as another user.
#include "connector/sync/desired_pack.hpp"

#include <gtest/gtest.h>

namespace connector::sync {
namespace {

void expect_same(const desired_user& a, const desired_user& b) {
  EXPECT_EQ(a.record_id, b.record_id);
  EXPECT_EQ(a.action, b.action);
  EXPECT_EQ(a.reason, b.reason);
  EXPECT_EQ(a.login, b.login);
  EXPECT_EQ(a.email, b.email);
  EXPECT_EQ(a.fields, b.fields);
  EXPECT_EQ(a.department, b.department);
  EXPECT_EQ(a.department_key, b.department_key);
  ASSERT_EQ(a.department_link.has_value(), b.department_link.has_value());
  if (a.department_link) {
    EXPECT_EQ(a.department_link->id, b.department_link->id);
    EXPECT_EQ(a.department_link->name, b.department_link->name);
  }
  EXPECT_EQ(a.parent_department, b.parent_department);
  EXPECT_EQ(a.active, b.active);
  EXPECT_EQ(a.groups, b.groups);
  EXPECT_EQ(a.managed_groups, b.managed_groups);
}

desired_user full_user() {
  desired_user u;
  u.record_id = "005000000000001AAA";
  u.action = sync_action::deactivate;
  u.reason = "IsActive is false";
  u.login = "ann@example.com";
  u.email = "";  // cleared in Salesforce: not the same as absent
  u.fields = {{"login", "ann@example.com"}, {"email", ""}, {"first_name", "Ann \xc3\xa9"}};
  u.department = "Sales";
  u.department_key = "sales";
  u.department_link = linked_department{"d-1", "Sales (old)"};
  u.parent_department = "Staff";
  u.active = false;
  u.groups = std::vector<std::string>{"All", "", "Night;shift"};
  u.managed_groups = std::vector<std::string>{};
  return u;
}

TEST(DesiredPack, EveryUserComesBackExactlyAsPacked) {
  const desired_user full = full_user();
  desired_user bare;  // every optional absent, every text empty
  bare.record_id = "005000000000002AAA";
  desired_user with_nul = full;
  with_nul.fields["last_name"] = std::string("a\0b", 3);
  with_nul.active = true;

  std::string packed;
  for (const desired_user* u : std::initializer_list<const desired_user*>{&full, &bare, &with_nul})
    pack_desired_user(*u, packed);
  std::string_view in = packed;
  expect_same(unpack_desired_user(in), full);
  expect_same(unpack_desired_user(in), bare);
  expect_same(unpack_desired_user(in), with_nul);
  EXPECT_TRUE(in.empty());
}

TEST(DesiredPack, ACutShortPackIsRefused) {
  std::string packed;
  pack_desired_user(full_user(), packed);
  for (const std::size_t cut : {std::size_t{1}, std::size_t{10}, packed.size() - 1}) {
    std::string_view in(packed.data(), cut);
    EXPECT_THROW(unpack_desired_user(in), std::runtime_error) << "cut at " << cut;
  }
}

}  // namespace
}  // namespace connector::sync

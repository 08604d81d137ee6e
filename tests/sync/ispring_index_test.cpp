// The reconciliation's packed iSpring users: every user comes back exactly as added, and the
// lookups find what the planner's matching rules say (id; login and e-mail ignoring case;
// the first user added wins).
#include "connector/sync/ispring_index.hpp"

#include <gtest/gtest.h>

namespace connector::sync {
namespace {

ispring::user make_user(const std::string& id, const std::string& login,
                        const std::string& department = "d-sales") {
  ispring::user u;
  u.id = id;
  u.login = login;
  u.email = login + ".mail";
  u.department_id = department;
  u.role = "learner";
  u.fields = {{"login", login}, {"email", login + ".mail"}, {"first_name", "Jo"}};
  return u;
}

TEST(IspringIndex, EveryUserComesBackExactlyAsAdded) {
  ispring_index index;
  auto plain = make_user("u1", "ann");
  auto odd = make_user("u2", "Bob");
  odd.status = ispring::user_status_inactive;
  odd.role = "";
  odd.group_ids = {"g-1", "g-2"};
  odd.fields["USER_DEFINED_FIELD3"] = "";           // an empty value is a value
  odd.fields["job_title"] = std::string(300, 'x');  // longer than one varint byte
  odd.login = "bob-copy-differs";                   // not the copy of fields["login"]
  odd.email.clear();
  ispring::user bare;  // no fields at all
  bare.id = "u3";
  bare.status = 5;
  index.add(plain);
  index.add(odd);
  index.add(bare);
  index.seal();
  ASSERT_EQ(index.size(), 3u);
  EXPECT_EQ(index.at(0), plain);
  EXPECT_EQ(index.at(1), odd);
  EXPECT_EQ(index.at(2), bare);
  EXPECT_EQ(index.id(1), "u2");
  EXPECT_EQ(index.department_id(0), "d-sales");
}

TEST(IspringIndex, LoginsAndEmailsAreFoundIgnoringCaseIdsExactly) {
  ispring_index index;
  index.add(make_user("u1", "Ann@Acme.example"));
  index.add(make_user("u2", "bob"));
  index.seal();
  EXPECT_EQ(index.find_login("ann@acme.EXAMPLE"), 0u);
  EXPECT_EQ(index.find_email("BOB.MAIL"), 1u);
  EXPECT_EQ(index.find_id("u2"), 1u);
  EXPECT_FALSE(index.find_id("U2"));
  EXPECT_FALSE(index.find_login("carl"));
  EXPECT_FALSE(index.find_login(""));
  EXPECT_FALSE(index.find_email(""));
}

TEST(IspringIndex, TheFirstUserAddedWinsASharedKey) {
  ispring_index index;
  index.add(make_user("u1", "ann"));
  auto second = make_user("u2", "ANN");
  second.fields["email"] = second.email = "other.mail";
  index.add(second);
  index.seal();
  EXPECT_EQ(index.find_login("ann"), 0u);
  EXPECT_EQ(index.find_email("other.mail"), 1u);
}

TEST(IspringIndex, AUserReadTwiceIsKeptOnceAsFirstRead) {
  ispring_index index;
  index.add(make_user("u1", "ann", "d-sales"));
  index.add(make_user("u2", "bob", "d-sales"));
  index.add(make_user("u1", "ann", "d-support"));  // moved while the departments were read
  index.seal();
  ASSERT_EQ(index.size(), 2u);
  EXPECT_EQ(index.department_id(*index.find_id("u1")), "d-sales");
  EXPECT_EQ(index.find_login("bob"), index.find_id("u2"));
  const auto per_department = index.users_per_department();
  EXPECT_EQ(per_department.at("d-sales"), 2);
  EXPECT_FALSE(per_department.contains("d-support"));
}

TEST(IspringIndex, AHundredThousandUsersAreAllFoundByEveryKey) {
  ispring_index index;
  constexpr std::size_t n = 100'000;
  for (std::size_t i = 0; i < n; ++i)
    index.add(make_user("id-" + std::to_string(i), "user" + std::to_string(i) + "@x.example",
                        "d-" + std::to_string(i % 10)));
  index.seal();
  ASSERT_EQ(index.size(), n);
  for (std::size_t i = 0; i < n; i += 7) {
    const std::string login = "USER" + std::to_string(i) + "@x.example";
    ASSERT_EQ(index.find_id("id-" + std::to_string(i)), i);
    ASSERT_EQ(index.find_login(login), i);
    ASSERT_EQ(index.find_email(login + ".mail"), i);
  }
  EXPECT_EQ(index.users_per_department().at("d-3"), static_cast<std::int64_t>(n / 10));
}

// The users' bytes are kept in blocks of 1 MB: a user larger than a block, and the users on
// either side of it and of each block's end, come back whole.
TEST(IspringIndex, UsersLargerThanABlockAndAcrossBlocksComeBackWhole) {
  ispring_index index;
  std::vector<ispring::user> added;
  for (std::size_t i = 0; i < 30'000; ++i) {
    auto u = make_user("id-" + std::to_string(i), "user" + std::to_string(i));
    if (i % 10'000 == 5) u.fields["about"] = std::string(3'000'000 + i, 'a' + i % 26);
    index.add(u);
    added.push_back(std::move(u));
  }
  index.seal();
  ASSERT_EQ(index.size(), added.size());
  for (std::size_t i = 0; i < added.size(); ++i) ASSERT_EQ(index.at(i), added[i]) << i;
  EXPECT_EQ(index.find_login("USER20005"), 20'005u);
  EXPECT_EQ(index.field(10'005, "about")->size(), 3'010'005u);
}

TEST(IspringIndex, NothingIsAddedAfterSealing) {
  ispring_index index;
  index.seal();
  EXPECT_THROW(index.add(make_user("u1", "ann")), std::logic_error);
}

}  // namespace
}  // namespace connector::sync

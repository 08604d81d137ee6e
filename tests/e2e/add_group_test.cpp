// End to end: the seed's "Add New Group" (issue 16 §5) through the real binary over TLS
// against the iSpring sandbox (as strict as the reference: POST /group refuses a second group
// of the same name). The group is created ahead of any user carrying it and, when sync.groups
// is a list, added to it by a settings revision guarded by If-Match. A group that exists is
// reported with its id, never duplicated; every refusal known beforehand creates nothing.
#include <gtest/gtest.h>

#include "support/ispring_sandbox_server.hpp"
#include "support/sandbox_config.hpp"
#include "support/service.hpp"

namespace connector::testing {
namespace {

using nlohmann::json;

class add_group_e2e : public ::testing::Test {
 protected:
  void start(json overrides = json::object()) {
    overrides["ispring"] = ispring_sandbox_config(ispring_);
    service_ = std::make_unique<running_service>(dir_.path(), overrides);
  }
  http_reply call(const std::string& method, const std::string& target, const std::string& body,
                  std::optional<std::string> if_match = std::nullopt) {
    std::vector<std::pair<std::string, std::string>> headers{
        {"Authorization", std::string("Bearer ") + test_admin_token},
        {"Content-Type", "application/json"}};
    if (if_match) headers.emplace_back("If-Match", *if_match);
    return service_->admin_client().request(method, target, body, headers);
  }
  http_reply add(const std::string& name, std::optional<std::string> if_match) {
    return call("POST", "/admin/ispring/groups", json{{"name", name}}.dump(), std::move(if_match));
  }
  json settings() { return json::parse(call("GET", "/admin/settings", "").body); }
  int group_creates() { return ispring_.sandbox().calls("POST /group"); }
  std::size_t groups_named(const std::string& name) {
    std::size_t n = 0;
    for (const auto& g : ispring_.sandbox().groups()) n += g.name == name ? 1 : 0;
    return n;
  }

  temp_dir dir_;
  ispring_sandbox_server ispring_;
  std::unique_ptr<running_service> service_;
};

TEST_F(add_group_e2e, ANewGroupIsCreatedInIspringAndAddedToTheSyncGroupsList) {
  start();
  ASSERT_EQ(
      call("PUT", "/admin/settings/sync", json{{"groups", {"Onboarding"}}}.dump(), "\"0\"").status,
      200);
  const auto reply = add("Compliance", "\"1\"");
  ASSERT_EQ(reply.status, 201) << reply.body;
  const auto body = json::parse(reply.body);
  const auto group = ispring_.sandbox().find_group_by_name("Compliance");
  ASSERT_TRUE(group);
  EXPECT_EQ(body["id"], group->id);
  EXPECT_TRUE(group->user_ids.empty());  // ahead of any user carrying it
  EXPECT_EQ(body["revision"], 2);
  EXPECT_TRUE(body["added_to_sync"].get<bool>());
  const auto now = settings();
  EXPECT_EQ(now["revision"], 2);
  EXPECT_EQ(now["settings"]["sync"]["groups"], json::array({"Onboarding", "Compliance"}));
  const auto revisions = json::parse(call("GET", "/admin/settings/revisions", "").body);
  EXPECT_EQ(revisions["revisions"][0]["sections"], json::array({"sync"}));
  EXPECT_EQ(revisions["revisions"][0]["saved_by"], "admin");

  // Asked again (another admin, another case): reported with its id, not duplicated.
  const auto again = add("compliance", "\"2\"");
  ASSERT_EQ(again.status, 409) << again.body;
  EXPECT_EQ(json::parse(again.body)["id"], group->id);
  EXPECT_EQ(groups_named("Compliance"), 1u);
  EXPECT_EQ(groups_named("compliance"), 0u);
  EXPECT_EQ(settings()["revision"], 2);
}

TEST_F(add_group_e2e, ARefusalKnownBeforehandCreatesNoGroupAndSavesNothing) {
  start();
  ASSERT_EQ(
      call("PUT", "/admin/settings/sync", json{{"groups", {"Onboarding"}}}.dump(), "\"0\"").status,
      200);
  EXPECT_EQ(add("Compliance", std::nullopt).status, 428);
  const auto stale = add("Compliance", "\"0\"");  // another admin saved revision 1 meanwhile
  EXPECT_EQ(stale.status, 409) << stale.body;
  EXPECT_EQ(add("Compliance", "\"x\"").status, 400);
  const auto empty = add("  ", "\"1\"");
  ASSERT_EQ(empty.status, 400) << empty.body;
  EXPECT_EQ(json::parse(empty.body)["key"], "name");
  EXPECT_EQ(call("POST", "/admin/ispring/groups", "{name:", "\"1\"").status, 400);
  EXPECT_EQ(call("POST", "/admin/ispring/groups", json{{"name", 7}}.dump(), "\"1\"").status, 400);
  EXPECT_EQ(group_creates(), 0);
  EXPECT_FALSE(ispring_.sandbox().find_group_by_name("Compliance"));
  EXPECT_EQ(settings()["revision"], 1);
}

TEST_F(add_group_e2e, WithEveryGroupSyncedTheGroupIsCreatedAndNoRevisionSaved) {
  start();
  ASSERT_EQ(settings()["settings"]["sync"]["groups"], "all");
  const auto reply = add("Safety", "\"0\"");
  ASSERT_EQ(reply.status, 201) << reply.body;
  EXPECT_FALSE(json::parse(reply.body)["added_to_sync"].get<bool>());
  EXPECT_TRUE(ispring_.sandbox().find_group_by_name("Safety"));
  EXPECT_EQ(settings()["revision"], 0);
  EXPECT_EQ(settings()["settings"]["sync"]["groups"], "all");
}

TEST_F(add_group_e2e, AFileManagedGroupsListIsRefusedBeforeIspringIsAsked) {
  start({{"sync", {{"groups", {"Onboarding"}}}}});
  const auto reply = add("Compliance", "\"0\"");
  ASSERT_EQ(reply.status, 409) << reply.body;
  EXPECT_EQ(json::parse(reply.body)["key"], "sync");
  EXPECT_EQ(group_creates(), 0);
  // A group the file's list already names needs no save: created.
  const auto listed = add("Onboarding", "\"0\"");
  ASSERT_EQ(listed.status, 201) << listed.body;
  EXPECT_TRUE(ispring_.sandbox().find_group_by_name("Onboarding"));
  EXPECT_EQ(settings()["revision"], 0);
}

TEST_F(add_group_e2e, AGroupThatAlreadyExistsInIspringIsReportedWithItsId) {
  const auto existing = ispring_.sandbox().add_group("Compliance");
  start();
  ASSERT_EQ(
      call("PUT", "/admin/settings/sync", json{{"groups", {"Onboarding"}}}.dump(), "\"0\"").status,
      200);
  const auto reply = add("Compliance", "\"1\"");
  ASSERT_EQ(reply.status, 409) << reply.body;
  EXPECT_EQ(json::parse(reply.body)["id"], existing);
  EXPECT_EQ(group_creates(), 0);
  EXPECT_EQ(groups_named("Compliance"), 1u);
  EXPECT_EQ(settings()["revision"], 1);  // not added to the list either: the admin decides
}

}  // namespace
}  // namespace connector::testing

// End to end: the Sync preview (issue 16 §6) through the real binary over TLS against the
// sandboxes. A candidate change to the page's settings is checked as a save would be, then
// previewed by a dry run of the full reconciliation on it: its plan shows what the change
// would do, and nothing is saved, in the store or in iSpring.
#include <gtest/gtest.h>

#include <set>

#include "support/eventually.hpp"
#include "support/ispring_sandbox_server.hpp"
#include "support/salesforce_sandbox_server.hpp"
#include "support/sandbox_config.hpp"
#include "support/service.hpp"

namespace connector::testing {
namespace {

using nlohmann::json;

class preview_e2e : public ::testing::Test {
 protected:
  preview_e2e() : salesforce_(jwt_salesforce_sandbox_options()) {}

  void start(json overrides = json::object()) {
    overrides["ispring"] = ispring_sandbox_config(ispring_);
    overrides["salesforce"] = salesforce_sandbox_config(salesforce_);
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
  std::string add_user(const std::string& name, const std::string& department) {
    return salesforce_.sandbox().add_user({{"Username", name + "@acme.example.prod"},
                                           {"Email", name + "@acme.example"},
                                           {"FirstName", name},
                                           {"LastName", "Tester"},
                                           {"Department", department},
                                           {"IsActive", true}});
  }
  json run(std::int64_t id, const std::string& suffix = "") {
    const auto reply = call("GET", "/admin/runs/" + std::to_string(id) + suffix, "");
    return reply.status == 200 ? json::parse(reply.body) : json::object();
  }
  json finished_run(std::int64_t id) {
    EXPECT_TRUE(eventually([&] {
      const auto s = run(id).value("status", "");
      return !s.empty() && s != "queued" && s != "running";
    })) << service_->process().stderr_text();
    return run(id);
  }
  // Requests to iSpring that change something (anything but a read or a token).
  int ispring_writes() {
    int writes = 0;
    for (const auto& entry : ispring_.sandbox().request_log())
      if (entry.method != "GET" && entry.endpoint != "POST /api/v3/token") ++writes;
    return writes;
  }
  std::size_t revisions() {
    return json::parse(call("GET", "/admin/settings/revisions", "").body)["revisions"].size();
  }
  std::size_t runs_listed() {
    return json::parse(call("GET", "/admin/runs", "").body)["runs"].size();
  }

  temp_dir dir_;
  ispring_sandbox_server ispring_;
  salesforce_sandbox_server salesforce_;
  std::unique_ptr<running_service> service_;
};

const json sales_only = {{"departments", {{"Sales", json::object()}}}};
const json sales_and_support = {
    {"departments", {{"Sales", json::object()}, {"Support", json::object()}}}};

TEST_F(preview_e2e, ACandidateAddingADepartmentPreviewsExactlyItsUsersAsCreatesAndSavesNothing) {
  add_user("ann", "Sales");
  add_user("bob", "Sales");
  add_user("sam", "Support");
  add_user("sue", "Support");
  add_user("ops", "Operations");
  start();
  ASSERT_EQ(call("PUT", "/admin/settings/sync", sales_only.dump(), "\"0\"").status, 200);
  const auto real = call("POST", "/admin/reconcile", "");
  ASSERT_EQ(real.status, 202) << real.body;
  ASSERT_EQ(finished_run(json::parse(real.body)["id"])["status"], "succeeded");
  ASSERT_TRUE(ispring_.sandbox().find_user_by_login("ann@acme.example.prod"));
  const int writes_before = ispring_writes();

  const auto preview =
      call("POST", "/admin/settings/preview", json{{"sync", sales_and_support}}.dump());
  ASSERT_EQ(preview.status, 202) << preview.body;
  const auto answer = json::parse(preview.body);
  EXPECT_EQ(answer["based_on_revision"], 1);
  const auto id = answer["run_id"].get<std::int64_t>();
  const auto done = finished_run(id);
  EXPECT_EQ(done["status"], "succeeded") << done.dump();
  EXPECT_EQ(done["trigger"], "preview");
  EXPECT_TRUE(done["dry_run"].get<bool>());
  EXPECT_TRUE(done["settings_candidate"].get<bool>());
  EXPECT_EQ(done["settings_revision"], 1);
  EXPECT_FALSE(done["counts"].contains("settings_candidate"));
  EXPECT_EQ(done["plan"]["counts"]["create"], 2) << done["plan"]["counts"].dump();
  EXPECT_EQ(done["plan"]["counts"]["deactivate"], 0);

  // Exactly Support's users as creates, in the page's plan view too.
  const auto creates = run(id, "/plan?action=create&limit=50");
  std::set<std::string> logins;
  for (const auto& u : creates["users"]) logins.insert(u["login"].get<std::string>());
  EXPECT_EQ(logins, (std::set<std::string>{"sam@acme.example.prod", "sue@acme.example.prod"}))
      << creates.dump(2);

  // Nothing saved: no revision, no write to iSpring, the sync scope as it was.
  EXPECT_EQ(ispring_writes(), writes_before);
  EXPECT_FALSE(ispring_.sandbox().find_user_by_login("sam@acme.example.prod"));
  EXPECT_EQ(revisions(), 1u);
  const auto now = json::parse(call("GET", "/admin/settings", "").body);
  EXPECT_EQ(now["revision"], 1);
  EXPECT_EQ(now["settings"]["sync"]["departments"], json({{"Sales", {{"sync_all_users", true}}}}));
  // A plain dry run is told apart from a preview.
  const auto dry = call("POST", "/admin/reconcile?dry_run=true", "");
  const auto plain = finished_run(json::parse(dry.body)["id"]);
  EXPECT_FALSE(plain["settings_candidate"].get<bool>());
  EXPECT_EQ(plain["trigger"], "admin");
  EXPECT_EQ(plain["plan"]["counts"]["create"], 0);
}

TEST_F(preview_e2e, ABadCandidateIsRefusedNamingTheKeyAndStartsNoRun) {
  add_user("ann", "Sales");
  start({{"mapping", {{"department", "Department"}}}});
  const auto before = runs_listed();
  const auto unknown = call("POST", "/admin/settings/preview",
                            json{{"sync", {{"departmentz", json::object()}}}}.dump());
  ASSERT_EQ(unknown.status, 400) << unknown.body;
  EXPECT_EQ(json::parse(unknown.body)["key"], "sync.departmentz");
  const auto zero =
      call("POST", "/admin/settings/preview",
           json{{"schedule", {{"run_type", "interval"}, {"run_interval_minutes", 0}}}}.dump());
  ASSERT_EQ(zero.status, 400) << zero.body;
  EXPECT_EQ(json::parse(zero.body)["key"], "schedule.run_interval_minutes");
  const auto section =
      call("POST", "/admin/settings/preview", json{{"server", json::object()}}.dump());
  ASSERT_EQ(section.status, 400) << section.body;
  EXPECT_EQ(json::parse(section.body)["key"], "server");
  EXPECT_EQ(call("POST", "/admin/settings/preview", "{sync:").status, 400);
  EXPECT_EQ(call("POST", "/admin/settings/preview", "{}").status, 400);
  // A section the file sets is read-only, in a preview too.
  const auto managed = call("POST", "/admin/settings/preview",
                            json{{"mapping", {{"department", "Division"}}}}.dump());
  ASSERT_EQ(managed.status, 409) << managed.body;
  EXPECT_EQ(json::parse(managed.body)["key"], "mapping");
  // One bad section spoils the whole candidate.
  const auto mixed = call("POST", "/admin/settings/preview",
                          json{{"sync", sales_only}, {"mapping", {{"login", "Username"}}}}.dump());
  EXPECT_EQ(mixed.status, 409) << mixed.body;

  EXPECT_EQ(runs_listed(), before);
  EXPECT_EQ(revisions(), 0u);
  EXPECT_EQ(ispring_writes(), 0);
}

}  // namespace
}  // namespace connector::testing

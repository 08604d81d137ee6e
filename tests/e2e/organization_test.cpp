// End to end: reset to another organization (issue 16 §5) through the real binary over TLS,
// with two iSpring sandboxes as two organizations. Pointed at another organization while its
// store holds the first one's links, the service keeps taking notifications in but writes
// nothing to iSpring, across a restart, and says why and how out; a reset confirmed with
// anything but the configured identity forgets nothing; the confirmed reset lets the queued
// work and the next reconciliation create the users in the new organization, none in the old.
#include <gtest/gtest.h>

#include <filesystem>

#include "support/eventually.hpp"
#include "support/ispring_sandbox_server.hpp"
#include "support/outbound_builder.hpp"
#include "support/salesforce_sandbox_server.hpp"
#include "support/sandbox_config.hpp"
#include "support/service.hpp"

namespace connector::testing {
namespace {

using nlohmann::json;

class organization_e2e : public ::testing::Test {
 protected:
  organization_e2e() : salesforce_(jwt_salesforce_sandbox_options()) {}

  // A fresh service on the same folder (and store) configured for `ispring`.
  void start_for(ispring_sandbox_server& ispring) {
    service_.reset();
    service_ = std::make_unique<running_service>(
        dir_.path(), json{{"ispring", ispring_sandbox_config(ispring)},
                          {"salesforce", salesforce_sandbox_config(salesforce_)}});
  }
  http_reply call(const std::string& method, const std::string& target,
                  const std::string& body = "") {
    return service_->admin_client().request(
        method, target, body,
        {{"Authorization", std::string("Bearer ") + test_admin_token},
         {"Content-Type", "application/json"}});
  }
  json get(const std::string& target) { return json::parse(call("GET", target).body); }
  std::string add_user(const std::string& name) {
    return salesforce_.sandbox().add_user({{"Username", name + "@acme.example.prod"},
                                           {"Email", name + "@acme.example"},
                                           {"FirstName", name},
                                           {"LastName", "Tester"},
                                           {"Department", "Sales"},
                                           {"IsActive", true}});
  }
  void notify(const std::string& record_id, const std::string& name, std::uint64_t n) {
    user_notification note{make_id("04l", n), record_id, {}};
    note.fields = {{"Username", name + "@acme.example.prod"},
                   {"Email", name + "@acme.example"},
                   {"FirstName", name},
                   {"LastName", "Tester"},
                   {"Department", "Sales"},
                   {"IsActive", "true"}};
    const auto reply = service_->public_client().post_xml("/salesforce/outbound",
                                                          build_user_message(test_org_id, {note}));
    ASSERT_EQ(reply.status, 200) << reply.body;  // acknowledged: Salesforce forgets it
  }
  std::int64_t reconcile() {
    const auto reply = call("POST", "/admin/reconcile");
    EXPECT_EQ(reply.status, 202) << reply.body;
    return json::parse(reply.body)["id"].get<std::int64_t>();
  }
  std::string run_status(std::int64_t id) {
    return get("/admin/runs/" + std::to_string(id) + "?plan=false").value("status", "");
  }
  static int writes(ispring_sandbox_server& ispring) {
    int n = 0;
    for (const auto& entry : ispring.sandbox().request_log())
      if (entry.method != "GET" && entry.endpoint != "POST /api/v3/token") ++n;
    return n;
  }
  static bool has(ispring_sandbox_server& ispring, const std::string& name) {
    return ispring.sandbox().find_user_by_login(name + "@acme.example.prod").has_value();
  }
  std::string organization_warning() {
    const auto status = get("/admin/status");
    for (const auto& w : status["warnings"])
      if (w.value("kind", "") == "organization") return w["message"];
    return {};
  }

  temp_dir dir_;
  ispring_sandbox_server old_org_, new_org_;
  salesforce_sandbox_server salesforce_;
  std::unique_ptr<running_service> service_;
};

TEST_F(organization_e2e, AnotherOrganizationHoldsEveryWriteUntilAConfirmedResetThenSyncsThere) {
  const auto ann = add_user("ann");
  add_user("bob");
  start_for(old_org_);
  const auto first = reconcile();
  ASSERT_TRUE(eventually([&] { return run_status(first) == "succeeded"; }));
  ASSERT_TRUE(has(old_org_, "ann") && has(old_org_, "bob"));
  const auto bound = get("/admin/organization");
  EXPECT_TRUE(bound["matches"].get<bool>()) << bound.dump();
  EXPECT_EQ(bound["reset_forgets"]["user_links"], 2);

  // Pointed at another organization: it starts, takes notifications in, writes nothing.
  start_for(new_org_);
  const int old_writes = writes(old_org_);
  const auto view = get("/admin/organization");
  EXPECT_TRUE(view["held"].get<bool>()) << view.dump();
  EXPECT_FALSE(view["matches"].get<bool>());
  const std::string configured = view["configured"];
  EXPECT_EQ(configured, "sandbox-client-id@" + new_org_.base_url());
  EXPECT_EQ(view["stored"]["identity"], "sandbox-client-id@" + old_org_.base_url());
  EXPECT_NE(organization_warning().find("reset-organization"), std::string::npos);
  const auto carl = add_user("carl");
  notify(carl, "carl", 1);
  EXPECT_EQ(get("/admin/status")["pending"], 1);
  // `connector status` says so too.
  const auto status = run_connector({"status", "--config", service_->config_path().string()});
  EXPECT_NE(status.out.find("reset-organization"), std::string::npos) << status.out;
  // Nor does `connector sync-user`: ann's link is the old organization's.
  const auto synced =
      run_connector({"sync-user", "--config", service_->config_path().string(), ann});
  EXPECT_NE(synced.exit_code, 0) << synced.out;
  EXPECT_NE(synced.err.find("reset-organization"), std::string::npos) << synced.err;
  EXPECT_EQ(writes(new_org_), 0);
  EXPECT_EQ(writes(old_org_), old_writes);

  // A restart keeps the hold.
  ASSERT_EQ(service_->stop(), 0);
  service_->start();
  EXPECT_TRUE(get("/admin/organization")["held"].get<bool>());
  EXPECT_FALSE(organization_warning().empty());
  const auto held_run = reconcile();  // waits for the organization
  EXPECT_EQ(run_status(held_run), "queued");
  EXPECT_EQ(writes(new_org_), 0) << "not one write to the new organization while held";
  EXPECT_EQ(writes(old_org_), old_writes) << "nor to the old one";
  EXPECT_EQ(get("/admin/status")["pending"], 1) << "the acknowledged notification is kept";

  // Shown first, changing nothing; a wrong confirmation forgets nothing.
  const auto shown =
      run_connector({"reset-organization", "--config", service_->config_path().string()});
  EXPECT_EQ(shown.exit_code, 0) << shown.err;
  EXPECT_NE(shown.out.find("2 user link(s)"), std::string::npos) << shown.out;
  const auto wrong = call("POST", "/admin/organization/reset",
                          json{{"confirm", "sandbox-client-id@" + old_org_.base_url()}}.dump());
  EXPECT_EQ(wrong.status, 400) << wrong.body;
  EXPECT_EQ(call("POST", "/admin/organization/reset", "{}").status, 400);
  const auto wrong_cli = run_connector(
      {"reset-organization", "--config", service_->config_path().string(), "--confirm", "nope"});
  EXPECT_NE(wrong_cli.exit_code, 0);
  const auto still = get("/admin/organization");
  EXPECT_TRUE(still["held"].get<bool>());
  EXPECT_EQ(still["reset_forgets"]["user_links"], 2);
  EXPECT_EQ(writes(new_org_), 0);

  // Confirmed: the links go, the held work runs, in the new organization only.
  const auto reset =
      call("POST", "/admin/organization/reset", json{{"confirm", configured}}.dump());
  ASSERT_EQ(reset.status, 200) << reset.body;
  EXPECT_EQ(json::parse(reset.body)["forgot"]["user_links"], 2);
  EXPECT_FALSE(json::parse(reset.body)["held"].get<bool>());
  ASSERT_TRUE(eventually([&] { return run_status(held_run) == "succeeded"; }))
      << service_->process().stderr_text();
  ASSERT_TRUE(eventually([&] { return has(new_org_, "carl"); }));
  EXPECT_TRUE(has(new_org_, "ann"));
  EXPECT_TRUE(has(new_org_, "bob"));
  EXPECT_EQ(writes(old_org_), old_writes) << "nothing more in the old organization";
  EXPECT_FALSE(has(old_org_, "carl"));
  EXPECT_TRUE(organization_warning().empty());
  const auto history = get("/admin/users/" + ann + "?offline=true").dump();
  EXPECT_NE(history.find("organization_reset"), std::string::npos) << history;
}

TEST_F(organization_e2e, TheSameOrganizationUnderANewUrlKeepsItsLinks) {
  add_user("ann");
  start_for(old_org_);
  const auto first = reconcile();
  ASSERT_TRUE(eventually([&] { return run_status(first) == "succeeded"; }));
  start_for(new_org_);  // stands in for the old organization's new URL
  const std::string configured = get("/admin/organization")["configured"];
  service_->stop();
  const auto kept =
      run_connector({"reset-organization", "--config", service_->config_path().string(),
                     "--confirm", configured, "--same-organization"});
  ASSERT_EQ(kept.exit_code, 0) << kept.err;
  service_->start();
  const auto view = get("/admin/organization");
  EXPECT_TRUE(view["matches"].get<bool>()) << view.dump();
  EXPECT_EQ(view["reset_forgets"]["user_links"], 1) << "the link is kept";
}

}  // namespace
}  // namespace connector::testing

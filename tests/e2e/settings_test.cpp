// End to end: settings edited through the admin API (design.md "Settings edited in the
// page") of the real binary over TLS, kept as revisions in its store. A bad value is refused
// naming the key and saves nothing; a stale revision or a section the file sets is refused
// with 409; revisions say which token saved them; they survive a restart; and a change to
// the sync scope or the schedule takes effect in the running service with no restart.
#include <gtest/gtest.h>

#include <csignal>

#include "support/eventually.hpp"
#include "support/ispring_sandbox_server.hpp"
#include "support/outbound_builder.hpp"
#include "support/salesforce_sandbox_server.hpp"
#include "support/sandbox_config.hpp"
#include "support/service.hpp"
#include "support/smtp_sink.hpp"

namespace connector::testing {
namespace {

using nlohmann::json;

constexpr const char* ops_token = "ops-token-abcdefghijklmnop-0123";

class settings_e2e : public ::testing::Test {
 protected:
  void start(const json& overrides = json::object()) {
    service_ = std::make_unique<running_service>(dir_.path(), overrides);
  }
  http_reply call(const std::string& method, const std::string& target, const std::string& body,
                  std::optional<std::string> if_match = std::nullopt,
                  const std::string& token = test_admin_token) {
    std::vector<std::pair<std::string, std::string>> headers{{"Authorization", "Bearer " + token},
                                                             {"Content-Type", "application/json"}};
    if (if_match) headers.emplace_back("If-Match", *if_match);
    return service_->admin_client().request(method, target, body, headers);
  }
  json get_settings() {
    const auto reply = call("GET", "/admin/settings", "");
    EXPECT_EQ(reply.status, 200) << reply.body;
    return json::parse(reply.body);
  }
  http_reply put(const std::string& section, const json& value, std::optional<std::string> if_match,
                 const std::string& token = test_admin_token) {
    return call("PUT", "/admin/settings/" + section, value.dump(), std::move(if_match), token);
  }
  json revisions() {
    const auto reply = call("GET", "/admin/settings/revisions", "");
    EXPECT_EQ(reply.status, 200) << reply.body;
    return json::parse(reply.body)["revisions"];
  }

  temp_dir dir_;
  std::unique_ptr<running_service> service_;
};

const json interval_5 = {{"run_type", "interval"}, {"run_interval_minutes", 5}};

TEST_F(settings_e2e, AFreshStoreServesTheDefaultsAndManagesEverySectionTheFileLeavesOut) {
  start();
  const auto answer = get_settings();
  EXPECT_EQ(answer["revision"], 0);
  EXPECT_EQ(answer["file_managed"], json::array());
  EXPECT_EQ(answer["settings"]["schedule"]["run_type"], "manual");
  EXPECT_EQ(answer["settings"]["mapping"]["login"], "Username");
  EXPECT_EQ(answer["settings"]["sync"]["departments"], json::object());  // every department
  EXPECT_EQ(answer["settings"]["alerts.email_to"], json::array());
  EXPECT_EQ(revisions(), json::array());
}

TEST_F(settings_e2e, ABadValueIsRefusedNamingTheKeyAndNothingIsSaved) {
  start();
  auto zero = interval_5;
  zero["run_interval_minutes"] = 0;
  const auto reply = put("schedule", zero, "\"0\"");
  ASSERT_EQ(reply.status, 400) << reply.body;
  EXPECT_EQ(json::parse(reply.body)["key"], "schedule.run_interval_minutes");
  EXPECT_NE(json::parse(reply.body)["error"].get<std::string>().find("run_interval_minutes"),
            std::string::npos);

  const auto unknown = put("sync", {{"departmentz", json::object()}}, "\"0\"");
  ASSERT_EQ(unknown.status, 400) << unknown.body;
  EXPECT_EQ(json::parse(unknown.body)["key"], "sync.departmentz");
  const auto field = put("mapping", {{"email", "E-mail; DROP"}}, "\"0\"");
  ASSERT_EQ(field.status, 400) << field.body;
  EXPECT_EQ(json::parse(field.body)["key"], "mapping.email");
  const auto not_json = call("PUT", "/admin/settings/schedule", "{run_type:", "\"0\"");
  EXPECT_EQ(not_json.status, 400) << not_json.body;
  EXPECT_EQ(call("PUT", "/admin/settings/server", "{}", "\"0\"").status, 404);

  EXPECT_EQ(get_settings()["revision"], 0);
  EXPECT_EQ(get_settings()["settings"]["schedule"]["run_type"], "manual");
  EXPECT_EQ(revisions(), json::array());
}

TEST_F(settings_e2e, ASaveNeedsTheNewestRevisionInIfMatch) {
  start();
  const auto missing = put("schedule", interval_5, std::nullopt);
  EXPECT_EQ(missing.status, 428) << missing.body;
  EXPECT_EQ(call("PUT", "/admin/settings/schedule", interval_5.dump(), "\"x\"").status, 400);
  EXPECT_EQ(get_settings()["revision"], 0);

  const auto saved = put("schedule", interval_5, "\"0\"");
  ASSERT_EQ(saved.status, 200) << saved.body;
  EXPECT_EQ(json::parse(saved.body)["revision"], 1);
  EXPECT_EQ(saved.header("etag"), "\"1\"");

  // A second administrator still editing revision 0: refused, the first change kept.
  const auto stale = put("sync", {{"departments", {{"Sales", json::object()}}}}, "\"0\"");
  EXPECT_EQ(stale.status, 409) << stale.body;
  const auto ahead = put("sync", {{"departments", {{"Sales", json::object()}}}}, "\"7\"");
  EXPECT_EQ(ahead.status, 409) << ahead.body;
  const auto now = get_settings();
  EXPECT_EQ(now["revision"], 1);
  EXPECT_EQ(now["settings"]["schedule"]["run_interval_minutes"], 5);
  EXPECT_EQ(now["settings"]["sync"]["departments"], json::object());
  EXPECT_EQ(revisions().size(), 1u);
}

TEST_F(settings_e2e, ASectionTheFileSetsIsReadOnly) {
  start({{"mapping", {{"department", "Division"}}}, {"schedule", {{"run_type", "manual"}}}});
  const auto answer = get_settings();
  EXPECT_EQ(answer["file_managed"], json::array({"mapping", "schedule"}));
  EXPECT_EQ(answer["settings"]["mapping"]["department"], "Division");
  const auto reply = put("mapping", {{"department", "Department"}}, "\"0\"");
  ASSERT_EQ(reply.status, 409) << reply.body;
  EXPECT_EQ(json::parse(reply.body)["key"], "mapping");
  EXPECT_EQ(put("schedule", interval_5, "\"0\"").status, 409);
  EXPECT_EQ(get_settings()["revision"], 0);
  EXPECT_EQ(get_settings()["settings"]["mapping"]["department"], "Division");
  // The rest is still the page's.
  EXPECT_EQ(put("sync", {{"departments", {{"Sales", json::object()}}}}, "\"0\"").status, 200);
}

TEST_F(settings_e2e, RevisionsNameTheTokenAndSurviveARestart) {
  start({{"admin", {{"tokens", {{{"name", "ops"}, {"token", ops_token}}}}}}});
  ASSERT_EQ(put("schedule", interval_5, "\"0\"", ops_token).status, 200);
  ASSERT_EQ(put("sync", {{"departments", {{"Sales", json::object()}}}}, "\"1\"").status, 200);
  // The same value again: nothing new to record.
  const auto same = put("sync", {{"departments", {{"Sales", json::object()}}}}, "\"2\"");
  ASSERT_EQ(same.status, 200);
  EXPECT_EQ(json::parse(same.body)["revision"], 2);
  EXPECT_FALSE(json::parse(same.body)["saved"].get<bool>());
  EXPECT_EQ(call("GET", "/admin/settings", "", std::nullopt, "not-a-token-0123456789abc").status,
            401);

  const auto list = revisions();
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0]["revision"], 2);
  EXPECT_EQ(list[0]["saved_by"], "admin");  // admin.token
  EXPECT_EQ(list[0]["sections"], json::array({"sync"}));
  EXPECT_EQ(list[1]["saved_by"], "ops");
  EXPECT_EQ(list[1]["sections"], json::array({"schedule"}));
  EXPECT_FALSE(list[1]["saved_at"].get<std::string>().empty());

  ASSERT_EQ(service_->stop(), 0);
  service_->start();
  const auto answer = get_settings();
  EXPECT_EQ(answer["revision"], 2);
  EXPECT_EQ(answer["settings"]["schedule"]["run_interval_minutes"], 5);
  EXPECT_EQ(answer["settings"]["sync"]["departments"].size(), 1u);
  EXPECT_EQ(revisions().size(), 2u);
  const auto log = service_->process().stderr_text();
  EXPECT_EQ(log.find(ops_token), std::string::npos);
  EXPECT_EQ(log.find(test_admin_token), std::string::npos);
}

TEST_F(settings_e2e, RestoreSavesAnEarlierRevisionAsTheNewest) {
  start();
  ASSERT_EQ(put("schedule", interval_5, "\"0\"").status, 200);
  auto thirty = interval_5;
  thirty["run_interval_minutes"] = 30;
  ASSERT_EQ(put("schedule", thirty, "\"1\"").status, 200);
  EXPECT_EQ(call("POST", "/admin/settings/revisions/1/restore", "", std::nullopt).status, 428);
  EXPECT_EQ(call("POST", "/admin/settings/revisions/1/restore", "", "\"1\"").status, 409);
  EXPECT_EQ(call("POST", "/admin/settings/revisions/9/restore", "", "\"2\"").status, 404);
  const auto restored = call("POST", "/admin/settings/revisions/1/restore", "", "\"2\"");
  ASSERT_EQ(restored.status, 200) << restored.body;
  EXPECT_EQ(json::parse(restored.body)["revision"], 3);
  EXPECT_EQ(get_settings()["settings"]["schedule"]["run_interval_minutes"], 5);
  const auto one = call("GET", "/admin/settings/revisions/1", "");
  ASSERT_EQ(one.status, 200);
  EXPECT_EQ(json::parse(one.body)["settings"]["schedule"], interval_5);
  EXPECT_EQ(revisions()[0]["sections"], json::array({"schedule"}));
}

// --- applied live, against the sandboxes ------------------------------------------------

class settings_live_e2e : public settings_e2e {
 protected:
  settings_live_e2e() : salesforce_(jwt_salesforce_sandbox_options()) {}

  json sandbox_overrides() const {
    return {{"ispring", ispring_sandbox_config(ispring_)},
            {"salesforce", salesforce_sandbox_config(salesforce_)}};
  }
  std::string add_salesforce_user(const std::string& name, const std::string& department) {
    return salesforce_.sandbox().add_user({{"Username", name + "@acme.example.prod"},
                                           {"Email", name + "@acme.example"},
                                           {"FirstName", name},
                                           {"LastName", "Tester"},
                                           {"Department", department},
                                           {"IsActive", true}});
  }
  // An outbound message naming the user; the service reads the user back from Salesforce.
  void notify(const std::string& record_id, const std::string& name, const std::string& department,
              std::uint64_t n) {
    user_notification note{make_id("04l", n), record_id, {}};
    note.fields = {{"Username", name + "@acme.example.prod"},
                   {"Email", name + "@acme.example"},
                   {"FirstName", name},
                   {"LastName", "Tester"},
                   {"Department", department},
                   {"IsActive", "true"},
                   {"SystemModstamp", "2026-11-01T10:00:0" + std::to_string(n) + ".000Z"}};
    const auto reply = service_->public_client().post_xml("/salesforce/outbound",
                                                          build_user_message(test_org_id, {note}));
    ASSERT_EQ(reply.status, 200) << reply.body;
  }
  bool in_ispring(const std::string& name) {
    return ispring_.sandbox().find_user_by_login(name + "@acme.example.prod").has_value();
  }
  json run(std::int64_t id) {
    const auto reply = call("GET", "/admin/runs/" + std::to_string(id), "");
    return reply.status == 200 ? json::parse(reply.body) : json::object();
  }
  bool ended(std::int64_t id) {
    const auto s = run(id).value("status", "");
    return !s.empty() && s != "queued" && s != "running";
  }
  std::string next_run() {
    const auto reply = call("GET", "/admin/schedule", "");
    const auto next = json::parse(reply.body)["next_run"];
    return next.is_string() ? next.get<std::string>() : std::string();
  }
  std::size_t runs_listed() {
    return json::parse(call("GET", "/admin/runs", "").body)["runs"].size();
  }
  json history_of(const std::string& record_id) {
    const auto reply = call("GET", "/admin/users/" + record_id + "?offline=true", "");
    return reply.status == 200 ? json::parse(reply.body) : json::object();
  }

  ispring_sandbox_server ispring_;
  salesforce_sandbox_server salesforce_;
};

TEST_F(settings_live_e2e, ADepartmentAddedToTheSyncScopeReachesIspringWithoutARestart) {
  const auto ann = add_salesforce_user("ann", "Sales");
  const auto sam = add_salesforce_user("sam", "Support");
  const auto sue = add_salesforce_user("sue", "Support");
  start(sandbox_overrides());
  const auto pid = service_->process().pid();
  ASSERT_EQ(put("sync", {{"departments", {{"Sales", json::object()}}}}, "\"0\"").status, 200);

  notify(ann, "ann", "Sales", 1);
  notify(sam, "sam", "Support", 2);
  ASSERT_TRUE(eventually([&] { return in_ispring("ann"); }));
  // Sam was out of scope: settled without a call to iSpring.
  ASSERT_TRUE(eventually([&] {
    return history_of(sam).dump().find("is not selected") != std::string::npos;
  })) << history_of(sam).dump(2);
  EXPECT_FALSE(in_ispring("sam"));

  EXPECT_FALSE(history_of(sam)["now"]["scope"]["in_scope"].get<bool>());
  const json both = {{"departments", {{"Sales", json::object()}, {"Support", json::object()}}}};
  ASSERT_EQ(put("sync", both, "\"1\"").status, 200);
  // `explain` answers by the revision in force: Sam would be synced now.
  EXPECT_TRUE(history_of(sam)["now"]["scope"]["in_scope"].get<bool>()) << history_of(sam).dump(2);
  // The worker: Sue's notification after the save is applied on revision 2.
  notify(sue, "sue", "Support", 3);
  ASSERT_TRUE(eventually([&] { return in_ispring("sue"); })) << service_->process().stderr_text();
  // Its history is committed just after the iSpring call; the scope names revision 2.
  EXPECT_TRUE(eventually([&] {
    return history_of(sue).dump().find("\"settings_revision\":2") != std::string::npos;
  })) << history_of(sue).dump(2);
  // The reconciliation: Sam, settled earlier, is created by the next run.
  const auto queued = call("POST", "/admin/reconcile", "");
  ASSERT_EQ(queued.status, 202) << queued.body;
  const auto id = json::parse(queued.body)["id"].get<std::int64_t>();
  ASSERT_TRUE(eventually([&] { return ended(id); }));
  EXPECT_EQ(run(id)["status"], "succeeded") << run(id).dump();
  EXPECT_EQ(run(id)["settings_revision"], 2);
  EXPECT_TRUE(in_ispring("sam"));
  EXPECT_EQ(service_->process().pid(), pid) << "no restart";
  EXPECT_TRUE(service_->process().running());
}

TEST_F(settings_live_e2e, AnIntervalChangedThroughTheApiMovesTheNextRun) {
  add_salesforce_user("hal", "Sales");
  start(sandbox_overrides());
  EXPECT_TRUE(call("GET", "/admin/schedule", "").body.find("\"next_run\":null") !=
              std::string::npos);  // manual until the page says otherwise
  auto hourly = interval_5;
  hourly["run_interval_minutes"] = 60;
  ASSERT_EQ(put("schedule", hourly, "\"0\"").status, 200);
  // The page's Schedule and Configuration views show the revision in force, not the start's.
  ASSERT_TRUE(eventually([&] {
    return json::parse(call("GET", "/admin/schedule", "").body)["run_type"] == "interval";
  }));
  EXPECT_EQ(json::parse(call("GET", "/admin/config", "").body)["schedule"]["run_interval_minutes"],
            60);
  // No previous run: the first is due at once.
  ASSERT_TRUE(eventually([&] { return ended(1); })) << service_->process().stderr_text();
  EXPECT_EQ(run(1)["trigger"], "scheduled");
  EXPECT_EQ(run(1)["settings_revision"], 1);
  EXPECT_TRUE(in_ispring("hal"));

  // Ten minutes later the hourly schedule has the next run fifty minutes ahead…
  service_->advance_clock(10 * 60'000);
  ASSERT_EQ(put("sync", {{"departments", {{"Sales", json::object()}}}}, "\"1\"").status, 200);
  const auto hourly_next = next_run();
  ASSERT_FALSE(hourly_next.empty());
  EXPECT_EQ(runs_listed(), 1u);
  // …a five-minute one has it overdue: it runs at once, on the newest revision.
  ASSERT_EQ(put("schedule", interval_5, "\"2\"").status, 200);
  const auto five_next = next_run();
  ASSERT_FALSE(five_next.empty());
  EXPECT_LT(five_next, hourly_next);  // ISO 8601 in UTC: ordered as text
  ASSERT_TRUE(eventually([&] { return ended(2); })) << service_->process().stderr_text();
  EXPECT_EQ(run(2)["trigger"], "scheduled");
  EXPECT_EQ(run(2)["settings_revision"], 3);
}

TEST_F(settings_live_e2e, AlertAddressesSavedInThePageGetTheNextAlertWithoutARestart) {
  smtp_sink sink(dir_.path());
  auto alerts = sink.alerts_config();
  alerts["email_to"] = nullptr;  // the page's
  alerts["min_interval_seconds"] = 5;
  alerts["check_interval_seconds"] = 1;
  auto overrides = sandbox_overrides();
  overrides["alerts"] = alerts;
  start(overrides);
  EXPECT_EQ(get_settings()["settings"]["alerts.email_to"], json::array());
  const auto bad = put("alerts.email_to", json::array({"not an address"}), "\"0\"");
  ASSERT_EQ(bad.status, 400) << bad.body;
  EXPECT_EQ(json::parse(bad.body)["key"], "alerts.email_to[0]");
  ASSERT_EQ(put("alerts.email_to", json::array({"page-admin@example.com"}), "\"0\"").status, 200);

  // A run that fails (Salesforce refuses the sign-in) is mailed to the address just saved.
  salesforce_.sandbox().fail_next(1, 400, "invalid_grant", "authentication failure",
                                  salesforce_fault_target::token);
  const auto queued = call("POST", "/admin/reconcile", "");
  ASSERT_EQ(queued.status, 202) << queued.body;
  const auto id = json::parse(queued.body)["id"].get<std::int64_t>();
  ASSERT_TRUE(eventually([&] { return ended(id); }));
  EXPECT_EQ(run(id)["status"], "failed");
  ASSERT_TRUE(eventually([&] {
    for (const auto& m : sink.messages())
      if (smtp_sink::header(m, "X-Connector-Alert") == "reconciliation") return true;
    return false;
  })) << service_->process().stderr_text();
  for (const auto& m : sink.messages())
    EXPECT_EQ(smtp_sink::header(m, "To"), "page-admin@example.com");
}

// --- the CLI ------------------------------------------------------------------------------

TEST_F(settings_e2e, ExportThenImportOnAFreshStoreGivesTheSameEffectiveSettings) {
  const auto first = dir_.path() / "first";
  const auto second = dir_.path() / "second";
  std::filesystem::create_directories(first);
  std::filesystem::create_directories(second);
  const json file_part = {{"mapping", {{"department", "Division"}}}};
  write_text(first / "config.json", test_config(first, file_part).dump(2));
  write_text(second / "config.json", test_config(second, file_part).dump(2));
  const auto cli = [](const std::filesystem::path& dir, std::vector<std::string> args) {
    args.insert(args.begin() + 2, {"--config", (dir / "config.json").string()});
    return run_connector(args);
  };

  const json sync = {{"departments",
                      {{"Sales", {{"ispring_name", "Sales EMEA"}}},
                       {"Support", {{"sync_all_users", false}, {"users", {"a@x.prod"}}}}}},
                     {"groups", {"Onboarding"}},
                     {"max_deactivations", "10%"},
                     {"max_deactivations_per_hour", "off"},
                     {"inactive_users", "ignore"}};
  write_text(dir_.path() / "sync.json", sync.dump());
  write_text(dir_.path() / "schedule.json", interval_5.dump());
  write_text(dir_.path() / "bad.json", R"({"run_type": "interval", "run_interval_minutes": 0})");
  const auto set_sync =
      cli(first, {"settings", "set", "sync", (dir_.path() / "sync.json").string()});
  ASSERT_EQ(set_sync.exit_code, 0) << set_sync.err;
  ASSERT_EQ(cli(first, {"settings", "set", "schedule", (dir_.path() / "schedule.json").string()})
                .exit_code,
            0);
  const auto bad = cli(first, {"settings", "set", "schedule", (dir_.path() / "bad.json").string()});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("schedule.run_interval_minutes"), std::string::npos) << bad.err;
  const auto managed =
      cli(first, {"settings", "set", "mapping", (dir_.path() / "schedule.json").string()});
  EXPECT_EQ(managed.exit_code, 1);
  EXPECT_NE(managed.err.find("config file"), std::string::npos) << managed.err;

  const auto exported = cli(first, {"settings", "export"});
  ASSERT_EQ(exported.exit_code, 0) << exported.err;
  EXPECT_FALSE(json::parse(exported.out)["settings"].contains("mapping"))  // the file's
      << exported.out;
  write_text(dir_.path() / "export.json", exported.out);
  const auto imported = cli(second, {"settings", "import", (dir_.path() / "export.json").string()});
  ASSERT_EQ(imported.exit_code, 0) << imported.err;

  const auto a = cli(first, {"settings", "get"});
  const auto b = cli(second, {"settings", "get"});
  ASSERT_EQ(a.exit_code, 0) << a.err;
  ASSERT_EQ(b.exit_code, 0) << b.err;
  EXPECT_EQ(json::parse(a.out)["settings"], json::parse(b.out)["settings"]);
  EXPECT_EQ(json::parse(b.out)["settings"]["sync"]["departments"]["Sales"]["ispring_name"],
            "Sales EMEA");
  EXPECT_EQ(json::parse(b.out)["revision"], 1);

  // An import naming a section the file manages, or not an export at all: nothing saved.
  auto with_mapping = json::parse(exported.out);
  with_mapping["settings"]["mapping"] = {{"department", "Department"}};
  write_text(dir_.path() / "managed.json", with_mapping.dump());
  const auto refused = cli(first, {"settings", "import", (dir_.path() / "managed.json").string()});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.err.find("mapping"), std::string::npos) << refused.err;
  const auto not_export = cli(first, {"settings", "import", (dir_.path() / "sync.json").string()});
  EXPECT_EQ(not_export.exit_code, 2);

  const auto listed = cli(first, {"settings", "revisions", "--json"});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  const auto list = json::parse(listed.out)["revisions"];
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0]["sections"], json::array({"schedule"}));
  EXPECT_EQ(list[0]["saved_by"].get<std::string>().rfind("cli", 0), 0u);
}

}  // namespace
}  // namespace connector::testing

// End to end: one user created, updated, moved out of scope and dead-lettered through the
// real binary and the iSpring sandbox; then `connector explain` (text and JSON, beside the
// running service) and GET /admin/users/{id} tell each step with its reason.
#include <gtest/gtest.h>

#include <algorithm>

#include "support/eventually.hpp"
#include "support/ispring_sandbox_server.hpp"
#include "support/outbound_builder.hpp"
#include "support/sandbox_config.hpp"
#include "support/service.hpp"
#include "support/service_status.hpp"

namespace connector::testing {
namespace {

using nlohmann::json;

class explain_e2e : public ::testing::Test {
 protected:
  explain_e2e()
      : sandbox_server_({}, {"127.0.0.1", 0, test_certs::get().server_crt.string(),
                             test_certs::get().server_key.string(), 2}) {}

  void start() {
    const json config = {
        {"ispring", ispring_sandbox_config(sandbox_server_)},
        {"mapping", {{"fields", {{"first_name", "FirstName"}, {"job_title", "Title"}}}}},
        {"sync",
         {{"departments", {{"Engineering", {{"sync_all_users", true}}}}},
          {"retry_base_ms", 20},
          {"retry_max_ms", 200}}}};
    service_ = std::make_unique<running_service>(dir_.path(), config);
    client_ = std::make_unique<https_client>(service_->public_client());
  }

  void post(const user_notification& user) {
    const auto reply =
        client_->post_xml("/salesforce/outbound", build_user_message(test_org_id, {user}));
    ASSERT_EQ(reply.status, 200) << reply.body;
  }

  json status() { return status_of(*service_); }
  bool drained() { return connector::testing::drained(*service_); }
  std::optional<sandbox_user> user() { return sandbox_server_.sandbox().find_user_by_login(login); }
  command_result explain(const std::vector<std::string>& extra) {
    std::vector<std::string> args{"explain", "--config", service_->config_path().string()};
    args.insert(args.end(), extra.begin(), extra.end());
    return run_connector(args);
  }
  http_reply admin_get(const std::string& target, bool with_token = true) {
    auto client = service_->admin_client();
    std::vector<std::pair<std::string, std::string>> headers;
    if (with_token)
      headers.emplace_back("Authorization", std::string("Bearer ") + test_admin_token);
    return client.get(target, headers);
  }

  const std::string login = "user21@acme.example.prod";
  const std::string record_id = make_id("005", 21);
  temp_dir dir_;
  ispring_sandbox_server sandbox_server_;
  std::unique_ptr<running_service> service_;
  std::unique_ptr<https_client> client_;
};

std::vector<std::string> texts_of(const json& timeline) {
  std::vector<std::string> texts;
  for (const auto& e : timeline) texts.push_back(e["text"]);
  return texts;
}

bool has_text(const std::vector<std::string>& texts, const std::string& part) {
  return std::any_of(texts.begin(), texts.end(),
                     [&](const std::string& t) { return t.find(part) != std::string::npos; });
}

TEST_F(explain_e2e, explain_tells_created_updated_out_of_scope_and_dead_lettered_with_reasons) {
  start();
  // Created.
  post(sample_user(21, 1, "2026-11-01T10:00:00.000Z"));
  ASSERT_TRUE(eventually([&] { return user().has_value() && drained(); }))
      << service_->process().stderr_text();
  const std::string ispring_id = user()->id;
  // Updated.
  auto updated = sample_user(21, 2, "2026-11-02T10:00:00.000Z");
  updated.fields["Title"] = "Lead Engineer";
  post(updated);
  ASSERT_TRUE(
      eventually([&] { return user()->fields.at("job_title") == "Lead Engineer" && drained(); }));
  // Moved out of scope: deactivated.
  auto moved = updated;
  moved.notification_id = make_id("04l", 3);
  moved.fields["SystemModstamp"] = "2026-11-03T10:00:00.000Z";
  moved.fields["Department"] = "Marketing";
  post(moved);
  ASSERT_TRUE(eventually([&] { return user()->status == 3 && drained(); }));
  // Back in scope with an address iSpring refuses: a dead letter at once (400 is final).
  auto broken = updated;
  broken.notification_id = make_id("04l", 4);
  broken.fields["SystemModstamp"] = "2026-11-04T10:00:00.000Z";
  broken.fields["Email"] = "not-an-address";
  post(broken);
  ASSERT_TRUE(eventually([&] { return status()["dead_letters"] == 1; }));

  // JSON, by username, beside the running service.
  const auto json_run = explain({"--json", login});
  ASSERT_EQ(json_run.exit_code, 0) << json_run.out << json_run.err;
  const json answer = json::parse(json_run.out);
  EXPECT_EQ(answer["record_id"], record_id);
  EXPECT_EQ(answer["link"]["ispring_user_id"], ispring_id);
  EXPECT_EQ(answer["salesforce"]["fields"]["Email"], "not-an-address");
  EXPECT_EQ(answer["salesforce"]["queue"]["state"], "dead");
  ASSERT_EQ(answer["ispring"]["checked"], true) << answer["ispring"].dump();
  EXPECT_EQ(answer["ispring"]["user"]["id"], ispring_id);
  EXPECT_EQ(answer["ispring"]["user"]["status"], "inactive");
  EXPECT_EQ(answer["now"]["scope"]["reason"], "department 'Engineering' is selected");
  EXPECT_NE(answer["now"]["plan"].dump().find("not-an-address"), std::string::npos)
      << answer["now"].dump();

  const auto& timeline = answer["timeline"];
  ASSERT_FALSE(timeline.empty());
  // Newest first: the dead letter, with iSpring's status and text.
  EXPECT_EQ(timeline[0]["kind"], "dead_letter");
  EXPECT_NE(timeline[0]["text"].get<std::string>().find("400"), std::string::npos)
      << timeline[0].dump();
  EXPECT_NE(timeline[0]["text"].get<std::string>().find("email"), std::string::npos)
      << timeline[0].dump();
  for (std::size_t i = 1; i < timeline.size(); ++i)
    EXPECT_GE(timeline[i - 1]["time"].get<std::int64_t>(), timeline[i]["time"].get<std::int64_t>());
  const auto texts = texts_of(timeline);
  std::string all;
  for (const auto& t : texts) all += t + "\n";
  EXPECT_EQ(std::count_if(timeline.begin(), timeline.end(),
                          [](const json& e) { return e["kind"] == "received"; }),
            4)
      << all;
  EXPECT_TRUE(has_text(texts, "iSpring POST /user: ok")) << all;  // the create
  EXPECT_TRUE(has_text(texts, "job_title 'Engineer' → 'Lead Engineer'")) << all;
  EXPECT_TRUE(has_text(texts, "out of scope: department 'Marketing' is not selected → deactivate"))
      << all;
  EXPECT_TRUE(has_text(texts, "status: deactivated")) << all;
  EXPECT_TRUE(has_text(texts, "in scope: department 'Engineering' is selected → upsert")) << all;
  EXPECT_TRUE(has_text(texts, "(HTTP 400)")) << all;
  const auto call = std::find_if(timeline.begin(), timeline.end(), [](const json& e) {
    return e["kind"] == "ispring_call" && e["details"].value("status", 0) == 400;
  });
  ASSERT_NE(call, timeline.end()) << all;
  EXPECT_NE((*call)["details"]["error"].get<std::string>().find("Invalid value for field email"),
            std::string::npos);
  EXPECT_EQ(json_run.out.find("sandbox-client-secret"), std::string::npos);

  // Text, by record id, offline.
  const auto text_run = explain({"--offline", record_id});
  ASSERT_EQ(text_run.exit_code, 0) << text_run.err;
  EXPECT_NE(text_run.out.find("iSpring link:   " + ispring_id), std::string::npos) << text_run.out;
  EXPECT_NE(text_run.out.find("not read: offline"), std::string::npos) << text_run.out;
  EXPECT_NE(text_run.out.find("dead letter after attempt 1: rejected (HTTP 400)"),
            std::string::npos)
      << text_run.out;
  EXPECT_NE(text_run.out.find("out of scope: department 'Marketing' is not selected"),
            std::string::npos)
      << text_run.out;

  // The admin API agrees, by iSpring user id.
  const auto reply = admin_get("/admin/users/" + ispring_id);
  ASSERT_EQ(reply.status, 200) << reply.body;
  const json served = json::parse(reply.body);
  EXPECT_EQ(served["record_id"], record_id);
  EXPECT_EQ(texts_of(served["timeline"]), texts);
  EXPECT_EQ(served["now"]["scope"], answer["now"]["scope"]);
  EXPECT_EQ(served["ispring"]["user"]["status"], "inactive");

  const auto unknown = admin_get("/admin/users/nobody%40acme.example");
  EXPECT_EQ(unknown.status, 404);
  EXPECT_NE(unknown.body.find("no Salesforce user known as 'nobody@acme.example'"),
            std::string::npos)
      << unknown.body;
  EXPECT_EQ(admin_get("/admin/users/" + record_id, false).status, 401);
  EXPECT_EQ(admin_get("/admin/users?q=USER21", false).status, 401);

  const auto search = admin_get("/admin/users?q=USER2&limit=5");
  ASSERT_EQ(search.status, 200) << search.body;
  const json found = json::parse(search.body);
  ASSERT_EQ(found["users"].size(), 1u) << search.body;
  EXPECT_EQ(found["users"][0]["record_id"], record_id);
  EXPECT_EQ(found["users"][0]["login"], login);
  EXPECT_EQ(found["users"][0]["state"], "dead");
  EXPECT_TRUE(json::parse(admin_get("/admin/users?q=zzz").body)["users"].empty());

  const auto missing = explain({"nobody@acme.example"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("no Salesforce user known"), std::string::npos) << missing.err;
}

}  // namespace
}  // namespace connector::testing

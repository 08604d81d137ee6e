// Specification of the JSON change-event parser: the envelopes and change types of
// salesforce.md §C, and the hostile JSON it refuses (duplicate keys, depth, huge numbers).
#include "connector/salesforce/change_events.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "connector/salesforce/ids.hpp"
#include "connector/store/open.hpp"

namespace connector::salesforce {
namespace {

using json = nlohmann::json;

constexpr const char* user_a = "005ak00000GGsRRAA1";
constexpr const char* user_b = "005ak00000EpjsfAAB";

std::string sample(const std::string& name) {
  // Copies of reference/salesforce-samples/events (salesforce.md §B); also the fuzz seeds.
  const auto path = std::filesystem::path(CONNECTOR_FIXTURES_DIR) / "events" / name;
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// A CometD-style User UPDATE with the given header additions and fields.
json user_event(const std::string& change_type, json fields = json::object()) {
  json event = std::move(fields);
  event["ChangeEventHeader"] = {
      {"entityName", "User"},  {"changeType", change_type},
      {"recordIds", {user_a}}, {"commitTimestamp", 1745433814000},
      {"sequenceNumber", 1},   {"transactionKey", "0000819a-2c4f-e547-290a-8ac966ffa9b9"},
      {"commitUser", user_b}};
  return event;
}

std::vector<parsed_event> parse_ok(const std::string& body,
                                   const event_parse_options& options = {}) {
  auto result = parse_change_events(body, options);
  EXPECT_TRUE(result) << (result ? "" : result.error().message);
  return result ? *result : std::vector<parsed_event>{};
}

event_error parse_error(const std::string& body, const event_parse_options& options = {}) {
  auto result = parse_change_events(body, options);
  EXPECT_FALSE(result) << "accepted: " << body.substr(0, 200);
  return result ? event_error{} : result.error();
}

json fields_of(const parsed_event& e) {
  return json::parse(e.fields_json);
}

TEST(ChangeEvents, RealUserUpdateSample) {
  auto body = sample("cdc-user-update-amp-labs.json");
  ASSERT_FALSE(body.empty());
  const auto events = parse_ok(body);
  ASSERT_EQ(events.size(), 1u);
  const auto& e = events[0];
  EXPECT_EQ(e.record_id, "005ak00000GGsRRAA1");
  EXPECT_EQ(e.object_type, "User");
  EXPECT_EQ(e.type, change_type::update);
  EXPECT_EQ(e.commit_timestamp_ms, 1745433814000);
  EXPECT_EQ(e.sequence_number, 1);
  EXPECT_EQ(e.commit_user, "005ak00000EpjsfAAB");
  EXPECT_EQ(e.notification_id, "tx:0000819a-2c4f-e547-290a-8ac966ffa9b9:1/005ak00000GGsRRAA1");
  EXPECT_EQ(fields_of(e),
            json::parse(R"({"FirstName":"BUTTERBALL","LastModifiedById":"005ak00000EpjsfAAB",
                                         "LastModifiedDate":"2025-04-23T18:43:34.000Z"})"));
  EXPECT_TRUE(e.has_data);
  EXPECT_FALSE(e.needs_reread);
}

TEST(ChangeEvents, SingleObjectAndArray) {
  const auto one = parse_ok(user_event("UPDATE", {{"Title", "CEO"}}).dump());
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0].event_index, 0u);
  json second = user_event("UPDATE", {{"Title", "CTO"}});
  second["ChangeEventHeader"]["recordIds"] = {user_b};
  const auto many =
      parse_ok(json::array({user_event("UPDATE", {{"Title", "CEO"}}), second}).dump());
  ASSERT_EQ(many.size(), 2u);
  EXPECT_EQ(many[1].event_index, 1u);
  EXPECT_EQ(many[1].record_id, user_b);
  EXPECT_TRUE(parse_ok("[]").empty());
}

TEST(ChangeEvents, CometdEnvelopeUsesReplayIdAndChannel) {
  json envelope = {{"channel", "/data/UserChangeEvent"},
                   {"data",
                    {{"schema", "abc"},
                     {"payload", user_event("UPDATE", {{"Title", "CEO"}})},
                     {"event", {{"replayId", 2142496}}}}}};
  const auto events = parse_ok(envelope.dump());
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].channel, "/data/UserChangeEvent");
  EXPECT_EQ(events[0].replay_id, "2142496");
  EXPECT_EQ(events[0].notification_id,
            std::string("replay:/data/UserChangeEvent:2142496/") + user_a);
  // Arrays of envelopes, as a relay batches them.
  EXPECT_EQ(parse_ok(json::array({envelope, envelope}).dump()).size(), 2u);
}

TEST(ChangeEvents, RealCometdSampleIsRefusedForItsEntity) {
  const auto error =
      parse_error(sample("cdc-cometd-envelope-serviceappointment-update-vivaeve-redacted.json"));
  EXPECT_EQ(error.code, event_errc::wrong_entity);
  event_parse_options options;
  options.source_object = "ServiceAppointment";
  const auto events = parse_ok(
      sample("cdc-cometd-envelope-serviceappointment-update-vivaeve-redacted.json"), options);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].replay_id, "2142496");
  EXPECT_EQ(fields_of(events[0])["Status"], "Cancelled by Provider");
}

TEST(ChangeEvents, EventBridgeEnvelope) {
  event_parse_options options;
  options.source_object = "Account";
  const auto events =
      parse_ok(sample("cdc-eventbridge-appflow-envelope-account-update-awsdocs.json"), options);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].record_id, "0016g00000MLhLeAAL");
  EXPECT_EQ(fields_of(events[0])["Region__c"], "America");

  json bridge = {{"version", "0"},
                 {"detail-type", "UserChangeEvent"},
                 {"source", "aws.partner/salesforce.com/00D/0YL"},
                 {"detail", user_event("UPDATE", {{"Title", "CEO"}})}};
  EXPECT_EQ(parse_ok(bridge.dump()).size(), 1u);
}

TEST(ChangeEvents, EventBridgeWithCometdShapedDetail) {
  // Event Relay's exact detail is unconfirmed (salesforce.md uncertainty 5): accept a
  // {"payload", "replayId"} detail as well as a bare event.
  json bridge = {{"detail-type", "UserChangeEvent"},
                 {"source", "aws.partner/salesforce.com/00D/0YL"},
                 {"detail",
                  {{"payload", user_event("UPDATE", {{"Title", "CEO"}})},
                   {"replayId", "AAAAAAAAAAE="},
                   {"schemaId", "x"}}}};
  const auto events = parse_ok(bridge.dump());
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].replay_id, "AAAAAAAAAAE=");
  EXPECT_EQ(fields_of(events[0])["Title"], "CEO");
}

TEST(ChangeEvents, CreateKeepsAllFieldsIncludingNulls) {
  const auto events =
      parse_ok(user_event("CREATE", {{"Email", "a@b.c"}, {"Title", nullptr}}).dump());
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].type, change_type::create);
  EXPECT_EQ(fields_of(events[0]), json::parse(R"({"Email":"a@b.c","Title":null})"));
}

TEST(ChangeEvents, UndeleteCarriesData) {
  const auto events = parse_ok(user_event("UNDELETE", {{"Email", "a@b.c"}}).dump());
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].type, change_type::undelete);
  EXPECT_TRUE(events[0].has_data);
}

TEST(ChangeEvents, DeleteHasNoData) {
  const auto events = parse_ok(user_event("DELETE", {{"Email", "a@b.c"}}).dump());
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].type, change_type::remove);
  EXPECT_FALSE(events[0].has_data);
  EXPECT_FALSE(events[0].needs_reread);
  EXPECT_EQ(events[0].fields_json, "{}");
  const auto change = to_incoming_change(events[0]);
  EXPECT_FALSE(change.has_data);
  EXPECT_EQ(change.record_id, user_a);
}

TEST(ChangeEvents, GapEventsAskForReread) {
  for (const char* type :
       {"GAP_CREATE", "GAP_UPDATE", "GAP_DELETE", "GAP_UNDELETE", "GAP_OVERFLOW"}) {
    SCOPED_TRACE(type);
    const auto events = parse_ok(user_event(type, {{"Title", "ignored"}}).dump());
    ASSERT_EQ(events.size(), 1u);
    EXPECT_STREQ(to_string(events[0].type), type);
    EXPECT_FALSE(events[0].has_data);
    EXPECT_TRUE(events[0].needs_reread);
    EXPECT_EQ(events[0].record_id, user_a);
    EXPECT_EQ(events[0].fields_json, "{}");
    const auto change = to_incoming_change(events[0]);
    // Queued for a read over REST, under the event's own notification id (dedupe).
    EXPECT_EQ(change.record_id, user_a);
    EXPECT_TRUE(change.reread);
    EXPECT_FALSE(change.has_data);
    EXPECT_EQ(change.fields_json, "{}");
    EXPECT_EQ(change.notification_id, events[0].notification_id);
  }
}

TEST(ChangeEvents, AWildcardGapAsksForEveryRecordAndIsOnlyRemembered) {
  json event = user_event("GAP_OVERFLOW");
  event["ChangeEventHeader"]["recordIds"] = {"005*"};
  const auto events = parse_ok(event.dump());
  ASSERT_EQ(events.size(), 1u);
  EXPECT_TRUE(events[0].needs_reread);
  EXPECT_TRUE(is_wildcard_record(events[0].record_id));
  const auto change = to_incoming_change(events[0]);
  EXPECT_TRUE(change.record_id.empty()) << "a full reconciliation reads them, not the worker";
  EXPECT_FALSE(change.reread);
  EXPECT_FALSE(change.notification_id.empty());
}

TEST(ChangeEvents, WildcardsAreRefusedOutsideGapEvents) {
  json event = user_event("UPDATE", {{"Title", "x"}});
  event["ChangeEventHeader"]["recordIds"] = {"005*"};
  EXPECT_EQ(parse_error(event.dump()).code, event_errc::bad_record_id);
  for (const char* bad : {"*", "05*", "0055*", "00!*"}) {
    SCOPED_TRACE(bad);
    json gap = user_event("GAP_OVERFLOW");
    gap["ChangeEventHeader"]["recordIds"] = {bad};
    EXPECT_EQ(parse_error(gap.dump()).code, event_errc::bad_record_id);
  }
}

TEST(ChangeEvents, UnknownChangeTypeRefused) {
  const auto error = parse_error(user_event("MERGE").dump());
  EXPECT_EQ(error.code, event_errc::bad_change_type);
  EXPECT_NE(error.message.find("event 0"), std::string::npos) << error.message;
}

TEST(ChangeEvents, SeveralRecordIdsGiveOneChangeEach) {
  json event = user_event("UPDATE", {{"Department", "Sales"}});
  event["ChangeEventHeader"]["recordIds"] = {"005ak00000GGsRR", user_b,
                                             user_a};  // 15 and 18 of one
  const auto events = parse_ok(event.dump());
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].record_id, user_a);
  EXPECT_EQ(events[1].record_id, user_b);
  EXPECT_NE(events[0].notification_id, events[1].notification_id);
  EXPECT_EQ(fields_of(events[1])["Department"], "Sales");
}

TEST(ChangeEvents, InvalidAndWildcardRecordIdsRefused) {
  for (const json& ids : {json::array({"005*"}), json::array({"not-an-id"}), json::array(),
                          json::array({42}), json("005ak00000GGsRRAA1")}) {
    json event = user_event("UPDATE");
    event["ChangeEventHeader"]["recordIds"] = ids;
    EXPECT_EQ(parse_error(event.dump()).code, event_errc::bad_record_id) << ids.dump();
  }
  // A wrong suffix is recomputed, as for outbound messages (ids.hpp): samples are hand-edited.
  json event = user_event("UPDATE");
  event["ChangeEventHeader"]["recordIds"] = {"005ak00000GGsRRAA9"};
  EXPECT_EQ(parse_ok(event.dump()).at(0).record_id, user_a);
}

TEST(ChangeEvents, NulledFieldsBecomeNullAndUnchangedPubSubNullsAreDropped) {
  // Pub/Sub style: every field present, unchanged ones null; nulledFields says which are cleared.
  json event = user_event("UPDATE", {{"Title", nullptr}, {"Phone", nullptr}, {"Email", "x@y.z"}});
  event["ChangeEventHeader"]["nulledFields"] = {"Title", "Name.MiddleName"};
  event["ChangeEventHeader"]["changedFields"] = {"Title", "Email", "Name.MiddleName"};
  const auto events = parse_ok(event.dump());
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(fields_of(events[0]),
            json::parse(R"({"Email":"x@y.z","Title":null,"MiddleName":null})"));
}

TEST(ChangeEvents, CometdChangedButNotSentMeansCleared) {
  json event = user_event("UPDATE", {{"Email", "x@y.z"}});
  event["ChangeEventHeader"]["changedFields"] = {"Email", "Title"};
  EXPECT_EQ(fields_of(parse_ok(event.dump()).at(0)),
            json::parse(R"({"Email":"x@y.z","Title":null})"));
}

TEST(ChangeEvents, CompoundFieldsAreFlattened) {
  json event = user_event("UPDATE", {{"Name", {{"FirstName", "Ann"}, {"LastName", "Lee"}}},
                                     {"Address", {{"City", "Berlin"}}},
                                     {"MailingAddress", {{"Street", "1 Main"}}},
                                     {"Place__c", {{"Latitude", 1.5}}}});
  event["ChangeEventHeader"]["changedFields"] = {"Name.FirstName", "Name.LastName", "Address.City",
                                                 "Address.Country"};
  EXPECT_EQ(fields_of(parse_ok(event.dump()).at(0)),
            json::parse(R"({"FirstName":"Ann","LastName":"Lee","City":"Berlin","Country":null,
                            "MailingStreet":"1 Main","Place__Latitude__s":1.5})"));
  // Nested deeper than a compound field, or an array value: refused.
  EXPECT_EQ(parse_error(user_event("UPDATE", {{"Name", {{"First", {{"x", 1}}}}}}).dump()).code,
            event_errc::bad_field);
  EXPECT_EQ(parse_error(user_event("UPDATE", {{"Title", {1, 2}}}).dump()).code,
            event_errc::bad_field);
}

TEST(ChangeEvents, BothTimestampForms) {
  json iso = user_event("UPDATE");
  iso["ChangeEventHeader"]["commitTimestamp"] = "2025-04-23T18:43:34.000Z";
  EXPECT_EQ(parse_ok(iso.dump()).at(0).commit_timestamp_ms, 1745433814000);
  json epoch = user_event("UPDATE");
  EXPECT_EQ(parse_ok(epoch.dump()).at(0).commit_timestamp_ms, 1745433814000);
  for (const json& bad : {json("yesterday"), json(-5), json(1.5e12), json(nullptr)}) {
    json event = user_event("UPDATE");
    event["ChangeEventHeader"]["commitTimestamp"] = bad;
    EXPECT_EQ(parse_error(event.dump()).code, event_errc::bad_timestamp) << bad.dump();
  }
  json missing = user_event("UPDATE");
  missing["ChangeEventHeader"].erase("commitTimestamp");
  EXPECT_EQ(parse_error(missing.dump()).code, event_errc::bad_header);
}

TEST(ChangeEvents, NotificationIdFallsBackToHash) {
  json event = user_event("UPDATE", {{"Title", "CEO"}});
  event["ChangeEventHeader"].erase("transactionKey");
  const auto first = parse_ok(event.dump()).at(0);
  EXPECT_EQ(first.notification_id.rfind("sha256:", 0), 0u);
  // Same event, other key order and spacing: same id. Another value: another id.
  EXPECT_EQ(parse_ok(event.dump(2)).at(0).notification_id, first.notification_id);
  event["Title"] = "CTO";
  EXPECT_NE(parse_ok(event.dump()).at(0).notification_id, first.notification_id);
}

TEST(ChangeEvents, WrongEntityRefused) {
  json event = user_event("UPDATE");
  event["ChangeEventHeader"]["entityName"] = "Contact";
  const auto error = parse_error(json::array({user_event("UPDATE"), event}).dump());
  EXPECT_EQ(error.code, event_errc::wrong_entity);
  EXPECT_NE(error.message.find("event 1"), std::string::npos) << error.message;
  EXPECT_NE(error.message.find("Contact"), std::string::npos) << error.message;
}

TEST(ChangeEvents, DuplicateKeysRefused) {
  const auto error = parse_error(
      R"({"ChangeEventHeader":{"entityName":"User","entityName":"Contact","changeType":"UPDATE",
          "recordIds":["005ak00000GGsRRAA1"],"commitTimestamp":1}})");
  EXPECT_EQ(error.code, event_errc::duplicate_key);
  EXPECT_NE(error.message.find("entityName"), std::string::npos);
  EXPECT_EQ(parse_error(R"([{"a":1,"a":1}])").code, event_errc::duplicate_key);
}

TEST(ChangeEvents, DeepNestingRefused) {
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  EXPECT_EQ(parse_error(deep).code, event_errc::too_deep);
  std::string objects;
  for (int i = 0; i < 70; ++i) objects += R"({"a":)";
  objects += "1" + std::string(70, '}');
  EXPECT_EQ(parse_error(objects).code, event_errc::too_deep);
}

TEST(ChangeEvents, HugeNumbersRefused) {
  for (const char* number : {"123456789012345678901234567890", "-99999999999999999999", "1e400"}) {
    json event = user_event("UPDATE");
    std::string body = event.dump();
    body.insert(1, std::string(R"("Big__c":)") + number + ",");
    EXPECT_EQ(parse_error(body).code, event_errc::number_out_of_range) << number;
  }
  json seq = user_event("UPDATE");
  seq["ChangeEventHeader"]["sequenceNumber"] = 18446744073709551615ULL;
  EXPECT_EQ(parse_error(seq.dump()).code, event_errc::bad_header);
}

TEST(ChangeEvents, MalformedBodiesRefused) {
  EXPECT_EQ(parse_error("").code, event_errc::empty_body);
  EXPECT_EQ(parse_error("  \n").code, event_errc::empty_body);
  EXPECT_EQ(parse_error("{").code, event_errc::malformed_json);
  EXPECT_EQ(parse_error("{} x").code, event_errc::malformed_json);
  EXPECT_EQ(parse_error("\"\xff\"").code, event_errc::malformed_json);
  EXPECT_EQ(parse_error("42").code, event_errc::not_an_event);
  EXPECT_EQ(parse_error(R"({"Title":"x"})").code, event_errc::not_an_event);
  EXPECT_EQ(parse_error("[[]]").code, event_errc::not_an_event);
  json bad_name = user_event("UPDATE", {{"Ti tle", "x"}});
  EXPECT_EQ(parse_error(bad_name.dump()).code, event_errc::bad_field);
  json bitmap = user_event("UPDATE");
  bitmap["ChangeEventHeader"]["changedFields"] = {"0x1F"};
  EXPECT_EQ(parse_error(bitmap.dump()).code, event_errc::bad_header);
}

TEST(ChangeEvents, TooManyEventsRefused) {
  json many = json::array();
  for (std::size_t i = 0; i <= max_events_per_body; ++i) many.push_back(json::object());
  EXPECT_EQ(parse_error(many.dump()).code, event_errc::too_many_events);
}

event_parse_options platform_options() {
  event_parse_options options;
  options.platform_event_record_id_field = "UserId__c";
  options.platform_event_fields = {{"Email__c", "Email"}, {"Dept__c", "Department"}};
  return options;
}

TEST(ChangeEvents, PlatformEventOverCometdMapsFields) {
  json envelope = {{"channel", "/event/User_Changed__e"},
                   {"data",
                    {{"payload",
                      {{"CreatedDate", "2025-04-23T18:43:34.000Z"},
                       {"CreatedById", user_b},
                       {"UserId__c", "005ak00000GGsRR"},
                       {"Email__c", "a@b.c"},
                       {"Dept__c", nullptr},
                       {"Unmapped__c", "ignored"}}},
                     {"event", {{"replayId", 7}, {"EventUuid", "u-1"}}}}}};
  const auto events = parse_ok(envelope.dump(), platform_options());
  ASSERT_EQ(events.size(), 1u);
  const auto& e = events[0];
  EXPECT_EQ(e.type, change_type::platform_event);
  EXPECT_EQ(e.event_name, "User_Changed__e");
  EXPECT_EQ(e.object_type, "User");
  EXPECT_EQ(e.record_id, user_a);
  EXPECT_EQ(e.commit_timestamp_ms, 1745433814000);
  EXPECT_EQ(e.notification_id, std::string("replay:/event/User_Changed__e:7/") + user_a);
  EXPECT_EQ(fields_of(e), json::parse(R"({"Email":"a@b.c","Department":null})"));
}

TEST(ChangeEvents, PlatformEventNamedByDetailTypeOrAttributes) {
  json payload = {{"UserId__c", user_a}, {"Email__c", "a@b.c"}};
  json bridge = {{"detail-type", "User_Changed__e"}, {"source", "x"}, {"detail", payload}};
  EXPECT_EQ(parse_ok(bridge.dump(), platform_options()).size(), 1u);
  json apex = payload;
  apex["attributes"] = {{"type", "User_Changed__e"}};
  EXPECT_EQ(parse_ok(apex.dump(), platform_options()).size(), 1u);
  // Unnamed: nothing says it is a platform event.
  EXPECT_EQ(parse_error(payload.dump(), platform_options()).code, event_errc::not_an_event);
}

TEST(ChangeEvents, PlatformEventRefusals) {
  json bridge = {
      {"detail-type", "User_Changed__e"}, {"source", "x"}, {"detail", {{"UserId__c", user_a}}}};
  EXPECT_EQ(parse_error(bridge.dump()).code, event_errc::platform_event_not_configured);
  auto options = platform_options();
  options.platform_event_names = {"Other__e"};
  EXPECT_EQ(parse_error(bridge.dump(), options).code, event_errc::platform_event_not_configured);
  bridge["detail"]["UserId__c"] = "nope";
  EXPECT_EQ(parse_error(bridge.dump(), platform_options()).code, event_errc::bad_record_id);
  bridge["detail"].erase("UserId__c");
  EXPECT_EQ(parse_error(bridge.dump(), platform_options()).code, event_errc::bad_record_id);
}

TEST(ChangeEvents, ConvertsToIncomingChange) {
  const auto e = parse_ok(user_event("UPDATE", {{"Title", "CEO"}}).dump()).at(0);
  const auto change = to_incoming_change(e);
  EXPECT_EQ(change.notification_id, e.notification_id);
  EXPECT_EQ(change.record_id, user_a);
  EXPECT_EQ(change.object_type, "User");
  EXPECT_EQ(change.modstamp, 1745433814000);
  EXPECT_EQ(change.fields_json, R"({"Title":"CEO"})");
  EXPECT_TRUE(change.has_data);
}

}  // namespace
}  // namespace connector::salesforce

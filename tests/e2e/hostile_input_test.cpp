// The hostile-input suite: requests an attacker (or a broken relay) might send, each against
// the real binary over real TLS. Every one is refused with the right status or dropped,
// stores nothing, leaves the process running, and the next honest request is served.
#include <gtest/gtest.h>
#include <openssl/ssl.h>

#include <chrono>
#include <memory>

#include "connector/salesforce/webhook_signature.hpp"
#include "support/outbound_builder.hpp"
#include "support/service.hpp"

namespace connector::testing {
namespace {

using nlohmann::json;

const std::string outbound_path = "/salesforce/outbound";
const std::string events_path = "/salesforce/events";
const std::string secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

std::string soap_with_prolog(const std::string& prolog, const std::string& inner_value) {
  return prolog +
         R"(<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">)"
         R"(<soapenv:Body><notifications xmlns="http://soap.sforce.com/2005/09/outbound">)"
         R"(<OrganizationId>00D5g000004XyZaEAK</OrganizationId><Notification><Id>04l1</Id>)"
         R"(<sObject xmlns:sf="urn:sobject.enterprise.soap.sforce.com"><sf:Id>005000000000001AAA</sf:Id>)"
         R"(<sf:Title>)" +
         inner_value +
         R"(</sf:Title></sObject></Notification></notifications></soapenv:Body></soapenv:Envelope>)";
}

class hostile_input : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new temp_dir();
    service_ = new running_service(dir_->path(), {{"server",
                                                   {{"events_signing_secrets", {secret}},
                                                    {"read_timeout_ms", 400},
                                                    {"handshake_timeout_ms", 400},
                                                    {"idle_timeout_ms", 400}}}});
  }
  static void TearDownTestSuite() {
    delete service_;
    delete dir_;
  }

  void TearDown() override {
    // The process is alive, nothing was stored, and an honest request is served.
    EXPECT_TRUE(service_->process().running());
    EXPECT_EQ(stored(), 0);
    auto client = service_->public_client();
    EXPECT_EQ(client.get("/healthz").status, 200);
  }

  static std::int64_t stored() {
    const auto out =
        run_connector({"status", "--json", "--config", service_->config_path().string()}).out;
    return json::parse(out)["notifications_received"].get<std::int64_t>();
  }

  static int post_soap(const std::string& body) {
    auto client = service_->public_client();
    return client.post_xml(outbound_path, body).status;
  }

  // A correctly signed events request: the parser, not the signature check, must refuse it.
  static int post_signed_event(const std::string& body) {
    const auto key = *salesforce::parse_webhook_key(secret);
    const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
    const auto h = salesforce::sign_webhook_headers(std::span(&key, 1), "msg_hostile", now, body);
    auto client = service_->public_client();
    return client
        .request("POST", events_path, body,
                 {{"Content-Type", "application/json"},
                  {"webhook-id", h.id},
                  {"webhook-timestamp", h.timestamp},
                  {"webhook-signature", h.signature}})
        .status;
  }

  static std::string raw(const std::string& bytes) {
    auto client = service_->public_client();
    return client.raw_exchange(bytes);
  }

  static temp_dir* dir_;
  static running_service* service_;
};

temp_dir* hostile_input::dir_ = nullptr;
running_service* hostile_input::service_ = nullptr;

TEST_F(hostile_input, XmlExternalEntitiesAreRefused) {
  EXPECT_EQ(post_soap(soap_with_prolog(
                R"(<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>)",
                "&xxe;")),
            400);
}

TEST_F(hostile_input, EntityExpansionBombsAreRefused) {
  // Ten references to the previous level at each level: a billion "lol"s if expanded.
  std::string prolog = R"(<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol0 "lol">)";
  for (int i = 1; i <= 9; ++i) {
    prolog += "<!ENTITY lol" + std::to_string(i) + " \"";
    for (int j = 0; j < 10; ++j) prolog += "&lol" + std::to_string(i - 1) + ";";
    prolog += "\">";
  }
  prolog += "]>";
  EXPECT_EQ(post_soap(soap_with_prolog(prolog, "&lol9;")), 400);
}

TEST_F(hostile_input, DeeplyNestedXmlIsRefused) {
  std::string deep;
  for (int i = 0; i < 100'000; ++i) deep += "<a>";
  for (int i = 0; i < 100'000; ++i) deep += "</a>";
  EXPECT_EQ(post_soap(soap_with_prolog("", deep)), 400);
}

TEST_F(hostile_input, InvalidUtf8IsNotStored) {
  const int status = post_soap(soap_with_prolog("", "\xff\xfe\xc3\x28"));
  EXPECT_EQ(status, 400);
}

TEST_F(hostile_input, WrongContentTypesAreRefused) {
  auto client = service_->public_client();
  const auto message = build_user_message(test_org_id, {sample_user(1, 1)});
  EXPECT_EQ(
      client.request("POST", outbound_path, message, {{"Content-Type", "application/json"}}).status,
      415);
  EXPECT_EQ(client.request("POST", events_path, "{}", {{"Content-Type", "text/xml"}}).status, 415);
}

TEST_F(hostile_input, AHundredMegabyteBodyIsRefusedBeforeItIsRead) {
  const std::string reply = raw("POST " + outbound_path +
                                " HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/xml\r\n"
                                "Content-Length: 104857600\r\n\r\n<soapenv:Envelope");
  EXPECT_NE(reply.find("413"), std::string::npos) << reply.substr(0, 200);
}

TEST_F(hostile_input, ABodyThatNeverEndsIsDroppedAtTheReadTimeout) {
  const std::string reply = raw("POST " + outbound_path +
                                " HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/xml\r\n"
                                "Content-Length: 5000\r\n\r\n<soapenv:Envelope");
  EXPECT_EQ(reply.find("200 OK"), std::string::npos) << reply.substr(0, 200);
}

TEST_F(hostile_input, SlowlorisHeadersAreDroppedAtTheReadTimeout) {
  const std::string reply = raw("GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Slow: a");
  EXPECT_EQ(reply.find("200 OK"), std::string::npos) << reply.substr(0, 200);
}

TEST_F(hostile_input, Http10IsAnsweredAndPipelinedFloodsDoNotHurt) {
  const std::string one = raw("GET /healthz HTTP/1.0\r\n\r\n");
  EXPECT_NE(one.find("200"), std::string::npos) << one.substr(0, 200);
  std::string flood;
  for (int i = 0; i < 500; ++i) flood += "GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n";
  const std::string replies = raw(flood);
  EXPECT_NE(replies.find("200"), std::string::npos);
}

TEST_F(hostile_input, OldTlsVersionsAreRefusedInTheHandshake) {
  for (const int version : {TLS1_VERSION, TLS1_1_VERSION}) {
    client_options o;
    o.port = service_->public_port();
    o.ca_file = test_certs::get().ca_crt.string();
    o.max_tls_version = version;
    https_client old_client(o);
    EXPECT_THROW(old_client.connect(), std::exception) << version;
  }
}

TEST_F(hostile_input, TruncatedTlsRecordsAreDropped) {
  client_options o;
  o.port = service_->public_port();
  o.tls = false;  // raw bytes that claim to be a TLS record, then nothing
  https_client plain(o);
  const std::string reply =
      plain.raw_exchange(std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc", 9));
  EXPECT_EQ(reply.find("HTTP/1.1 200"), std::string::npos);
}

TEST_F(hostile_input, JsonWithDuplicateKeysHugeNumbersOrDeepNestingIsRefused) {
  EXPECT_EQ(post_signed_event(R"({"ChangeEventHeader":{"entityName":"User"},"a":1,"a":2})"), 400);
  EXPECT_EQ(post_signed_event(R"({"ChangeEventHeader":{"commitTimestamp":1e400}})"), 400);
  EXPECT_EQ(post_signed_event(
                R"({"ChangeEventHeader":{"sequenceNumber":123456789012345678901234567890}})"),
            400);
  EXPECT_EQ(post_signed_event(std::string(100'000, '[') + std::string(100'000, ']')), 400);
}

}  // namespace
}  // namespace connector::testing

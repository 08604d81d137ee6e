// End to end: the public listener's optional locks, through the real binary over TLS —
// mutual TLS against a CA bundle and an allowed subject, the secret path segment for the
// SOAP endpoint, and the IP allowlist. Each refusal stores nothing.
#include <gtest/gtest.h>

#include <stdexcept>

#include "support/eventually.hpp"
#include "support/outbound_builder.hpp"
#include "support/service.hpp"

namespace connector::testing {
namespace {

using nlohmann::json;

const std::string outbound_path = "/salesforce/outbound";

client_options public_options(const running_service& service) {
  client_options o;
  o.port = service.public_port();
  o.ca_file = test_certs::get().ca_crt.string();
  return o;
}

std::int64_t notifications(const running_service& service) {
  const auto out =
      run_connector({"status", "--json", "--config", service.config_path().string()}).out;
  return json::parse(out)["notifications_received"].get<std::int64_t>();
}

bool handshake_completes(client_options options) {
  https_client client(std::move(options));
  try {
    client.connect();
    // TLS 1.3 reports a refused client certificate only on the first read.
    return client.get("/healthz").status == 200;
  } catch (const std::exception&) {
    return false;
  }
}

std::string service_log(running_service& service) {
  return service.process().stdout_text() + service.process().stderr_text();
}

class listener_security : public ::testing::Test {
 protected:
  temp_dir dir_;
};

TEST_F(listener_security, MutualTlsRefusesClientsWithoutTheCertificate) {
  const auto& certs = test_certs::get();
  running_service service(dir_.path(), {{"server",
                                         {{"tls",
                                           {{"client_ca_file", certs.ca_crt.string()},
                                            {"client_subjects", {"CN=proxy.salesforce.test"}}}}}}});
  auto without = public_options(service);
  EXPECT_FALSE(handshake_completes(without));
  EXPECT_EQ(service_log(service).find("refused a client certificate"), std::string::npos)
      << "no certificate: nothing to name";

  auto with = public_options(service);
  with.client_cert_file = certs.client_crt.string();
  with.client_key_file = certs.client_key.string();
  EXPECT_TRUE(handshake_completes(with));
  EXPECT_EQ(service_log(service).find("refused a client certificate"), std::string::npos);
  https_client client(with);
  const auto reply =
      client.post_xml(outbound_path, build_user_message(test_org_id, {sample_user(1, 1)}));
  EXPECT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(notifications(service), 1);
}

TEST_F(listener_security, MutualTlsRefusesACertificateWithAnotherSubject) {
  const auto& certs = test_certs::get();
  running_service service(dir_.path(), {{"server",
                                         {{"tls",
                                           {{"client_ca_file", certs.ca_crt.string()},
                                            {"client_subjects", {"CN=someone-else.example"}}}}}}});
  auto with = public_options(service);
  with.client_cert_file = certs.client_crt.string();
  with.client_key_file = certs.client_key.string();
  EXPECT_FALSE(handshake_completes(with));
  // Refused for its subject, not for its CA: the certificate is the one the first test
  // lets through, and the service says which subject it turned away.
  const std::string why =
      "refused a client certificate: its subject 'CN=proxy.salesforce.test,O=Connector Local' "
      "is not in server.tls.client_subjects";
  EXPECT_TRUE(eventually([&] { return service_log(service).find(why) != std::string::npos; }))
      << service_log(service);
}

TEST_F(listener_security, TheSecretPathSegmentHidesTheSoapEndpoint) {
  const std::string segment = "Zq3-unguessable_path.segment~42";
  running_service service(dir_.path(), {{"server", {{"secret_path_segment", segment}}}});
  auto client = service.public_client();
  const auto message = build_user_message(test_org_id, {sample_user(1, 1)});
  EXPECT_EQ(client.post_xml(outbound_path, message).status, 404);
  EXPECT_EQ(client.post_xml(outbound_path + "/wrong-segment-0000000000", message).status, 404);
  EXPECT_EQ(notifications(service), 0);
  const auto reply = client.post_xml(outbound_path + "/" + segment, message);
  EXPECT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(notifications(service), 1);
}

TEST_F(listener_security, AddressesOutsideTheAllowlistAreDropped) {
  running_service refused(dir_.path(), {{"server", {{"allowed_ips", {"203.0.113.0/24"}}}}});
  EXPECT_FALSE(handshake_completes(public_options(refused)));
  refused.stop();
  temp_dir other;
  running_service allowed(other.path(), {{"server", {{"allowed_ips", {"127.0.0.0/8"}}}}});
  EXPECT_TRUE(handshake_completes(public_options(allowed)));
}

}  // namespace
}  // namespace connector::testing

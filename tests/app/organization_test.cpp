// The identity of an iSpring organization (organization.hpp): what names it (api_url and
// client_id, or the legacy account_url) and what does not (a secret, a password, a trailing
// '/', the case of the host), so a rotated secret never looks like another organization.
#include "connector/app/organization.hpp"

#include <gtest/gtest.h>

namespace connector::app {
namespace {

config::ispring_settings client(const std::string& api_url, const std::string& id,
                                const std::string& secret) {
  config::ispring_settings s;
  s.api_url = api_url;
  s.client_id = id;
  s.client_secret = config::secret(secret);
  return s;
}

TEST(organization_identity, names_the_client_and_the_api_never_the_secret) {
  const auto identity =
      organization_identity(client("https://api-learn.ispringlearn.com", "c1", "s3cret-one"));
  EXPECT_EQ(identity, "c1@https://api-learn.ispringlearn.com");
  EXPECT_EQ(identity.find("s3cret"), std::string::npos);
  EXPECT_EQ(organization_identity(client("https://api-learn.ispringlearn.com", "c1", "rotated")),
            identity);
  EXPECT_EQ(organization_identity(client("HTTPS://API-Learn.ispringlearn.com/", "c1", "x")),
            identity);
  EXPECT_NE(organization_identity(client("https://api-learn.ispringlearn.com", "c2", "x")),
            identity);
  EXPECT_NE(organization_identity(client("https://api.other.example", "c1", "x")), identity);
}

TEST(organization_identity, the_legacy_scheme_is_named_by_its_account_url) {
  config::ispring_settings s;
  s.auth = "password";
  s.account_url = "https://Acme.ispringlearn.com/";
  s.login = "admin@acme.example";
  s.password = config::secret("pw-1");
  const auto identity = organization_identity(s);
  EXPECT_EQ(identity, "https://acme.ispringlearn.com");
  s.password = config::secret("pw-2");
  s.login = "other-admin@acme.example";
  EXPECT_EQ(organization_identity(s), identity);
}

}  // namespace
}  // namespace connector::app

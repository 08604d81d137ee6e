#include "connector/sync/mapping_check.hpp"

#include <gtest/gtest.h>

namespace connector::sync {
namespace {

ispring::profile_field field(std::string id, bool required = false, std::string type = "string") {
  ispring::profile_field f;
  f.id = id;
  f.label = id;
  f.type = std::move(type);
  f.is_required = required;
  return f;
}

std::vector<ispring::profile_field> builtins() {
  return {field("login", true, "login"), field("email", false, "email"),
          field("first_name", false, "first_name"), field("last_name", false, "last_name"),
          field("job_title", false, "job_title")};
}

std::vector<std::string> problems(const std::vector<finding>& findings) {
  std::vector<std::string> out;
  for (const auto& f : findings) {
    if (!f.ok) out.push_back(f.text);
  }
  return out;
}

TEST(check_mapping, the_default_mapping_fits_an_account_with_the_builtin_fields) {
  config::mapping_settings mapping;
  mapping.fields = {{"first_name", "FirstName"}, {"job_title", "Title"}};
  const auto findings = check_mapping(mapping, builtins());
  EXPECT_TRUE(problems(findings).empty());
  EXPECT_EQ(findings.size(), 5u);  // login, email, last_name, first_name, job_title
}

TEST(check_mapping, names_a_mapped_field_the_account_does_not_have) {
  config::mapping_settings mapping;
  mapping.fields = {{"USER_DEFINED_FIELD9", "Division"}};
  const auto found = problems(check_mapping(mapping, builtins()));
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0],
            "mapping.fields.USER_DEFINED_FIELD9: 'USER_DEFINED_FIELD9' is not a profile field of "
            "this iSpring account (see Settings > User Profile Settings for Field IDs)");
}

TEST(check_mapping, names_a_required_field_the_mapping_leaves_empty_but_not_a_country) {
  config::mapping_settings mapping;
  mapping.fields = {};
  auto fields = builtins();
  fields.push_back(field("EMPLOYEE_ID", true));
  fields.push_back(field("country", true, "country"));
  const auto found = problems(check_mapping(mapping, fields));
  ASSERT_EQ(found.size(), 1u);
  EXPECT_NE(found[0].find("iSpring requires profile field 'EMPLOYEE_ID'"), std::string::npos);
}

}  // namespace
}  // namespace connector::sync

#pragma once
// Builds User Outbound Message bodies in the shape Salesforce sends (reference §A.2), for
// integration tests and benchmarks.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace connector::testing {

struct user_notification {
  std::string notification_id;                // 04l…
  std::string user_id;                        // 005…
  std::map<std::string, std::string> fields;  // API name -> value
};

std::string build_user_message(const std::string& organization_id,
                               const std::vector<user_notification>& notifications,
                               const std::string& object_type = "User");

// A valid 18-character Salesforce id with the given 3-character prefix and a number.
std::string make_id(const std::string& prefix, std::uint64_t number);

// A typical user notification: Username, Email, names, department, IsActive, stamps.
user_notification sample_user(std::uint64_t user_number, std::uint64_t notification_number,
                              const std::string& system_modstamp = "2026-11-01T10:00:00.000Z");

}  // namespace connector::testing

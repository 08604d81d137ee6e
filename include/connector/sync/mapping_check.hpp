#pragma once
// "Verify and Register Integration": does the mapping fit the iSpring account? Every
// mapped target must be a profile field of the account, and every field the account
// requires must be mapped, or creating users fails (peers.md: Entra's users hit exactly
// this).
#include <string>
#include <vector>

#include "connector/config/config.hpp"
#include "connector/ispring/wire.hpp"

namespace connector::sync {

struct finding {
  bool ok = false;
  std::string text;  // "mapping.fields.job_title: no such profile field in iSpring Learn"
};

std::vector<finding> check_mapping(const config::mapping_settings& mapping,
                                   const std::vector<ispring::profile_field>& fields);

}  // namespace connector::sync

// libFuzzer target: every iSpring wire parser on the same bytes. They must return a value or
// an error for any input, never crash, hang or throw. Seed corpus: tests/fixtures/ispring/.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "connector/ispring/wire.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace isp = connector::ispring;
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  (void)isp::parse_token(body);
  (void)isp::parse_users_page(body);
  (void)isp::parse_user(body);
  (void)isp::parse_departments_page(body);
  (void)isp::parse_departments_list(body);
  (void)isp::parse_department(body);
  (void)isp::parse_groups_page(body);
  (void)isp::parse_group(body);
  (void)isp::parse_profile_fields(body);
  if (const auto id = isp::parse_created_id(body); id && !isp::is_safe_id(*id)) __builtin_trap();
  if (const auto e = isp::parse_error(500, body); !e || e->message.empty()) __builtin_trap();
  return 0;
}

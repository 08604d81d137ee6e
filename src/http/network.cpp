#include "network.hpp"

#include <array>
#include <charconv>

namespace connector::http {
namespace {

// Compares the first `bits` bits of two byte arrays of the same family.
template <std::size_t N>
bool same_prefix(const std::array<unsigned char, N>& a, const std::array<unsigned char, N>& b,
                 unsigned bits) {
  for (std::size_t i = 0; i < N && bits > 0; ++i) {
    const unsigned take = bits >= 8 ? 8 : bits;
    const auto mask = static_cast<unsigned char>(0xFFu << (8 - take));
    if ((a[i] & mask) != (b[i] & mask)) return false;
    bits -= take;
  }
  return true;
}

}  // namespace

bool network::contains(const boost::asio::ip::address& address) const {
  auto candidate = address;
  // An IPv4 client on a dual-stack socket shows up as ::ffff:a.b.c.d.
  if (candidate.is_v6() && candidate.to_v6().is_v4_mapped() && base.is_v4()) {
    candidate = boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, candidate.to_v6());
  }
  if (candidate.is_v4() != base.is_v4()) return false;
  if (base.is_v4()) {
    return same_prefix(base.to_v4().to_bytes(), candidate.to_v4().to_bytes(), prefix_length);
  }
  return same_prefix(base.to_v6().to_bytes(), candidate.to_v6().to_bytes(), prefix_length);
}

std::optional<network> parse_network(const std::string& cidr) {
  const auto slash = cidr.find('/');
  boost::system::error_code ec;
  const auto base = boost::asio::ip::make_address(cidr.substr(0, slash), ec);
  if (ec) return std::nullopt;
  const unsigned max_bits = base.is_v4() ? 32 : 128;
  unsigned bits = max_bits;
  if (slash != std::string::npos) {
    const char* first = cidr.data() + slash + 1;
    const char* last = cidr.data() + cidr.size();
    auto [end, error] = std::from_chars(first, last, bits);
    if (error != std::errc{} || end != last || first == last || bits > max_bits) {
      return std::nullopt;
    }
  }
  return network{base, bits};
}

}  // namespace connector::http

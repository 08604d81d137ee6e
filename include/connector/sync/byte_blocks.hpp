#pragma once
// Bytes appended in blocks of 1 MB that never move or grow: the reconciliation's packed users
// and stored links, a million of each. One string that doubles to 150 MB (and is shrunk at the
// end) writes every byte three times, each time into fresh pages that the kernel must clear
// first, and on a virtual machine that can cost more than the packing itself. A run of bytes
// is found again by the place append() gave it.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace connector::sync {

class byte_blocks {
 public:
  // Where `bytes` now begin. A run longer than a block gets a block of its own.
  std::uint64_t append(std::string_view bytes) {
    if (blocks_.empty() || blocks_.back().size() + bytes.size() > blocks_.back().capacity()) {
      blocks_.emplace_back();
      blocks_.back().reserve(std::max(block_bytes, bytes.size()));
    }
    std::string& block = blocks_.back();
    const std::uint64_t at = (static_cast<std::uint64_t>(blocks_.size() - 1) << 32) | block.size();
    block.append(bytes);
    return at;
  }

  // From `at` to the end of its block.
  std::string_view from(std::uint64_t at) const {
    return std::string_view(blocks_[at >> 32]).substr(static_cast<std::size_t>(at & 0xffffffffu));
  }

 private:
  static constexpr std::size_t block_bytes = 1 << 20;
  std::vector<std::string> blocks_;
};

}  // namespace connector::sync

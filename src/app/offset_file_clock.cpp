#include <sys/stat.h>

#include <fstream>
#include <string>
#include <utility>

#include "connector/offset_file_clock.hpp"

namespace connector {

offset_file_clock::offset_file_clock(std::string path) : path_(std::move(path)) {}

epoch_ms offset_file_clock::now() const {
  // One stat per reading: cheap next to what reads the clock (a request, an apply).
  struct stat info {};
  if (::stat(path_.c_str(), &info) == 0) {
    const std::int64_t mtime =
        static_cast<std::int64_t>(info.st_mtim.tv_sec) * 1'000'000'000 + info.st_mtim.tv_nsec;
    const std::int64_t size = static_cast<std::int64_t>(info.st_size);
    if (mtime != seen_mtime_ns_.load() || size != seen_size_.load()) {
      std::ifstream in(path_);
      long long offset = 0;
      if (in >> offset) offset_.store(offset);
      seen_mtime_ns_.store(mtime);
      seen_size_.store(size);
    }
  }
  return system_clock().now() + offset_.load();
}

}  // namespace connector

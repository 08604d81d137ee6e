#pragma once
// Files for tests and the sandbox programs: a temporary folder removed with its contents, and
// whole files read and written as text.
#include <filesystem>
#include <string>

namespace connector::testing {

class temp_dir {
 public:
  temp_dir();
  ~temp_dir();
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

std::string read_text(const std::filesystem::path& path);
void write_text(const std::filesystem::path& path, const std::string& text);

}  // namespace connector::testing

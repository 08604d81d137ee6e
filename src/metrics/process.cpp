#include "connector/metrics/process.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <charconv>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <system_error>
#include <vector>

namespace connector::metrics {
namespace {

std::optional<std::string> read_file(const char* path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::optional<std::uint64_t> to_number(std::string_view text) {
  std::uint64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

}  // namespace

std::optional<proc_stat> parse_proc_stat(std::string_view text) {
  const auto close = text.rfind(')');
  if (close == std::string_view::npos) return std::nullopt;
  // Fields from 3 (state) on, separated by single spaces.
  std::vector<std::string_view> fields;
  std::size_t at = close + 1;
  while (at < text.size()) {
    while (at < text.size() && (text[at] == ' ' || text[at] == '\n')) ++at;
    const auto end = std::min(text.find_first_of(" \n", at), text.size());
    if (end > at) fields.push_back(text.substr(at, end - at));
    at = end;
  }
  // proc(5): utime 14, stime 15, starttime 22, vsize 23, rss 24; fields[0] is field 3.
  constexpr std::size_t first = 3;
  if (fields.size() < 24 - first + 1) return std::nullopt;
  const auto field = [&](std::size_t number) { return to_number(fields[number - first]); };
  const auto utime = field(14), stime = field(15), start = field(22), vsize = field(23);
  const auto rss = field(24);
  if (!utime || !stime || !start || !vsize || !rss) return std::nullopt;
  return proc_stat{*utime, *stime, *start, *vsize, *rss};
}

std::optional<std::int64_t> parse_boot_time(std::string_view text) {
  constexpr std::string_view key = "btime ";
  for (std::size_t at = 0; at < text.size();) {
    const auto end = std::min(text.find('\n', at), text.size());
    const auto line = text.substr(at, end - at);
    if (line.starts_with(key)) {
      if (auto value = to_number(line.substr(key.size()))) return static_cast<std::int64_t>(*value);
      return std::nullopt;
    }
    at = end + 1;
  }
  return std::nullopt;
}

void add_process_metrics(registry& registry) {
  const long ticks_per_second = sysconf(_SC_CLK_TCK);
  const long page_size = sysconf(_SC_PAGESIZE);
  std::optional<std::int64_t> boot_time;
  if (const auto text = read_file("/proc/stat")) boot_time = parse_boot_time(*text);

  registry.add_collector([=](scrape_writer& out) {
    const auto text = read_file("/proc/self/stat");
    const auto stat = text ? parse_proc_stat(*text) : std::nullopt;
    if (stat && ticks_per_second > 0) {
      const double ticks = static_cast<double>(ticks_per_second);
      out.counter("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.",
                  static_cast<double>(stat->utime_ticks + stat->stime_ticks) / ticks);
      out.gauge("process_resident_memory_bytes", "Resident memory size in bytes.",
                static_cast<double>(stat->resident_pages) * static_cast<double>(page_size));
      out.gauge("process_virtual_memory_bytes", "Virtual memory size in bytes.",
                static_cast<double>(stat->virtual_bytes));
      if (boot_time) {
        out.gauge("process_start_time_seconds",
                  "Start time of the process since unix epoch in seconds.",
                  static_cast<double>(*boot_time) + static_cast<double>(stat->start_ticks) / ticks);
      }
    }
    std::error_code ec;
    std::size_t open = 0;
    for (std::filesystem::directory_iterator it("/proc/self/fd", ec), end; !ec && it != end;
         it.increment(ec))
      ++open;
    if (!ec)
      out.gauge("process_open_fds", "Number of open file descriptors.", static_cast<double>(open));
    rlimit limit{};
    if (getrlimit(RLIMIT_NOFILE, &limit) == 0) {
      out.gauge("process_max_fds", "Maximum number of open file descriptors.",
                static_cast<double>(limit.rlim_cur));
    }
  });
}

}  // namespace connector::metrics

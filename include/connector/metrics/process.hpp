#pragma once
// The standard process metrics (the names every Prometheus client library exports, without
// the connector_ prefix), read from /proc at scrape time.
#include <cstdint>
#include <optional>
#include <string_view>

#include "connector/metrics/registry.hpp"

namespace connector::metrics {

// The fields of /proc/<pid>/stat the process metrics need, in the kernel's units.
struct proc_stat {
  std::uint64_t utime_ticks = 0;
  std::uint64_t stime_ticks = 0;
  std::uint64_t start_ticks = 0;  // after boot
  std::uint64_t virtual_bytes = 0;
  std::uint64_t resident_pages = 0;
};

// Parses the text of /proc/<pid>/stat; nullopt when it is not in that shape. The command
// name (field 2) may hold spaces and parentheses, so fields are counted after its last ')'.
std::optional<proc_stat> parse_proc_stat(std::string_view text);

// "btime" of /proc/stat: the boot time in seconds since the epoch.
std::optional<std::int64_t> parse_boot_time(std::string_view proc_stat_text);

// Adds process_cpu_seconds_total, process_resident_memory_bytes,
// process_virtual_memory_bytes, process_open_fds, process_max_fds and
// process_start_time_seconds for this process. Values that cannot be read are left out.
void add_process_metrics(registry& registry);

}  // namespace connector::metrics

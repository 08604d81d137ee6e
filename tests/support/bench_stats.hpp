#pragma once
// What the latency benchmarks share: percentiles of a sample, one printed line for them, and
// the service's CPU time and memory read from /proc.
#include <cstddef>
#include <string>
#include <vector>

namespace connector::testing {

struct percentiles {
  std::size_t count = 0;
  double p50 = 0, p90 = 0, p99 = 0, max = 0, mean = 0;
};

percentiles summarize(std::vector<double> values);

// "  name   n=…  p50 …  p90 …  p99 …  max …  mean … ms"
void print_line(const char* name, const percentiles& p);

// A field of /proc/<pid>/status ("VmHWM", "Threads"), as written there; "?" when absent.
std::string proc_status_field(int pid, const std::string& field);

// The process's CPU time (user + system) in seconds, from /proc/<pid>/stat.
double process_cpu_seconds(int pid);

}  // namespace connector::testing

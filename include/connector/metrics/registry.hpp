#pragma once
// Metrics in the Prometheus text exposition format 0.0.4: counters, gauges and histograms
// with label sets, and values read only when scraped (store counts, /proc).
//
// Recording is one relaxed atomic operation per counter or gauge and two or three per
// histogram, on a handle looked up once (family::with) and kept by the part that records:
// the hot path takes no lock and looks nothing up. Families and children live as long as
// the registry and never move, so handles stay valid.
#include <algorithm>
#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace connector::metrics {

// A monotonically growing count (Prometheus "counter"; its name ends in _total).
class counter {
 public:
  void inc(std::uint64_t n = 1) noexcept { value_.fetch_add(n, std::memory_order_relaxed); }
  std::uint64_t value() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> value_{0};
};

// A value that goes up and down.
class gauge {
 public:
  void set(double value) noexcept { value_.store(value, std::memory_order_relaxed); }
  void add(double delta) noexcept { value_.fetch_add(delta, std::memory_order_relaxed); }
  double value() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

// Observations counted into buckets by upper bound (`le`), with their sum. Buckets are
// stored per bucket and made cumulative when read, so an observation touches one bucket.
class histogram {
 public:
  // `upper_bounds` ascending and finite; they must outlive the histogram (the family's).
  explicit histogram(std::span<const double> upper_bounds);
  void observe(double value) noexcept;

  struct snapshot {
    std::vector<std::uint64_t> cumulative;  // one per upper bound, then +Inf (== count)
    double sum = 0;
    std::uint64_t count() const { return cumulative.empty() ? 0 : cumulative.back(); }
  };
  snapshot read() const;

 private:
  std::span<const double> bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> buckets_;  // bounds_.size() + 1 (+Inf)
  std::atomic<double> sum_{0};
};

// Bucket bounds in base units: seconds for latencies of an HTTP exchange or an ack.
std::vector<double> latency_buckets_seconds();
// 1, 2, 4, … up to `max` (sizes: requests per commit).
std::vector<double> powers_of_two(double max);

enum class metric_type { counter, gauge, histogram };

// One metric name with its help text, label names and one child per label-value set.
class family_base {
 public:
  family_base(std::string name, std::string help, metric_type type,
              std::vector<std::string> label_names);
  virtual ~family_base() = default;
  family_base(const family_base&) = delete;
  family_base& operator=(const family_base&) = delete;

  const std::string& name() const { return name_; }
  metric_type type() const { return type_; }
  const std::vector<std::string>& label_names() const { return label_names_; }
  // Appends "# HELP", "# TYPE" and every child's samples; nothing for a labelled family
  // that has no child yet.
  virtual void render(std::string& out) const = 0;

 protected:
  // Label values compare with string_views without copying them (lookups allocate nothing).
  struct values_less {
    using is_transparent = void;
    template <class A, class B>
    bool operator()(const A& a, const B& b) const {
      return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end());
    }
  };
  void check_arity(std::size_t values) const;
  void render_header(std::string& out) const;

  std::string name_, help_;
  metric_type type_;
  std::vector<std::string> label_names_;
  mutable std::mutex mutex_;  // guards the children maps of the derived families
};

template <class Metric>
class family final : public family_base {
 public:
  family(std::string name, std::string help, std::vector<std::string> label_names,
         std::vector<double> upper_bounds = {});

  // The child for these label values (in label_names order), created on first use. Takes
  // a lock: call it once and keep the reference, not once per event.
  Metric& with(std::initializer_list<std::string_view> values) {
    return with(std::span<const std::string_view>(values.begin(), values.size()));
  }
  Metric& with(std::span<const std::string_view> values);

  const std::vector<double>& upper_bounds() const { return bounds_; }
  void render(std::string& out) const override;

 private:
  std::vector<double> bounds_;  // histograms only
  std::map<std::vector<std::string>, std::unique_ptr<Metric>, values_less> children_;
};

using counter_family = family<counter>;
using gauge_family = family<gauge>;
using histogram_family = family<histogram>;

// What a collector writes at scrape time: unlabelled families, one value each.
class scrape_writer {
 public:
  explicit scrape_writer(std::string& out) : out_(out) {}
  void gauge(std::string_view name, std::string_view help, double value);
  void counter(std::string_view name, std::string_view help, double value);

 private:
  void write(std::string_view name, std::string_view help, std::string_view type, double value);
  std::string& out_;
};
using collector = std::function<void(scrape_writer&)>;

class registry {
 public:
  registry() = default;
  registry(const registry&) = delete;
  registry& operator=(const registry&) = delete;

  // Get or create: a second call with the same name, type, labels (and buckets) returns the
  // same family, so each part may declare what it records. A conflicting second call, an
  // invalid name, a counter not ending in _total or a reserved label name throws
  // std::invalid_argument: those are bugs, found at start-up.
  counter_family& counter(const std::string& name, const std::string& help,
                          std::vector<std::string> label_names = {});
  gauge_family& gauge(const std::string& name, const std::string& help,
                      std::vector<std::string> label_names = {});
  histogram_family& histogram(const std::string& name, const std::string& help,
                              std::vector<std::string> label_names,
                              std::vector<double> upper_bounds);

  // Runs `collect` at every scrape, after the families (values read rather than tracked).
  void add_collector(collector collect);

  // The whole exposition: families in the order they were first declared, then collectors.
  std::string render() const;

 private:
  template <class Family>
  Family& get_or_create(const std::string& name, const std::string& help, metric_type type,
                        std::vector<std::string> label_names, std::vector<double> bounds);

  mutable std::mutex mutex_;
  std::vector<std::unique_ptr<family_base>> families_;
  std::vector<collector> collectors_;
};

// The Content-Type of render()'s output.
inline constexpr std::string_view exposition_content_type =
    "text/plain; version=0.0.4; charset=utf-8";

// Exposition details, public for tests.
bool is_valid_metric_name(std::string_view name);
bool is_valid_label_name(std::string_view name);
// Label values: backslash, double quote and line feed escaped.
std::string escape_label_value(std::string_view value);
// HELP text: backslash and line feed escaped.
std::string escape_help(std::string_view text);
// Shortest text that reads back as the same double; NaN, +Inf, -Inf spelled Prometheus' way.
std::string format_value(double value);

}  // namespace connector::metrics

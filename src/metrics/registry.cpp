#include "connector/metrics/registry.hpp"

#include <charconv>
#include <cmath>
#include <stdexcept>
#include <type_traits>

namespace connector::metrics {
namespace {

bool is_name_start(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
bool is_name_char(char c) {
  return is_name_start(c) || (c >= '0' && c <= '9');
}

const char* type_name(metric_type type) {
  switch (type) {
    case metric_type::counter:
      return "counter";
    case metric_type::gauge:
      return "gauge";
    case metric_type::histogram:
      return "histogram";
  }
  return "untyped";
}

// name{a="x",b="y"} — or name{a="x",le="0.5"} with the extra label of a histogram bucket.
void append_series(std::string& out, std::string_view name, const std::vector<std::string>& names,
                   const std::vector<std::string>& values, std::string_view extra_name = {},
                   std::string_view extra_value = {}) {
  out += name;
  if (names.empty() && extra_name.empty()) return;
  out += '{';
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out += ',';
    out += names[i];
    out += "=\"";
    out += escape_label_value(values[i]);
    out += '"';
  }
  if (!extra_name.empty()) {
    if (!names.empty()) out += ',';
    out += extra_name;
    out += "=\"";
    out += extra_value;
    out += '"';
  }
  out += '}';
}

void append_value(std::string& out, std::uint64_t value) {
  out += ' ';
  out += std::to_string(value);
  out += '\n';
}

void append_value(std::string& out, double value) {
  out += ' ';
  out += format_value(value);
  out += '\n';
}

}  // namespace

// --- values -----------------------------------------------------------------------------

histogram::histogram(std::span<const double> upper_bounds)
    : bounds_(upper_bounds),
      buckets_(std::make_unique<std::atomic<std::uint64_t>[]>(upper_bounds.size() + 1)) {}

void histogram::observe(double value) noexcept {
  // Few buckets (≤ 16): a linear scan beats a binary search on branch prediction.
  std::size_t i = 0;
  while (i < bounds_.size() && value > bounds_[i]) ++i;
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(value, std::memory_order_relaxed);
}

histogram::snapshot histogram::read() const {
  snapshot s;
  s.cumulative.reserve(bounds_.size() + 1);
  std::uint64_t running = 0;
  for (std::size_t i = 0; i <= bounds_.size(); ++i) {
    running += buckets_[i].load(std::memory_order_relaxed);
    s.cumulative.push_back(running);
  }
  s.sum = sum_.load(std::memory_order_relaxed);
  return s;
}

std::vector<double> latency_buckets_seconds() {
  return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};
}

std::vector<double> powers_of_two(double max) {
  std::vector<double> out;
  for (double b = 1; b <= max; b *= 2) out.push_back(b);
  return out;
}

// --- families ---------------------------------------------------------------------------

family_base::family_base(std::string name, std::string help, metric_type type,
                         std::vector<std::string> label_names)
    : name_(std::move(name)),
      help_(std::move(help)),
      type_(type),
      label_names_(std::move(label_names)) {
  if (!is_valid_metric_name(name_))
    throw std::invalid_argument("metrics: invalid metric name '" + name_ + "'");
  if (type_ == metric_type::counter &&
      (name_.size() < 6 || name_.compare(name_.size() - 6, 6, "_total") != 0))
    throw std::invalid_argument("metrics: counter '" + name_ + "' must end in _total");
  for (const auto& label : label_names_) {
    if (!is_valid_label_name(label) || label.starts_with("__") ||
        (type_ == metric_type::histogram && label == "le"))
      throw std::invalid_argument("metrics: invalid label name '" + label + "' on " + name_);
  }
}

void family_base::check_arity(std::size_t values) const {
  if (values != label_names_.size())
    throw std::invalid_argument("metrics: " + name_ + " takes " +
                                std::to_string(label_names_.size()) + " label value(s), got " +
                                std::to_string(values));
}

void family_base::render_header(std::string& out) const {
  out += "# HELP ";
  out += name_;
  out += ' ';
  out += escape_help(help_);
  out += "\n# TYPE ";
  out += name_;
  out += ' ';
  out += type_name(type_);
  out += '\n';
}

template <class Metric>
constexpr metric_type type_of() {
  if constexpr (std::is_same_v<Metric, counter>) return metric_type::counter;
  if constexpr (std::is_same_v<Metric, gauge>) return metric_type::gauge;
  return metric_type::histogram;
}

template <class Metric>
family<Metric>::family(std::string name, std::string help, std::vector<std::string> label_names,
                       std::vector<double> upper_bounds)
    : family_base(std::move(name), std::move(help), type_of<Metric>(), std::move(label_names)),
      bounds_(std::move(upper_bounds)) {
  if constexpr (std::is_same_v<Metric, histogram>) {
    for (std::size_t i = 0; i < bounds_.size(); ++i) {
      if (!std::isfinite(bounds_[i]) || (i > 0 && bounds_[i] <= bounds_[i - 1]))
        throw std::invalid_argument("metrics: " + name_ +
                                    ": bucket bounds must be finite and ascending");
    }
  }
  // An unlabelled family has exactly one child: there from the start, so it shows as 0.
  if (label_names_.empty()) with(std::span<const std::string_view>());
}

template <class Metric>
Metric& family<Metric>::with(std::span<const std::string_view> values) {
  check_arity(values.size());
  std::lock_guard lock(mutex_);
  auto found = children_.find(values);
  if (found != children_.end()) return *found->second;
  std::unique_ptr<Metric> child;
  if constexpr (std::is_same_v<Metric, histogram>) {
    child = std::make_unique<histogram>(std::span<const double>(bounds_));
  } else {
    child = std::make_unique<Metric>();
  }
  auto& stored = *child;
  children_.emplace(std::vector<std::string>(values.begin(), values.end()), std::move(child));
  return stored;
}

template <class Metric>
void family<Metric>::render(std::string& out) const {
  std::lock_guard lock(mutex_);
  if (children_.empty()) return;
  render_header(out);
  for (const auto& [values, child] : children_) {
    if constexpr (std::is_same_v<Metric, histogram>) {
      const auto s = child->read();
      for (std::size_t i = 0; i < s.cumulative.size(); ++i) {
        const std::string le = i < bounds_.size() ? format_value(bounds_[i]) : "+Inf";
        append_series(out, name_ + "_bucket", label_names_, values, "le", le);
        append_value(out, s.cumulative[i]);
      }
      append_series(out, name_ + "_sum", label_names_, values);
      append_value(out, s.sum);
      append_series(out, name_ + "_count", label_names_, values);
      append_value(out, s.count());
    } else {
      append_series(out, name_, label_names_, values);
      append_value(out, child->value());
    }
  }
}

template class family<counter>;
template class family<gauge>;
template class family<histogram>;

// --- collectors -------------------------------------------------------------------------

void scrape_writer::gauge(std::string_view name, std::string_view help, double value) {
  write(name, help, "gauge", value);
}

void scrape_writer::counter(std::string_view name, std::string_view help, double value) {
  write(name, help, "counter", value);
}

void scrape_writer::write(std::string_view name, std::string_view help, std::string_view type,
                          double value) {
  // Collectors name their metrics in code: a bad name is a bug, not input.
  if (!is_valid_metric_name(name))
    throw std::invalid_argument("metrics: invalid metric name '" + std::string(name) + "'");
  out_ += "# HELP ";
  out_ += name;
  out_ += ' ';
  out_ += escape_help(help);
  out_ += "\n# TYPE ";
  out_ += name;
  out_ += ' ';
  out_ += type;
  out_ += '\n';
  out_ += name;
  append_value(out_, value);
}

// --- registry ---------------------------------------------------------------------------

template <class Family>
Family& registry::get_or_create(const std::string& name, const std::string& help, metric_type type,
                                std::vector<std::string> label_names, std::vector<double> bounds) {
  std::lock_guard lock(mutex_);
  for (const auto& existing : families_) {
    if (existing->name() != name) continue;
    auto* same = dynamic_cast<Family*>(existing.get());
    if (!same || existing->type() != type || existing->label_names() != label_names ||
        same->upper_bounds() != bounds)
      throw std::invalid_argument("metrics: " + name +
                                  " declared twice with different type, labels or buckets");
    return *same;
  }
  auto created = std::make_unique<Family>(name, help, std::move(label_names), std::move(bounds));
  auto& ref = *created;
  families_.push_back(std::move(created));
  return ref;
}

counter_family& registry::counter(const std::string& name, const std::string& help,
                                  std::vector<std::string> label_names) {
  return get_or_create<counter_family>(name, help, metric_type::counter, std::move(label_names),
                                       {});
}

gauge_family& registry::gauge(const std::string& name, const std::string& help,
                              std::vector<std::string> label_names) {
  return get_or_create<gauge_family>(name, help, metric_type::gauge, std::move(label_names), {});
}

histogram_family& registry::histogram(const std::string& name, const std::string& help,
                                      std::vector<std::string> label_names,
                                      std::vector<double> upper_bounds) {
  return get_or_create<histogram_family>(name, help, metric_type::histogram, std::move(label_names),
                                         std::move(upper_bounds));
}

void registry::add_collector(collector collect) {
  std::lock_guard lock(mutex_);
  collectors_.push_back(std::move(collect));
}

std::string registry::render() const {
  std::string out;
  out.reserve(16 * 1024);
  std::lock_guard lock(mutex_);
  for (const auto& f : families_) f->render(out);
  scrape_writer writer(out);
  for (const auto& collect : collectors_) collect(writer);
  return out;
}

// --- exposition details -----------------------------------------------------------------

bool is_valid_metric_name(std::string_view name) {
  if (name.empty() || !(is_name_start(name[0]) || name[0] == ':')) return false;
  for (const char c : name)
    if (!is_name_char(c) && c != ':') return false;
  return true;
}

bool is_valid_label_name(std::string_view name) {
  if (name.empty() || !is_name_start(name[0])) return false;
  for (const char c : name)
    if (!is_name_char(c)) return false;
  return true;
}

std::string escape_label_value(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (const char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string escape_help(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string format_value(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  std::array<char, 32> buffer{};
  const auto [end, ec] = std::to_chars(buffer.data(), buffer.data() + buffer.size(), value);
  return std::string(buffer.data(), end);
}

}  // namespace connector::metrics

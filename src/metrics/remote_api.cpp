#include "connector/metrics/remote_api.hpp"

#include <array>
#include <charconv>

namespace connector::metrics {

remote_api_metrics::remote_api_metrics(registry& registry, const std::string& prefix,
                                       const std::string& api)
    : requests_(registry.counter(
          prefix + "_requests_total",
          "HTTP requests to " + api + " by endpoint and status code (0: no answer arrived)",
          {"method", "endpoint", "code"})),
      durations_(registry.histogram(prefix + "_request_duration_seconds",
                                    "Time from sending an HTTP request to " + api +
                                        " to reading its whole answer, by endpoint",
                                    {"method", "endpoint"}, latency_buckets_seconds())),
      tokens_(registry.counter(
          prefix + "_token_renewals_total",
          "Access tokens requested from " + api + " (the first one included), by result",
          {"result"})) {
  // Both results from the start, so a dashboard sees 0 failures rather than nothing.
  tokens_.with({"obtained"});
  tokens_.with({"failed"});
}

void remote_api_metrics::request(std::string_view endpoint, int status,
                                 std::chrono::steady_clock::duration took) {
  // "POST /user/{id}" → method "POST", endpoint "/user/{id}".
  const auto space = endpoint.find(' ');
  const std::string_view method =
      space == std::string_view::npos ? std::string_view() : endpoint.substr(0, space);
  const std::string_view path =
      space == std::string_view::npos ? endpoint : endpoint.substr(space + 1);
  std::array<char, 12> digits{};
  const auto end = std::to_chars(digits.data(), digits.data() + digits.size(), status).ptr;
  const std::string_view code(digits.data(), static_cast<std::size_t>(end - digits.data()));
  requests_.with({method, path, code}).inc();
  durations_.with({method, path}).observe(std::chrono::duration<double>(took).count());
}

void remote_api_metrics::token(bool obtained) {
  tokens_.with({obtained ? "obtained" : "failed"}).inc();
}

}  // namespace connector::metrics

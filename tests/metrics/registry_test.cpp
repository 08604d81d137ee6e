// The metrics library as a specification of the exposition format 0.0.4 it writes.
#include "connector/metrics/registry.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <limits>
#include <thread>
#include <vector>

#include "connector/metrics/process.hpp"
#include "connector/metrics/remote_api.hpp"

namespace connector::metrics {
namespace {

TEST(metrics_registry, CountersRenderWithHelpTypeAndLabelsInDeclaredOrder) {
  registry r;
  auto& received = r.counter("connector_things_total", "Things received", {"source", "result"});
  received.with({"outbound_message", "stored"}).inc(3);
  received.with({"event", "duplicate"}).inc();
  EXPECT_EQ(r.render(),
            "# HELP connector_things_total Things received\n"
            "# TYPE connector_things_total counter\n"
            // Children sorted by label values; labels in the order the family declared them.
            "connector_things_total{source=\"event\",result=\"duplicate\"} 1\n"
            "connector_things_total{source=\"outbound_message\",result=\"stored\"} 3\n");
}

TEST(metrics_registry, AHandleIsTheSameChildEveryTime) {
  registry r;
  auto& f = r.counter("a_total", "a", {"x"});
  auto& first = f.with({"1"});
  auto& again = f.with({"1"});
  EXPECT_EQ(&first, &again);
  EXPECT_NE(&first, &f.with({"2"}));
  first.inc(2);
  again.inc();
  EXPECT_EQ(first.value(), 3u);
}

TEST(metrics_registry, LabelValuesAreEscapedAndHelpToo) {
  registry r;
  r.gauge("g", "line one\nback\\slash \"quoted\"", {"path"}).with({"C:\\dir \"x\"\nnext"}).set(1.5);
  EXPECT_EQ(r.render(),
            "# HELP g line one\\nback\\\\slash \"quoted\"\n"
            "# TYPE g gauge\n"
            "g{path=\"C:\\\\dir \\\"x\\\"\\nnext\"} 1.5\n");
}

TEST(metrics_registry, AnUnlabelledFamilyShowsZeroFromTheStartALabelledOneNothing) {
  registry r;
  r.counter("plain_total", "p");
  r.counter("labelled_total", "l", {"k"});
  EXPECT_EQ(r.render(), "# HELP plain_total p\n# TYPE plain_total counter\nplain_total 0\n");
}

TEST(metrics_registry, HistogramBucketsAreCumulativeAndEndInPlusInf) {
  registry r;
  auto& h = r.histogram("latency_seconds", "L", {"source"}, {0.125, 0.5, 1}).with({"event"});
  for (const double v : {0.0625, 0.125, 0.25, 0.75, 2.0, 5.0}) h.observe(v);
  EXPECT_EQ(r.render(),
            "# HELP latency_seconds L\n"
            "# TYPE latency_seconds histogram\n"
            "latency_seconds_bucket{source=\"event\",le=\"0.125\"} 2\n"  // le: upper bound included
            "latency_seconds_bucket{source=\"event\",le=\"0.5\"} 3\n"
            "latency_seconds_bucket{source=\"event\",le=\"1\"} 4\n"
            "latency_seconds_bucket{source=\"event\",le=\"+Inf\"} 6\n"
            "latency_seconds_sum{source=\"event\"} 8.1875\n"
            "latency_seconds_count{source=\"event\"} 6\n");
}

TEST(metrics_registry, AnUnlabelledHistogramHasOnlyLe) {
  registry r;
  r.histogram("size", "S", {}, powers_of_two(4)).with({}).observe(3);
  const auto text = r.render();
  EXPECT_NE(text.find("size_bucket{le=\"1\"} 0\nsize_bucket{le=\"2\"} 0\nsize_bucket{le=\"4\"} 1\n"
                      "size_bucket{le=\"+Inf\"} 1\nsize_sum 3\nsize_count 1\n"),
            std::string::npos)
      << text;
}

TEST(metrics_registry, FamiliesComeInDeclarationOrderThenCollectors) {
  registry r;
  r.gauge("zz", "z").with({}).set(-2);
  r.add_collector([](scrape_writer& out) {
    out.gauge("collected", "c", 0.25);
    out.counter("collected_total", "t", 7);
  });
  r.counter("aa_total", "a");
  EXPECT_EQ(r.render(),
            "# HELP zz z\n# TYPE zz gauge\nzz -2\n"
            "# HELP aa_total a\n# TYPE aa_total counter\naa_total 0\n"
            "# HELP collected c\n# TYPE collected gauge\ncollected 0.25\n"
            "# HELP collected_total t\n# TYPE collected_total counter\ncollected_total 7\n");
}

TEST(metrics_registry, DeclaringAgainReturnsTheSameFamilyConflictsThrow) {
  registry r;
  auto& first = r.counter("x_total", "x", {"a"});
  EXPECT_EQ(&first, &r.counter("x_total", "x", {"a"}));
  EXPECT_THROW(r.counter("x_total", "x", {"b"}), std::invalid_argument);
  EXPECT_THROW(r.gauge("x_total", "x", {"a"}), std::invalid_argument);
  auto& h = r.histogram("h_seconds", "h", {}, {1, 2});
  EXPECT_EQ(&h, &r.histogram("h_seconds", "h", {}, {1, 2}));
  EXPECT_THROW(r.histogram("h_seconds", "h", {}, {1, 3}), std::invalid_argument);
}

TEST(metrics_registry, BadNamesAreRefused) {
  registry r;
  EXPECT_THROW(r.counter("requests", "no _total"), std::invalid_argument);
  EXPECT_THROW(r.gauge("1abc", "digit first"), std::invalid_argument);
  EXPECT_THROW(r.gauge("a-b", "dash"), std::invalid_argument);
  EXPECT_THROW(r.gauge("g", "h", {"bad-label"}), std::invalid_argument);
  EXPECT_THROW(r.gauge("g2", "h", {"__reserved"}), std::invalid_argument);
  EXPECT_THROW(r.histogram("h", "h", {"le"}, {1}), std::invalid_argument);
  EXPECT_THROW(r.histogram("h2", "h", {}, {2, 1}), std::invalid_argument);
  EXPECT_THROW(r.histogram("h3", "h", {}, {1, std::numeric_limits<double>::infinity()}),
               std::invalid_argument);
  auto& g = r.gauge("ok", "h", {"a", "b"});
  EXPECT_THROW(g.with({"only one"}), std::invalid_argument);
  EXPECT_TRUE(is_valid_metric_name("connector:rate_5m"));
  EXPECT_FALSE(is_valid_label_name("a:b"));
}

TEST(metrics_registry, ValuesAreWrittenTheWayPrometheusReadsThem) {
  EXPECT_EQ(format_value(0), "0");
  EXPECT_EQ(format_value(42), "42");
  EXPECT_EQ(format_value(0.005), "0.005");
  EXPECT_EQ(format_value(1732871234.5), "1732871234.5");
  EXPECT_EQ(format_value(-1.25), "-1.25");
  EXPECT_EQ(format_value(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(format_value(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(format_value(std::nan("")), "NaN");
  EXPECT_EQ(std::stod(format_value(0.1 + 0.2)), 0.1 + 0.2);  // round-trips
}

TEST(metrics_registry, ConcurrentRecordingLosesNothing) {
  registry r;
  auto& c = r.counter("c_total", "c").with({});
  auto& g = r.gauge("g", "g").with({});
  auto& h = r.histogram("h", "h", {}, {0.5}).with({});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10'000; ++i) {
        c.inc();
        g.add(1);
        h.observe(i % 2 == 0 ? 0.25 : 1.0);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(c.value(), 40'000u);
  EXPECT_EQ(g.value(), 40'000.0);
  const auto s = h.read();
  EXPECT_EQ(s.cumulative, (std::vector<std::uint64_t>{20'000, 40'000}));
  EXPECT_EQ(s.sum, 20'000 * 0.25 + 20'000 * 1.0);
}

TEST(remote_api_metrics, SplitsTheEndpointAndCountsByCode) {
  registry r;
  remote_api_metrics m(r, "connector_ispring", "iSpring Learn");
  m.request("POST /user/{id}", 200, std::chrono::milliseconds(30));
  m.request("POST /user/{id}", 200, std::chrono::milliseconds(2));
  m.request("GET /users/v2", 0, std::chrono::seconds(40));
  m.token(true);
  const auto text = r.render();
  EXPECT_NE(text.find("connector_ispring_requests_total{method=\"POST\",endpoint=\"/user/{id}\","
                      "code=\"200\"} 2\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("connector_ispring_requests_total{method=\"GET\",endpoint=\"/users/v2\","
                      "code=\"0\"} 1\n"),
            std::string::npos);
  EXPECT_NE(text.find("connector_ispring_request_duration_seconds_bucket{method=\"POST\","
                      "endpoint=\"/user/{id}\",le=\"0.0025\"} 1\n"),
            std::string::npos);
  EXPECT_NE(text.find("connector_ispring_request_duration_seconds_count{method=\"GET\","
                      "endpoint=\"/users/v2\"} 1\n"),
            std::string::npos);
  EXPECT_NE(text.find("connector_ispring_token_renewals_total{result=\"obtained\"} 1\n"),
            std::string::npos);
  EXPECT_NE(text.find("connector_ispring_token_renewals_total{result=\"failed\"} 0\n"),
            std::string::npos);
}

TEST(process_metrics, ParsesProcStatWithAnAwkwardCommandName) {
  // Field 2 holds spaces and a ')'; utime 14, stime 15, starttime 22, vsize 23, rss 24.
  const std::string text =
      "4242 (con nector) x) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 9 0 "
      "123456 987654321 4321 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n";
  const auto s = parse_proc_stat(text);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->utime_ticks, 250u);
  EXPECT_EQ(s->stime_ticks, 50u);
  EXPECT_EQ(s->start_ticks, 123456u);
  EXPECT_EQ(s->virtual_bytes, 987654321u);
  EXPECT_EQ(s->resident_pages, 4321u);
  EXPECT_FALSE(parse_proc_stat("4242 (short) S 1 2 3"));
  EXPECT_FALSE(parse_proc_stat("no parenthesis at all"));
  EXPECT_EQ(parse_boot_time("cpu  1 2 3\nbtime 1700000000\nprocesses 9\n"), 1700000000);
  EXPECT_FALSE(parse_boot_time("cpu 1 2 3\n"));
}

TEST(process_metrics, ReadsThisProcess) {
  registry r;
  add_process_metrics(r);
  const auto text = r.render();
  for (const char* name :
       {"process_cpu_seconds_total ", "process_resident_memory_bytes ", "process_open_fds ",
        "process_max_fds ", "process_start_time_seconds ", "process_virtual_memory_bytes "}) {
    EXPECT_NE(text.find(std::string("\n") + name), std::string::npos) << name << "\n" << text;
  }
  // The start time is in the past and after 2020; resident memory is more than a page.
  const auto value_of = [&](const std::string& name) {
    const auto at = text.find("\n" + name + " ");
    return std::stod(text.substr(at + name.size() + 2));
  };
  const double now =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  EXPECT_GT(value_of("process_start_time_seconds"), 1.6e9);
  EXPECT_LE(value_of("process_start_time_seconds"), now + 1);
  EXPECT_GT(value_of("process_resident_memory_bytes"), 4096);
  EXPECT_GE(value_of("process_open_fds"), 3);
}

}  // namespace
}  // namespace connector::metrics

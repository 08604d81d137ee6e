// Intake benchmark: the real `connector serve` binary, driven over TLS keep-alive
// connections with Salesforce-shaped User Outbound Messages, each waiting for its durable
// `<Ack>true</Ack>`.
//
//   intake_bench [--seconds N] [--warmup N] [--connections N] [--users N]
//                [--scenario 1,100] [--config-override JSON] [--db-dir DIR] [--json]
//                [--engines sqlite,postgresql] [--postgresql-url URL]
//
// --engines runs every scenario on each store engine in turn, in one run: SQLite (the
// default), PostgreSQL on a fresh database of a PostgreSQL 15 the benchmark starts itself
// (tests/support/postgres_server: initdb in /tmp, fsync on), or at --postgresql-url (an
// empty database of your own; every scenario adds to it).
//
// --db-dir puts each scenario's database in a fresh folder under DIR (e.g. /dev/shm, to
// tell the server's CPU cost from the disk's fsync latency and bandwidth).
//
// Every scenario starts its own service (fresh temporary folder and database), runs a
// warm-up phase, then a measured phase of fixed duration, drains what is in flight, and
// checks that the store holds exactly the notifications that were acknowledged.
//
// The load generator is one thread: an io_context running one coroutine per connection,
// so that it leaves the (few) cores to the server. Message bodies are built before the
// clock starts; per request only the notification ids are patched in place (every id is
// unique), which costs a copy of the body and a few digits.
//
// Reported per scenario: messages/s, notifications/s, ack latency (request write start to
// full response read) p50/p90/p99/max, errors (transport failures, non-200 or no Ack), the
// server's CPU time per message (and per thread name: io threads vs the store's writer),
// the server's peak RSS (VmHWM) and the load generator's own CPU.
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <numeric>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "support/command_line.hpp"
#include "support/outbound_builder.hpp"
#include "support/postgres_server.hpp"
#include "support/service.hpp"

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
namespace fs = std::filesystem;
using tcp = asio::ip::tcp;
using steady = std::chrono::steady_clock;
using namespace connector::testing;

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
const std::string outbound_target = "/salesforce/outbound";
const std::string ack_marker = "<Ack>true</Ack>";

// Targets of the product owner (2-core box).
constexpr double target_messages_per_second_1 = 12'000;
constexpr double target_messages_per_second_100 = 3'000;
constexpr double target_p99_ms = 10;

struct bench_options {
  double warmup_seconds = 20;
  double measure_seconds = 20;
  bool warmup_given = false;
  int connections = 16;
  std::uint64_t users = 50'000;
  std::vector<int> sizes{1, 100};
  nlohmann::json overrides = nlohmann::json::object();
  std::string db_dir;  // where the database goes; empty: the service's temporary folder
  bool json = false;
  std::vector<std::string> engines{"sqlite"};
  std::string postgresql_url;  // empty: a server of our own
};

[[noreturn]] void usage(const std::string& problem) {
  std::fprintf(
      stderr,
      "intake_bench: %s\n"
      "usage: intake_bench [--seconds N] [--warmup N] [--connections N] [--users N]\n"
      "                    [--scenario 1,100] [--config-override JSON] [--db-dir DIR] [--json]\n"
      "                    [--engines sqlite,postgresql] [--postgresql-url URL]\n",
      problem.c_str());
  std::exit(2);
}

bench_options parse_options(int argc, char** argv) {
  bench_options o;
  read_command_line(argc, argv, usage, [&](const std::string& arg, const option_value& value) {
    if (arg == "--seconds") {
      o.measure_seconds = std::stod(value());
    } else if (arg == "--warmup") {
      o.warmup_seconds = std::stod(value());
      o.warmup_given = true;
    } else if (arg == "--connections") {
      o.connections = std::stoi(value());
    } else if (arg == "--users") {
      o.users = std::stoull(value());
    } else if (arg == "--scenario") {
      o.sizes.clear();
      std::stringstream list(value());
      std::string item;
      while (std::getline(list, item, ',')) o.sizes.push_back(std::stoi(item));
    } else if (arg == "--config-override") {
      // Not a std::logic_error, so read_command_line would not turn it into usage.
      try {
        o.overrides = nlohmann::json::parse(value());
      } catch (const nlohmann::json::parse_error& e) {
        usage(std::string("bad value for --config-override: ") + e.what());
      }
    } else if (arg == "--db-dir") {
      o.db_dir = value();
    } else if (arg == "--json") {
      o.json = true;
    } else if (arg == "--engines") {
      o.engines.clear();
      std::stringstream list(value());
      std::string item;
      while (std::getline(list, item, ',')) {
        if (item != "sqlite" && item != "postgresql") usage("unknown engine " + item);
        o.engines.push_back(item);
      }
    } else if (arg == "--postgresql-url") {
      o.postgresql_url = value();
    } else {
      return false;
    }
    return true;
  });
  if (!o.warmup_given) o.warmup_seconds = o.measure_seconds;
  if (o.measure_seconds <= 0 || o.warmup_seconds < 0) usage("durations must be positive");
  if (o.connections < 1) usage("--connections must be at least 1");
  if (o.users < 1) usage("--users must be at least 1");
  if (o.sizes.empty()) usage("--scenario needs at least one size");
  for (int size : o.sizes) {
    if (size < 1) usage("scenario sizes must be at least 1");
  }
  if (!o.overrides.is_object()) usage("--config-override must be a JSON object");
  return o;
}

// ---------------------------------------------------------------------------------------
// Request bodies

// Notification ids are make_id("04l", n): "04l5g", ten digits, then a checksum suffix that
// depends only on upper-case letters, so it is the same for every n. A body is built once
// with placeholder ids; a request copies it and writes its own ten digits per notification.
constexpr std::size_t id_digits_offset = 5;
constexpr std::size_t id_digits = 10;
constexpr std::uint64_t placeholder_base = 9'000'000'000ULL;

void write_id_digits(char* out, std::uint64_t number) {
  for (std::size_t i = id_digits; i-- > 0;) {
    out[i] = static_cast<char>('0' + number % 10);
    number /= 10;
  }
}

void check_id_patching() {
  for (const std::uint64_t n : {1ULL, 42ULL, 123'456'789ULL, 8'999'999'999ULL}) {
    std::string patched = make_id("04l", placeholder_base);
    write_id_digits(patched.data() + id_digits_offset, n);
    if (patched != make_id("04l", n)) {
      throw std::logic_error("notification id patching does not match make_id: " + patched);
    }
  }
}

struct body_template {
  std::string text;
  std::vector<std::size_t> id_offsets;  // where each notification id's digits start
};

// Users are a shuffled permutation of 1..users, dealt out to messages in order, so that a
// pass over the pool touches every user once and a message never names a user twice.
std::vector<body_template> build_pool(int per_message, std::uint64_t users) {
  std::vector<std::uint64_t> order(users);
  std::iota(order.begin(), order.end(), 1);
  std::mt19937_64 random(20261101);
  std::shuffle(order.begin(), order.end(), random);
  const auto per = static_cast<std::uint64_t>(per_message);
  const std::uint64_t messages = std::max<std::uint64_t>(1, users / per);
  std::vector<body_template> pool;
  pool.reserve(messages);
  std::vector<user_notification> notifications;
  for (std::uint64_t m = 0; m < messages; ++m) {
    notifications.clear();
    for (std::uint64_t k = 0; k < per; ++k) {
      notifications.push_back(sample_user(order[(m * per + k) % users], placeholder_base + k));
    }
    body_template body;
    body.text = build_user_message(test_org_id, notifications);
    std::size_t from = 0;
    for (std::uint64_t k = 0; k < per; ++k) {
      const auto at = body.text.find(make_id("04l", placeholder_base + k), from);
      if (at == std::string::npos) throw std::logic_error("placeholder id not found in body");
      body.id_offsets.push_back(at + id_digits_offset);
      from = at;
    }
    pool.push_back(std::move(body));
  }
  return pool;
}

// ---------------------------------------------------------------------------------------
// /proc readings

struct cpu_reading {
  double process_seconds = 0;  // utime + stime of the whole process
  struct thread_sample {
    std::string name;          // comm
    double cpu_seconds = 0;    // utime + stime
    double runnable_wait = 0;  // /proc/…/schedstat: waiting on a run queue for a CPU
  };
  std::map<long, thread_sample> threads;  // by thread id
  double write_bytes = 0;                 // /proc/<pid>/io: bytes sent to storage
};

// utime + stime (fields 14 and 15) of a /proc stat line, in seconds.
double stat_cpu_seconds(const fs::path& stat_path, std::string* name = nullptr) {
  std::ifstream in(stat_path);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto open = text.find('(');
  const auto close = text.rfind(')');
  if (open == std::string::npos || close == std::string::npos) return 0;
  if (name != nullptr) *name = text.substr(open + 1, close - open - 1);
  std::istringstream fields(text.substr(close + 2));
  std::string field;
  double ticks = 0;
  for (int i = 3; i <= 15 && fields >> field; ++i) {
    if (i >= 14) ticks += std::stod(field);
  }
  return ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
}

cpu_reading read_cpu(pid_t pid) {
  cpu_reading r;
  const fs::path proc = fs::path("/proc") / std::to_string(pid);
  r.process_seconds = stat_cpu_seconds(proc / "stat");
  std::ifstream io(proc / "io");
  std::string line;
  while (std::getline(io, line)) {
    if (line.rfind("write_bytes:", 0) == 0) r.write_bytes = std::atof(line.c_str() + 12);
  }
  std::error_code ec;
  for (const auto& task : fs::directory_iterator(proc / "task", ec)) {
    cpu_reading::thread_sample sample;
    sample.cpu_seconds = stat_cpu_seconds(task.path() / "stat", &sample.name);
    std::ifstream schedstat(task.path() / "schedstat");
    double on_cpu_ns = 0, waiting_ns = 0;
    if (schedstat >> on_cpu_ns >> waiting_ns) sample.runnable_wait = waiting_ns / 1e9;
    r.threads[std::atol(task.path().filename().c_str())] = sample;
  }
  return r;
}

// A "Vm…:" line of /proc/<pid>/status, in kB.
long read_status_kb(pid_t pid, const std::string& key) {
  std::ifstream in(fs::path("/proc") / std::to_string(pid) / "status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key + ":", 0) == 0) return std::atol(line.c_str() + key.size() + 1);
  }
  return -1;
}

double self_cpu_seconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  const auto seconds = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
  };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

// ---------------------------------------------------------------------------------------
// Load generation

enum class phase { warmup, measure, drain };

struct phase_stats {
  std::uint64_t messages = 0;  // acked
  std::uint64_t notifications = 0;
  std::uint64_t errors = 0;
  std::vector<std::uint32_t> latencies_us;  // of acked messages
};

struct load_state {
  const std::vector<body_template>* pool = nullptr;
  int per_message = 1;
  tcp::endpoint endpoint;
  asio::ssl::context* ssl = nullptr;

  phase current = phase::warmup;
  bool stopping = false;
  phase_stats warmup, measure, drain;
  std::uint64_t next_body = 0;
  std::uint64_t next_notification = 1;
  std::uint64_t acked_notifications = 0;  // every phase
  std::uint64_t errors = 0;               // every phase
  std::vector<std::string> error_samples;

  phase_stats& stats() {
    switch (current) {
      case phase::warmup:
        return warmup;
      case phase::measure:
        return measure;
      case phase::drain:
        return drain;
    }
    return drain;
  }

  void record_error(const std::string& what) {
    ++errors;
    ++stats().errors;
    if (error_samples.size() < 5) error_samples.push_back(what);
  }
};

asio::awaitable<void> drive_connection(load_state& state) {
  auto executor = co_await asio::this_coro::executor;
  bhttp::request<bhttp::string_body> request{bhttp::verb::post, outbound_target, 11};
  request.set(bhttp::field::host, "localhost");
  request.set(bhttp::field::content_type, "text/xml; charset=UTF-8");
  request.set("SOAPAction", "\"\"");
  request.set(bhttp::field::user_agent, "intake_bench");
  request.keep_alive(true);
  const std::size_t largest =
      std::max_element(state.pool->begin(), state.pool->end(), [](const auto& a, const auto& b) {
        return a.text.size() < b.text.size();
      })->text.size();
  request.body().reserve(largest);
  beast::flat_buffer buffer;

  while (!state.stopping) {
    beast::ssl_stream<beast::tcp_stream> stream(executor, *state.ssl);
    auto& lowest = beast::get_lowest_layer(stream);
    lowest.expires_after(std::chrono::seconds(30));
    {
      auto [ec] = co_await lowest.async_connect(state.endpoint, use_tuple);
      if (!ec) {
        lowest.socket().set_option(tcp::no_delay(true), ec);
        SSL_set_tlsext_host_name(stream.native_handle(), "localhost");
        stream.set_verify_callback(asio::ssl::host_name_verification("localhost"));
        auto [handshake_ec] =
            co_await stream.async_handshake(asio::ssl::stream_base::client, use_tuple);
        ec = handshake_ec;
      }
      if (ec) {
        state.record_error("connect/handshake: " + ec.message());
        asio::steady_timer pause(executor, std::chrono::milliseconds(100));
        co_await pause.async_wait(use_tuple);
        continue;
      }
    }
    buffer.clear();
    bool healthy = true;
    while (!state.stopping && healthy) {
      const auto& body = (*state.pool)[state.next_body++ % state.pool->size()];
      request.body().assign(body.text);
      const std::uint64_t first_id = state.next_notification;
      state.next_notification += static_cast<std::uint64_t>(state.per_message);
      for (std::size_t k = 0; k < body.id_offsets.size(); ++k) {
        write_id_digits(request.body().data() + body.id_offsets[k], first_id + k);
      }
      request.prepare_payload();

      bhttp::response<bhttp::string_body> response;
      lowest.expires_after(std::chrono::seconds(30));
      const auto started = steady::now();
      auto [write_ec, written] = co_await bhttp::async_write(stream, request, use_tuple);
      if (write_ec) {
        state.record_error("write: " + write_ec.message());
        break;
      }
      auto [read_ec, read] = co_await bhttp::async_read(stream, buffer, response, use_tuple);
      const auto finished = steady::now();
      if (read_ec) {
        state.record_error("read: " + read_ec.message());
        break;
      }
      if (response.result_int() != 200 || response.body().find(ack_marker) == std::string::npos) {
        state.record_error("HTTP " + std::to_string(response.result_int()) + ": " +
                           response.body().substr(0, 300));
      } else {
        auto& stats = state.stats();
        ++stats.messages;
        stats.notifications += body.id_offsets.size();
        state.acked_notifications += body.id_offsets.size();
        stats.latencies_us.push_back(static_cast<std::uint32_t>(
            std::chrono::duration_cast<std::chrono::microseconds>(finished - started).count()));
      }
      healthy = response.keep_alive();
    }
    lowest.expires_after(std::chrono::seconds(2));
    co_await stream.async_shutdown(use_tuple);
  }
}

struct window {
  steady::time_point start, end;
  cpu_reading server_before, server_after;
  double client_before = 0, client_after = 0;
};

asio::awaitable<void> control_phases(load_state& state, const bench_options& options, pid_t pid,
                                     window& measured) {
  auto executor = co_await asio::this_coro::executor;
  asio::steady_timer timer(executor);
  timer.expires_after(std::chrono::duration_cast<steady::duration>(
      std::chrono::duration<double>(options.warmup_seconds)));
  co_await timer.async_wait(use_tuple);
  measured.server_before = read_cpu(pid);
  measured.client_before = self_cpu_seconds();
  measured.start = steady::now();
  state.current = phase::measure;
  timer.expires_at(measured.start + std::chrono::duration_cast<steady::duration>(
                                        std::chrono::duration<double>(options.measure_seconds)));
  co_await timer.async_wait(use_tuple);
  measured.end = steady::now();
  state.current = phase::drain;
  state.stopping = true;
  measured.server_after = read_cpu(pid);
  measured.client_after = self_cpu_seconds();
}

// ---------------------------------------------------------------------------------------
// Results

struct latency_summary {
  double p50_ms = 0, p90_ms = 0, p99_ms = 0, max_ms = 0;
};

latency_summary summarize(std::vector<std::uint32_t> latencies_us) {
  latency_summary s;
  if (latencies_us.empty()) return s;
  std::sort(latencies_us.begin(), latencies_us.end());
  const auto at = [&](double q) {
    const auto rank =
        static_cast<std::size_t>(std::ceil(q * static_cast<double>(latencies_us.size())));
    return static_cast<double>(
               latencies_us[std::min(latencies_us.size() - 1, rank == 0 ? 0 : rank - 1)]) /
           1000.0;
  };
  s.p50_ms = at(0.50);
  s.p90_ms = at(0.90);
  s.p99_ms = at(0.99);
  s.max_ms = static_cast<double>(latencies_us.back()) / 1000.0;
  return s;
}

nlohmann::json run_scenario(const bench_options& options, int per_message,
                            const std::string& engine) {
  auto pool = build_pool(per_message, options.users);

  temp_dir dir;
  auto overrides = options.overrides;
  if (engine == "postgresql") {
    overrides["store"]["sqlite_path"] = nullptr;  // merge patch: removed
    overrides["store"]["postgresql_url"] = options.postgresql_url.empty()
                                               ? postgres_server::shared().create_database()
                                               : options.postgresql_url;
  }
  fs::path db_dir;  // removed at the end when the database is not in `dir`
  if (!options.db_dir.empty()) {
    std::string pattern = (fs::path(options.db_dir) / "intake_bench_XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp in --db-dir failed");
    db_dir = pattern;
    if (engine == "sqlite") overrides["store"]["sqlite_path"] = (db_dir / "connector.db").string();
  }
  struct remove_on_exit {
    fs::path path;
    ~remove_on_exit() {
      std::error_code ignored;
      if (!path.empty()) fs::remove_all(path, ignored);
    }
  } db_cleanup{db_dir};
  running_service service(dir.path(), overrides);
  const pid_t pid = service.process().pid();

  asio::io_context ioc(1);
  asio::ssl::context ssl(asio::ssl::context::tls_client);
  ssl.load_verify_file(test_certs::get().ca_crt.string());
  ssl.set_verify_mode(asio::ssl::verify_peer);

  load_state state;
  state.pool = &pool;
  state.per_message = per_message;
  state.endpoint = tcp::endpoint(asio::ip::make_address("127.0.0.1"), service.public_port());
  state.ssl = &ssl;

  window measured;
  const auto on_done = [](std::exception_ptr error) {
    if (error) std::rethrow_exception(error);
  };
  for (int c = 0; c < options.connections; ++c) {
    asio::co_spawn(ioc, drive_connection(state), on_done);
  }
  asio::co_spawn(ioc, control_phases(state, options, pid, measured), on_done);
  ioc.run();  // until the measured phase ends and every in-flight request is answered

  const long peak_rss_kb = read_status_kb(pid, "VmHWM");
  const long rss_kb = read_status_kb(pid, "VmRSS");

  // Every ack must be durable: the store counts exactly the acknowledged notifications.
  const auto status_run =
      run_connector({"status", "--json", "--config", service.config_path().string()});
  std::int64_t stored = -1;
  if (status_run.exit_code == 0) {
    stored = nlohmann::json::parse(status_run.out).at("notifications_received").get<std::int64_t>();
  }
  const int exit_code = service.stop();

  const auto& m = state.measure;
  const double seconds = std::chrono::duration<double>(measured.end - measured.start).count();
  const double server_cpu =
      measured.server_after.process_seconds - measured.server_before.process_seconds;
  const double client_cpu = measured.client_after - measured.client_before;
  const double written = measured.server_after.write_bytes - measured.server_before.write_bytes;
  const auto latency = summarize(m.latencies_us);
  const double messages = static_cast<double>(m.messages);

  // Per thread: CPU time, and time spent runnable but waiting for a CPU (the machine is
  // busy); the rest of the window the thread was blocked (I/O, fsync, or idle).
  nlohmann::json threads = nlohmann::json::array();
  for (const auto& entry : measured.server_after.threads) {
    const auto before = measured.server_before.threads.find(entry.first);
    const bool known = before != measured.server_before.threads.end();
    const double used = entry.second.cpu_seconds - (known ? before->second.cpu_seconds : 0.0);
    const double waited = entry.second.runnable_wait - (known ? before->second.runnable_wait : 0.0);
    if (used < 0.005 * seconds) continue;  // idle helpers (signals, admin)
    threads.push_back({{"tid", entry.first},
                       {"name", entry.second.name},
                       {"cpu_seconds", used},
                       {"cores", used / seconds},
                       {"runnable_wait_share", waited / seconds},
                       {"blocked_or_idle_share", std::max(0.0, 1.0 - (used + waited) / seconds)}});
  }

  const double target = per_message == 1     ? target_messages_per_second_1
                        : per_message == 100 ? target_messages_per_second_100
                                             : 0;
  nlohmann::json result = {
      {"engine", engine},
      {"scenario", std::to_string(per_message) + " notification" + (per_message == 1 ? "" : "s") +
                       " per message"},
      {"notifications_per_message", per_message},
      {"connections", options.connections},
      {"users", options.users},
      {"warmup_seconds", options.warmup_seconds},
      {"measured_seconds", seconds},
      {"messages", m.messages},
      {"notifications", m.notifications},
      {"messages_per_second", messages / seconds},
      {"notifications_per_second", static_cast<double>(m.notifications) / seconds},
      {"latency_ms",
       {{"p50", latency.p50_ms},
        {"p90", latency.p90_ms},
        {"p99", latency.p99_ms},
        {"max", latency.max_ms}}},
      {"errors", m.errors},
      {"errors_all_phases", state.errors},
      {"error_samples", state.error_samples},
      {"server_cpu_seconds", server_cpu},
      {"server_cores_used", server_cpu / seconds},
      {"server_cpu_us_per_message", messages > 0 ? server_cpu * 1e6 / messages : 0.0},
      {"server_cpu_us_per_notification",
       m.notifications > 0 ? server_cpu * 1e6 / static_cast<double>(m.notifications) : 0.0},
      {"server_threads", threads},
      {"server_disk_write_mb_per_second", written / seconds / 1e6},
      {"server_disk_write_kb_per_message", messages > 0 ? written / messages / 1e3 : 0.0},
      {"server_peak_rss_mb", static_cast<double>(peak_rss_kb) / 1024.0},
      {"server_rss_at_end_mb", static_cast<double>(rss_kb) / 1024.0},
      {"client_cores_used", client_cpu / seconds},
      {"acked_notifications_all_phases", state.acked_notifications},
      {"stored_notifications", stored},
      {"verified", stored >= 0 && static_cast<std::uint64_t>(stored) == state.acked_notifications},
      {"server_exit_code", exit_code},
      {"target_messages_per_second", target},
      {"meets_throughput_target", target > 0 ? messages / seconds >= target : true},
      {"meets_latency_target", latency.p99_ms <= target_p99_ms},
  };
  if (status_run.exit_code != 0) {
    result["status_error"] =
        "exit code " + std::to_string(status_run.exit_code) + ": " + status_run.err;
  }
  return result;
}

void print_table(const std::vector<nlohmann::json>& results, const bench_options& options) {
  std::printf(
      "\nintake_bench: %d TLS keep-alive connections, %.0f s warm-up + %.0f s measured, %llu "
      "users\n\n",
      options.connections, options.warmup_seconds, options.measure_seconds,
      static_cast<unsigned long long>(options.users));
  std::printf("%-11s %-12s %9s %10s %8s %8s %8s %8s %7s %9s %9s %7s %8s %7s\n", "engine",
              "notif/msg", "msg/s", "notif/s", "p50 ms", "p90 ms", "p99 ms", "max ms", "errors",
              "srv us/msg", "srv cores", "RSS MB", "client", "durable");
  for (const auto& r : results) {
    std::printf(
        "%-11s %-12d %9.0f %10.0f %8.2f %8.2f %8.2f %8.2f %7llu %9.0f %9.2f %7.1f %8.2f %7s\n",
        r["engine"].get<std::string>().c_str(), r["notifications_per_message"].get<int>(),
        r["messages_per_second"].get<double>(), r["notifications_per_second"].get<double>(),
        r["latency_ms"]["p50"].get<double>(), r["latency_ms"]["p90"].get<double>(),
        r["latency_ms"]["p99"].get<double>(), r["latency_ms"]["max"].get<double>(),
        r["errors"].get<unsigned long long>(), r["server_cpu_us_per_message"].get<double>(),
        r["server_cores_used"].get<double>(), r["server_peak_rss_mb"].get<double>(),
        r["client_cores_used"].get<double>(), r["verified"].get<bool>() ? "yes" : "NO");
  }
  std::printf("\n");
  for (const auto& r : results) {
    std::printf(
        "%s, %d notif/msg: server threads (share of the window on CPU / waiting for a CPU "
        "/ blocked or idle):\n",
        r["engine"].get<std::string>().c_str(), r["notifications_per_message"].get<int>());
    for (const auto& thread : r["server_threads"]) {
      std::printf("    %-14s tid %-7ld %5.2f / %5.2f / %5.2f\n",
                  thread["name"].get<std::string>().c_str(), thread["tid"].get<long>(),
                  thread["cores"].get<double>(), thread["runnable_wait_share"].get<double>(),
                  thread["blocked_or_idle_share"].get<double>());
    }
    std::printf("  %.1f us server CPU per notification; disk writes %.1f MB/s (%.1f kB/msg)\n",
                r["server_cpu_us_per_notification"].get<double>(),
                r["server_disk_write_mb_per_second"].get<double>(),
                r["server_disk_write_kb_per_message"].get<double>());
    std::printf("  store holds %lld notifications, %llu acked (all phases)%s\n",
                r["stored_notifications"].get<long long>(),
                r["acked_notifications_all_phases"].get<unsigned long long>(),
                r["verified"].get<bool>() ? "" : "  MISMATCH");
    if (r["target_messages_per_second"].get<double>() > 0) {
      std::printf("  target %.0f msg/s: %s; p99 <= %.0f ms: %s\n",
                  r["target_messages_per_second"].get<double>(),
                  r["meets_throughput_target"].get<bool>() ? "met" : "NOT met", target_p99_ms,
                  r["meets_latency_target"].get<bool>() ? "met" : "NOT met");
    }
    if (r.contains("status_error")) {
      std::printf("  `connector status` failed: %s\n",
                  r["status_error"].get<std::string>().c_str());
    }
    for (const auto& sample : r["error_samples"]) {
      std::printf("  error: %s\n", sample.get<std::string>().c_str());
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  const auto options = parse_options(argc, argv);
  try {
    check_id_patching();
    std::vector<nlohmann::json> results;
    nlohmann::json failures = nlohmann::json::array();
    for (const auto& engine : options.engines) {
      for (int size : options.sizes) {
        if (!options.json) {
          std::fprintf(stderr, "intake_bench: %s, %d notification(s) per message...\n",
                       engine.c_str(), size);
        }
        // A failed scenario (e.g. the service did not start) does not cost the others.
        try {
          results.push_back(run_scenario(options, size, engine));
        } catch (const std::exception& e) {
          std::fprintf(stderr, "intake_bench: %s, %d notification(s) per message failed: %s\n",
                       engine.c_str(), size, e.what());
          failures.push_back(
              {{"engine", engine}, {"notifications_per_message", size}, {"error", e.what()}});
        }
      }
    }
    if (options.json) {
      std::cout << nlohmann::json{{"connections", options.connections},
                                  {"warmup_seconds", options.warmup_seconds},
                                  {"measured_seconds", options.measure_seconds},
                                  {"users", options.users},
                                  {"config_override", options.overrides},
                                  {"db_dir", options.db_dir},
                                  {"engines", options.engines},
                                  {"scenarios", results},
                                  {"failed_scenarios", failures}}
                       .dump(2)
                << "\n";
    } else {
      print_table(results, options);
    }
    bool verified = failures.empty();
    for (const auto& r : results) verified = verified && r["verified"].get<bool>();
    return verified ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "intake_bench: %s\n", e.what());
    return 1;
  }
}

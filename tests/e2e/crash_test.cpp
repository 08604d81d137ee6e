// Nothing acknowledged is ever lost: the service under load is killed with SIGKILL several
// times, and every notification that got `Ack true` is in the store after restart.
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <set>
#include <thread>

#include "connector/store/open.hpp"
#include "support/outbound_builder.hpp"
#include "support/service.hpp"

namespace connector::testing {
namespace {

constexpr int kills = 3;
constexpr int writers = 6;
constexpr int notifications_per_message = 5;
constexpr std::uint64_t acks_before_kill = 150;

TEST(crash, every_acknowledged_notification_survives_sigkill) {
  temp_dir dir;
  running_service service(dir.path());
  std::mutex acked_mutex;
  std::set<std::string> acked;  // notification ids that got Ack true
  std::atomic<std::uint64_t> next_number{1};

  for (int round = 0; round < kills; ++round) {
    std::atomic<std::uint64_t> acks_this_round{0};
    std::atomic<bool> killed{false};
    std::vector<std::thread> threads;
    for (int w = 0; w < writers; ++w) {
      threads.emplace_back([&] {
        try {
          auto client = service.public_client();
          while (!killed) {
            std::vector<user_notification> batch;
            for (int i = 0; i < notifications_per_message; ++i) {
              const auto n = next_number++;
              batch.push_back(sample_user(n, n));
            }
            const auto reply =
                client.post_xml("/salesforce/outbound", build_user_message(test_org_id, batch));
            if (reply.status == 200 && reply.body.find("<Ack>true</Ack>") != std::string::npos) {
              std::lock_guard lock(acked_mutex);
              for (const auto& n : batch) acked.insert(n.notification_id);
              ++acks_this_round;
            }
          }
        } catch (const std::exception&) {
          // The connection died with the process: whatever was not acked may be lost.
        }
      });
    }
    // Kill once enough acks have come back this round: under load, mid-commit.
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::minutes(2);
    while (acks_this_round < acks_before_kill && std::chrono::steady_clock::now() < give_up) {
      std::this_thread::yield();
    }
    ASSERT_GE(acks_this_round.load(), acks_before_kill) << service.process().stderr_text();
    service.kill_hard();
    killed = true;
    for (auto& t : threads) t.join();
    service.start();
  }
  ASSERT_EQ(service.stop(), 0);

  auto inbox = store::open_store({service.db_path().string()});
  ASSERT_GE(acked.size(), static_cast<std::size_t>(kills * acks_before_kill));
  std::size_t missing = 0;
  for (const auto& id : acked) {
    if (!inbox->has_notification(test_org_id, id)) ++missing;
  }
  EXPECT_EQ(missing, 0u) << "of " << acked.size() << " acknowledged notifications";
  EXPECT_GE(inbox->stats().notifications_received, static_cast<std::int64_t>(acked.size()));
}

// After a SIGKILL the dead instance's ready file stays in the folder. A new instance on the same
// folder (the restart every crash test does) must be reached on its own ports, not the dead one's.
TEST(crash, a_restart_on_the_same_folder_is_reached_on_its_own_ports) {
  temp_dir dir;
  auto first = std::make_unique<running_service>(dir.path());
  ASSERT_EQ(first->public_client().get("/healthz").status, 200);
  first->kill_hard();
  first.reset();
  running_service second(dir.path());
  EXPECT_EQ(second.public_client().get("/healthz").status, 200);
  EXPECT_EQ(second.admin_client().get("/healthz").status, 200);
}

}  // namespace
}  // namespace connector::testing

// The group-commit writer's retry: a batch whose commit an engine calls retryable (another
// instance won a deadlock) runs again whole and its requests hear one outcome, counted once;
// any other failure fails the batch at once.
#include "store/group_commit.hpp"

#include <gtest/gtest.h>

#include <future>
#include <stdexcept>

namespace connector::store {
namespace {

struct conflict : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Counts what the writer asks of it; its commit fails `failures` times with `failure`.
class fake_engine : public group_commit_engine {
 public:
  int failures = 0;
  bool conflicts = true;  // the failure is a retryable conflict, or a plain error
  int begins = 0, commits = 0, rollbacks = 0;

  void begin() override { ++begins; }
  void apply_intake(const intake_request& request, intake_outcome& outcome) override {
    outcome.stored += request.changes.size();
  }
  void commit() override {
    if (failures > 0) {
      --failures;
      if (conflicts) throw conflict("deadlock detected");
      throw std::runtime_error("disk full");
    }
    ++commits;
  }
  void rollback() noexcept override { ++rollbacks; }
  bool may_retry(const std::exception& failure) const noexcept override {
    return dynamic_cast<const conflict*>(&failure) != nullptr;
  }
};

intake_request two_changes() {
  intake_request request;
  request.organization_id = "00D000000000001AAA";
  request.changes.resize(2);
  return request;
}

struct batch_result {
  intake_outcome outcome;
  int begins = 0;      // attempts at the batch, when its request heard its outcome
  bool threw = false;  // a write waited for after it
};

// One batch: a request and a write posted with it (both queued before the writer starts);
// then a write waited for, in a batch of its own.
batch_result one_batch(fake_engine& engine, int& writes) {
  group_commit writer(engine, {});
  std::promise<intake_outcome> heard;
  writer.submit(two_changes(), [&](intake_outcome o) { heard.set_value(std::move(o)); });
  writer.post([&] { ++writes; });
  writer.start();
  batch_result result;
  result.outcome = heard.get_future().get();
  result.begins = engine.begins;  // nothing else is queued yet
  try {
    writer.run([] {});
  } catch (const std::runtime_error&) {
    result.threw = true;
  }
  writer.stop();
  return result;
}

TEST(group_commit, a_batch_that_lost_a_conflict_runs_again_and_is_acked_counted_once) {
  fake_engine engine;
  engine.failures = 2;
  int writes = 0;
  const auto r = one_batch(engine, writes);
  EXPECT_TRUE(r.outcome.committed);
  EXPECT_EQ(r.outcome.stored, 2u) << "counted once, not once per attempt";
  EXPECT_EQ(r.begins, 3);
  EXPECT_EQ(engine.rollbacks, 2);
  EXPECT_EQ(writes, 3) << "the write ran in each attempt's transaction";
  EXPECT_FALSE(r.threw);
  EXPECT_EQ(engine.commits, 2);
}

TEST(group_commit, conflicts_that_go_on_fail_the_batch_after_a_few_attempts) {
  fake_engine engine;
  engine.failures = 100;
  int writes = 0;
  const auto r = one_batch(engine, writes);
  EXPECT_FALSE(r.outcome.committed) << "never an ack for what did not commit";
  EXPECT_NE(r.outcome.error.find("deadlock detected"), std::string::npos) << r.outcome.error;
  EXPECT_EQ(r.begins, 8);
  EXPECT_TRUE(r.threw);
  EXPECT_EQ(engine.commits, 0);
}

TEST(group_commit, any_other_failure_fails_the_batch_without_a_retry) {
  fake_engine engine;
  engine.failures = 1;
  engine.conflicts = false;
  int writes = 0;
  const auto r = one_batch(engine, writes);
  EXPECT_FALSE(r.outcome.committed);
  EXPECT_EQ(r.outcome.error, "disk full");
  EXPECT_EQ(r.begins, 1);
  EXPECT_EQ(writes, 1);
  EXPECT_FALSE(r.threw) << "the next batch is a new one";
}

}  // namespace
}  // namespace connector::store

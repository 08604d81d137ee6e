// The alert policy with a manual clock and a fake mailer: one e-mail per kind per interval,
// a digest of what happened meanwhile, a recovery e-mail when the problem clears.
#include "connector/alerts/alert_policy.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

namespace connector::alerts {
namespace {

using namespace std::chrono_literals;

constexpr epoch_ms t0 = 1'772'532'000'000;  // 2026-03-03 10:00:00 UTC
constexpr std::int64_t minute = 60'000;

class fake_mailer final : public mailer {
 public:
  send_result send(const email& message) override {
    ++attempts;
    if (!failure.empty()) return unexpected{failure};
    sent.push_back(message);
    return std::monostate{};
  }
  std::vector<email> sent;
  int attempts = 0;
  std::string failure;  // non-empty: every send fails with it
};

std::string header(const email& message, const std::string& name) {
  for (const auto& [key, value] : message.headers)
    if (key == name) return value;
  return {};
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

class alert_policy_test : public ::testing::Test {
 protected:
  alert_policy_test() : policy_({60min, 50, "connector on test-host"}, mail_) {}

  // One look in which `kind` had these events and is (or is not) a problem now.
  std::size_t look(epoch_ms now, alert_kind kind, std::vector<std::string> events, bool problem_now,
                   std::string recovery = {}) {
    observation found;
    for (auto& text : events) found[kind].events.push_back({now, std::move(text)});
    found[kind].problem_now = problem_now;
    found[kind].recovery_text = std::move(recovery);
    return policy_.observe(now, found);
  }

  fake_mailer mail_;
  alert_policy policy_;
};

TEST_F(alert_policy_test, TheFirstProblemIsMailedAtOnce) {
  EXPECT_EQ(look(t0, alert_kind::reconciliation, {"run 3 (scheduled) failed: HTTP 503"}, true), 1u);
  ASSERT_EQ(mail_.sent.size(), 1u);
  const auto& m = mail_.sent[0];
  EXPECT_EQ(m.subject, "[connector on test-host] Reconciliation did not succeed");
  EXPECT_EQ(header(m, "X-Connector-Alert"), "reconciliation");
  EXPECT_EQ(header(m, "X-Connector-Alert-Type"), "problem");
  EXPECT_TRUE(contains(m.body, "2026-03-03 10:00:00  run 3 (scheduled) failed: HTTP 503"))
      << m.body;
  EXPECT_TRUE(contains(m.body, "the problem persists")) << m.body;
  EXPECT_TRUE(contains(m.body, "every 60 minutes")) << m.body;
  EXPECT_TRUE(policy_.is_open(alert_kind::reconciliation));
}

TEST_F(alert_policy_test, ABurstWithinTheIntervalBecomesOneDigestWhenItEnds) {
  look(t0, alert_kind::dead_letters, {"1 user dead-lettered"}, true);
  for (int i = 1; i <= 5; ++i) {
    EXPECT_EQ(look(t0 + i * minute, alert_kind::dead_letters,
                   {std::to_string(i) + " more users dead-lettered"}, true),
              0u);
  }
  EXPECT_EQ(look(t0 + 59 * minute, alert_kind::dead_letters, {}, true), 0u);
  EXPECT_EQ(mail_.sent.size(), 1u);
  EXPECT_EQ(policy_.waiting_events(alert_kind::dead_letters), 5u);

  EXPECT_EQ(look(t0 + 60 * minute, alert_kind::dead_letters, {}, true), 1u);
  ASSERT_EQ(mail_.sent.size(), 2u);
  const auto& digest = mail_.sent[1];
  EXPECT_EQ(digest.subject, "[connector on test-host] Digest: Users were dead-lettered (5 more)");
  EXPECT_EQ(header(digest, "X-Connector-Alert-Type"), "digest");
  for (int i = 1; i <= 5; ++i)
    EXPECT_TRUE(contains(digest.body, std::to_string(i) + " more users dead-lettered"));
  EXPECT_TRUE(contains(digest.body, "10:05:00  5 more users dead-lettered")) << digest.body;
  EXPECT_TRUE(contains(digest.body, "since the last e-mail")) << digest.body;

  // The next digest waits for the next interval to end.
  EXPECT_EQ(look(t0 + 61 * minute, alert_kind::dead_letters, {"again"}, true), 0u);
  EXPECT_EQ(look(t0 + 119 * minute, alert_kind::dead_letters, {}, true), 0u);
  EXPECT_EQ(look(t0 + 120 * minute, alert_kind::dead_letters, {}, true), 1u);
  EXPECT_EQ(mail_.sent.size(), 3u);
}

TEST_F(alert_policy_test, AProblemThatLastsWithoutNewEventsIsNotMailedAgain) {
  look(t0, alert_kind::ispring_credentials, {"iSpring Learn refused the credentials"}, true);
  for (int hour = 1; hour <= 5; ++hour) {
    EXPECT_EQ(look(t0 + hour * 60 * minute, alert_kind::ispring_credentials, {}, true), 0u);
  }
  EXPECT_EQ(mail_.sent.size(), 1u);
}

TEST_F(alert_policy_test, ARecoveryIsMailedWhenTheProblemClears) {
  look(t0, alert_kind::salesforce_credentials, {"Salesforce refused the credentials"}, true);
  EXPECT_EQ(look(t0 + 5 * minute, alert_kind::salesforce_credentials, {}, false,
                 "Salesforce accepted the credentials again at 2026-03-03 10:05:00 UTC."),
            1u);
  ASSERT_EQ(mail_.sent.size(), 2u);
  const auto& recovery = mail_.sent[1];
  EXPECT_EQ(recovery.subject,
            "[connector on test-host] Resolved: Salesforce accepts the credentials again");
  EXPECT_EQ(header(recovery, "X-Connector-Alert-Type"), "recovery");
  EXPECT_TRUE(contains(recovery.body, "accepted the credentials again at 2026-03-03 10:05:00"));
  EXPECT_FALSE(policy_.is_open(alert_kind::salesforce_credentials));

  // Only once.
  EXPECT_EQ(look(t0 + 6 * minute, alert_kind::salesforce_credentials, {}, false), 0u);
  // Failing again within the interval of the first e-mail: mailed when it ends, as a new
  // problem (not a digest: the last e-mail said it was over).
  EXPECT_EQ(look(t0 + 10 * minute, alert_kind::salesforce_credentials, {"refused again"}, true),
            0u);
  EXPECT_EQ(look(t0 + 60 * minute, alert_kind::salesforce_credentials, {}, true), 1u);
  ASSERT_EQ(mail_.sent.size(), 3u);
  EXPECT_EQ(header(mail_.sent[2], "X-Connector-Alert-Type"), "problem");
  EXPECT_TRUE(contains(mail_.sent[2].body, "refused again"));
}

TEST_F(alert_policy_test, ADigestOfAProblemThatClearedMeanwhileSaysSoAndNeedsNoRecovery) {
  look(t0, alert_kind::reconciliation, {"run 1 (scheduled) failed: x"}, true);
  look(t0 + 10 * minute, alert_kind::reconciliation, {"run 2 (admin) expired"}, true);
  look(t0 + 20 * minute, alert_kind::reconciliation, {}, false, "run 3 (admin) succeeded.");
  EXPECT_EQ(mail_.sent.size(), 1u);  // the recovery waits for the events before it
  EXPECT_EQ(look(t0 + 60 * minute, alert_kind::reconciliation, {}, false), 1u);
  ASSERT_EQ(mail_.sent.size(), 2u);
  EXPECT_EQ(mail_.sent[1].subject,
            "[connector on test-host] Digest: Reconciliation did not succeed (1 more), cleared "
            "since");
  EXPECT_TRUE(contains(mail_.sent[1].body, "run 2 (admin) expired"));
  EXPECT_TRUE(contains(mail_.sent[1].body, "cleared: run 3 (admin) succeeded."));
  EXPECT_FALSE(policy_.is_open(alert_kind::reconciliation));
  EXPECT_EQ(look(t0 + 61 * minute, alert_kind::reconciliation, {}, false), 0u);
}

TEST_F(alert_policy_test, NoRecoveryForAProblemNeverMailed) {
  EXPECT_EQ(look(t0, alert_kind::pending_age, {}, true), 0u);
  EXPECT_EQ(look(t0 + minute, alert_kind::pending_age, {}, false, "Nothing waits."), 0u);
  EXPECT_TRUE(mail_.sent.empty());
}

TEST_F(alert_policy_test, EachKindHasItsOwnInterval) {
  observation found;
  found[alert_kind::dead_letters] = {{{t0, "2 users dead-lettered"}}, true, {}};
  found[alert_kind::ispring_credentials] = {{{t0, "iSpring Learn refused"}}, true, {}};
  EXPECT_EQ(policy_.observe(t0, found), 2u);
  // Both still hold; a third kind starts; the first has a new event within its interval.
  found[alert_kind::dead_letters] = {{{t0 + minute, "1 user dead-lettered"}}, true, {}};
  found[alert_kind::ispring_credentials] = {{}, true, {}};
  found[alert_kind::pending_age] = {{{t0 + minute, "oldest change 31 minutes"}}, true, {}};
  EXPECT_EQ(policy_.observe(t0 + minute, found), 1u);
  ASSERT_EQ(mail_.sent.size(), 3u);
  EXPECT_EQ(header(mail_.sent[2], "X-Connector-Alert"), "pending_age");
  EXPECT_EQ(policy_.waiting_events(alert_kind::dead_letters), 1u);
}

TEST_F(alert_policy_test, AFailedSendLosesNothingAndIsTriedAtTheNextLook) {
  mail_.failure = "sending e-mail via smtp://127.0.0.1:1 (STARTTLS) failed: Couldn't connect";
  EXPECT_EQ(look(t0, alert_kind::dead_letters, {"first"}, true), 0u);
  EXPECT_EQ(look(t0 + minute, alert_kind::dead_letters, {"second"}, true), 0u);
  EXPECT_EQ(mail_.attempts, 2);
  EXPECT_FALSE(policy_.is_open(alert_kind::dead_letters));
  mail_.failure.clear();
  EXPECT_EQ(look(t0 + 2 * minute, alert_kind::dead_letters, {}, true), 1u);
  ASSERT_EQ(mail_.sent.size(), 1u);
  EXPECT_EQ(header(mail_.sent[0], "X-Connector-Alert-Type"), "problem");
  EXPECT_EQ(mail_.sent[0].subject, "[connector on test-host] Users were dead-lettered (2 times)");
  EXPECT_TRUE(contains(mail_.sent[0].body, "first"));
  EXPECT_TRUE(contains(mail_.sent[0].body, "second"));
  // The interval counts from the e-mail that went out.
  EXPECT_EQ(look(t0 + 61 * minute, alert_kind::dead_letters, {"third"}, true), 0u);
  EXPECT_EQ(look(t0 + 62 * minute, alert_kind::dead_letters, {}, true), 1u);

  // A recovery that cannot be sent is tried again too.
  mail_.failure = "down";
  EXPECT_EQ(look(t0 + 63 * minute, alert_kind::dead_letters, {}, false), 0u);
  EXPECT_TRUE(policy_.is_open(alert_kind::dead_letters));
  mail_.failure.clear();
  EXPECT_EQ(look(t0 + 64 * minute, alert_kind::dead_letters, {}, false), 1u);
  EXPECT_EQ(header(mail_.sent.back(), "X-Connector-Alert-Type"), "recovery");
}

TEST_F(alert_policy_test, AFloodOfEventsIsListedUpToALimitAndCounted) {
  look(t0, alert_kind::dead_letters, {"first"}, true);
  std::vector<std::string> many;
  for (int i = 0; i < 70; ++i) many.push_back("event " + std::to_string(i));
  look(t0 + minute, alert_kind::dead_letters, many, true);
  look(t0 + 60 * minute, alert_kind::dead_letters, {}, true);
  ASSERT_EQ(mail_.sent.size(), 2u);
  const auto& digest = mail_.sent[1];
  EXPECT_TRUE(contains(digest.subject, "(70 more)")) << digest.subject;
  EXPECT_TRUE(contains(digest.body, "event 49"));
  EXPECT_FALSE(contains(digest.body, "event 50"));
  EXPECT_TRUE(contains(digest.body, "… and 20 more."));
}

TEST(alert_policy_interval, IsDescribedInSecondsWhenShort) {
  fake_mailer mail;
  alert_policy policy({5s, 50, "connector"}, mail);
  observation found;
  found[alert_kind::reconciliation] = {{{t0, "run 1 (admin) failed"}}, true, {}};
  policy.observe(t0, found);
  ASSERT_EQ(mail.sent.size(), 1u);
  EXPECT_TRUE(contains(mail.sent[0].body, "every 5 seconds")) << mail.sent[0].body;
  found[alert_kind::reconciliation] = {{{t0 + 1000, "run 2 (admin) failed"}}, true, {}};
  EXPECT_EQ(policy.observe(t0 + 1000, found), 0u);
  observation still;
  still[alert_kind::reconciliation].problem_now = true;
  EXPECT_EQ(policy.observe(t0 + 4999, still), 0u);
  EXPECT_EQ(policy.observe(t0 + 5000, still), 1u);
  EXPECT_TRUE(contains(mail.sent.back().body, "run 2 (admin) failed"));
}

}  // namespace
}  // namespace connector::alerts

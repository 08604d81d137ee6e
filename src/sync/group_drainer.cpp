#include "connector/sync/group_drainer.hpp"

#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <random>
#include <thread>
#include <unordered_set>

#include <nlohmann/json.hpp>

#include "connector/log.hpp"
#include "connector/sync/worker.hpp"

namespace connector::sync {
namespace {

std::string dump(const nlohmann::json& details) {
  return details.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// One event per user of the batch (but those `except` names), each in its own record's
// history.
std::vector<store::history_event> events_for(const store::group_claim& claim, epoch_ms now,
                                             const char* kind, const nlohmann::json& details,
                                             const std::vector<std::string>& except = {}) {
  std::vector<store::history_event> events;
  const std::string text = dump(details);
  for (const auto& a : claim.additions)
    if (std::find(except.begin(), except.end(), a.ispring_user_id) == except.end())
      events.push_back({a.organization_id, a.record_id, now, kind, text, 0});
  return events;
}

// A refusal that may come from a user iSpring no longer has (reference §6, §8: 400, or 404
// as the legacy API answered): not a transport failure, where iSpring read nothing.
bool may_name_a_missing_user(const ispring::failure& f) {
  return f.kind == ispring::failure_kind::rejected || f.kind == ispring::failure_kind::not_found;
}

// CPU time this thread has used (CLOCK_THREAD_CPUTIME_ID).
std::chrono::nanoseconds thread_cpu_time() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return std::chrono::seconds(t.tv_sec) + std::chrono::nanoseconds(t.tv_nsec);
}

constexpr std::size_t ids_per_read = 100;  // user ids per GET /users/v2: a URL of ~5 kB

std::vector<std::string> distinct_users(const store::group_claim& claim) {
  std::vector<std::string> users;
  std::unordered_set<std::string> seen;
  for (const auto& a : claim.additions)
    if (seen.insert(a.ispring_user_id).second) users.push_back(a.ispring_user_id);
  return users;
}

}  // namespace

std::string group_owner_id() {
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) != 0) host[0] = '\0';
  std::random_device random;
  return std::string(host) + ":" + std::to_string(getpid()) + ":" +
         std::to_string(std::uniform_int_distribution<std::uint32_t>()(random));
}

bool with_group_claim(store::group_queue& queue, const std::string& group_id,
                      const std::string& owner, const std::function<epoch_ms()>& now,
                      std::int64_t lease_ms, const std::function<bool()>& give_up,
                      const std::function<void()>& replace) {
  auto pause = std::chrono::milliseconds(5);
  for (;;) {
    const epoch_ms at = now();
    if (queue.claim_group(group_id, owner, at, at + lease_ms)) break;
    if (give_up && give_up()) return false;
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::milliseconds(500));
  }
  try {
    replace();
  } catch (...) {
    queue.finish_group(group_id, owner, 0);
    throw;
  }
  queue.finish_group(group_id, owner, 0);  // lets go, removes nothing queued
  return true;
}

group_drainer::group_drainer(store::group_queue& queue, ispring::api& api, history_sink history,
                             const clock& time, group_drainer_options options)
    : queue_(queue),
      api_(api),
      directory_(api),
      apply_(api, directory_),
      history_(std::move(history)),
      clock_(time),
      options_(std::move(options)) {
  if (!options_.metrics) return;
  auto& replaces = options_.metrics->counter(
      "connector_group_replaces_total",
      "Batches of queued group additions the drainer applied with one read and one replace of "
      "the group's members, by result: succeeded, or failed (retried with back-off)",
      {"result"});
  succeeded_ = &replaces.with({"succeeded"});
  failed_ = &replaces.with({"failed"});
  users_added_ = &options_.metrics
                      ->counter("connector_group_additions_applied_total",
                                "Queued group additions applied to iSpring by the drainer", {})
                      .with({});
  options_.metrics->add_collector([&queue](metrics::scrape_writer& out) {
    const auto stats = queue.group_stats();
    out.gauge("connector_group_additions_waiting",
              "Users queued to join an iSpring group, waiting for the drainer's next replace",
              static_cast<double>(stats.additions));
    out.gauge("connector_groups_retrying",
              "Groups whose last members replace failed, backing off before the next attempt",
              static_cast<double>(stats.retrying));
  });
}

group_drainer::~group_drainer() {
  stop();
}

void group_drainer::start() {
  std::lock_guard lock(mutex_);
  stopping_ = false;
  for (int i = 0; i < std::max(1, options_.threads); ++i)
    threads_.emplace_back(
        [this, owner = options_.owner + "/" + std::to_string(i)] { thread_loop(owner); });
}

void group_drainer::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wakeup_.notify_all();
  for (auto& t : threads_) t.join();
  threads_.clear();
}

void group_drainer::wake() {
  {
    std::lock_guard lock(mutex_);
    woken_ = true;
  }
  wakeup_.notify_all();
}

std::size_t group_drainer::drain_once() {
  std::size_t batches = 0;
  while (drain_one(options_.owner + "/once")) ++batches;
  return batches;
}

void group_drainer::thread_loop(const std::string& owner) {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    woken_ = false;
    lock.unlock();
    bool drained = false;
    try {
      drained = drain_one(owner);
    } catch (const std::exception& e) {
      // The store failed (disk full…): the additions stay queued; a claim it could not let
      // go of is let go of once it answers again (retry_unsettled), or its lease expires.
      log::error("groups.store_failed", "group drainer: {}", e.what());
    }
    lock.lock();
    if (drained) continue;  // more may be due: look again at once
    // Until the next poll, or until a group this process let rest is due again.
    auto wait = std::chrono::milliseconds(options_.idle_poll_ms);
    if (resting_until_) {
      wait = std::min(wait, std::chrono::milliseconds(
                                std::max<std::int64_t>(1, *resting_until_ - clock_.now())));
      if (*resting_until_ <= clock_.now()) resting_until_.reset();
    }
    wakeup_.wait_for(lock, wait, [this] { return stopping_ || woken_; });
  }
}

void group_drainer::settle(std::function<void()> write) {
  try {
    write();
  } catch (...) {
    std::lock_guard lock(mutex_);
    unsettled_.push_back(std::move(write));
    throw;
  }
}

// Any thread may run them: each write names the claim's owner. Throws while the store is
// still away, keeping what is left for the next time.
void group_drainer::retry_unsettled() {
  std::vector<std::function<void()>> writes;
  {
    std::lock_guard lock(mutex_);
    writes.swap(unsettled_);
  }
  for (auto it = writes.begin(); it != writes.end(); ++it) {
    try {
      (*it)();
    } catch (...) {
      std::lock_guard lock(mutex_);
      unsettled_.insert(unsettled_.end(), std::make_move_iterator(it),
                        std::make_move_iterator(writes.end()));
      throw;
    }
  }
}

bool group_drainer::drain_one(const std::string& owner) {
  retry_unsettled();
  const epoch_ms now = clock_.now();
  auto claim = queue_.claim_next_group(owner, now, now + options_.lease_ms, options_.batch);
  if (!claim) return false;
  if (claim->additions.empty()) {  // drained meanwhile by another owner
    settle([this, group_id = claim->group_id, owner] { queue_.finish_group(group_id, owner, 0); });
    return true;
  }
  const std::string& name = claim->additions.front().group_name;
  auto users = distinct_users(*claim);
  const auto started = std::chrono::steady_clock::now();
  const auto started_cpu = thread_cpu_time();
  std::vector<std::string> gone;
  auto steps = add_batch(name, users, gone);
  if (!steps) {
    settle([this, claim = *claim, error = steps.error().to_string()] { fail(claim, error); });
    return true;
  }
  // Paced: the group rests as long as iSpring spent on its read and replace, so a large group
  // spends at most half of iSpring's time being replaced (each replace costs it the whole
  // list) and the users arriving meanwhile share the next one. That is the wall time less this
  // thread's own CPU time: reading and writing a 20,000-id list is ours, not iSpring's.
  const auto wall = std::chrono::steady_clock::now() - started;
  const auto own = thread_cpu_time() - started_cpu;
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::max(wall - own, std::chrono::steady_clock::duration::zero()))
                        .count();
  const epoch_ms rest_until = clock_.now() + std::min<std::int64_t>(took, options_.max_rest_ms);
  settle([this, claim = *claim, steps = *steps, members = users.size(), rest_until, gone] {
    finish(claim, steps, members, rest_until, gone);
  });
  std::lock_guard lock(mutex_);
  resting_until_ = std::min(resting_until_.value_or(rest_until), rest_until);
  return true;
}

ispring::result<std::vector<apply_step>> group_drainer::add_batch(const std::string& group_name,
                                                                  std::vector<std::string>& users,
                                                                  std::vector<std::string>& gone) {
  auto steps = apply_.add_to_group(group_name, users);
  if (steps || !may_name_a_missing_user(steps.error())) return steps;
  auto missing = missing_users(users);
  if (!missing || missing->empty()) return steps;  // not that: retried as any failure
  gone = std::move(*missing);
  std::erase_if(users, [&](const std::string& id) {
    return std::find(gone.begin(), gone.end(), id) != gone.end();
  });
  log::warn("groups.users_gone",
            "group {}: iSpring refused the replace ({}) and no longer has {} of its {} user(s); "
            "adding the others without them",
            group_name, steps.error().to_string(), gone.size(), users.size() + gone.size());
  if (users.empty()) return std::vector<apply_step>{};
  return apply_.add_to_group(group_name, users);
}

ispring::result<std::vector<std::string>> group_drainer::missing_users(
    const std::vector<std::string>& users) {
  std::unordered_set<std::string> found;
  for (std::size_t from = 0; from < users.size(); from += ids_per_read) {
    ispring::user_filter filter;
    filter.user_ids.assign(
        users.begin() + static_cast<std::ptrdiff_t>(from),
        users.begin() + static_cast<std::ptrdiff_t>(std::min(users.size(), from + ids_per_read)));
    auto listed = api_.list_users(filter);
    if (!listed) return unexpected{listed.error()};
    for (const auto& u : *listed) found.insert(u.id);
  }
  std::vector<std::string> missing;
  for (const auto& id : users)
    if (!found.contains(id)) missing.push_back(id);
  return missing;
}

void group_drainer::finish(const store::group_claim& claim, const std::vector<apply_step>& steps,
                           std::size_t members, epoch_ms due_again_at,
                           const std::vector<std::string>& gone) {
  queue_.finish_group(claim.group_id, claim.owner, claim.up_to(), due_again_at);
  const auto& a = claim.additions.front();
  nlohmann::json details = {
      {"group", a.group_name}, {"group_id", claim.group_id}, {"batch", members}, {"ok", true}};
  std::string answer;
  for (const auto& s : steps)
    if (s.stage == "groups") answer += (answer.empty() ? "" : "; ") + s.text;
  details["answer"] = answer;
  const auto now = clock_.now();
  auto events = events_for(claim, now, store::group_history_kinds::added, details, gone);
  const std::size_t added = events.size();
  for (const auto& addition : claim.additions) {
    if (std::find(gone.begin(), gone.end(), addition.ispring_user_id) == gone.end()) continue;
    const nlohmann::json dropped = {{"group", a.group_name},
                                    {"group_id", claim.group_id},
                                    {"ispring_user_id", addition.ispring_user_id},
                                    {"batch", members}};
    events.push_back(
        {addition.organization_id, addition.record_id, now, group_dropped_kind, dump(dropped), 0});
  }
  if (history_) history_(std::move(events));
  if (succeeded_) {
    succeeded_->inc();
    users_added_->inc(added);
  }
  log::info("groups.replaced", "group {}: {} user(s) in one replace: {}", a.group_name, members,
            answer);
}

void group_drainer::fail(const store::group_claim& claim, const std::string& error) {
  const int attempts = claim.attempts + 1;
  const auto retry = options_.retries
                         ? options_.retries()
                         : retry_settings{0, options_.retry_base_ms, options_.retry_max_ms};
  thread_local std::mt19937_64 random{std::random_device{}()};
  const auto delay = retry_delay_ms(attempts, retry.retry_base_ms, retry.retry_max_ms,
                                    std::uniform_real_distribution<double>(0, 1)(random));
  const epoch_ms now = clock_.now();
  queue_.release_group(claim.group_id, claim.owner, now + delay, error);
  const auto& a = claim.additions.front();
  nlohmann::json details = {{"group", a.group_name},
                            {"group_id", claim.group_id},
                            {"batch", claim.additions.size()},
                            {"attempt", attempts},
                            {"error", error},
                            {"next_attempt_at", now + delay}};
  if (history_) history_(events_for(claim, now, store::group_history_kinds::failed, details));
  if (failed_) failed_->inc();
  log::warn("groups.retry",
            "group {}: adding {} user(s) failed (attempt {}), retrying in {} ms: {}", a.group_name,
            claim.additions.size(), attempts, delay, error);
}

}  // namespace connector::sync

#include "connector/sync/deactivation_limit.hpp"

#include <algorithm>
#include <charconv>

#include "connector/log.hpp"

namespace connector::sync {
namespace {

// How long a share's base (the linked users) is used before it is counted again: it moves
// slowly, and counting 100k links before every deactivation of a flood would not.
constexpr epoch_ms linked_users_reread_ms = 60'000;

}  // namespace

std::optional<std::size_t> hourly_cap(const std::optional<std::string>& setting,
                                      std::size_t linked) {
  if (!setting || setting->empty() || *setting == "off") return std::nullopt;
  std::string_view text = *setting;
  const bool share = text.back() == '%';
  if (share) text.remove_suffix(1);
  std::uint64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  if (!share) return static_cast<std::size_t>(value);
  const auto part =
      static_cast<std::size_t>(static_cast<double>(linked) * static_cast<double>(value) / 100.0);
  return std::max<std::size_t>(part, 1);
}

retirement_journal journal_in(store::work_queue& queue, store::user_links& links) {
  return {
      [&queue](const std::string& organization_id, epoch_ms since) {
        return queue.retirements_since(organization_id, since);
      },
      [&queue](const std::string& organization_id, const std::string& record_id, epoch_ms at,
               epoch_ms prune_before) {
        queue.note_retirement(organization_id, record_id, at, prune_before);
      },
      [&links](const std::string& organization_id) { return links.count_links(organization_id); }};
}

deactivation_limiter::deactivation_limiter(std::string setting, const clock& time,
                                           retirement_journal journal)
    : setting_(std::move(setting)), clock_(time), journal_(std::move(journal)) {}

deactivation_limiter::window& deactivation_limiter::current_locked(
    const std::string& organization_id, epoch_ms now, bool share) {
  auto& w = windows_[organization_id];
  const epoch_ms start = now - safety_window_ms;
  if (!w.loaded) {
    // What this process (or the one before a restart) did within the hour.
    for (const auto at : journal_.read(organization_id, start)) w.times.insert(at);
    w.loaded = true;
  }
  w.times.erase(w.times.begin(), w.times.lower_bound(start + 1));
  if (share && (!w.linked_read_at || now - *w.linked_read_at >= linked_users_reread_ms ||
                now < *w.linked_read_at)) {
    w.linked = journal_.linked_users(organization_id);
    w.linked_read_at = now;
  }
  return w;
}

namespace {

bool is_share(const std::optional<std::string>& setting) {
  return setting && !setting->empty() && setting->back() == '%';
}

}  // namespace

deactivation_limiter::verdict deactivation_limiter::reserve(const std::string& organization_id,
                                                            bool released) {
  return reserve(organization_id, released, setting_);
}

deactivation_limiter::verdict deactivation_limiter::reserve(
    const std::string& organization_id, bool released, const std::optional<std::string>& setting) {
  const epoch_ms now = clock_.now();
  const bool share = is_share(setting);
  std::lock_guard lock(mutex_);
  auto& w = current_locked(organization_id, now, share);
  const auto cap = hourly_cap(setting, w.linked);
  if (released || !cap || w.times.size() < *cap) {
    w.times.insert(now);
    return {true, now, {}};
  }
  std::string reason = "held by the safety limit: " + std::to_string(w.times.size()) +
                       " users were deactivated or deleted by notifications in the last hour, "
                       "and sync.max_deactivations_per_hour allows " +
                       std::to_string(*cap);
  if (share) reason += " (" + *setting + " of " + std::to_string(w.linked) + " linked users)";
  reason += "; `connector release` lets it through";
  return {false, 0, std::move(reason)};
}

void deactivation_limiter::confirm(const std::string& organization_id, const std::string& record_id,
                                   epoch_ms at) {
  try {
    // Kept a few hours, so a clock moved back a little still finds the hour's.
    journal_.write(organization_id, record_id, at, at - 4 * safety_window_ms);
  } catch (const std::exception& e) {
    // Counted in memory all the same; only a restart within the hour would forget it.
    log::error("safety_limit.journal_failed",
               "user {}: could not keep the deactivation for the safety limit's hour: {}",
               record_id, e.what());
  }
}

void deactivation_limiter::cancel(const std::string& organization_id, epoch_ms at) {
  std::lock_guard lock(mutex_);
  auto& w = windows_[organization_id];
  if (const auto it = w.times.find(at); it != w.times.end()) w.times.erase(it);
}

std::size_t deactivation_limiter::taken(const std::string& organization_id) {
  std::lock_guard lock(mutex_);
  return current_locked(organization_id, clock_.now(), is_share(setting_)).times.size();
}

}  // namespace connector::sync

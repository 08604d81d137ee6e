#include "connector/app/organization.hpp"

#include "connector/app/admin_api.hpp"
#include "connector/app/status_report.hpp"
#include "connector/log.hpp"
#include "connector/text/ascii.hpp"

namespace connector::app {
namespace {

using nlohmann::json;

// Scheme and host in lower case, no trailing '/': the same URL typed twice is one identity.
std::string normal_url(std::string url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  const auto scheme_end = url.find("://");
  const auto host_end = url.find('/', scheme_end == std::string::npos ? 0 : scheme_end + 3);
  const auto cut = host_end == std::string::npos ? url.size() : host_end;
  return text::ascii_lower(url.substr(0, cut)) + url.substr(cut);
}

std::string trimmed(const std::string& s) {
  const auto first = s.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return {};
  return s.substr(first, s.find_last_not_of(" \t\r\n") - first + 1);
}

json forgets_json(const store::organization_state& s) {
  return {{"user_links", s.user_links},
          {"department_links", s.department_links},
          {"group_additions", s.group_additions}};
}

json requeues_json(const store::organization_state& s) {
  return {{"held_records", s.held_records}, {"dead_records", s.dead_records}};
}

}  // namespace

std::string organization_identity(const config::ispring_settings& ispring) {
  if (ispring.auth == "password") return normal_url(ispring.account_url);
  return ispring.client_id + "@" + normal_url(ispring.api_url);
}

organization_view view_organization(store::organization_binding& binding,
                                    const std::string& configured) {
  return {configured, binding.bound(), binding.state()};
}

json organization_to_json(const organization_view& view) {
  json stored = view.stored ? json{{"identity", view.stored->identity},
                                   {"bound_at", format_utc(view.stored->bound_at)}}
                            : json();
  return {{"configured", view.configured},
          {"stored", std::move(stored)},
          {"matches", view.matches()},
          {"held", view.held()},
          {"reason", hold_reason(view)},
          // A reset forgets the links, department links and waiting group additions; held and
          // dead records are kept and applied again, to the new organization.
          {"reset_forgets", forgets_json(view.state)},
          {"reset_requeues", requeues_json(view.state)}};
}

std::string hold_reason(const organization_view& view) {
  if (!view.held()) return {};
  return "the store's links belong to iSpring organization " + view.stored->identity +
         " but the config names " + view.configured +
         ": nothing is written to iSpring (notifications are still taken in and kept). If it is "
         "another organization, run `connector reset-organization` to see what a reset forgets, "
         "then `connector reset-organization --confirm " +
         view.configured +
         "` (or Reset on the Authorization tab); if it is the same one under a new URL, add "
         "--same-organization";
}

organization_view settle_organization(store::organization_binding& binding,
                                      const std::string& configured, epoch_ms now) {
  if (binding.bind_if_unbound(configured, now))
    log::info("organization.bound", "the store is bound to iSpring organization {}", configured);
  auto view = view_organization(binding, configured);
  if (view.stored && !view.matches() && !view.state.has_links()) {
    // Nothing of the old one is kept: nothing to forget, nothing to confuse.
    log::info("organization.bound",
              "the store moves from iSpring organization {} to {}: it "
              "kept no links to forget",
              view.stored->identity, configured);
    binding.rebind(configured, now);
    view = view_organization(binding, configured);
  }
  return view;
}

expected<store::reset_outcome, reset_refusal> reset_organization(
    store::organization_binding& binding, store::history_log& history,
    const std::string& configured, const std::string& typed, epoch_ms now, const std::string& who) {
  if (trimmed(typed) != configured)
    return unexpected{reset_refusal{400,
                                    "the confirmation must be the configured organization "
                                    "typed back exactly: " +
                                        configured}};
  const auto before = view_organization(binding, configured);
  if (before.matches())
    return unexpected{reset_refusal{
        409, "the store is bound to " + configured + " already: there is nothing to reset"}};
  auto outcome = binding.reset(configured, now);
  const auto from = before.stored ? before.stored->identity : std::string();
  std::vector<store::history_event> events;
  events.reserve(outcome.links.size());
  for (const auto& link : outcome.links) {
    json details = {
        {"ispring_user_id", link.ispring_user_id}, {"from", from}, {"to", configured}, {"by", who}};
    events.push_back(
        {link.organization_id, link.record_id, now, organization_reset_kind, details.dump(), 0});
  }
  if (!events.empty()) history.record_history(std::move(events));
  log::warn("organization.reset",
            "{} reset the store from iSpring organization {} to {}: forgot {} user link(s), {} "
            "department link(s), {} group addition(s); {} held and {} dead record(s) queued again",
            who, from.empty() ? "(none)" : from, configured, outcome.forgotten.user_links,
            outcome.forgotten.department_links, outcome.forgotten.group_additions,
            outcome.forgotten.held_records, outcome.forgotten.dead_records);
  return outcome;
}

// --- organization_hold ---------------------------------------------------------------------

organization_hold::organization_hold(std::unique_ptr<store::organization_binding> binding,
                                     std::string configured, store::history_log& history,
                                     const clock& time)
    : binding_(std::move(binding)),
      configured_(std::move(configured)),
      history_(history),
      time_(time) {
  const auto view = settle_organization(*binding_, configured_, time_.now());
  held_ = view.held();
  if (held_) log::error("organization.held", "{}", hold_reason(view));
}

organization_hold::~organization_hold() {
  stop();
}

bool organization_hold::held() {
  std::lock_guard lock(mutex_);
  return held_;
}

std::string organization_hold::reason() {
  std::lock_guard lock(mutex_);
  return held_ ? hold_reason(view_locked()) : std::string();
}

organization_view organization_hold::view_locked() {
  return view_organization(*binding_, configured_);
}

void organization_hold::when_released(std::function<void()> start_writers) {
  {
    std::lock_guard lock(mutex_);
    if (held_) {
      start_writers_ = std::move(start_writers);
      poller_ = std::thread([this] { poll(); });
      return;
    }
  }
  start_writers();
}

// Under mutex_: the binding names the configured organization again (a reset, here or by the
// CLI): the writers start.
void organization_hold::release_if_matching_locked() {
  if (!held_ || stopping_) return;
  if (view_locked().held()) return;
  held_ = false;
  log::info("organization.released",
            "the store is bound to iSpring organization {}: writing to iSpring resumes",
            configured_);
  if (start_writers_) std::exchange(start_writers_, nullptr)();
}

void organization_hold::poll() {
  std::unique_lock lock(mutex_);
  while (held_ && !stopping_) {
    wake_.wait_for(lock, std::chrono::seconds(1));
    try {
      release_if_matching_locked();
    } catch (const std::exception& e) {
      log::warn("organization.read_failed", "organization: reading the binding failed: {}",
                e.what());
    }
  }
}

void organization_hold::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (poller_.joinable()) poller_.join();
}

json organization_hold::status_warnings() {
  json warnings = json::array();
  if (const auto why = reason(); !why.empty())
    warnings.push_back({{"kind", "organization"}, {"message", why}});
  return warnings;
}

std::vector<http::route> organization_hold::routes(const std::vector<config::admin_token>& tokens) {
  admin_handler_fn get = [this](http::request&&, const text::query_params&,
                                http::respond_fn respond) {
    std::lock_guard lock(mutex_);
    respond(json_answer(200, organization_to_json(view_locked())));
  };
  admin_handler_fn reset = [this, tokens](http::request&& req, const text::query_params&,
                                          http::respond_fn respond) {
    const auto body = json::parse(req.body, nullptr, false);
    const auto confirm = body.is_object() ? body.find("confirm") : body.end();
    if (!body.is_object() || confirm == body.end() || !confirm->is_string())
      return respond(json_answer(400, {{"error",
                                        "confirm: type the configured organization back, "
                                        "{\"confirm\": \"" +
                                            configured_ + "\"}"},
                                       {"key", "confirm"}}));
    const auto who = admin_token_name(req, tokens).value_or("admin");
    std::lock_guard lock(mutex_);
    auto outcome = reset_organization(*binding_, history_, configured_, confirm->get<std::string>(),
                                      time_.now(), who);
    if (!outcome)
      return respond(json_answer(outcome.error().status,
                                 {{"error", outcome.error().error}, {"key", "confirm"}}));
    release_if_matching_locked();
    auto j = organization_to_json(view_locked());
    j["forgot"] = forgets_json(outcome->forgotten);
    j["requeued"] = requeues_json(outcome->forgotten);
    respond(json_answer(200, j));
  };
  return {{"GET", "/admin/organization", admin_only(tokens, std::move(get))},
          {"POST", "/admin/organization/reset", admin_only(tokens, std::move(reset))}};
}

}  // namespace connector::app

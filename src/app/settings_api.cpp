#include "connector/app/settings_api.hpp"

#include <charconv>
#include <string>

#include "connector/app/admin_api.hpp"
#include "connector/app/status_report.hpp"
#include "connector/log.hpp"

namespace connector::app {
namespace {

using nlohmann::json;

std::optional<std::int64_t> parse_revision(std::string_view text) {
  std::int64_t value = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size() || value < 0) return std::nullopt;
  return value;
}

http::response outcome_answer(const save_outcome& outcome) {
  if (outcome.status != 200) return json_error(outcome.status, outcome.error, outcome.key);
  auto r = json_answer(200, {{"revision", outcome.revision}, {"saved", outcome.saved}});
  r.headers.emplace_back("ETag", "\"" + std::to_string(outcome.revision) + "\"");
  return r;
}

json settings_answer(const live_settings& settings) {
  const auto now = settings.current();
  return {{"revision", now.revision},
          {"settings", editable_to_json(*now.settings)},
          {"file_managed", settings.file().file_managed}};
}

// POST /admin/settings/revisions/{R}/restore
admin_handler_fn restore_handler(live_settings& live, std::vector<config::admin_token> tokens) {
  return [&live, tokens = std::move(tokens)](http::request&& req, const text::query_params&,
                                             http::respond_fn respond) {
    auto rest =
        std::string_view(req.path).substr(std::string_view("/admin/settings/revisions/").size());
    constexpr std::string_view suffix = "/restore";
    const auto id = rest.ends_with(suffix)
                        ? parse_revision(rest.substr(0, rest.size() - suffix.size()))
                        : std::nullopt;
    if (!id) return respond(json_error(404, "POST /admin/settings/revisions/{R}/restore"));
    const auto if_match = parse_if_match(req.header("if-match"));
    if (!if_match) return respond(json_error(400, if_match.error()));
    const auto who = admin_token_name(req, tokens).value_or("admin");
    const auto outcome = live.restore(*id, *if_match, who);
    if (outcome.saved)
      log::info("settings.restored", "settings revision {} restored as revision {} by {}", *id,
                outcome.revision, who);
    respond(outcome_answer(outcome));
  };
}

// PUT /admin/settings/{section}
admin_handler_fn put_section_handler(live_settings& live, std::vector<config::admin_token> tokens) {
  return [&live, tokens = std::move(tokens)](http::request&& req, const text::query_params&,
                                             http::respond_fn respond) {
    const std::string section(
        std::string_view(req.path).substr(std::string_view("/admin/settings/").size()));
    if (!is_editable_section(section))
      return respond(json_error(
          404, "no such section: " + section + " (mapping, schedule, sync, alerts.email_to)"));
    const auto value = json::parse(req.body, nullptr, false);
    if (value.is_discarded())
      return respond(json_error(400, section + ": the body is not valid JSON", section));
    const auto if_match = parse_if_match(req.header("if-match"));
    if (!if_match) return respond(json_error(400, if_match.error()));
    const auto who = admin_token_name(req, tokens).value_or("admin");
    const auto outcome = live.save_section(section, value, *if_match, who);
    if (outcome.saved)
      log::info("settings.saved", "settings revision {} saved by {}: {} changed", outcome.revision,
                who, section);
    respond(outcome_answer(outcome));
  };
}

}  // namespace

expected<std::optional<std::int64_t>, std::string> parse_if_match(std::string_view header) {
  if (header.empty()) return std::optional<std::int64_t>{};
  auto text = header;
  if (text.starts_with("W/")) text.remove_prefix(2);
  if (text.size() >= 2 && text.front() == '"' && text.back() == '"')
    text = text.substr(1, text.size() - 2);
  if (auto revision = parse_revision(text)) return std::optional<std::int64_t>{*revision};
  return unexpected{std::string("If-Match: expected a settings revision such as \"3\"")};
}

json revision_to_json(const store::settings_revision& revision) {
  json j = {{"revision", revision.revision},
            {"saved_at", format_utc(revision.saved_at)},
            {"saved_by", revision.saved_by},
            {"sections", revision.sections}};
  if (!revision.settings_json.empty()) {
    auto content = json::parse(revision.settings_json, nullptr, false);
    if (!content.is_discarded()) j["settings"] = std::move(content);
  }
  return j;
}

std::vector<http::route> make_settings_routes(live_settings& settings,
                                              const std::vector<config::admin_token>& tokens) {
  auto& live = settings;
  return {
      {"GET", "/admin/settings",
       admin_only(tokens,
                  [&live](http::request&&, const text::query_params&, http::respond_fn respond) {
                    const auto answer = settings_answer(live);
                    auto r = json_answer(200, answer);
                    r.headers.emplace_back(
                        "ETag",
                        "\"" + std::to_string(answer["revision"].get<std::int64_t>()) + "\"");
                    respond(std::move(r));
                  })},
      {"GET", "/admin/settings/revisions",
       admin_only(
           tokens,
           [&live](http::request&&, const text::query_params& query, http::respond_fn respond) {
             const auto limit = query.whole_number("limit", 50);
             if (!limit) return respond(json_error(400, limit.error()));
             json list = json::array();
             for (const auto& r : live.list_revisions(std::min<std::size_t>(*limit, 1000)))
               list.push_back(revision_to_json(r));
             respond(json_answer(200, {{"revisions", std::move(list)}}));
           })},
      {"GET", "/admin/settings/revisions/*",
       admin_only(
           tokens,
           [&live](http::request&& req, const text::query_params&, http::respond_fn respond) {
             const auto id = parse_revision(std::string_view(req.path).substr(
                 std::string_view("/admin/settings/revisions/").size()));
             const auto revision = id ? live.read_revision(*id) : std::nullopt;
             if (!revision) return respond(json_error(404, "no such settings revision"));
             respond(json_answer(200, revision_to_json(*revision)));
           })},
      {"POST", "/admin/settings/revisions/*", admin_only(tokens, restore_handler(live, tokens))},
      {"PUT", "/admin/settings/*", admin_only(tokens, put_section_handler(live, tokens))},
  };
}

}  // namespace connector::app

#include "connector/app/preview_api.hpp"

#include "connector/app/admin_api.hpp"
#include "connector/log.hpp"

namespace connector::app {
namespace {

using nlohmann::json;

http::response refusal(const save_outcome& outcome) {
  return json_error(outcome.status, outcome.error, outcome.key);
}

}  // namespace

std::vector<http::route> make_preview_routes(live_settings& live, run_coordinator* runs,
                                             std::string runs_unavailable,
                                             const std::vector<config::admin_token>& tokens) {
  admin_handler_fn preview = [&live, runs, runs_unavailable](http::request&& req,
                                                             const text::query_params&,
                                                             http::respond_fn respond) {
    const auto body = json::parse(req.body, nullptr, false);
    if (body.is_discarded())
      return respond(json_answer(400, {{"error", "the body is not valid JSON"}}));
    // Checked before the availability: a bad candidate is the caller's to fix either way.
    auto candidate = live.candidate(body);
    if (!candidate) return respond(refusal(candidate.error()));
    if (!runs) return respond(json_answer(409, {{"error", runs_unavailable}}));
    const auto based_on = candidate->revision;
    const auto id = runs->request_preview(std::move(*candidate));
    std::vector<std::string> sections;
    for (const auto& item : body.items()) sections.push_back(item.key());
    log::info("settings.preview", "preview run {} of {} on settings revision {}", id,
              json(sections).dump(), based_on);
    const auto url = "/admin/runs/" + std::to_string(id);
    auto r = json_answer(
        202,
        {{"run_id", id}, {"based_on_revision", based_on}, {"sections", sections}, {"url", url}});
    r.headers.emplace_back("Location", url);
    respond(std::move(r));
  };
  return {{"POST", "/admin/settings/preview", admin_only(tokens, std::move(preview))}};
}

}  // namespace connector::app

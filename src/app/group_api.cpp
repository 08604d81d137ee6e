#include "connector/app/group_api.hpp"

#include <algorithm>

#include "connector/app/admin_api.hpp"
#include "connector/app/settings_api.hpp"
#include "connector/log.hpp"
#include "connector/text/ascii.hpp"

namespace connector::app {
namespace {

using nlohmann::json;
using text::iequals;

// The name asked for, trimmed; empty when the body names none.
std::string requested_name(const std::string& body) {
  const auto parsed = json::parse(body, nullptr, false);
  if (!parsed.is_object()) return {};
  const auto name = parsed.find("name");
  if (name == parsed.end() || !name->is_string()) return {};
  const auto& text = name->get_ref<const std::string&>();
  const auto first = text.find_first_not_of(" \t");
  if (first == std::string::npos) return {};
  return text.substr(first, text.find_last_not_of(" \t") - first + 1);
}

// sync.groups is a list that does not name the group (iSpring compares names ignoring case,
// and so does the scope).
bool list_lacks(const config::sync_settings& sync, const std::string& name) {
  return sync.groups && std::none_of(sync.groups->begin(), sync.groups->end(),
                                     [&](const std::string& g) { return iequals(g, name); });
}

// The existing group of that name, if any.
ispring::result<std::optional<ispring::group>> find_group(ispring::api& ispring,
                                                          const std::string& name) {
  auto groups = ispring.list_groups();
  if (!groups) return unexpected{groups.error()};
  for (auto& g : *groups)
    if (iequals(g.name, name)) return std::optional<ispring::group>{std::move(g)};
  return std::optional<ispring::group>{};
}

http::response already_there(const ispring::group& g) {
  return json_answer(409, {{"error", "a group named \"" + g.name +
                                         "\" already exists in iSpring: it was not created again"},
                           {"id", g.id},
                           {"name", g.name}});
}

// Creates the group, or answers why not (409 with the id of one that exists).
expected<std::string, http::response> create_group(ispring::api& ispring, const std::string& name) {
  auto existing = find_group(ispring, name);
  if (!existing) return unexpected{json_error(502, "iSpring: " + existing.error().to_string())};
  if (*existing) return unexpected{already_there(**existing)};
  auto created = ispring.create_group(name);
  if (created) return *created;
  // Another admin (or the reconciliation) may have created it meanwhile: iSpring refuses a
  // second group of the same name.
  if (auto again = find_group(ispring, name); again && *again)
    return unexpected{already_there(**again)};
  return unexpected{json_error(502, "iSpring refused the group: " + created.error().to_string())};
}

admin_handler_fn add_group_handler(live_settings& live, ispring::api* ispring,
                                   std::function<std::string()> blocked,
                                   std::vector<config::admin_token> tokens) {
  return [&live, ispring, blocked, tokens](http::request&& req, const text::query_params&,
                                           http::respond_fn respond) {
    const auto name = requested_name(req.body);
    if (name.empty()) return respond(json_error(400, "name: the group's name is required", "name"));
    if (const auto why = blocked ? blocked() : std::string(); !why.empty() || !ispring)
      return respond(
          json_error(409, why.empty() ? "no ispring section in the configuration" : why));
    const auto if_match = parse_if_match(req.header("if-match"));
    if (!if_match) return respond(json_error(400, if_match.error()));
    const auto now = live.current();
    if (!*if_match)
      return respond(
          json_error(428, "If-Match is required: send the settings revision, If-Match: \"" +
                              std::to_string(now.revision) + "\""));
    if (**if_match != now.revision)
      return respond(json_error(409, "revision " + std::to_string(**if_match) +
                                         " is stale: the newest is " +
                                         std::to_string(now.revision)));
    const bool add_to_list = list_lacks(now.settings->sync, name);
    const auto& managed = live.file().file_managed;
    if (add_to_list && std::find(managed.begin(), managed.end(), "sync") != managed.end())
      return respond(json_error(409,
                                "sync.groups is set in the config file and does not name \"" +
                                    name + "\": add the group there (nothing was created)",
                                "sync"));
    auto id = create_group(*ispring, name);
    if (!id) return respond(std::move(id.error()));
    const auto who = admin_token_name(req, tokens).value_or("admin");
    log::info("ispring.group_created", "group \"{}\" created in iSpring ({}) by {}", name, *id,
              who);
    json body = {{"id", *id}, {"name", name}, {"revision", now.revision}, {"added_to_sync", false}};
    if (add_to_list) {
      auto sync = section_to_json(*now.settings, "sync");
      sync["groups"].push_back(name);
      const auto saved = live.save_section("sync", sync, *if_match, who);
      if (saved.status != 200)
        return respond(json_answer(saved.status, {{"error",
                                                   "the group was created in iSpring, but "
                                                   "sync.groups was not changed: " +
                                                       saved.error},
                                                  {"id", *id},
                                                  {"name", name}}));
      body["revision"] = saved.revision;
      body["added_to_sync"] = true;
    }
    respond(json_answer(201, body));
  };
}

}  // namespace

std::vector<http::route> make_group_routes(live_settings& live, ispring::api* ispring,
                                           std::function<std::string()> blocked,
                                           const std::vector<config::admin_token>& tokens) {
  return {{"POST", "/admin/ispring/groups",
           admin_only(tokens, add_group_handler(live, ispring, std::move(blocked), tokens))}};
}

}  // namespace connector::app

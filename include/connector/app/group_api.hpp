#pragma once
// The seed's "Add New Group", ahead of any user carrying it (issue 16 §5):
//   POST /admin/ispring/groups   {"name": "Compliance"}   If-Match: "R" (the settings revision)
//     201 {"id", "name", "revision", "added_to_sync": bool}
//         the group created in iSpring (POST /group); when sync.groups is a list without it,
//         added to it by settings revision R+1 (saved by the token's name)
//     409 {"error", "id", "name"}   a group of that name (ignoring case) already exists in
//         iSpring: reported, never duplicated, nothing saved
//     409 {"error", "key": "sync"}  sync.groups would need the name but the file sets sync
//     409 / 428                     a stale or missing If-Match, as PUT /admin/settings
//     400 {"error", "key": "name"}  no name
//     502 {"error"}                 iSpring refused or failed
// Every refusal that can be known before iSpring is asked is given before it is asked, so a
// refused request creates no group. Only a save that loses a race after the group was
// created answers 409 with the new group's "id" (the group exists; the list is unchanged).
#include <functional>
#include <string>
#include <vector>

#include "connector/app/live_settings.hpp"
#include "connector/config/config.hpp"
#include "connector/http/server.hpp"
#include "connector/ispring/api.hpp"

namespace connector::app {

// `blocked` says why nothing may be written to iSpring now (no ispring section, another
// organization configured: organization.hpp), empty when it may; then the route answers 409
// with it. `live` and `ispring` (null without an ispring section) must outlive the routes.
std::vector<http::route> make_group_routes(live_settings& live, ispring::api* ispring,
                                           std::function<std::string()> blocked,
                                           const std::vector<config::admin_token>& tokens);

}  // namespace connector::app

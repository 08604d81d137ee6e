#include "connector/sync/reconcile_plan.hpp"

#include <algorithm>
#include <charconv>
#include <nlohmann/json.hpp>
#include <sstream>
#include <unordered_set>

#include "text.hpp"

namespace connector::sync {
namespace {

bool has_kind(const planned_user& u, change_kind k) {
  return std::find(u.kinds.begin(), u.kinds.end(), k) != u.kinds.end();
}

// Indexes of the iSpring users by id, login and e-mail (lower case), first occurrence wins.
struct actual_index {
  std::unordered_map<std::string, std::size_t> by_id, by_login, by_email;

  explicit actual_index(const std::deque<ispring::user>& users) {
    by_id.reserve(users.size());
    by_login.reserve(users.size());
    by_email.reserve(users.size());
    for (std::size_t i = 0; i < users.size(); ++i) {
      by_id.emplace(users[i].id, i);
      if (!users[i].login.empty()) by_login.emplace(ascii_lower(users[i].login), i);
      if (!users[i].email.empty()) by_email.emplace(ascii_lower(users[i].email), i);
    }
  }

  static std::optional<std::size_t> find(const std::unordered_map<std::string, std::size_t>& map,
                                         const std::string& key) {
    const auto it = map.find(key);
    return it == map.end() ? std::nullopt : std::optional<std::size_t>(it->second);
  }
};

// Matches `u` by link, then login, then e-mail; `claimed` maps an iSpring user to the record
// that matched it first.
void match_user(planned_user& u, const reconcile_input& input, const actual_index& index,
                std::unordered_map<std::size_t, std::string>& claimed) {
  const auto& d = u.desired;
  std::optional<std::size_t> found;
  std::string how;
  if (const auto link = input.links.find(d.record_id); link != input.links.end()) {
    found = actual_index::find(index.by_id, link->second);
    how = "link";
  }
  if (!found && d.login && !d.login->empty()) {
    found = actual_index::find(index.by_login, ascii_lower(*d.login));
    how = "login";
  }
  if (!found && d.email && !d.email->empty()) {
    found = actual_index::find(index.by_email, ascii_lower(*d.email));
    how = "e-mail";
  }
  if (!found) return;
  const auto [it, inserted] = claimed.emplace(*found, d.record_id);
  if (!inserted) {
    u.plan.problem = "iSpring user " + input.actual[*found].id + " matched by " + how +
                     " is already matched to Salesforce user " + it->second;
    return;
  }
  u.actual = found;
  u.matched_by = how;
}

void classify(planned_user& u, bool deferred) {
  const user_plan& p = u.plan;
  u.kinds.clear();
  if (!p.problem.empty()) {
    u.kinds.push_back(change_kind::problem);
    return;
  }
  if (deferred) {
    u.kinds.push_back(change_kind::deferred);
    return;
  }
  if (p.create) u.kinds.push_back(change_kind::create);
  if (!p.create && !p.fields.empty()) u.kinds.push_back(change_kind::update);
  if (!p.create && p.department) u.kinds.push_back(change_kind::move);
  if (!p.add_groups.empty() || !p.remove_groups.empty()) u.kinds.push_back(change_kind::groups);
  if (p.status == ispring::user_status_active) u.kinds.push_back(change_kind::reactivate);
  if (p.status == ispring::user_status_inactive) u.kinds.push_back(change_kind::deactivate);
  if (p.remove) u.kinds.push_back(change_kind::remove);
  if (!u.kinds.empty()) return;
  const bool retiring =
      u.desired.action == sync_action::deactivate || u.desired.action == sync_action::remove;
  if (u.desired.action == sync_action::ignore || (retiring && !u.actual))
    u.kinds.push_back(change_kind::ignored);
  else
    u.kinds.push_back(change_kind::unchanged);
}

// The id of the department targets live under (root, or sync.parent_department); nullopt when
// the parent does not exist yet.
std::optional<std::string> target_parent_id(const directory_snapshot& dir,
                                            const std::optional<std::string>& parent) {
  const auto* root = dir.root();
  if (!root) return std::nullopt;
  if (!parent) return root->id;
  const auto* p = dir.find_department(*parent, root->id);
  return p ? std::optional<std::string>(p->id) : std::nullopt;
}

// The departments' part of the plan (the header's rule): where each department key's users
// go, which linked departments are renamed, which existing ones are adopted, which links are
// gone. Sets each upsert user's department_link.
void plan_departments(std::deque<planned_user>& users, const reconcile_input& input,
                      const config::sync_settings& sync, reconcile_plan& plan) {
  const auto& dir = input.directory;
  struct keyed_link {
    std::string key;  // as stored
    linked_department department;
  };
  std::unordered_map<std::string, keyed_link> links;  // by lower-case key
  std::set<std::string> gone;
  for (const auto& [key, link] : input.department_links) {
    // Under another parent (sync.parent_department changed): the key is placed anew, and the
    // old department, still owned, is deleted once empty.
    if (dir.find_linked(sync.parent_department, link.id))
      links.emplace(ascii_lower(key), keyed_link{key, link});
    else if (!dir.department_by_id(link.id))
      gone.insert(link.id);
  }
  plan.gone_departments.assign(gone.begin(), gone.end());

  // The configured name of every key users are bound for, then of linked keys nobody is bound
  // for this time (a rename follows the config, whatever users do).
  std::map<std::string, std::pair<std::string, std::string>> configured;  // lower key → key, name
  for (const auto& u : users)
    if (u.desired.action == sync_action::upsert && !u.desired.department.empty())
      configured.emplace(ascii_lower(u.desired.department_key),
                         std::pair{u.desired.department_key, u.desired.department});
  for (const auto& [lower, link] : links)
    if (!configured.contains(lower))
      if (auto name = configured_department_name(sync, link.key))
        configured.emplace(lower, std::pair{link.key, *name});

  const auto parent_id = target_parent_id(dir, sync.parent_department);
  std::unordered_map<std::string, linked_department> bound;  // lower key → where users go
  std::unordered_set<std::string> renamed;                   // department ids
  for (const auto& [lower, entry] : configured) {
    const auto& [key, name] = entry;
    if (const auto it = links.find(lower); it != links.end()) {
      const linked_department& link = it->second.department;
      const auto* d = dir.department_by_id(link.id);
      // Names compare ignoring case, as iSpring does: a case-only difference is no rename.
      const bool config_changed = !iequals(link.name, name);
      if (config_changed && !iequals(d->name, name) && renamed.insert(d->id).second) {
        department_rename r{d->id, d->name, name, key, {}};
        // iSpring refuses two siblings of one name, and the other one is not ours.
        if (d->parent_id)
          if (const auto* other = dir.find_department(name, *d->parent_id);
              other && other->id != d->id)
            r.problem =
                "another department named " + sync::quoted(other->name) + " exists beside it";
        plan.renames.push_back(std::move(r));
      } else if (config_changed && iequals(d->name, name)) {
        plan.adoptions.push_back({key, d->id, name});  // named so already: the link learns it
      }
      bound[lower] = {link.id, name};
      continue;
    }
    if (!parent_id) continue;
    if (const auto* d = dir.find_department(name, *parent_id)) {
      plan.adoptions.push_back({key, d->id, name});
      bound[lower] = {d->id, name};
    }
  }
  for (auto& u : users) {
    if (u.desired.action != sync_action::upsert) continue;
    if (const auto it = bound.find(ascii_lower(u.desired.department_key)); it != bound.end())
      u.desired.department_link = it->second;
  }
}

// sync.delete_empty_departments: linked departments left with no users at all.
std::vector<department_deletion> plan_deletions(const std::deque<planned_user>& users,
                                                const reconcile_input& input,
                                                const directory_snapshot& dir,
                                                const config::sync_settings& sync,
                                                const std::unordered_set<std::string>& owned) {
  std::vector<department_deletion> deletions;
  if (!sync.delete_empty_departments) return deletions;
  // Every iSpring user counts, managed or not: a department holding anyone stays.
  std::unordered_map<std::string, std::int64_t> members;
  for (const auto& a : input.actual) ++members[a.department_id];
  std::unordered_set<std::string> had_synced;
  std::unordered_set<std::string> targets;
  for (const auto& u : users) {
    if (u.actual) had_synced.insert(input.actual[*u.actual].department_id);
    if (u.desired.action == sync_action::upsert && u.plan.department &&
        !u.plan.department->id.empty())
      targets.insert(u.plan.department->id);
    if (u.desired.action == sync_action::upsert && u.actual && !u.plan.department)
      targets.insert(input.actual[*u.actual].department_id);
    if (!u.should_apply()) continue;
    if (u.plan.department && u.actual) {
      --members[input.actual[*u.actual].department_id];
      if (!u.plan.department->id.empty()) ++members[u.plan.department->id];
    }
    if (u.plan.remove && u.actual) --members[input.actual[*u.actual].department_id];
  }
  const auto* root = dir.root();
  const auto parent_id = sync.parent_department ? target_parent_id(dir, sync.parent_department)
                                                : std::optional<std::string>();
  std::unordered_set<std::string> has_children;
  for (const auto& d : dir.departments)
    if (d.parent_id) has_children.insert(*d.parent_id);
  for (const auto& d : dir.departments) {
    if (!owned.contains(d.id)) continue;  // never one the connector does not own
    if (!d.parent_id || (root && d.id == root->id) || (parent_id && d.id == *parent_id)) continue;
    if (has_children.contains(d.id) || targets.contains(d.id)) continue;
    if (const auto it = members.find(d.id); it != members.end() && it->second > 0) continue;
    deletions.push_back(
        {d.id, d.name, had_synced.contains(d.id) ? "left with no synchronised users" : "empty"});
  }
  return deletions;
}

}  // namespace

const char* to_string(change_kind kind) {
  switch (kind) {
    case change_kind::create:
      return "create";
    case change_kind::update:
      return "update";
    case change_kind::move:
      return "move";
    case change_kind::groups:
      return "groups";
    case change_kind::deactivate:
      return "deactivate";
    case change_kind::reactivate:
      return "reactivate";
    case change_kind::remove:
      return "delete";
    case change_kind::unchanged:
      return "unchanged";
    case change_kind::ignored:
      return "ignored";
    case change_kind::deferred:
      return "deferred";
    case change_kind::problem:
      return "problem";
  }
  return "unknown";
}

bool planned_user::should_apply() const {
  if (kinds.empty()) return false;
  for (const auto k : kinds)
    if (k == change_kind::deferred || k == change_kind::problem || k == change_kind::unchanged ||
        k == change_kind::ignored)
      return false;
  return true;
}

std::optional<std::size_t> deactivation_limit(const std::optional<std::string>& setting,
                                              std::size_t synchronised) {
  if (!setting || setting->empty()) return std::nullopt;
  std::string text = *setting;
  const bool share = text.back() == '%';
  if (share) text.pop_back();
  double value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < 0) return std::nullopt;
  if (!share) return static_cast<std::size_t>(value);
  return static_cast<std::size_t>(static_cast<double>(synchronised) * value / 100.0);
}

std::map<std::string, std::int64_t> reconcile_plan::counts() const {
  std::map<std::string, std::int64_t> c;
  for (const char* key : {"create", "update", "move", "groups", "deactivate", "reactivate",
                          "delete", "unchanged", "ignored", "deferred", "problem"})
    c[key] = 0;
  std::int64_t in_scope = 0, salesforce_users = 0;
  for (const auto& u : users) {
    for (const auto k : u.kinds) ++c[to_string(k)];
    if (u.desired.action == sync_action::upsert) ++in_scope;
    if (u.matched_by != "gone") ++salesforce_users;
  }
  c["problems"] = c["problem"];
  c.erase("problem");
  c["in_scope"] = in_scope;
  c["salesforce_users"] = salesforce_users;
  c["departments_renamed"] = std::count_if(
      renames.begin(), renames.end(), [](const department_rename& r) { return r.problem.empty(); });
  c["departments_adopted"] = static_cast<std::int64_t>(adoptions.size());
  c["departments_created"] = static_cast<std::int64_t>(departments_to_create.size());
  c["departments_deleted"] = static_cast<std::int64_t>(deletions.size());
  c["to_apply"] = static_cast<std::int64_t>(to_apply());
  return c;
}

std::size_t reconcile_plan::to_apply() const {
  return static_cast<std::size_t>(std::count_if(
      users.begin(), users.end(), [](const planned_user& u) { return u.should_apply(); }));
}

reconcile_plan make_reconcile_plan(reconcile_input& input, const config::sync_settings& sync) {
  reconcile_plan plan;
  const actual_index index(input.actual);
  std::unordered_map<std::size_t, std::string> claimed;
  claimed.reserve(input.desired.size());

  std::unordered_set<std::string> seen;
  seen.reserve(input.desired.size());
  // Each desired user moves into its plan and leaves the input at once: never both copies.
  while (!input.desired.empty()) {
    planned_user u;
    u.desired = std::move(input.desired.front());
    input.desired.pop_front();
    seen.insert(u.desired.record_id);
    if (u.desired.action != sync_action::ignore) match_user(u, input, index, claimed);
    plan.users.push_back(std::move(u));
  }

  // Linked iSpring users whose record the query no longer returns.
  if (input.salesforce_complete) {
    std::vector<std::pair<std::string, std::size_t>> gone;
    for (const auto& [record, user_id] : input.links) {
      if (seen.contains(record)) continue;
      const auto found = actual_index::find(index.by_id, user_id);
      if (found && !claimed.contains(*found)) gone.emplace_back(record, *found);
    }
    std::sort(gone.begin(), gone.end());
    for (const auto& [record, at] : gone) {
      planned_user u;
      u.desired.record_id = record;
      u.desired.login = input.actual[at].login;
      u.desired.email = input.actual[at].email;
      switch (sync.out_of_scope_users) {
        case config::user_action::deactivate:
          u.desired.action = sync_action::deactivate;
          break;
        case config::user_action::remove:
          u.desired.action = sync_action::remove;
          break;
        case config::user_action::ignore:
          u.desired.action = sync_action::ignore;
          break;
      }
      u.desired.reason = "the Salesforce query no longer returns this user";
      u.actual = at;
      u.matched_by = "gone";
      claimed.emplace(at, record);
      plan.users.push_back(std::move(u));
    }
  }

  plan_departments(plan.users, input, sync, plan);
  directory_snapshot after = input.directory;
  for (const auto& r : plan.renames)
    if (r.problem.empty())
      for (auto& d : after.departments)
        if (d.id == r.id) d.name = r.to;

  std::set<std::string> to_create;
  for (auto& u : plan.users) {
    const std::string problem = u.plan.problem;
    u.plan = plan_user(u.desired, u.actual ? &input.actual[*u.actual] : nullptr, after);
    if (!problem.empty()) u.plan.problem = problem;
    classify(u, input.in_flight.contains(u.desired.record_id));
    if (u.should_apply() && u.plan.department && u.plan.department->id.empty())
      to_create.insert(u.plan.department->name);
    if (u.actual && u.matched_by != "link" && u.matched_by != "gone" &&
        !has_kind(u, change_kind::problem))
      plan.new_links.emplace_back(u.desired.record_id, input.actual[*u.actual].id);
  }
  if (sync.parent_department && !to_create.empty() &&
      !target_parent_id(after, sync.parent_department))
    to_create.insert(*sync.parent_department);
  plan.departments_to_create.assign(to_create.begin(), to_create.end());
  std::unordered_set<std::string> owned;
  for (const auto& [key, link] : input.department_links) owned.insert(link.id);
  for (const auto& a : plan.adoptions) owned.insert(a.id);
  plan.deletions = plan_deletions(plan.users, input, after, sync, owned);
  // A department deleted for good needs no new name.
  std::erase_if(plan.renames, [&](const department_rename& r) {
    return std::any_of(plan.deletions.begin(), plan.deletions.end(),
                       [&](const department_deletion& d) { return d.id == r.id; });
  });
  for (auto& d : plan.deletions)
    if (const auto* before = input.directory.department_by_id(d.id)) d.name = before->name;

  auto& safety = plan.safety;
  safety.synchronised = claimed.size();
  for (const auto& u : plan.users)
    if (has_kind(u, change_kind::deactivate) || has_kind(u, change_kind::remove))
      ++safety.retirements;
  safety.limit = deactivation_limit(sync.max_deactivations, safety.synchronised);
  if (safety.limit && safety.retirements > *safety.limit) {
    safety.exceeded = true;
    safety.message = "the plan would deactivate or delete " + std::to_string(safety.retirements) +
                     " users; sync.max_deactivations allows " + std::to_string(*safety.limit) +
                     " (" + *sync.max_deactivations + " of " + std::to_string(safety.synchronised) +
                     " synchronised users)";
  }
  return plan;
}

// --- output --------------------------------------------------------------------------------

namespace {

bool shown(const planned_user& u, bool all) {
  if (all) return true;
  return u.should_apply() || has_kind(u, change_kind::problem) ||
         has_kind(u, change_kind::deferred);
}

std::string actions_text(const planned_user& u) {
  std::string text;
  for (const auto k : u.kinds) text += (text.empty() ? "" : ",") + std::string(to_string(k));
  return text;
}

std::string login_of(const planned_user& u, const reconcile_input& input) {
  if (u.desired.login && !u.desired.login->empty()) return *u.desired.login;
  if (u.actual) return input.actual[*u.actual].login;
  return {};
}

std::vector<std::string> change_lines(const planned_user& u) {
  std::vector<std::string> lines = u.plan.describe();
  if (has_kind(u, change_kind::deferred))
    lines.insert(lines.begin(), "a notification is pending: the sync worker applies it");
  if (lines.empty() && !u.desired.reason.empty()) lines.push_back(u.desired.reason);
  return lines;
}

}  // namespace

nlohmann::json plan_to_json(const reconcile_plan& plan, const reconcile_input& input, bool all) {
  nlohmann::json users = nlohmann::json::array();
  for (const auto& u : plan.users) {
    // Users left out of scope stay in the stored plan with their reason: the admin page
    // tells who falls out and why (the table output leaves them to --all).
    if (!shown(u, all) && !has_kind(u, change_kind::ignored)) continue;
    nlohmann::json row = {{"record_id", u.desired.record_id},
                          {"login", login_of(u, input)},
                          {"ispring_user_id", u.actual ? input.actual[*u.actual].id : ""},
                          {"matched_by", u.matched_by},
                          {"reason", u.desired.reason},
                          {"changes", change_lines(u)}};
    nlohmann::json actions = nlohmann::json::array();
    for (const auto k : u.kinds) actions.push_back(to_string(k));
    row["actions"] = std::move(actions);
    if (!u.plan.problem.empty()) row["problem"] = u.plan.problem;
    users.push_back(std::move(row));
  }
  nlohmann::json renames = nlohmann::json::array();
  for (const auto& r : plan.renames) {
    nlohmann::json row = {{"id", r.id}, {"from", r.from}, {"to", r.to}, {"key", r.key}};
    if (!r.problem.empty()) row["problem"] = r.problem;
    renames.push_back(std::move(row));
  }
  nlohmann::json adoptions = nlohmann::json::array();
  for (const auto& a : plan.adoptions)
    adoptions.push_back({{"id", a.id}, {"name", a.name}, {"key", a.key}});
  nlohmann::json deletions = nlohmann::json::array();
  for (const auto& d : plan.deletions)
    deletions.push_back({{"id", d.id}, {"name", d.name}, {"reason", d.reason}});
  nlohmann::json safety = {{"retirements", plan.safety.retirements},
                           {"synchronised", plan.safety.synchronised},
                           {"exceeded", plan.safety.exceeded},
                           {"message", plan.safety.message}};
  safety["limit"] = plan.safety.limit ? nlohmann::json(*plan.safety.limit) : nlohmann::json();
  return {{"counts", plan.counts()},
          {"users", std::move(users)},
          {"departments",
           {{"rename", std::move(renames)},
            {"adopt", std::move(adoptions)},
            {"create", plan.departments_to_create},
            {"delete", std::move(deletions)}}},
          {"safety", std::move(safety)}};
}

std::string plan_to_table(const reconcile_plan& plan, const reconcile_input& input, bool all) {
  struct row {
    std::string actions, record, login, change;
  };
  std::vector<row> rows;
  for (const auto& u : plan.users) {
    if (!shown(u, all)) continue;
    const auto lines = change_lines(u);
    for (std::size_t i = 0; i < std::max<std::size_t>(lines.size(), 1); ++i)
      rows.push_back({i == 0 ? actions_text(u) : "", i == 0 ? u.desired.record_id : "",
                      i == 0 ? login_of(u, input) : "", i < lines.size() ? lines[i] : ""});
  }
  std::size_t w_actions = 7, w_record = 6, w_login = 5;
  for (const auto& r : rows) {
    w_actions = std::max(w_actions, r.actions.size());
    w_record = std::max(w_record, r.record.size());
    w_login = std::min<std::size_t>(40, std::max(w_login, r.login.size()));
  }
  std::ostringstream out;
  const auto pad = [](const std::string& text, std::size_t width) {
    return text.size() >= width ? text : text + std::string(width - text.size(), ' ');
  };
  if (!rows.empty()) {
    out << pad("ACTIONS", w_actions) << "  " << pad("RECORD", w_record) << "  "
        << pad("LOGIN", w_login) << "  CHANGES\n";
    for (const auto& r : rows)
      out << pad(r.actions, w_actions) << "  " << pad(r.record, w_record) << "  "
          << pad(r.login, w_login) << "  " << r.change << '\n';
  } else {
    out << "No user changes.\n";
  }
  for (const auto& r : plan.renames) {
    if (r.problem.empty())
      out << "rename department " << sync::quoted(r.from) << " → " << sync::quoted(r.to)
          << " (its name for " << sync::quoted(r.key) << " changed)\n";
    else
      out << "cannot rename department " << sync::quoted(r.from) << " → " << sync::quoted(r.to)
          << ": " << r.problem << '\n';
  }
  for (const auto& a : plan.adoptions)
    out << "link department " << sync::quoted(a.name) << " to " << sync::quoted(a.key)
        << " (exists: the connector owns it from now on)\n";
  for (const auto& name : plan.departments_to_create)
    out << "create department " << sync::quoted(name) << '\n';
  for (const auto& d : plan.deletions)
    out << "delete department " << sync::quoted(d.name) << " (" << d.reason << ")\n";
  if (plan.safety.exceeded) out << "SAFETY LIMIT: " << plan.safety.message << '\n';
  const auto counts = plan.counts();
  out << "\nSalesforce users " << counts.at("salesforce_users") << ", iSpring users "
      << input.actual.size() << "; to apply " << counts.at("to_apply") << ":";
  for (const char* key : {"create", "update", "move", "groups", "deactivate", "reactivate",
                          "delete", "unchanged", "ignored", "deferred", "problems"})
    out << ' ' << key << ' ' << counts.at(key);
  out << '\n';
  return out.str();
}

}  // namespace connector::sync

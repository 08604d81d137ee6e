#include "connector/sync/reconcile_plan.hpp"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <sstream>
#include <unordered_set>

#include "connector/sync/hash_slots.hpp"
#include "text.hpp"

namespace connector::sync {
namespace {

bool has_kind(const planned_user& u, change_kind k) {
  return std::find(u.kinds.begin(), u.kinds.end(), k) != u.kinds.end();
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
  c["unchanged"] += omitted.unchanged;
  c["in_scope"] = in_scope + omitted.in_scope;
  c["salesforce_users"] = salesforce_users + omitted.salesforce_users;
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

// --- stored links ------------------------------------------------------------------------------

void stored_links::add(std::string_view record_id, std::string_view ispring_user_id) {
  const auto number = static_cast<std::uint32_t>(starts_.size());
  if (by_record_.insert(hash_slots::hash(record_id), number,
                        [&](std::uint32_t other) { return this->record_id(other) == record_id; }))
    return;
  scratch_.assign(record_id);
  scratch_.push_back('\0');
  scratch_.append(ispring_user_id);
  scratch_.push_back('\0');
  starts_.push_back(texts_.append(scratch_));
}

std::optional<std::size_t> stored_links::find(std::string_view record_id) const {
  return by_record_.find(hash_slots::hash(record_id),
                         [&](std::uint32_t link) { return this->record_id(link) == record_id; });
}

std::string_view stored_links::record_id(std::size_t link) const {
  const auto texts = texts_.from(starts_[link]);
  return texts.substr(0, texts.find('\0'));
}

std::string_view stored_links::ispring_user_id(std::size_t link) const {
  auto texts = texts_.from(starts_[link]);
  texts.remove_prefix(texts.find('\0') + 1);
  return texts.substr(0, texts.find('\0'));
}

// --- the planner -----------------------------------------------------------------------------

namespace {

constexpr std::uint32_t unclaimed = UINT32_MAX;

// The text that begins at `at` in `texts` and ends at a NUL: many short strings in one.
std::string_view text_at(const std::string& texts, std::uint32_t at) {
  return std::string_view(texts.data() + at);
}

std::uint32_t append_text(std::string& texts, std::string_view text) {
  const auto at = static_cast<std::uint32_t>(texts.size());
  texts.append(text);
  texts.push_back('\0');
  return at;
}

// The stored links against the iSpring users. A link to a user iSpring no longer has matches
// nothing, as no link, and is never retired.
class link_table {
 public:
  link_table(const ispring_index& actual, stored_links links)
      : actual_(actual), links_(std::move(links)), seen_(links_.size(), false) {}

  // The iSpring user linked to `record`, which is now seen.
  std::optional<std::size_t> see(std::string_view record) {
    const auto link = links_.find(record);
    if (!link) return std::nullopt;
    const auto user = actual_.find_id(links_.ispring_user_id(*link));
    if (user) seen_[*link] = true;
    return user;
  }

  // (record id, iSpring user) of the links no Salesforce user was seen for.
  std::vector<std::pair<std::string, std::size_t>> unseen() const {
    std::vector<std::pair<std::string, std::size_t>> out;
    for (std::size_t i = 0; i < links_.size(); ++i)
      if (!seen_[i])
        if (const auto user = actual_.find_id(links_.ispring_user_id(i)))
          out.emplace_back(links_.record_id(i), *user);
    return out;
  }

 private:
  const ispring_index& actual_;
  stored_links links_;
  std::vector<bool> seen_;
};

// The departments' part of the plan (the header's rule), key by key as users bring them:
// where each department key's users go, which linked departments are renamed, which existing
// ones are adopted, which links are gone.
class department_planner {
 public:
  department_planner(const directory_snapshot& before,
                     const std::map<std::string, linked_department>& links,
                     const config::sync_settings& sync)
      : dir_(before), sync_(sync), parent_id_(target_parent_id(before, sync.parent_department)) {
    for (const auto& [key, link] : links) {
      // Under another parent (sync.parent_department changed): the key is placed anew, and
      // the old department, still owned, is deleted once empty.
      if (dir_.find_linked(sync.parent_department, link.id))
        links_.emplace(ascii_lower(key), keyed_link{key, link});
      else if (!dir_.department_by_id(link.id))
        gone_.insert(link.id);
    }
  }

  // Sets an upsert user's department_link; the first user of a key plans its department.
  // True when that renamed a department in `after`.
  bool bind(desired_user& user, directory_snapshot& after) {
    if (user.action != sync_action::upsert) return false;
    const std::string lower = ascii_lower(user.department_key);
    const std::size_t renames = renames_.size();
    if (!user.department.empty() && configured_.insert(lower).second)
      configure(lower, user.department_key, user.department, after);
    if (const auto it = bound_.find(lower); it != bound_.end()) user.department_link = it->second;
    return renames_.size() != renames;
  }

  // Linked keys nobody was bound for this time: a rename follows the config, whatever users do.
  void finish(directory_snapshot& after) {
    for (const auto& [lower, link] : links_)
      if (!configured_.contains(lower))
        if (auto name = configured_department_name(sync_, link.key)) {
          configured_.insert(lower);
          configure(lower, link.key, *name, after);
        }
  }

  bool renamed_any() const { return !renames_.empty(); }

  void into(reconcile_plan& plan) const {
    for (const auto& [lower, r] : renames_) plan.renames.push_back(r);
    for (const auto& [lower, a] : adoptions_) plan.adoptions.push_back(a);
    plan.gone_departments.assign(gone_.begin(), gone_.end());
  }

 private:
  struct keyed_link {
    std::string key;  // as stored
    linked_department department;
  };

  void configure(const std::string& lower, const std::string& key, const std::string& name,
                 directory_snapshot& after) {
    if (const auto it = links_.find(lower); it != links_.end()) {
      const linked_department& link = it->second.department;
      const auto* d = dir_.department_by_id(link.id);
      // Names compare ignoring case, as iSpring does: a case-only difference is no rename.
      const bool config_changed = !iequals(link.name, name);
      if (config_changed && !iequals(d->name, name) && renamed_.insert(d->id).second)
        rename(lower, department_rename{d->id, d->name, name, key, {}}, after);
      else if (config_changed && iequals(d->name, name))
        adoptions_[lower] = {key, d->id, name};  // named so already: the link learns it
      bound_[lower] = {link.id, name};
      return;
    }
    if (!parent_id_) return;
    if (const auto* d = dir_.find_department(name, *parent_id_)) {
      adoptions_[lower] = {key, d->id, name};
      bound_[lower] = {d->id, name};
    }
  }

  void rename(const std::string& lower, department_rename r, directory_snapshot& after) {
    const auto* d = dir_.department_by_id(r.id);
    // iSpring refuses two siblings of one name, and the other one is not ours.
    if (d->parent_id)
      if (const auto* other = dir_.find_department(r.to, *d->parent_id);
          other && other->id != d->id)
        r.problem = "another department named " + sync::quoted(other->name) + " exists beside it";
    if (r.problem.empty())
      for (auto& department : after.departments)
        if (department.id == r.id) department.name = r.to;
    renames_[lower] = std::move(r);
  }

  const directory_snapshot& dir_;
  const config::sync_settings& sync_;
  const std::optional<std::string> parent_id_;
  std::unordered_map<std::string, keyed_link> links_;  // by lower-case key
  std::set<std::string> gone_;
  std::unordered_set<std::string> configured_;                // lower-case keys
  std::unordered_map<std::string, linked_department> bound_;  // lower key → where users go
  std::unordered_set<std::string> renamed_;                   // department ids
  std::map<std::string, department_rename> renames_;          // by lower key, as before
  std::map<std::string, department_adoption> adoptions_;
};

bool only_unchanged(const planned_user& u) {
  return u.kinds.size() == 1 && u.kinds.front() == change_kind::unchanged;
}

}  // namespace

struct reconcile_planner::state {
  state(const ispring_index& a, reconcile_sources& sources, const config::sync_settings& s,
        bool keep)
      : actual(a),
        links(a, std::move(sources.links)),
        sync(s),
        keep_unchanged(keep),
        before(std::move(sources.directory)),
        after(before),
        department_links(std::move(sources.department_links)),
        in_flight(std::move(sources.in_flight)),
        departments(before, department_links, s),
        claimed_by(a.size(), unclaimed) {}

  const ispring_index& actual;
  link_table links;
  const config::sync_settings& sync;
  const bool keep_unchanged;
  directory_snapshot before;
  directory_snapshot after;  // with the renames planned so far
  std::map<std::string, linked_department> department_links;
  std::set<std::string> in_flight;
  department_planner departments;
  // Per iSpring user, where the record id that matched it first begins in `claims`.
  std::vector<std::uint32_t> claimed_by;
  std::string claims;
  std::size_t claimed = 0;
  // The departments of omitted users (plan_deletions): had synchronised users, stay targets.
  std::unordered_set<std::string> had_synced, targets;
  std::unordered_map<std::string, std::string> targets_by_key;  // target_department_id's
  reconcile_plan plan;

  void claim(std::size_t user, const std::string& record) {
    if (claimed_by[user] != unclaimed) return;
    claimed_by[user] = append_text(claims, record);
    ++claimed;
  }

  // Matches `u` by link, then login, then e-mail; an iSpring user goes to the first record.
  std::optional<std::size_t> match(planned_user& u, std::optional<std::size_t> linked) {
    const auto& d = u.desired;
    std::optional<std::size_t> found = linked;
    std::string how = "link";
    if (!found && d.login && !d.login->empty()) {
      found = actual.find_login(*d.login);
      how = "login";
    }
    if (!found && d.email && !d.email->empty()) {
      found = actual.find_email(*d.email);
      how = "e-mail";
    }
    if (!found) return std::nullopt;
    if (claimed_by[*found] != unclaimed) {
      u.plan.problem = "iSpring user " + actual.id(*found) + " matched by " + how +
                       " is already matched to Salesforce user " +
                       std::string(text_at(claims, claimed_by[*found]));
      return std::nullopt;
    }
    claim(*found, d.record_id);
    u.matched_by = how;
    return found;
  }

  void replan(planned_user& u) {
    const std::string problem = u.plan.problem;  // a matching problem stays
    u.plan = plan_user(u.desired, u.actual ? &*u.actual : nullptr, after);
    if (!problem.empty()) u.plan.problem = problem;
    classify(u, in_flight.contains(u.desired.record_id));
  }

  // Plans `u` (matched to iSpring user `at`) and keeps it, or counts it when unchanged.
  void plan_and_keep(planned_user u, std::optional<std::size_t> at) {
    if (!keep_unchanged && at && agrees(u, *at)) return omit(u, &actual.department_id(*at));
    if (at) u.actual = actual.at(*at);
    replan(u);
    if (keep_unchanged || !only_unchanged(u)) {
      plan.users.push_back(std::move(u));
      return;
    }
    omit(u, u.actual ? &u.actual->department_id : nullptr);
  }

  void omit(const planned_user& u, const std::string* department_id) {
    ++plan.omitted.unchanged;
    const bool upsert = u.desired.action == sync_action::upsert;
    if (upsert) ++plan.omitted.in_scope;
    if (u.matched_by != "gone") ++plan.omitted.salesforce_users;
    if (department_id) {
      had_synced.insert(*department_id);
      if (upsert) targets.insert(*department_id);  // unchanged: it stays there
    }
  }

  // Would plan_user find nothing to change for `u` and iSpring user `at`? Read off the packed
  // user, without decoding it: the case of nearly every user of a scheduled run. False when
  // unsure (groups to compare, anything but an upsert or a deactivation): then plan_user says.
  bool agrees(const planned_user& u, std::size_t at) {
    const desired_user& d = u.desired;
    if (!u.plan.problem.empty() || in_flight.contains(d.record_id)) return false;
    const int status = actual.status(at);
    if (d.action == sync_action::deactivate) return status != ispring::user_status_active;
    if (d.action != sync_action::upsert || d.groups) return false;
    if (d.active == true && status != ispring::user_status_active) return false;
    const std::string& target = target_department_id(d);
    if (target.empty() || target != actual.department_id(at)) return false;
    for (const auto& [field, value] : d.fields) {
      if (field == "login" && value.empty()) continue;  // the match key is never cleared
      if (!same_field_value(field, actual.field(at, field).value_or(""), value)) return false;
    }
    return true;
  }

  // The department plan_user sends `d` to (empty: one to create), by key and name: the same
  // for all of a key's users until a rename.
  const std::string& target_department_id(const desired_user& d) {
    std::string key = d.department_key + '\n' + d.department;
    if (const auto it = targets_by_key.find(key); it != targets_by_key.end()) return it->second;
    const ispring::department* linked =
        d.department_link ? after.find_linked(d.parent_department, d.department_link->id) : nullptr;
    if (!linked) linked = after.find_target(d.parent_department, d.department);
    return targets_by_key.emplace(std::move(key), linked ? linked->id : std::string())
        .first->second;
  }

  void retire_gone_links();
  std::vector<department_deletion> plan_deletions(const std::unordered_set<std::string>& owned);
  void plan_departments_to_create();
  void check_safety();
};

// Linked iSpring users whose record the query no longer returns.
void reconcile_planner::state::retire_gone_links() {
  std::vector<std::pair<std::string, std::size_t>> gone;
  for (auto& [record, at] : links.unseen())
    if (claimed_by[at] == unclaimed) gone.emplace_back(std::move(record), at);
  std::sort(gone.begin(), gone.end());
  for (auto& [record, at] : gone) {
    const ispring::user user = actual.at(at);
    planned_user u;
    u.desired.record_id = record;
    u.desired.login = user.login;
    u.desired.email = user.email;
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
    u.matched_by = "gone";
    claim(at, record);
    plan_and_keep(std::move(u), at);
  }
}

// sync.delete_empty_departments: linked departments left with no users at all.
std::vector<department_deletion> reconcile_planner::state::plan_deletions(
    const std::unordered_set<std::string>& owned) {
  std::vector<department_deletion> deletions;
  if (!sync.delete_empty_departments) return deletions;
  // Every iSpring user counts, managed or not: a department holding anyone stays.
  auto members = actual.users_per_department();
  for (const auto& u : plan.users) {
    const std::string* from = u.actual ? &u.actual->department_id : nullptr;
    const bool upsert = u.desired.action == sync_action::upsert;
    if (from) had_synced.insert(*from);
    if (upsert && u.plan.department && !u.plan.department->id.empty())
      targets.insert(u.plan.department->id);
    if (upsert && from && !u.plan.department) targets.insert(*from);
    if (!u.should_apply() || !from) continue;
    if (u.plan.department) {
      --members[*from];
      if (!u.plan.department->id.empty()) ++members[u.plan.department->id];
    }
    if (u.plan.remove) --members[*from];
  }
  const auto* root = after.root();
  const auto parent_id = sync.parent_department ? target_parent_id(after, sync.parent_department)
                                                : std::optional<std::string>();
  std::unordered_set<std::string> has_children;
  for (const auto& d : after.departments)
    if (d.parent_id) has_children.insert(*d.parent_id);
  for (const auto& d : after.departments) {
    if (!owned.contains(d.id)) continue;  // never one the connector does not own
    if (!d.parent_id || (root && d.id == root->id) || (parent_id && d.id == *parent_id)) continue;
    if (has_children.contains(d.id) || targets.contains(d.id)) continue;
    if (const auto it = members.find(d.id); it != members.end() && it->second > 0) continue;
    deletions.push_back(
        {d.id, d.name, had_synced.contains(d.id) ? "left with no synchronised users" : "empty"});
  }
  return deletions;
}

void reconcile_planner::state::plan_departments_to_create() {
  std::set<std::string> to_create;
  for (const auto& u : plan.users)
    if (u.should_apply() && u.plan.department && u.plan.department->id.empty())
      to_create.insert(u.plan.department->name);
  if (sync.parent_department && !to_create.empty() &&
      !target_parent_id(after, sync.parent_department))
    to_create.insert(*sync.parent_department);
  plan.departments_to_create.assign(to_create.begin(), to_create.end());
  std::unordered_set<std::string> owned;
  for (const auto& [key, link] : department_links) owned.insert(link.id);
  for (const auto& a : plan.adoptions) owned.insert(a.id);
  plan.deletions = plan_deletions(owned);
  // A department deleted for good needs no new name.
  std::erase_if(plan.renames, [&](const department_rename& r) {
    return std::any_of(plan.deletions.begin(), plan.deletions.end(),
                       [&](const department_deletion& d) { return d.id == r.id; });
  });
  for (auto& d : plan.deletions)
    if (const auto* was = before.department_by_id(d.id)) d.name = was->name;
}

void reconcile_planner::state::check_safety() {
  auto& safety = plan.safety;
  safety.synchronised = claimed;
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
}

reconcile_planner::reconcile_planner(const ispring_index& actual, reconcile_sources sources,
                                     const config::sync_settings& sync, bool keep_unchanged)
    : s_(std::make_unique<state>(actual, sources, sync, keep_unchanged)) {}

reconcile_planner::~reconcile_planner() = default;

void reconcile_planner::add(desired_user user) {
  state& s = *s_;
  planned_user u;
  u.desired = std::move(user);
  const auto linked = s.links.see(u.desired.record_id);
  std::optional<std::size_t> at;
  if (u.desired.action != sync_action::ignore) at = s.match(u, linked);
  if (s.departments.bind(u.desired, s.after)) s.targets_by_key.clear();  // names changed
  if (at && u.matched_by != "link")
    s.plan.new_links.emplace_back(u.desired.record_id, s.actual.id(*at));
  s.plan_and_keep(std::move(u), at);
}

reconcile_plan reconcile_planner::finish(bool salesforce_complete,
                                         const std::set<std::string>& in_flight_now) {
  state& s = *s_;
  s.departments.finish(s.after);
  s.in_flight.insert(in_flight_now.begin(), in_flight_now.end());
  // Users planned before a later key's rename, or before their record went in flight.
  if (s.departments.renamed_any() || !in_flight_now.empty())
    for (auto& u : s.plan.users) s.replan(u);
  if (salesforce_complete) s.retire_gone_links();
  s.departments.into(s.plan);
  s.plan_departments_to_create();
  s.check_safety();
  s.plan.ispring_users = s.actual.size();
  return std::move(s.plan);
}

reconcile_plan make_reconcile_plan(reconcile_input& input, const config::sync_settings& sync) {
  ispring_index index;
  for (const auto& u : input.actual) index.add(u);
  index.seal();
  reconcile_sources sources{input.directory, {}, input.department_links, input.in_flight};
  for (const auto& [record_id, user_id] : input.links) sources.links.add(record_id, user_id);
  reconcile_planner planner(index, std::move(sources), sync, true);
  // Each desired user moves into its plan and leaves the input at once: never both copies.
  while (!input.desired.empty()) {
    planner.add(std::move(input.desired.front()));
    input.desired.pop_front();
  }
  return planner.finish(input.salesforce_complete);
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

std::string login_of(const planned_user& u) {
  if (u.desired.login && !u.desired.login->empty()) return *u.desired.login;
  if (u.actual) return u.actual->login;
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

nlohmann::json plan_to_json(const reconcile_plan& plan, bool all) {
  nlohmann::json users = nlohmann::json::array();
  for (const auto& u : plan.users) {
    // Users left out of scope stay in the stored plan with their reason: the admin page
    // tells who falls out and why (the table output leaves them to --all).
    if (!shown(u, all) && !has_kind(u, change_kind::ignored)) continue;
    nlohmann::json row = {{"record_id", u.desired.record_id},
                          {"login", login_of(u)},
                          {"ispring_user_id", u.actual ? u.actual->id : ""},
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

std::string plan_to_table(const reconcile_plan& plan, bool all) {
  struct row {
    std::string actions, record, login, change;
  };
  std::vector<row> rows;
  for (const auto& u : plan.users) {
    if (!shown(u, all)) continue;
    const auto lines = change_lines(u);
    for (std::size_t i = 0; i < std::max<std::size_t>(lines.size(), 1); ++i)
      rows.push_back({i == 0 ? actions_text(u) : "", i == 0 ? u.desired.record_id : "",
                      i == 0 ? login_of(u) : "", i < lines.size() ? lines[i] : ""});
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
      << plan.ispring_users << "; to apply " << counts.at("to_apply") << ":";
  for (const char* key : {"create", "update", "move", "groups", "deactivate", "reactivate",
                          "delete", "unchanged", "ignored", "deferred", "problems"})
    out << ' ' << key << ' ' << counts.at(key);
  out << '\n';
  return out.str();
}

}  // namespace connector::sync

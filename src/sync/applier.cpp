// The applier and the directory cache. Section numbers (§) refer to
// ../shared/reference/ispring-learn-api.md.
#include "connector/sync/applier.hpp"

#include <algorithm>
#include <string_view>
#include <unordered_set>
#include <utility>

#include "text.hpp"

namespace connector::sync {
namespace {

using snapshot_ptr = std::shared_ptr<const directory_snapshot>;

// The failure with what we were doing in front of iSpring's message, so the operator reads
// "create user 'jane@acme.com' in 'Sales': Invalid value for field email".
ispring::failure in_context(const std::string& what, ispring::failure f) {
  if (what.empty()) return f;
  f.message = f.message.empty() ? what : what + ": " + f.message;
  return f;
}

// A failure found by the sync itself rather than reported by iSpring.
ispring::failure own_failure(ispring::failure_kind kind, std::string message) {
  ispring::failure f;
  f.kind = kind;
  f.message = std::move(message);
  return f;
}

// 400 and 409 both may mean "exists already" on a create (§4.3); a retryable or auth
// failure says nothing about existence.
bool may_exist_already(const ispring::failure& f) {
  return f.kind == ispring::failure_kind::conflict ||
         (f.kind == ispring::failure_kind::rejected && f.http_status == 400);
}

}  // namespace

// --- directory -----------------------------------------------------------------------------

directory::directory(ispring::api& api) : api_(api) {}

snapshot_ptr directory::current() {
  std::lock_guard lock(state_mutex_);
  return snapshot_;
}

void directory::publish(snapshot_ptr snapshot) {
  std::lock_guard lock(state_mutex_);
  snapshot_ = std::move(snapshot);
}

ispring::result<snapshot_ptr> directory::load_departments(const snapshot_ptr& base) {
  auto departments = api_.list_departments();
  if (!departments) return unexpected{in_context("list departments", departments.error())};
  auto next = std::make_shared<directory_snapshot>(base ? *base : directory_snapshot{});
  next->departments = std::move(*departments);
  publish(next);
  return snapshot_ptr(next);
}

ispring::result<snapshot_ptr> directory::load_groups(const snapshot_ptr& base) {
  auto groups = api_.list_groups();
  if (!groups) return unexpected{in_context("list groups", groups.error())};
  auto next = std::make_shared<directory_snapshot>(base ? *base : directory_snapshot{});
  next->groups = std::move(*groups);
  publish(next);
  return snapshot_ptr(next);
}

ispring::result<snapshot_ptr> directory::snapshot() {
  if (auto s = current()) return s;
  std::lock_guard create(create_mutex_);
  if (auto s = current()) return s;  // another apply loaded it while we waited
  auto with_departments = load_departments(nullptr);
  if (!with_departments) return with_departments;
  return load_groups(*with_departments);
}

ispring::result<snapshot_ptr> directory::refresh_groups() {
  auto base = snapshot();
  if (!base) return base;
  std::lock_guard create(create_mutex_);
  return load_groups(current());
}

namespace {

// A linked department needs a rename when the connector last gave it another name than the
// configured one, and nobody has given it that name since (ignoring case, as iSpring does).
bool needs_rename(const linked_department& link, const ispring::department& current,
                  const std::string& name) {
  return !iequals(link.name, name) && !iequals(current.name, name);
}

}  // namespace

ispring::result<directory::ensured> directory::ensure_department(
    const std::optional<std::string>& parent, const std::string& name,
    const std::optional<linked_department>& link) {
  auto seen = snapshot();
  if (!seen) return unexpected{seen.error()};
  if (link) {
    if (const auto* d = (*seen)->find_linked(parent, link->id); d && !needs_rename(*link, *d, name))
      return ensured{d->id, d->name, false, {}, {}, {}};
  } else if (const auto* d = (*seen)->find_target(parent, name)) {
    return ensured{d->id, d->name, false, {}, {}, {}};
  }

  std::lock_guard create(create_mutex_);
  snapshot_ptr now = current();
  // Nobody refreshed since our miss: re-read before creating or renaming, as another instance
  // (or an administrator) may have done it since we last looked.
  if (now == *seen) {
    auto fresh = load_departments(now);
    if (!fresh) return unexpected{fresh.error()};
    now = *fresh;
  }
  if (link) {
    if (const auto* d = now->find_linked(parent, link->id)) {
      if (!needs_rename(*link, *d, name)) return ensured{d->id, d->name, false, {}, {}, {}};
      const ispring::department linked = *d;  // `now` may be replaced below
      return rename_locked(linked, name);
    }
    // The linked department is gone from iSpring, or sits elsewhere (sync.parent_department
    // changed): the key is placed like a new one.
  }
  if (const auto* d = now->find_target(parent, name))
    return ensured{d->id, d->name, false, {}, {}, {}};
  const ispring::department* root = now->root();
  if (!root)
    return unexpected{own_failure(ispring::failure_kind::bad_response,
                                  "iSpring's department list has no root department (one "
                                  "without a parent)")};
  const std::string root_id = root->id;  // `now` may be replaced below
  if (!parent) return ensure_child_locked(root_id, "the root", name);
  // The parent itself sits under the root and is created like any department.
  auto under = ensure_child_locked(root_id, "the root", *parent);
  if (!under) return under;
  auto child = ensure_child_locked(under->id, quoted(under->name), name);
  if (child)
    child->created.insert(child->created.begin(), under->created.begin(), under->created.end());
  return child;
}

ispring::result<directory::ensured> directory::rename_locked(const ispring::department& linked,
                                                             const std::string& name) {
  // iSpring refuses two siblings of one name, and the other one is not ours to touch.
  if (linked.parent_id) {
    if (const auto* other = current()->find_department(name, *linked.parent_id);
        other && other->id != linked.id) {
      ensured kept{linked.id, linked.name, false, {}, {}, {}};
      kept.note = "not renamed to " + quoted(name) +
                  ": another department of that name exists "
                  "beside it";
      return kept;
    }
  }
  if (auto r = api_.rename_department(linked.id, name); !r)
    return unexpected{
        in_context("rename department " + quoted(linked.name) + " to " + quoted(name), r.error())};
  auto next = std::make_shared<directory_snapshot>(*current());
  for (auto& d : next->departments)
    if (d.id == linked.id) d.name = name;
  publish(next);
  return ensured{linked.id, name, false, {}, linked.name, {}};
}

ispring::result<directory::ensured> directory::ensure_child_locked(const std::string& parent_id,
                                                                   const std::string& parent_text,
                                                                   const std::string& name) {
  if (const auto* d = current()->find_department(name, parent_id))
    return ensured{d->id, d->name, false, {}, {}, {}};
  const std::string what = "create department " + quoted(name) + " under " + parent_text;
  auto created = api_.create_department(name, parent_id);
  if (!created) {
    // "Exists already" (a concurrent creator elsewhere): re-read and reuse it.
    if (may_exist_already(created.error())) {
      auto fresh = load_departments(current());
      if (fresh)
        if (const auto* d = (*fresh)->find_department(name, parent_id))
          return ensured{d->id, d->name, false, {}, {}, {}};
    }
    return unexpected{in_context(what, created.error())};
  }
  auto next = std::make_shared<directory_snapshot>(*current());
  next->departments.push_back({*created, name, parent_id, std::nullopt});
  publish(next);
  return ensured{*created, name, false, {quoted(name) + " under " + parent_text}, {}, {}};
}

ispring::result<directory::ensured> directory::ensure_group(const std::string& name) {
  auto seen = snapshot();
  if (!seen) return unexpected{seen.error()};
  if (const auto* g = (*seen)->find_group(name))
    return ensured{g->id, g->name, g->is_smart, {}, {}, {}};

  std::lock_guard create(create_mutex_);
  snapshot_ptr now = current();
  if (now == *seen) {  // re-read before creating (see ensure_department)
    auto fresh = load_groups(now);
    if (!fresh) return unexpected{fresh.error()};
    now = *fresh;
  }
  if (const auto* g = now->find_group(name))
    return ensured{g->id, g->name, g->is_smart, {}, {}, {}};
  auto created = api_.create_group(name);
  if (!created) {
    if (may_exist_already(created.error())) {
      auto fresh = load_groups(current());
      if (fresh)
        if (const auto* g = (*fresh)->find_group(name))
          return ensured{g->id, g->name, g->is_smart, {}, {}, {}};
    }
    return unexpected{in_context("create group " + quoted(name), created.error())};
  }
  auto next = std::make_shared<directory_snapshot>(*current());
  next->groups.push_back({*created, name, false, std::nullopt});
  publish(next);
  return ensured{*created, name, false, {quoted(name)}, {}, {}};
}

void directory::invalidate() {
  publish(nullptr);
}

std::unique_lock<std::mutex> directory::lock_group_members(const std::string& group_id) {
  std::shared_ptr<std::mutex> m;
  {
    std::lock_guard lock(state_mutex_);
    auto& slot = group_locks_[group_id];
    if (!slot) slot = std::make_shared<std::mutex>();
    m = slot;
  }
  // Entries are never erased, so the mutex outlives the lock.
  return std::unique_lock<std::mutex>(*m);
}

// --- applier -------------------------------------------------------------------------------

struct applier::run {
  ispring::api& api;
  directory& dir;
  const desired_user& desired;
  apply_options options{};
  apply_result result{};

  void step(const char* stage, std::string text, step_outcome outcome = step_outcome::unchanged) {
    result.steps.push_back({stage, std::move(text), outcome});
  }

  // Records the failure and stops: the caller retries durably.
  apply_result fail(const char* stage, const std::string& what, ispring::failure f) {
    // A refused id may come from the cache (a department or group deleted in iSpring since
    // it was read): the next apply reads the directory again, so a retry converges.
    if (f.kind == ispring::failure_kind::rejected || f.kind == ispring::failure_kind::not_found)
      dir.invalidate();
    f = in_context(what, std::move(f));
    step(stage, f.message, step_outcome::failed);
    result.ok = false;
    result.error = std::move(f);
    return result;
  }

  apply_result done() {
    result.ok = true;
    return result;
  }

  std::string login() const { return desired.login.value_or(""); }
  std::string email() const { return desired.email.value_or(""); }

  // The user whose login (or e-mail) is `value`; nullopt inside: none.
  ispring::result<std::optional<ispring::user>> find_by(bool by_login, const std::string& value,
                                                        const std::string& how) {
    const std::string key = by_login ? "login" : "e-mail";
    ispring::user_filter filter;
    (by_login ? filter.logins : filter.emails) = {value};
    auto users = api.list_users(filter);
    if (!users) return unexpected{in_context("find user by " + key, users.error())};
    for (auto& u : *users)
      if (iequals(by_login ? u.login : u.email, value)) {
        step("match", "linked user " + u.id + " by " + key + " " + quoted(value) + how);
        return std::optional<ispring::user>(std::move(u));
      }
    return std::optional<ispring::user>();
  }

  // By login, else by e-mail (each unique in iSpring, §8). nullopt inside: no such user.
  // `again` marks the look-up after a create refused as a duplicate.
  ispring::result<std::optional<ispring::user>> match_by_keys(bool again = false) {
    const std::string how = again ? " (after the create was refused)" : "";
    for (const bool by_login : {true, false}) {
      const std::string value = by_login ? login() : email();
      if (value.empty()) continue;
      auto found = find_by(by_login, value, how);
      if (!found || *found) return found;
    }
    std::string keys;
    if (!login().empty()) keys += " with login " + quoted(login());
    if (!email().empty())
      keys += (keys.empty() ? " with e-mail " : " or e-mail ") + quoted(email());
    step("match", "no iSpring user" + keys + how);
    return std::optional<ispring::user>();
  }

  // The stored link first (it survives login and e-mail changes), then the keys.
  ispring::result<std::optional<ispring::user>> match(const std::optional<std::string>& link) {
    if (link && !link->empty()) {
      auto user = api.get_user(*link);
      if (user) {
        step("match", "user " + user->id + " by the stored link");
        return std::optional<ispring::user>(std::move(*user));
      }
      if (user.error().kind != ispring::failure_kind::not_found)
        return unexpected{in_context("read linked user " + *link, user.error())};
      step("match", "linked user " + *link + " no longer exists; matching by login and e-mail");
    }
    return match_by_keys();
  }

  apply_result apply(const std::optional<ispring::user>& actual) {
    result.ispring_user_id = actual ? actual->id : std::string();
    switch (desired.action) {
      case sync_action::ignore:
        return done();
      case sync_action::deactivate:
      case sync_action::remove:
        return retire(actual);
      case sync_action::upsert:
        return upsert(actual);
    }
    return done();
  }

  apply_result retire(const std::optional<ispring::user>& actual) {
    const bool deactivating = desired.action == sync_action::deactivate;
    const char* stage = deactivating ? "status" : "delete";
    // Nothing in iSpring is nothing to deactivate or delete, not an error.
    if (!actual) {
      step(stage, deactivating ? "no iSpring user: nothing to deactivate"
                               : "no iSpring user: nothing to delete");
      return done();
    }
    const user_plan plan = plan_user(desired, actual, directory_snapshot{});
    if ((plan.status || plan.remove) && options.may_retire && !options.may_retire()) {
      step(stage, deactivating ? "held by the safety limit: not deactivated"
                               : "held by the safety limit: not deleted");
      result.held = true;
      return done();
    }
    if (plan.status) {
      if (auto r = api.set_user_status(actual->id, *plan.status); !r)
        return fail(stage, "deactivate user " + actual->id, r.error());
      step(stage, "deactivated", step_outcome::changed);
    } else if (plan.remove) {
      auto r = api.delete_user(actual->id);
      if (!r && r.error().kind != ispring::failure_kind::not_found)
        return fail(stage, "delete user " + actual->id, r.error());
      step(stage, "deleted user " + actual->id, step_outcome::changed);
      result.ispring_user_id.clear();
    } else {
      step(stage, "already inactive");
    }
    return done();
  }

  apply_result upsert(std::optional<ispring::user> actual) {
    if (desired.department.empty())
      return fail("department", "place user",
                  own_failure(ispring::failure_kind::rejected, "no iSpring department given"));
    // A user belongs to exactly one department: make sure it exists before placing anyone.
    // The key's linked department wins over names, and an ispring_name changed in the config
    // renames it in place (the link remembers the name we gave it); deleting emptied
    // departments is the full reconciliation's job, as only it sees every user.
    auto department = dir.ensure_department(desired.parent_department, desired.department,
                                            desired.department_link);
    if (!department) return fail("department", "", department.error());
    for (const auto& text : department->created)
      step("department", "created " + text, step_outcome::changed);
    if (!department->renamed_from.empty())
      step("department",
           "renamed " + quoted(department->renamed_from) + " to " + quoted(department->name),
           step_outcome::changed);
    if (!department->note.empty()) step("department", department->note);
    // Linked from now on (adopted, created or renamed); a rename left undone keeps the old
    // name, so it is tried again.
    const std::string linked_name =
        department->note.empty() ? desired.department : desired.department_link->name;
    if (!desired.department_link || desired.department_link->id != department->id ||
        !iequals(desired.department_link->name, linked_name))
      result.department_link = linked_department{department->id, linked_name};

    auto snapshot = dir.snapshot();
    if (!snapshot) return fail("department", "", snapshot.error());
    // A group unknown to the cache may be a managed one: re-read before deciding.
    if (actual && desired.groups &&
        std::any_of(actual->group_ids.begin(), actual->group_ids.end(),
                    [&](const std::string& id) { return !(*snapshot)->group_by_id(id); })) {
      snapshot = dir.refresh_groups();
      if (!snapshot) return fail("groups", "", snapshot.error());
    }
    user_plan plan = plan_user(desired, actual, **snapshot);
    if (!plan.problem.empty())
      return fail(actual ? "update" : "create", "apply user",
                  own_failure(ispring::failure_kind::rejected, plan.problem));

    if (plan.create) {
      switch (create(plan, department->id, actual)) {
        case create_outcome::failed:
          return result;
        case create_outcome::created:
          break;
        case create_outcome::exists:  // linked now: plan again against it
          plan = plan_user(desired, actual, **snapshot);
          if (!update(plan, *actual, department->name)) return result;
          break;
      }
    } else if (auto r = update(plan, *actual, department->name); !r) {
      return result;
    }
    if (!groups(plan)) return result;
    if (plan.status) {
      if (auto r = api.set_user_status(result.ispring_user_id, *plan.status); !r)
        return fail("status", "reactivate user " + result.ispring_user_id, r.error());
      step("status", "reactivated", step_outcome::changed);
    }
    return done();
  }

  enum class create_outcome { failed, created, exists };

  // Creates the user. A create refused as a duplicate means the user exists after all
  // (created meanwhile, or its link was lost): it is looked up again and put in `existing`.
  create_outcome create(const user_plan& plan, const std::string& department_id,
                        std::optional<ispring::user>& existing) {
    ispring::field_map fields;
    for (const auto& c : plan.fields) fields[c.field] = c.to;
    const std::string where = quoted(plan.department->name);
    auto created = api.create_user(department_id, fields);
    if (created) {
      result.ispring_user_id = *created;
      step("create", "created user " + *created + " " + quoted(login()) + " in " + where,
           step_outcome::changed);
      return create_outcome::created;
    }
    if (may_exist_already(created.error())) {
      auto again = match_by_keys(true);
      if (!again) {
        fail("match", "", again.error());
        return create_outcome::failed;
      }
      if (*again) {
        existing = std::move(*again);
        return create_outcome::exists;
      }
    }
    fail("create", "create user " + quoted(login()) + " in " + where, created.error());
    return create_outcome::failed;
  }

  bool update(const user_plan& plan, const ispring::user& actual,
              const std::string& department_name) {
    result.ispring_user_id = actual.id;
    if (plan.fields.empty() && !plan.department) {
      step("update", "profile and department " + quoted(department_name) + " already match");
      return true;
    }
    ispring::field_map fields;
    for (const auto& c : plan.fields) fields[c.field] = c.to;
    // The reference says login may be required on every update (§4.4, §10 q4): send the
    // current one when it does not change.
    if (!fields.contains("login") && !actual.login.empty()) fields["login"] = actual.login;
    const std::optional<std::string> move =
        plan.department ? std::optional<std::string>(plan.department->id) : std::nullopt;
    if (auto r = api.update_user(actual.id, move, fields); !r) {
      fail("update", "update user " + actual.id, r.error());
      return false;
    }
    for (const auto& c : plan.fields)
      step("update", c.field + " " + quoted(c.from) + " → " + quoted(c.to), step_outcome::changed);
    if (plan.department)
      step("department",
           "moved from " +
               quoted(plan.department->from_name.empty() ? plan.department->from_id
                                                         : plan.department->from_name) +
               " to " + quoted(plan.department->name),
           step_outcome::changed);
    return true;
  }

  bool groups(const user_plan& plan) {
    for (const auto& note : plan.notes) step("groups", note);
    if (options.join_groups == group_mode::at_once) {
      for (const auto& g : plan.add_groups)
        if (!add_to_group(g.name, {result.ispring_user_id})) return false;
    } else if (!plan.add_groups.empty() && !later_or_by_update(plan.add_groups)) {
      return false;
    }
    return remove_groups(plan);
  }

  // Deferred (the caller adds many users to a group with one read and one replace) or by
  // groupIds on the user's update: either way the group must exist, and a smart one decides
  // its members itself.
  bool later_or_by_update(const std::vector<group_ref>& add) {
    std::vector<group_ref> groups;
    for (const auto& g : add) {
      auto ensured = dir.ensure_group(g.name);
      if (!ensured) {
        fail("groups", "", ensured.error());
        return false;
      }
      for (const auto& text : ensured->created)
        step("groups", "created group " + text, step_outcome::changed);
      if (ensured->is_smart)
        step("groups",
             "group " + quoted(ensured->name) + " is a smart group: its rules decide membership");
      else
        groups.push_back({ensured->id, ensured->name});
    }
    if (options.join_groups == group_mode::deferred) {
      for (auto& g : groups) {
        step("groups", "queued to join " + quoted(g.name) + " with the other new members",
             step_outcome::changed);
        result.deferred_group_additions.push_back(std::move(g));
      }
      return true;
    }
    if (groups.empty()) return true;
    std::vector<std::string> ids;
    std::string names;
    for (const auto& g : groups) {
      ids.push_back(g.id);
      names += (names.empty() ? "" : ", ") + quoted(g.name);
    }
    // The login goes along, as on every update (§4.4).
    ispring::field_map fields;
    if (!login().empty()) fields["login"] = login();
    if (auto r = api.add_user_to_groups(result.ispring_user_id, ids, fields); !r) {
      fail("groups", "add user to " + names, r.error());
      return false;
    }
    step("groups", "added to " + names + " (groupIds on the user's update)", step_outcome::changed);
    return true;
  }

  bool remove_groups(const user_plan& plan) {
    if (plan.remove_groups.empty()) return true;
    std::vector<std::string> ids;
    std::string names;
    for (const auto& g : plan.remove_groups) {
      ids.push_back(g.id);
      names += (names.empty() ? "" : ", ") + quoted(g.name);
    }
    if (auto r = api.remove_user_from_groups(result.ispring_user_id, ids); !r) {
      fail("groups", "remove user from " + names, r.error());
      return false;
    }
    step("groups", "removed from " + names, step_outcome::changed);
    return true;
  }

  // Members are replaced as a whole (§6): read, union, write back — never dropping the other
  // members. A group deleted since the cache was read is looked up (or created) once more.
  bool add_to_group(const std::string& name, const std::vector<std::string>& user_ids) {
    for (int attempt = 0; attempt < 2; ++attempt) {
      auto ensured = dir.ensure_group(name);
      if (!ensured) {
        fail("groups", "", ensured.error());
        return false;
      }
      for (const auto& text : ensured->created)
        step("groups", "created group " + text, step_outcome::changed);
      const std::string label = quoted(ensured->name);
      if (ensured->is_smart) {
        step("groups", "group " + label + " is a smart group: its rules decide membership");
        return true;
      }
      auto lock = dir.lock_group_members(ensured->id);
      auto group = api.get_group(ensured->id);
      if (!group && group.error().kind == ispring::failure_kind::not_found && attempt == 0) {
        lock.unlock();
        if (auto fresh = dir.refresh_groups(); !fresh) {
          fail("groups", "", fresh.error());
          return false;
        }
        continue;
      }
      if (!group) {
        fail("groups", "read members of group " + label, group.error());
        return false;
      }
      // Without the member list a replace would drop everyone else.
      if (!group->user_ids) {
        fail("groups", "read members of group " + label,
             own_failure(ispring::failure_kind::bad_response,
                         "the reply does not list the members"));
        return false;
      }
      std::vector<std::string> members = std::move(*group->user_ids);
      const std::size_t before = members.size();
      // Views into `members`, which never reallocates below (reserved), and into `user_ids`.
      members.reserve(before + user_ids.size());
      std::unordered_set<std::string_view> present;
      present.reserve(members.capacity());
      present.insert(members.begin(), members.end());
      for (const auto& id : user_ids)
        if (present.insert(id).second) members.push_back(id);
      const std::size_t added = members.size() - before;
      const std::string who =
          user_ids.size() == 1 ? std::string() : " " + std::to_string(added) + " users";
      if (added == 0) {
        step("groups", "already in " + label);
        return true;
      }
      if (auto r = api.set_group_members(ensured->id, members); !r) {
        fail("groups", "add" + (who.empty() ? std::string(" user") : who) + " to group " + label,
             r.error());
        return false;
      }
      step("groups", "added" + who + " to " + label, step_outcome::changed);
      return true;
    }
    return true;  // not reached: the second attempt always returns
  }
};

applier::applier(ispring::api& api, directory& directory) : api_(api), directory_(directory) {}

apply_result applier::operator()(const desired_user& user,
                                 const std::optional<std::string>& linked_user_id,
                                 apply_options options) const {
  run r{api_, directory_, user, std::move(options)};
  r.step("scope", user.reason + " → " + to_string(user.action));
  // Out of scope with "ignore": no calls at all, the link stays as it is.
  if (user.action == sync_action::ignore) {
    r.result.ispring_user_id = linked_user_id.value_or("");
    return r.done();
  }
  auto actual = r.match(linked_user_id);
  if (!actual) return r.fail("match", "", actual.error());
  return r.apply(*actual);
}

apply_result applier::apply_matched(const desired_user& user,
                                    const std::optional<ispring::user>& actual,
                                    apply_options options) const {
  run r{api_, directory_, user, options};
  r.step("scope", user.reason + " → " + to_string(user.action));
  return r.apply(actual);
}

ispring::result<std::vector<apply_step>> applier::add_to_group(
    const std::string& group_name, const std::vector<std::string>& user_ids) const {
  const desired_user nobody;
  run r{api_, directory_, nobody};
  if (!r.add_to_group(group_name, user_ids)) return unexpected{*r.result.error};
  return std::move(r.result.steps);
}

}  // namespace connector::sync

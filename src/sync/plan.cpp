#include "connector/sync/plan.hpp"

#include <algorithm>

#include "text.hpp"

namespace connector::sync {
namespace {

template <class T, class Pred>
const T* find_if_ptr(const std::vector<T>& items, Pred pred) {
  const auto it = std::find_if(items.begin(), items.end(), pred);
  return it == items.end() ? nullptr : &*it;
}

bool contains(const std::vector<std::string>& ids, const std::string& id) {
  return std::find(ids.begin(), ids.end(), id) != ids.end();
}

bool contains_name(const std::vector<std::string>& names, const std::string& name) {
  return std::any_of(names.begin(), names.end(),
                     [&name](const std::string& n) { return iequals(n, name); });
}

std::string value_of(const ispring::user& user, const std::string& field) {
  const auto it = user.fields.find(field);
  return it == user.fields.end() ? std::string() : it->second;
}

void plan_groups(const desired_user& desired, const ispring::user* actual,
                 const directory_snapshot& directory, user_plan& plan) {
  if (!desired.groups) return;
  static const std::vector<std::string> none;
  const std::vector<std::string>& current = actual ? actual->group_ids : none;
  for (const auto& name : *desired.groups) {
    const ispring::group* g = directory.find_group(name);
    if (!g) {
      plan.add_groups.push_back({{}, name});
    } else if (g->is_smart) {
      plan.notes.push_back("group " + quoted(g->name) +
                           " is a smart group: its rules decide "
                           "membership");
    } else if (!contains(current, g->id)) {
      plan.add_groups.push_back({g->id, g->name});
    }
  }
  // Groups outside the managed set are neither added nor removed (sync.groups).
  for (const auto& id : current) {
    const ispring::group* g = directory.group_by_id(id);
    if (!g || g->is_smart || !manages_group(desired.managed_groups, g->name) ||
        contains_name(*desired.groups, g->name))
      continue;
    plan.remove_groups.push_back({g->id, g->name});
  }
}

}  // namespace

desired_user make_desired_user(const mapped_user& user, const config::sync_settings& sync) {
  const scope_decision scope = decide_scope(user, sync);
  desired_user d;
  d.record_id = user.record_id;
  d.action = scope.action;
  d.reason = scope.reason;
  d.login = user.login;
  d.email = user.email;
  d.fields = user.profile();
  d.department = scope.department;
  d.department_key = scope.department_key;
  d.parent_department = sync.parent_department;
  d.active = user.active;
  d.groups = desired_groups(user, sync);
  d.managed_groups = sync.groups;
  return d;
}

// --- directory_snapshot --------------------------------------------------------------------

const ispring::department* directory_snapshot::root() const {
  return find_if_ptr(departments, [](const ispring::department& d) { return !d.parent_id; });
}

const ispring::department* directory_snapshot::department_by_id(const std::string& id) const {
  return find_if_ptr(departments, [&id](const ispring::department& d) { return d.id == id; });
}

const ispring::department* directory_snapshot::find_department(const std::string& name,
                                                               const std::string& parent_id) const {
  // An exact spelling wins over a case-insensitive one.
  if (const auto* exact = find_if_ptr(departments, [&](const ispring::department& d) {
        return d.parent_id == parent_id && d.name == name;
      }))
    return exact;
  return find_if_ptr(departments, [&](const ispring::department& d) {
    return d.parent_id == parent_id && iequals(d.name, name);
  });
}

const ispring::department* directory_snapshot::find_target(const std::optional<std::string>& parent,
                                                           const std::string& name) const {
  const ispring::department* under = root();
  if (under && parent) under = find_department(*parent, under->id);
  return under ? find_department(name, under->id) : nullptr;
}

const ispring::department* directory_snapshot::find_linked(const std::optional<std::string>& parent,
                                                           const std::string& id) const {
  const ispring::department* d = department_by_id(id);
  if (!d || !d->parent_id) return nullptr;
  const ispring::department* under = root();
  if (under && parent) under = find_department(*parent, under->id);
  return under && *d->parent_id == under->id ? d : nullptr;
}

const ispring::group* directory_snapshot::group_by_id(const std::string& id) const {
  return find_if_ptr(groups, [&id](const ispring::group& g) { return g.id == id; });
}

const ispring::group* directory_snapshot::find_group(const std::string& name) const {
  if (const auto* exact =
          find_if_ptr(groups, [&name](const ispring::group& g) { return g.name == name; }))
    return exact;
  return find_if_ptr(groups, [&name](const ispring::group& g) { return iequals(g.name, name); });
}

// --- user_plan -----------------------------------------------------------------------------

bool user_plan::has_changes() const {
  return create || !fields.empty() || department || !add_groups.empty() || !remove_groups.empty() ||
         status || remove;
}

std::vector<std::string> user_plan::describe() const {
  std::vector<std::string> lines;
  if (!problem.empty()) lines.push_back("cannot apply: " + problem);
  const auto department_text = [this] {
    std::string text = quoted(department->name);
    if (department->id.empty())
      text += " (created under " +
              (department->parent ? quoted(*department->parent) : std::string("the root")) + ")";
    return text;
  };
  if (create) {
    const auto login = std::find_if(fields.begin(), fields.end(),
                                    [](const field_change& c) { return c.field == "login"; });
    lines.push_back("create " + (login == fields.end() ? std::string("user") : quoted(login->to)) +
                    (department ? " in " + department_text() : std::string()));
    for (const auto& c : fields) lines.push_back("set " + c.field + " " + quoted(c.to));
  } else {
    for (const auto& c : fields)
      lines.push_back("set " + c.field + " " + quoted(c.from) + " → " + quoted(c.to));
    if (department)
      lines.push_back(
          "move from " +
          quoted(department->from_name.empty() ? department->from_id : department->from_name) +
          " to " + department_text());
  }
  for (const auto& g : add_groups)
    lines.push_back("add to group " + quoted(g.name) + (g.id.empty() ? " (created)" : ""));
  for (const auto& g : remove_groups) lines.push_back("remove from group " + quoted(g.name));
  if (status) lines.push_back(*status == ispring::user_status_active ? "reactivate" : "deactivate");
  if (remove) lines.push_back("delete user " + user_id);
  return lines;
}

user_plan plan_user(const desired_user& desired, const std::optional<ispring::user>& actual,
                    const directory_snapshot& directory) {
  return plan_user(desired, actual ? &*actual : nullptr, directory);
}

user_plan plan_user(const desired_user& desired, const ispring::user* actual,
                    const directory_snapshot& directory) {
  user_plan plan;
  plan.action = desired.action;
  plan.reason = desired.reason;
  if (actual) plan.user_id = actual->id;

  switch (desired.action) {
    case sync_action::ignore:
      return plan;
    case sync_action::deactivate:
      // Status 5 ("employment ended") is inactive already.
      if (actual && actual->status == ispring::user_status_active)
        plan.status = ispring::user_status_inactive;
      return plan;
    case sync_action::remove:
      plan.remove = actual != nullptr;
      return plan;
    case sync_action::upsert:
      break;
  }

  department_change target{desired.department, {}, desired.parent_department, {}, {}};
  const ispring::department* linked =
      desired.department_link
          ? directory.find_linked(desired.parent_department, desired.department_link->id)
          : nullptr;
  if (linked) {
    // The owned department, whatever it is called now (a rename is planned apart).
    target.id = linked->id;
    target.name = linked->name;
  } else if (const auto* d = directory.find_target(desired.parent_department, desired.department)) {
    target.id = d->id;
  }

  if (!actual) {
    // iSpring derives a login when none is sent (§8); we always send ours so matching stays
    // stable, so a record without one cannot be created.
    if (!desired.login || desired.login->empty()) {
      plan.problem = "the record has no login, so the user cannot be created";
      return plan;
    }
    plan.create = true;
    for (const auto& [field, value] : desired.fields)
      if (!value.empty()) plan.fields.push_back({field, {}, value});
    plan.department = std::move(target);  // a user belongs to exactly one department
  } else {
    for (const auto& [field, value] : desired.fields) {
      if (field == "login" && value.empty()) continue;  // the match key is never cleared
      const std::string current = value_of(*actual, field);
      if (!same_field_value(field, current, value)) plan.fields.push_back({field, current, value});
    }
    if (target.id.empty() || target.id != actual->department_id) {
      target.from_id = actual->department_id;
      if (const auto* from = directory.department_by_id(actual->department_id))
        target.from_name = from->name;
      plan.department = std::move(target);
    }
    if (desired.active == true && actual->status != ispring::user_status_active)
      plan.status = ispring::user_status_active;
  }
  plan_groups(desired, actual, directory, plan);
  return plan;
}

}  // namespace connector::sync

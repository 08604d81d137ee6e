// The Sync form (the seed's Sync Settings tab) over forms.js: the departments read from
// Salesforce with their active users, ticked to select; per department "Sync all users", the
// name in iSpring and "Manage users" (a tick list with search); "Add New Department" (a
// department of hand-picked users, whatever their Salesforce Department); groups, with "Add
// New Group"; what happens to inactive and out-of-scope users; the caps; and Preview (a dry
// run of the candidate settings, nothing saved) before Save.
//
// An empty sync.departments means every department: the form says so with an explicit "All
// departments" choice, so ticking one department never silently narrows the scope.
"use strict";

(() => {
  const page = window.connectorPage;
  const forms = window.connectorForms;
  const { api, ApiError, el, fillRows, countsText } = page;
  const $ = (id) => document.getElementById(id);

  // The key of a child as the service names it in errors ("sync.departments.Sales",
  // 'sync.departments["North America"]').
  const childKey = (parent, name) =>
    parent + (name === "*" || /^[A-Za-z0-9_-]+$/.test(name) ? "." + name : `[${JSON.stringify(name)}]`);
  const same = (a, b) => a.toLowerCase() === b.toLowerCase();
  const radio = (name) => document.querySelector(`#sync-form input[name="${name}"]:checked`);
  const setRadio = (name, value) => {
    for (const r of document.querySelectorAll(`#sync-form input[name="${name}"]`)) r.checked = r.value === value;
  };

  // What the form edits; the rest of the section (max_attempts, retries, keys this page does
  // not know) is carried through from what was loaded.
  const model = {
    base: {},
    entries: [], // {name, rule (as in sync.departments) or null: not ticked, active, missing, custom}
    salesforce: null, // GET /admin/salesforce/departments, once read
    groups: [], // names offered: iSpring's and the configured ones
  };

  // "*" as only "every other department, all users": the All choice, beside custom entries.
  const isWildcardAll = (name, rule) => name === "*" && rule.sync_all_users !== false && !rule.ispring_name;

  function entriesFrom(departments) {
    const entries = [];
    for (const [name, rule] of Object.entries(departments)) {
      entries.push({ name, rule: forms.clone(rule), active: null, missing: false, custom: !!rule.custom });
    }
    for (const d of (model.salesforce && model.salesforce.departments) || []) {
      const known = entries.find((e) => !e.custom && same(e.name, d.name));
      if (known) {
        known.active = d.active_users;
        known.missing = !!d.missing;
      } else {
        entries.push({ name: d.name, rule: null, active: d.active_users, missing: false, custom: false });
      }
    }
    // Hand-picked departments first, then Salesforce's by name, "*" last.
    const order = (e) => (e.custom ? 0 : e.name === "*" ? 2 : 1);
    return entries.sort((a, b) => order(a) - order(b) || a.name.localeCompare(b.name));
  }

  function allChosen() {
    return radio("department_scope").value === "all";
  }

  // --- the department table ----------------------------------------------------------------

  function usersSummary(e) {
    if (!e.rule) return "–";
    if (e.custom || e.rule.sync_all_users === false) {
      const n = (e.rule.users || []).length;
      return n === 1 ? "1 user" : n + " users";
    }
    return "all users";
  }

  function departmentRow(e) {
    const all = allChosen();
    const key = childKey("sync.departments", e.name);
    const label = e.name === "*" ? "every other department (*)" : e.name;
    const ticked = all ? !e.custom || !!e.rule : !!e.rule;
    const tick = el("input", { type: "checkbox", "aria-label": "Synchronise " + label, "data-key": key });
    tick.checked = ticked;
    tick.disabled = all && !e.custom;
    tick.addEventListener("change", () => {
      if (tick.checked) e.rule = e.previous || (e.custom ? { custom: true, users: [] } : { sync_all_users: true });
      else [e.previous, e.rule] = [e.rule, null]; // ticked again: as it was
      renderDepartments(tick);
    });
    const editable = !!e.rule && !(all && !e.custom);

    const allUsers = el("input", { type: "checkbox", "aria-label": "Sync all users of " + label, "data-key": key + ".sync_all_users" });
    allUsers.checked = e.custom ? false : all || !e.rule || e.rule.sync_all_users !== false;
    allUsers.disabled = !editable || e.custom;
    allUsers.addEventListener("change", () => {
      e.rule.sync_all_users = allUsers.checked;
      if (allUsers.checked) delete e.rule.users;
      else e.rule.users = e.rule.users || [];
      renderDepartments(allUsers);
    });

    const name = el("input", { type: "text", "aria-label": "Name in iSpring for " + label, "data-key": key + ".ispring_name",
                               placeholder: e.name === "*" ? "" : "same", autocomplete: "off" });
    name.value = (e.rule && e.rule.ispring_name) || "";
    name.disabled = !editable || e.name === "*";
    name.addEventListener("input", () => {
      if (name.value.trim()) e.rule.ispring_name = name.value.trim();
      else delete e.rule.ispring_name;
    });

    const manage = el("button", { type: "button", class: "secondary small", text: "Manage users",
                                  "aria-label": "Manage users of " + label, "data-key": key + ".users" });
    manage.disabled = !editable || e.name === "*";
    manage.addEventListener("click", () => manageUsers(e, manage));

    const what = el("span", {}, label);
    if (e.custom) what.append(el("span", { class: "tag", text: "hand-picked" }));
    if (e.missing) what.append(el("strong", { class: "error", text: " matches no active Salesforce user" }));
    let remove = "";
    if (e.custom || e.missing) {
      remove = el("button", { type: "button", class: "secondary small", text: "Remove", "aria-label": "Remove " + label });
      remove.disabled = !!forms.state.fileManaged.includes("sync");
      remove.addEventListener("click", () => {
        model.entries = model.entries.filter((x) => x !== e);
        renderDepartments($("add-department"));
      });
    }
    return [tick, what, e.active === null ? "–" : e.active, allUsers, name,
            el("span", { class: "users-cell" }, manage, " " + usersSummary(e)), remove];
  }

  function renderDepartments(focusLike) {
    const rows = model.entries.filter((e) => !(allChosen() && e.name === "*"));
    fillRows($("sync-departments-table"), rows.map(departmentRow),
             "No departments: Salesforce could not be read, and none is configured.");
    const ticked = model.entries.filter((e) => e.rule && !e.custom).length;
    $("sync-departments-note").textContent = allChosen()
      ? "Every Salesforce department is synchronised, with all of its users" +
        (model.entries.some((e) => e.custom && e.rule) ? ", and the hand-picked departments." : ".")
      : ticked ? `${ticked} ticked. A department not ticked is out of scope: its users are handled as "Users out of scope" says.`
      : "No department ticked: nobody is in scope. Tick the departments to synchronise.";
    // Keep the keyboard where it was: the same control of the re-rendered row.
    if (focusLike && focusLike.getAttribute) {
      const label = focusLike.getAttribute("aria-label");
      const again = label && $("sync-departments-table").querySelector(`[aria-label="${CSS.escape(label)}"]`);
      (again || focusLike).focus();
    }
  }

  for (const r of document.querySelectorAll('#sync-form input[name="department_scope"]')) {
    r.addEventListener("change", () => renderDepartments(null));
  }

  // --- Manage users, and Add New Department -------------------------------------------------

  const dialog = {
    entry: null, chosen: new Map(), offset: 0, timer: null, department: "",
  };

  function userItem(u) {
    const box = el("input", { type: "checkbox", id: "pick-" + u.id });
    const key = (u.username || u.id).toLowerCase();
    box.checked = dialog.chosen.has(key) || dialog.chosen.has(u.id.toLowerCase());
    box.addEventListener("change", () => {
      dialog.chosen.delete(u.id.toLowerCase());
      if (box.checked) dialog.chosen.set(key, u.username || u.id);
      else dialog.chosen.delete(key);
      if (box.checked) for (const r of document.querySelectorAll('input[name="users_mode"]')) r.checked = r.value === "only";
      sayChosen();
    });
    const text = `${u.name || u.username} — ${u.username}` + (u.email ? ` (${u.email})` : "") +
      (dialog.department ? "" : u.department ? `, ${u.department}` : ", no department");
    return el("li", {}, box, el("label", { for: box.id, text }));
  }

  function sayChosen() {
    const names = Array.from(dialog.chosen.values());
    const mode = document.querySelector('input[name="users_mode"]:checked');
    $("users-dialog-chosen").textContent = mode && mode.value === "all" && !$("users-dialog-mode").hidden
      ? "All users of the department are synchronised."
      : names.length ? `${names.length} ticked: ${names.join(", ")}` : "Nobody ticked yet.";
  }

  async function searchUsers(more) {
    const q = $("users-dialog-q").value.trim();
    if (!more) dialog.offset = 0;
    const list = $("users-dialog-list");
    if (!dialog.department && !q) {
      list.replaceChildren();
      $("users-dialog-more").hidden = true;
      $("users-dialog-status").textContent = "Type part of a name, username or e-mail to search every department.";
      return;
    }
    const query = (dialog.department ? "department=" + encodeURIComponent(dialog.department) + "&" : "") +
      `q=${encodeURIComponent(q)}&limit=50&offset=${dialog.offset}`;
    $("users-dialog-status").textContent = "Reading Salesforce…";
    try {
      const answer = await api("/admin/salesforce/users?" + query);
      if (!more) list.replaceChildren();
      list.append(...answer.users.map(userItem));
      dialog.offset += answer.users.length;
      $("users-dialog-more").hidden = !answer.more;
      $("users-dialog-status").textContent = list.children.length
        ? `${list.children.length}${answer.more ? "+" : ""} active users` + (q ? ` matching "${q}"` : "") + "."
        : "No active user matches.";
    } catch (error) {
      $("users-dialog-status").textContent = "Salesforce could not be read: " + error.message;
    }
  }

  $("users-dialog-q").addEventListener("input", () => {
    clearTimeout(dialog.timer);
    dialog.timer = setTimeout(() => searchUsers(false), 250);
  });
  $("users-dialog-q").addEventListener("keydown", (event) => {
    if (event.key !== "Enter") return; // Enter searches now instead of closing the dialog
    event.preventDefault();
    clearTimeout(dialog.timer);
    searchUsers(false);
  });
  $("users-dialog-more").addEventListener("click", () => searchUsers(true));
  for (const r of document.querySelectorAll('input[name="users_mode"]')) r.addEventListener("change", sayChosen);

  function openUsersDialog(title, entry, creating) {
    dialog.entry = entry;
    dialog.department = creating || entry.custom ? "" : entry.name;
    dialog.chosen = new Map(((entry.rule && entry.rule.users) || []).map((u) => [u.toLowerCase(), u]));
    $("users-dialog-title").textContent = title;
    $("new-department-fields").hidden = !creating;
    $("users-dialog-mode").hidden = creating || entry.custom;
    const all = !creating && !entry.custom && entry.rule.sync_all_users !== false;
    for (const r of document.querySelectorAll('input[name="users_mode"]')) r.checked = r.value === (all ? "all" : "only");
    $("users-dialog-q").value = "";
    $("users-dialog-error").textContent = "";
    $("users-dialog-list").replaceChildren();
    sayChosen();
    searchUsers(false);
    return forms.openDialog($("users-dialog"), creating ? $("new-department-name") : $("users-dialog-q"));
  }

  async function manageUsers(entry, opener) {
    const label = entry.custom ? `Users of ${entry.name} (hand-picked, from every department)` : `Users of ${entry.name}`;
    $("users-dialog").beforeClose = null;
    if ((await openUsersDialog(label, entry, false)) !== "done") return;
    const users = Array.from(dialog.chosen.values());
    const mode = document.querySelector('input[name="users_mode"]:checked');
    if (entry.custom) entry.rule.users = users;
    else if (mode.value === "all") {
      entry.rule.sync_all_users = true;
      delete entry.rule.users;
    } else {
      entry.rule.sync_all_users = false;
      entry.rule.users = users;
    }
    renderDepartments(opener);
  }

  $("add-department").addEventListener("click", async () => {
    const entry = { name: "", rule: { custom: true, users: [] }, active: null, missing: false, custom: true };
    $("new-department-name").value = "";
    $("new-department-ispring").value = "";
    $("users-dialog").beforeClose = (value) => {
      if (value !== "done") return true;
      const name = $("new-department-name").value.trim();
      const problem = !name ? "Name the department."
        : model.entries.some((e) => e.name === name && (e.rule || e.custom)) ? `${name} is already a department here.`
        : !dialog.chosen.size ? "Tick at least one user: a hand-picked department needs its users." : "";
      $("users-dialog-error").textContent = problem;
      if (problem) ($("new-department-name").value.trim() ? $("users-dialog-q") : $("new-department-name")).focus();
      return !problem;
    };
    const choice = await openUsersDialog("Add New Department", entry, true);
    $("users-dialog").beforeClose = null;
    if (choice !== "done") return;
    entry.name = $("new-department-name").value.trim();
    entry.rule.users = Array.from(dialog.chosen.values());
    const ispringName = $("new-department-ispring").value.trim();
    if (ispringName) entry.rule.ispring_name = ispringName;
    model.entries.unshift(entry);
    renderDepartments(null);
    const tick = $("sync-departments-table").querySelector(`[aria-label="${CSS.escape("Synchronise " + entry.name)}"]`);
    if (tick) tick.focus();
  });

  // --- groups ------------------------------------------------------------------------------

  function renderGroups(ticked) {
    const all = radio("groups_scope").value === "all";
    const list = $("sync-groups-list");
    list.replaceChildren(...model.groups.map((name, i) => {
      const box = el("input", { type: "checkbox", id: "sync-group-" + i, class: "group-tick", value: name });
      box.checked = all || ticked.some((g) => same(g, name));
      box.disabled = all;
      return el("li", {}, box, el("label", { for: box.id, text: name }));
    }));
    if (!model.groups.length) list.append(el("li", { class: "note", text: "No groups in iSpring Learn yet." }));
  }

  function tickedGroups() {
    return Array.from(document.querySelectorAll("#sync-groups-list .group-tick")).filter((b) => b.checked).map((b) => b.value);
  }

  for (const r of document.querySelectorAll('#sync-form input[name="groups_scope"]')) {
    r.addEventListener("change", () => renderGroups(r.value === "all" ? [] : tickedGroups()));
  }

  // Add New Group (POST /admin/ispring/groups): the group is created in iSpring and, when
  // sync.groups is a list, added to it as a new revision (If-Match, like a save).
  $("add-group").addEventListener("click", async () => {
    $("new-group-name").value = "";
    $("group-dialog-error").textContent = "";
    $("group-dialog").beforeClose = (value) => {
      if (value === "create" && !$("new-group-name").value.trim()) {
        $("group-dialog-error").textContent = "Name the group.";
        return false;
      }
      return true;
    };
    if ((await forms.openDialog($("group-dialog"), $("new-group-name"))) !== "create") return;
    const name = $("new-group-name").value.trim();
    const status = $("add-group-status");
    status.textContent = `Creating ${name} in iSpring Learn…`;
    const wasDirty = syncForm.dirty();
    const ticked = tickedGroups();
    try {
      const answer = await api("/admin/ispring/groups", { method: "POST", body: { name },
                                                          headers: { "If-Match": `"${syncForm.revision}"` } });
      const added = answer && answer.added_to_sync;
      status.textContent = `Group ${name} created in iSpring Learn` +
        (added ? ` and added to the synchronised groups (revision ${answer.revision}).` : ".");
      if (!model.groups.some((g) => same(g, name))) model.groups.push(name);
      if (!wasDirty) {
        syncForm.baseline = null;
        await forms.loadSettings();
      } else {
        // Unsaved edits stay: the new revision is this form's base plus the group.
        if (added) syncForm.revision = answer.revision;
        renderGroups(added ? [...ticked, name] : ticked);
      }
    } catch (error) {
      if (error instanceof ApiError && (error.status === 404 || error.status === 405)) {
        status.textContent = "This version of the service cannot create groups: create it in iSpring Learn, then reopen this tab.";
      } else {
        status.textContent = "Not created: " + error.message;
      }
    }
  });

  // --- the section as JSON -----------------------------------------------------------------

  function departmentsValue() {
    const out = {};
    const all = allChosen();
    const customs = model.entries.filter((e) => e.custom && e.rule);
    if (all && customs.length) out["*"] = { sync_all_users: true };
    for (const e of model.entries) {
      if (!e.rule || (all && !e.custom)) continue;
      const rule = forms.clone(e.rule);
      if (e.custom) {
        delete rule.sync_all_users;
        rule.custom = true;
        rule.users = rule.users || [];
      } else if (rule.sync_all_users === false) {
        rule.users = rule.users || [];
      } else {
        rule.sync_all_users = true;
        delete rule.users;
      }
      out[e.name] = rule;
    }
    return out;
  }

  function textOrDrop(value, name, input) {
    const text = input.value.trim();
    if (text) value[name] = text;
    else delete value[name];
  }

  function read() {
    const value = forms.clone(model.base) || {};
    const by = radio("select_by");
    // Only sent when it was loaded or changed: a service without it refuses the key.
    if (by && ("select_by" in model.base || by.value !== "department")) value.select_by = by.value;
    value.departments = departmentsValue();
    value.groups = radio("groups_scope").value === "all" ? "all" : tickedGroups();
    textOrDrop(value, "parent_department", $("sync-parent_department"));
    value.inactive_users = $("sync-inactive_users").value;
    value.out_of_scope_users = $("sync-out_of_scope_users").value;
    value.delete_empty_departments = $("sync-delete_empty_departments").checked;
    textOrDrop(value, "max_deactivations", $("sync-max_deactivations"));
    textOrDrop(value, "max_deactivations_per_hour", $("sync-max_deactivations_per_hour"));
    return value;
  }

  function fill(value) {
    model.base = forms.clone(value) || {};
    const departments = value.departments || {};
    const names = Object.keys(departments);
    const all = names.every((n) => departments[n].custom || isWildcardAll(n, departments[n]));
    const kept = {};
    for (const n of names) if (!(all && n === "*")) kept[n] = departments[n];
    model.entries = entriesFrom(kept);
    setRadio("select_by", value.select_by || "department");
    setRadio("department_scope", all ? "all" : "only");
    const groups = Array.isArray(value.groups) ? value.groups : [];
    for (const g of groups) if (!model.groups.some((x) => same(x, g))) model.groups.push(g);
    setRadio("groups_scope", Array.isArray(value.groups) ? "only" : "all");
    renderGroups(groups);
    renderDepartments(null);
    $("sync-parent_department").value = value.parent_department || "";
    $("sync-inactive_users").value = value.inactive_users;
    $("sync-out_of_scope_users").value = value.out_of_scope_users;
    $("sync-delete_empty_departments").checked = !!value.delete_empty_departments;
    $("sync-max_deactivations").value = value.max_deactivations || "";
    $("sync-max_deactivations_per_hour").value = value.max_deactivations_per_hour || "";
    $("sync-preview-result").hidden = true;
  }

  const syncForm = forms.sectionForm({ section: "sync", form: $("sync-form"), tab: "tab-sync", fill, read });

  // --- what the live systems offer ---------------------------------------------------------

  async function loadPickers() {
    const warning = $("salesforce-departments-warning");
    const [sf, groups, departments] = await Promise.allSettled([
      api("/admin/salesforce/departments"), api("/admin/ispring/groups"), api("/admin/ispring/departments")]);
    warning.textContent = "";
    if (sf.status === "fulfilled") {
      model.salesforce = sf.value;
      const missing = sf.value.departments.filter((d) => d.missing).map((d) => d.name);
      if (missing.length) {
        warning.textContent = "Configured but no active Salesforce user has it (check the spelling): " + missing.join(", ") + ".";
      }
      if (sf.value.without_department) {
        warning.append(el("span", { class: "note", text: ` Active users without a department (never synchronised): ${sf.value.without_department}.` }));
      }
      if (!sf.value.complete) warning.append(" Only the first 2,000 departments are listed.");
    } else {
      warning.textContent = "Salesforce could not be read: " + sf.reason.message + ". Only the configured departments are listed.";
    }
    if (groups.status === "fulfilled") {
      for (const g of groups.value.groups || []) if (!model.groups.some((x) => same(x, g.name))) model.groups.push(g.name);
    }
    if (departments.status === "fulfilled") {
      $("ispring-departments").replaceChildren(...(departments.value.departments || []).map((d) => el("option", { value: d.name, text: d.path })));
    }
  }

  page.onShow("tab-sync", async () => {
    await loadPickers();
    if (!syncForm.dirty()) syncForm.baseline = null;
    await forms.loadSettings();
  });

  // --- Preview: the candidate section as a dry run, nothing saved ---------------------------

  const SAY = [
    ["create", "adds %", "user"], ["reactivate", "reactivates %", "user"], ["update", "updates %", "user"],
    ["move", "moves % to another department", "user"], ["groups", "changes the groups of %", "user"],
    ["deactivate", "deactivates %", "user"], ["delete", "deletes %", "user"],
    ["problems", "cannot apply % (see the plan)", "user"], ["departments_created", "creates %", "department"],
    ["departments_deleted", "deletes % empty", "department"],
  ];
  const PAST = { create: "created", update: "updated", deactivate: "deactivated", reactivate: "reactivated",
                 delete: "deleted", move: "moved" };

  function previewSummary(counts) {
    const parts = [];
    for (const [key, words, noun] of SAY) {
      const n = counts[key] !== undefined ? counts[key] : counts[PAST[key]];
      if (n) parts.push(words.replace("%", `${n} ${noun}${n === 1 ? "" : "s"}`));
    }
    const unchanged = counts.unchanged || 0;
    return (parts.length ? parts.join(", ") : "changes nothing") + (unchanged ? `; ${unchanged} unchanged` : "") + ".";
  }

  $("sync-preview").addEventListener("click", async () => {
    const button = $("sync-preview");
    syncForm.clearErrors();
    const result = $("sync-preview-result");
    result.hidden = true;
    button.disabled = true;
    try {
      syncForm.say("Previewing: a dry run with these settings, nothing saved…");
      const queued = await api("/admin/settings/preview", { method: "POST", body: { sync: read() } });
      let run;
      for (;;) {
        run = await api(`/admin/runs/${queued.run_id}?plan=false`);
        if (!["queued", "running"].includes(run.status)) break;
        await new Promise((resolve) => setTimeout(resolve, 300));
      }
      if (run.status !== "succeeded") {
        syncForm.say(`Preview ${run.id} ${run.status}` + (run.message ? ": " + run.message : "."));
        return;
      }
      const plan = await api(`/admin/runs/${run.id}/plan?limit=200`);
      const counts = plan.counts || run.counts || {};
      $("sync-preview-summary").textContent = `Saving this ${previewSummary(counts)}` +
        (plan.safety && plan.safety.exceeded ? " " + plan.safety.message : "");
      const changing = plan.users.filter((u) => u.actions.some((a) => a !== "unchanged"));
      fillRows($("sync-preview-table"), changing.map((u) => [u.actions.join(", "), u.login || u.record_id,
        (u.changes || []).join("; ") + (u.problem ? ` (${u.problem})` : ""), u.reason || ""]),
        "Nobody changes.");
      result.hidden = false;
      result.scrollIntoView({ block: "nearest" });
      syncForm.say(`Preview ${run.id}: not saved yet. Save to apply it. (All counts: ${countsText(counts)}.)`);
    } catch (error) {
      if (error instanceof ApiError && error.status === 400 && error.key) {
        syncForm.say("Cannot preview: " + error.message);
        syncForm.showError(error.key, error.message);
      } else if (error instanceof ApiError && (error.status === 404 || error.status === 405)) {
        syncForm.say("Preview is not available in this version of the service: save, then use Run & preview.");
      } else {
        syncForm.say("Cannot preview: " + error.message);
      }
    } finally {
      button.disabled = false;
    }
  });

  window.connectorSyncForm = syncForm;
})();

// The Revisions tab: every saved set of page-managed settings (GET
// /admin/settings/revisions), what each changed against the one before it, per key (old →
// new), and Restore (POST /admin/settings/revisions/{R}/restore with If-Match) after a
// confirmation that shows what the restore would change now.
"use strict";

(() => {
  const page = window.connectorPage;
  const forms = window.connectorForms;
  const { api, ApiError, el, fillRows, localTime } = page;
  const $ = (id) => document.getElementById(id);

  // "sync.departments.Sales.sync_all_users" → value, for every leaf; arrays are one value.
  function flatten(value, prefix, out) {
    if (value !== null && typeof value === "object" && !Array.isArray(value)) {
      const keys = Object.keys(value);
      if (!keys.length && prefix) out.set(prefix, "{}");
      for (const k of keys) flatten(value[k], prefix ? prefix + "." + k : k, out);
    } else if (prefix) {
      out.set(prefix, JSON.stringify(value));
    }
    return out;
  }

  // [key, before, after] for every key whose value differs; "–" where there was none.
  function diff(before, after) {
    const a = flatten(before || {}, "", new Map());
    const b = flatten(after || {}, "", new Map());
    const keys = Array.from(new Set([...a.keys(), ...b.keys()])).sort();
    return keys.filter((k) => a.get(k) !== b.get(k)).map((k) => [k, a.get(k) || "– (default)", b.get(k) || "– (default)"]);
  }

  async function content(revision) {
    if (revision < 1) return {};
    try {
      return (await api("/admin/settings/revisions/" + revision)).settings || {};
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) return {};
      throw error;
    }
  }

  async function showChanges(revision, button) {
    const [before, after] = await Promise.all([content(revision - 1), content(revision)]);
    const rows = diff(before, after);
    $("revision-diff-title").textContent = `Revision ${revision} against revision ${revision - 1}`;
    fillRows($("revision-diff-table"), rows, "No change.");
    $("revision-diff").hidden = false;
    if (button) $("revision-diff-title").scrollIntoView({ block: "nearest" });
  }

  async function restore(revision) {
    const [now, then] = await Promise.all([content(forms.state.revision), content(revision)]);
    const rows = diff(now, then);
    const table = el("table", {}, el("thead", {}, el("tr", {}, el("th", { scope: "col", text: "Setting" }),
      el("th", { scope: "col", text: "Now" }), el("th", { scope: "col", text: "After the restore" }))), el("tbody"));
    fillRows(table, rows, "Nothing would change.");
    const ok = await forms.confirmDialog(`Restore revision ${revision}?`, [
      el("p", { text: `This saves revision ${revision}'s settings again as a new revision; it applies at once. ` +
                      "Sections the configuration file sets are not touched." }),
      el("div", { class: "table-wrap" }, table)], `Restore revision ${revision}`);
    if (!ok) return;
    const status = $("revisions-status");
    try {
      const answer = await api(`/admin/settings/revisions/${revision}/restore`, {
        method: "POST", headers: { "If-Match": `"${forms.state.revision}"` } });
      await forms.loadSettings();
      status.textContent = `Revision ${revision} restored as revision ${answer.revision}.`;
    } catch (error) {
      status.textContent = error instanceof ApiError && error.status === 409
        ? "Not restored: someone saved the settings meanwhile. The list is reloaded: look again, then restore."
        : "Not restored: " + error.message;
      await forms.loadSettings();
    }
  }

  async function loadRevisions() {
    const answer = await api("/admin/settings/revisions?limit=100");
    const list = answer.revisions || [];
    const newest = list.length ? list[0].revision : 0;
    $("revisions-status").textContent ||= list.length ? "" : "No revision yet: the settings are the configuration file's and the defaults.";
    fillRows($("revisions-table"), list.map((r) => {
      const show = el("button", { type: "button", class: "secondary small", text: "Changes",
                                  "aria-label": `Changes of revision ${r.revision}` });
      show.addEventListener("click", () => showChanges(r.revision, show).catch(page.showError));
      const actions = el("span", { class: "row-actions" }, show);
      if (r.revision !== newest) {
        const back = el("button", { type: "button", class: "secondary small", text: "Restore",
                                    "aria-label": `Restore revision ${r.revision}` });
        back.addEventListener("click", () => restore(r.revision).catch(page.showError));
        actions.append(" ", back);
      }
      return [String(r.revision) + (r.revision === newest ? " (in force)" : ""), localTime(r.saved_at),
              r.saved_by, (r.sections || []).join(", "), actions];
    }), "No revision yet.");
  }

  // A save anywhere moves the list.
  forms.onLoad(() => {
    if (!$("panel-revisions").hidden) loadRevisions().catch(page.showError);
  });
  page.onShow("tab-revisions", async () => {
    $("revisions-status").textContent = "";
    await forms.loadSettings();
  });
})();

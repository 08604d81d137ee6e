// The admin page's script. Every data call is a fetch to this listener with the admin token
// as a Bearer header; the token lives in this tab's sessionStorage only (no cookies, so no
// cross-site request forgery). Text from the service is always set as textContent.
"use strict";

(() => {
  const TOKEN_KEY = "connector-admin-token";
  const $ = (id) => document.getElementById(id);

  // --- talking to the service ------------------------------------------------------------

  class ApiError extends Error {
    constructor(status, message, routeMissing, key) {
      super(message);
      this.status = status;
      this.routeMissing = routeMissing; // the server has no such route (an older version)
      this.key = key || ""; // the setting a 400 names ("schedule.run_interval_minutes")
    }
  }

  // options: method, body (sent as JSON), headers (e.g. If-Match).
  async function api(path, options = {}) {
    const token = sessionStorage.getItem(TOKEN_KEY) || "";
    const headers = { Authorization: "Bearer " + token, Accept: "application/json", ...options.headers };
    if (options.body !== undefined) headers["Content-Type"] = "application/json";
    const response = await fetch(path, {
      method: options.method || "GET",
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      cache: "no-store",
      credentials: "omit",
    });
    const type = response.headers.get("Content-Type") || "";
    const body = type.includes("application/json") ? await response.json() : await response.text();
    if (response.status === 401) {
      signOut("The service refused the admin token (HTTP 401). Check the token and sign in again.");
      throw new ApiError(401, "not signed in", false);
    }
    if (!response.ok) {
      const message = typeof body === "object" && body && body.error ? body.error : String(body).trim();
      throw new ApiError(response.status, message || "HTTP " + response.status,
                         response.status === 404 && typeof body === "string",
                         typeof body === "object" && body ? body.key : "");
    }
    return body;
  }

  function showError(error) {
    if (error instanceof ApiError && error.status === 401) return;
    $("console-error").textContent = "Error: " + error.message;
  }

  // --- small DOM helpers -----------------------------------------------------------------

  function el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs)) {
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = value;
      else node.setAttribute(key, value);
    }
    for (const child of children) node.append(child);
    return node;
  }

  function show(value) {
    if (value === null || value === undefined || value === "") return "–";
    if (Array.isArray(value)) return value.length ? value.join(", ") : "none";
    if (typeof value === "boolean") return value ? "yes" : "no";
    return String(value);
  }

  function fillFacts(dl, pairs) {
    dl.replaceChildren();
    for (const [label, value] of pairs) dl.append(el("dt", { text: label }), el("dd", { text: show(value) }));
  }

  function fillRows(table, rows, emptyText) {
    const body = table.tBodies[0];
    body.replaceChildren();
    if (!rows.length) {
      const columns = table.tHead.rows[0].cells.length;
      body.append(el("tr", {}, el("td", { class: "empty", colspan: String(columns), text: emptyText })));
      return;
    }
    for (const cells of rows) {
      const tr = el("tr");
      for (const cell of cells) tr.append(cell instanceof Node ? el("td", {}, cell) : el("td", { text: show(cell) }));
      body.append(tr);
    }
  }

  function localTime(iso) {
    if (!iso) return "–";
    const t = new Date(iso);
    return isNaN(t) ? iso : t.toLocaleString() + " (" + iso + ")";
  }

  function duration(ms) {
    if (ms === null || ms === undefined) return "–";
    if (ms < 1000) return ms + " ms";
    const s = Math.round(ms / 100) / 10;
    return s < 120 ? s + " s" : Math.round(s / 60) + " min";
  }

  function countsText(counts) {
    const parts = Object.entries(counts || {}).filter(([, n]) => n).map(([k, n]) => k + " " + n);
    return parts.length ? parts.join(", ") : "–";
  }

  function statusText(status) {
    return el("span", { class: "status-" + status, text: status });
  }

  // --- signing in and out ----------------------------------------------------------------

  let config = null;

  function signOut(message) {
    sessionStorage.removeItem(TOKEN_KEY);
    config = null;
    $("console").hidden = true;
    $("sign-out").hidden = true;
    $("sign-in").hidden = false;
    $("sign-in-error").textContent = message || "";
    $("token").value = "";
    $("token").focus();
  }

  async function enter() {
    $("sign-in-error").textContent = "";
    $("console-error").textContent = "";
    try {
      await loadOverview();
    } catch (error) {
      if (!(error instanceof ApiError && error.status === 401)) $("sign-in-error").textContent = "Error: " + error.message;
      return;
    }
    $("sign-in").hidden = true;
    $("console").hidden = false;
    $("sign-out").hidden = false;
    $("tab-overview").focus();
    try {
      config = await api("/admin/config");
      renderConfig();
    } catch (error) {
      showError(error);
    }
  }

  $("sign-in-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const token = $("token").value.trim();
    if (!token) {
      $("sign-in-error").textContent = "Enter the admin token.";
      return;
    }
    sessionStorage.setItem(TOKEN_KEY, token);
    enter();
  });
  // The settings forms (forms.js) put a guard here: it calls `proceed` at once, or after
  // the administrator chose to discard unsaved changes.
  let leaveGuard = (proceed) => proceed();
  $("sign-out").addEventListener("click", () => leaveGuard(() => signOut("Signed out.")));

  // --- tabs: role=tablist, arrow keys, Home and End (WAI-ARIA tabs pattern) --------------

  const tabs = Array.from(document.querySelectorAll('[role="tab"]'));
  const onShow = {};

  function selectTab(tab, focus) {
    if (tab.getAttribute("aria-selected") === "true") return showTab(tab, focus);
    leaveGuard(() => showTab(tab, focus));
  }

  function showTab(tab, focus) {
    for (const t of tabs) {
      const selected = t === tab;
      t.setAttribute("aria-selected", String(selected));
      t.tabIndex = selected ? 0 : -1;
      $(t.getAttribute("aria-controls")).hidden = !selected;
    }
    if (focus) tab.focus();
    $("console-error").textContent = "";
    const load = onShow[tab.id];
    if (load) load().catch(showError);
  }

  for (const tab of tabs) {
    tab.addEventListener("click", () => selectTab(tab, false));
    tab.addEventListener("keydown", (event) => {
      const at = tabs.indexOf(tab);
      const next = { ArrowRight: at + 1, ArrowLeft: at - 1, Home: 0, End: tabs.length - 1 }[event.key];
      if (next === undefined) return;
      event.preventDefault();
      selectTab(tabs[(next + tabs.length) % tabs.length], true);
    });
  }

  // --- overview --------------------------------------------------------------------------

  // Last sync start and status, on the overview and (as in the seed) the schedule tab.
  function renderLastSync(status) {
    for (const id of ["last-sync-start", "schedule-last-start"]) {
      $(id).textContent = status.last_sync_start ? localTime(status.last_sync_start) : "never";
    }
    for (const id of ["last-sync-status", "schedule-last-status"]) {
      const last = $(id);
      last.replaceChildren();
      if (status.last_sync_status) {
        last.append(statusText(status.last_sync_status), " (run " + status.last_run_id + ")");
        if (status.last_sync_message) last.append(": " + status.last_sync_message);
      } else {
        last.textContent = "no sync yet";
      }
    }
  }

  // The instances sharing the store (several behind a load balancer), one per line.
  function renderInstances(instances) {
    const list = $("live-instances");
    list.replaceChildren();
    if (instances.length === 0) {
      list.textContent = "none beating";
      return;
    }
    instances.forEach((i, n) => {
      if (n > 0) list.append(document.createElement("br"));
      list.append(`${i.host} (pid ${i.pid}, ${i.role} ${i.version}), last seen ${localTime(i.last_seen)}`);
    });
  }

  // Problems status reports beside its counts, e.g. a configured department no user has.
  function renderWarnings(warnings) {
    $("status-warnings").replaceChildren(...warnings.map((w) => el("li", { text: w.message })));
  }

  async function loadOverview() {
    const status = await api("/admin/status");
    $("count-pending").textContent = show(status.pending);
    $("count-retrying").textContent = show(status.retrying);
    $("count-dead").textContent = show(status.dead_letters);
    $("count-held").textContent = show(status.held);
    $("oldest-waiting").textContent = status.oldest_waiting_since ? localTime(status.oldest_waiting_since) : "nothing waits";
    renderLastSync(status);
    renderWarnings(status.warnings || []);
    $("notifications-received").textContent = show(status.notifications_received);
    renderInstances(status.instances || []);
    renderDeadLetters(status.dead_letter_records || []);
    renderHeld(status.held_records || []);

    const [schedule, runs, activity] = await Promise.all([
      api("/admin/schedule"), api("/admin/runs?limit=10"), api("/admin/activity?hours=24")]);
    $("next-run").textContent = schedule.next_run ? localTime(schedule.next_run)
      : schedule.reconciliation_available ? "none (run type " + schedule.run_type + ")"
      : "none: the reconciliation is not configured";
    fillRows($("runs-table"), runs.runs.map((r) => [
      String(r.id) + (r.dry_run ? " (preview)" : ""), r.trigger, statusText(r.status),
      r.started_at ? localTime(r.started_at) : "–", duration(r.duration_ms), countsText(r.counts)]),
      "No runs yet.");
    drawChart(activity);
  }
  onShow["tab-overview"] = loadOverview;
  $("refresh-overview").addEventListener("click", () => loadOverview().catch(showError));

  // Bars per hour, one group per series, drawn as SVG elements (no inline styles: CSP).
  function drawChart(activity) {
    const NS = "http://www.w3.org/2000/svg";
    const width = 720, height = 190, left = 36, bottom = 24, top = 20;
    const series = activity.series || [];
    const hours = (activity.starts || []).length;
    const max = Math.max(1, ...series.flatMap((s) => s.values));
    const svg = document.createElementNS(NS, "svg");
    svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
    svg.setAttribute("role", "img");
    const total = series.map((s) => s.label + ": " + s.values.reduce((a, b) => a + b, 0)).join("; ");
    svg.setAttribute("aria-label", "Per hour over the last " + hours + " hours. " + total);
    const node = (tag, attrs, text) => {
      const n = document.createElementNS(NS, tag);
      for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, String(v));
      if (text !== undefined) n.textContent = text;
      svg.append(n);
      return n;
    };
    const plotWidth = width - left - 4, plotHeight = height - bottom - top;
    const slot = plotWidth / Math.max(1, hours);
    const barWidth = Math.max(1, (slot - 2) / Math.max(1, series.length));
    series.forEach((s, si) => {
      s.values.forEach((v, i) => {
        const h = (v / max) * plotHeight;
        const bar = node("rect", { class: "bar series-" + si, x: left + i * slot + 1 + si * barWidth,
                                   y: top + plotHeight - h, width: barWidth, height: h });
        const title = document.createElementNS(NS, "title");
        title.textContent = `${s.label}, ${new Date(activity.starts[i]).toLocaleString()}: ${v}`;
        bar.append(title);
      });
    });
    // A legend, one swatch per series, along the top right.
    series.slice().reverse().forEach((s, ri) => {
      const si = series.length - 1 - ri;
      const x = width - 4 - (ri + 1) * 170;
      node("rect", { class: "swatch series-" + si, x, y: 0, width: 10, height: 10 });
      node("text", { class: "legend", x: x + 14, y: 9 }, s.label);
    });
    node("line", { class: "axis", x1: left, y1: top + plotHeight, x2: width - 4, y2: top + plotHeight });
    node("text", { class: "tick", x: left - 4, y: top + 10, "text-anchor": "end" }, String(max));
    node("text", { class: "tick", x: left - 4, y: top + plotHeight, "text-anchor": "end" }, "0");
    for (let i = 0; i < hours; i += 6) {
      const t = new Date(activity.starts[i]);
      node("text", { class: "tick", x: left + i * slot + 1, y: height - 6 },
           t.getHours().toString().padStart(2, "0") + ":00");
    }
    $("activity-chart").replaceChildren(svg);
    $("activity-caption").textContent = "Per hour, last " + hours + " hours (local time) — " + total;
  }

  // --- the connections (read-only; the forms of the settings are in forms.js and after) ---

  // The seed shows Last Sync Start and Last Sync Status on its Schedule tab too.
  onShow["tab-schedule"] = async () => renderLastSync(await api("/admin/status"));

  // Secrets are write-only: the service says only whether one is set ("[redacted]").
  function secretState(value) {
    return value ? "set (never shown)" : "not set";
  }

  function renderConfig() {
    const c = config;
    const i = c.ispring;
    fillFacts($("ispring-settings"), i ? [
      ["Endpoint", i.api_url],
      ["Authorization", i.auth === "password" ? "administrator login and password" : "OAuth client credentials"],
      [i.auth === "password" ? "Administrator" : "Client id", i.auth === "password" ? i.login : i.client_id],
      [i.auth === "password" ? "Password" : "Client secret", secretState(i.auth === "password" ? i.password : i.client_secret)],
      ["Extra CA", i.tls_ca_file],
    ] : [["State", "not configured: nothing is pushed to iSpring Learn"]]);
    const s = c.salesforce;
    const flows = { jwt_bearer: "OAuth JWT bearer (connected app certificate)", client_credentials: "OAuth client credentials",
                    none: "no REST credentials: notifications only, no reconciliation", incomplete: "incomplete" };
    fillFacts($("salesforce-settings"), [
      ["Organizations", s.organization_ids],
      ["Login URL", s.login_url],
      ["Flow", flows[s.flow] || s.flow],
      ["Client id", s.client_id],
      ["Integration user", s.username],
      ["Key or secret", secretState(s.private_key || s.client_secret)],
      ["Object", s.source_object + " (API " + s.api_version + ")"],
      ["Query filter", s.query_filter],
      ["Outbound messages at", c.server.outbound_message_path + (c.server.secret_path_segment ? "/[secret segment]" : "")],
      ["Intake locks", c.server.intake_locks.length ? c.server.intake_locks.join(", ") : "none"],
    ]);
    // An intake anyone can post to runs only when the configuration says so on purpose.
    $("intake-warning").textContent = c.server.intake_warning || "";
    $("overview-intake-warning").textContent = c.server.intake_warning || "";
  }

  // The users the newest preview leaves out of scope, with the reason its plan gives: not
  // synchronised (ignored), or deactivated / deleted in iSpring. Runs keep no plan; a
  // preview's plan is what would happen now.
  const OUT_OF_SCOPE = ["ignored", "deactivate", "delete"];
  async function loadOutOfScope() {
    const runs = await api("/admin/runs?limit=50");
    // A Sync tab preview ran unsaved settings (settings_candidate): not what applies now.
    const latest = runs.runs.find((r) => r.dry_run && !r.settings_candidate && r.status === "succeeded");
    if (!latest) {
      $("out-of-scope-note").textContent =
        "No preview has finished yet: run one (Run & preview) to see who falls out and why.";
      fillRows($("out-of-scope-table"), [], "Nothing to show yet.");
      return;
    }
    const pages = await Promise.all(OUT_OF_SCOPE.map((action) =>
      api(`/admin/runs/${latest.id}/plan?action=${action}&limit=50`)));
    const rows = [];
    const counts = [];
    pages.forEach((page, i) => {
      counts.push(`${OUT_OF_SCOPE[i]} ${page.total}`);
      const what = { ignored: "not synchronised", deactivate: "deactivated in iSpring",
                     delete: "deleted from iSpring" }[OUT_OF_SCOPE[i]];
      for (const u of page.users) rows.push([what, u.record_id, u.login, u.reason]);
    });
    $("out-of-scope-note").textContent =
      `From preview ${latest.id} (${localTime(latest.started_at)}): ` + counts.join(", ") +
      ". Up to 50 of each; the Run & preview tab pages through all.";
    fillRows($("out-of-scope-table"), rows, "Every user is in scope.");
  }
  onShow["tab-sync"] = loadOutOfScope;

  // The seed's "Verify and Register Integration".
  $("verify").addEventListener("click", async () => {
    const button = $("verify");
    button.disabled = true;
    $("verify-status").textContent = "Checking both connections…";
    $("findings").replaceChildren();
    try {
      const result = await api("/admin/check", { method: "POST" });
      for (const f of result.findings) {
        $("findings").append(el("li", {}, el("span", { class: "level level-" + f.level, text: f.level }), " " + f.message));
      }
      $("verify-status").textContent = result.ok ? "All checks passed." : "Some checks failed.";
    } catch (error) {
      $("verify-status").textContent = "";
      showError(error);
    } finally {
      button.disabled = false;
    }
  });

  // --- run now and preview ---------------------------------------------------------------

  const PAGE = 50;
  const plan = { runId: null, offset: 0, total: 0 };

  async function startRun(dryRun) {
    for (const id of ["run-now", "preview"]) $(id).disabled = true;
    const progress = $("run-progress");
    try {
      const queued = await api("/admin/reconcile" + (dryRun ? "?dry_run=true" : ""), { method: "POST" });
      progress.textContent = (dryRun ? "Preview" : "Run") + " " + queued.id + " queued…";
      let run;
      for (;;) {
        run = await api("/admin/runs/" + queued.id + "?plan=false");
        const phase = run.phase ? ", " + run.phase : "";
        const counts = run.progress ? " — " + countsText(run.progress) : "";
        progress.replaceChildren((dryRun ? "Preview " : "Run ") + run.id + ": ", statusText(run.status), phase + counts);
        if (!["queued", "running"].includes(run.status)) break;
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
      progress.append(" in " + duration(run.duration_ms) + (run.message ? ". " + run.message : "."));
      if (dryRun) {
        plan.runId = run.id;
        plan.offset = 0;
        await loadPlan();
      }
    } catch (error) {
      showError(error);
    } finally {
      for (const id of ["run-now", "preview"]) $(id).disabled = false;
    }
  }
  $("run-now").addEventListener("click", () => startRun(false));
  $("preview").addEventListener("click", () => startRun(true));

  async function loadPlan() {
    const action = $("plan-action").value;
    const page = await api(`/admin/runs/${plan.runId}/plan?action=${encodeURIComponent(action)}` +
                           `&offset=${plan.offset}&limit=${PAGE}`);
    plan.total = page.total;
    const select = $("plan-action");
    const kept = select.value;
    select.replaceChildren(el("option", { value: "", text: "all" }));
    for (const [name, n] of Object.entries(page.counts || {})) {
      if (n) select.append(el("option", { value: name, text: `${name} (${n})` }));
    }
    select.value = kept;
    $("plan-summary").textContent = `Preview ${plan.runId}: ${countsText(page.counts)}.` +
      (page.safety && page.safety.exceeded ? " " + page.safety.message : "");
    fillRows($("plan-table"), page.users.map((u) => [
      u.actions.join(", "), u.record_id, u.login,
      (u.changes || []).join("; ") + (u.problem ? " (" + u.problem + ")" : "") || u.reason]),
      "No users with this action.");
    const last = Math.min(plan.offset + PAGE, plan.total);
    $("plan-page").textContent = plan.total ? `${plan.offset + 1}–${last} of ${plan.total}` : "0 of 0";
    $("plan-prev").disabled = plan.offset === 0;
    $("plan-next").disabled = last >= plan.total;
    $("plan-section").hidden = false;
  }
  $("plan-action").addEventListener("change", () => { plan.offset = 0; loadPlan().catch(showError); });
  $("plan-prev").addEventListener("click", () => { plan.offset = Math.max(0, plan.offset - PAGE); loadPlan().catch(showError); });
  $("plan-next").addEventListener("click", () => { plan.offset += PAGE; loadPlan().catch(showError); });

  // --- dead letters ----------------------------------------------------------------------

  function renderDeadLetters(records) {
    fillRows($("dead-table"), records.map((r) => {
      const button = el("button", { type: "button", class: "small secondary", text: "Retry",
                                    "aria-label": "Retry " + r.record_id });
      button.addEventListener("click", () => retry(r.record_id));
      return [r.record_id, r.attempts, r.last_error, button];
    }), "No dead letters.");
    $("retry-all").disabled = records.length === 0;
  }

  function renderHeld(records) {
    fillRows($("held-table"), records.map((r) => {
      const button = el("button", { type: "button", class: "small secondary", text: "Release",
                                    "aria-label": "Release " + r.record_id });
      button.addEventListener("click", () => release(r.record_id));
      return [r.record_id, r.reason, button];
    }), "Nothing held.");
    $("release-all").disabled = records.length === 0;
  }

  async function loadDeadLetters() {
    const status = await api("/admin/status");
    renderDeadLetters(status.dead_letter_records || []);
    renderHeld(status.held_records || []);
  }
  onShow["tab-dead"] = loadDeadLetters;

  async function retry(recordId) {
    try {
      const query = recordId ? "?record_id=" + encodeURIComponent(recordId) : "";
      const result = await api("/admin/dead-letters/retry" + query, { method: "POST" });
      $("dead-status").textContent = `Re-queued ${result.requeued} ${result.requeued === 1 ? "record" : "records"}.`;
      await loadDeadLetters();
    } catch (error) {
      showError(error);
    }
  }
  $("retry-all").addEventListener("click", () => retry(""));

  async function release(recordId) {
    try {
      const query = recordId ? "?record_id=" + encodeURIComponent(recordId) : "";
      const result = await api("/admin/release" + query, { method: "POST" });
      $("held-status").textContent = `Released ${result.released} ${result.released === 1 ? "record" : "records"}.`;
      await loadDeadLetters();
    } catch (error) {
      showError(error);
    }
  }
  $("release-all").addEventListener("click", () => release(""));

  // --- users: search and the explain timeline --------------------------------------------

  const NOT_AVAILABLE = "User history is not available in this version of the service.";

  $("user-search").addEventListener("submit", async (event) => {
    event.preventDefault();
    const q = $("user-query").value.trim();
    const results = $("user-results");
    results.replaceChildren();
    $("user-detail").hidden = true;
    if (!q) {
      $("users-status").textContent = "Enter a username, e-mail or record id.";
      return;
    }
    try {
      const answer = await api("/admin/users?limit=20&q=" + encodeURIComponent(q));
      const users = answer.users || [];
      $("users-status").textContent = users.length ? `${users.length} found.` : "No user matches.";
      for (const u of users) {
        const button = el("button", { type: "button", class: "secondary",
                                      text: `${u.login || u.record_id} — ${u.email || "no e-mail"} (${u.record_id}, ${u.state || "?"})` });
        button.addEventListener("click", () => showUser(u.record_id));
        results.append(el("li", {}, button));
      }
      if (users.length === 1) await showUser(users[0].record_id);
    } catch (error) {
      if (error.routeMissing) $("users-status").textContent = NOT_AVAILABLE;
      else showError(error);
    }
  });

  async function showUser(id) {
    try {
      const a = await api("/admin/users/" + encodeURIComponent(id));
      $("user-title").textContent = "Salesforce user " + (a.record_id || id);
      const sf = a.salesforce || {};
      const is = a.ispring || {};
      const now = a.now || {};
      const pairs = [
        ["Organization", a.organization_id],
        ["iSpring link", a.link && a.link.ispring_user_id ? a.link.ispring_user_id : "none yet"],
      ];
      for (const [k, v] of Object.entries(sf.fields || {})) pairs.push(["Salesforce " + k, v]);
      if (sf.queue) pairs.push(["Queue", [sf.queue.state, sf.queue.last_error || sf.queue.last_outcome].filter(Boolean).join(": ")]);
      if (is.checked && is.user) {
        pairs.push(["iSpring now", `${is.user.id}, ${is.user.status || ""}, department ${is.user.department || is.user.department_id || "–"}`]);
      } else {
        pairs.push(["iSpring now", is.checked ? "no such user" : "not read: " + (is.error || is.reason || "–")]);
      }
      if (now.scope) pairs.push(["Scope", `${now.scope.in_scope ? "in scope" : "out of scope"}: ${now.scope.reason} → ${now.scope.action}`]);
      if (now.queue) pairs.push(["Queue now", now.queue]);
      if (now.summary) pairs.push(["What would happen", now.summary]);
      if (now.plan && now.plan.length) pairs.push(["Plan", now.plan]);
      if (now.problem) pairs.push(["Cannot be applied", now.problem]);
      if (now.note) pairs.push(["Note", now.note]);
      fillFacts($("user-facts"), pairs);
      const timeline = $("user-timeline");
      timeline.replaceChildren();
      for (const e of a.timeline || []) {
        timeline.append(el("li", {}, el("time", { datetime: e.at || "", text: e.at ? localTime(e.at) : "" }), e.text || e.kind || ""));
      }
      if (!(a.timeline || []).length) timeline.append(el("li", { text: "Nothing recorded (or pruned)." }));
      $("user-detail").hidden = false;
    } catch (error) {
      if (error.routeMissing) $("users-status").textContent = NOT_AVAILABLE;
      else showError(error);
    }
  }

  // --- what the other scripts of the page use (forms.js, settings_forms.js, ...) ----------

  window.connectorPage = {
    api, ApiError, el, show, fillRows, fillFacts, localTime, countsText, statusText, showError,
    // Runs `load` too whenever the tab opens.
    onShow(tabId, load) {
      const before = onShow[tabId];
      onShow[tabId] = before ? () => Promise.all([before(), load()]) : load;
    },
    setLeaveGuard(guard) { leaveGuard = guard; },
    selectedTab: () => tabs.find((t) => t.getAttribute("aria-selected") === "true"),
    selectTab: (id) => selectTab($(id), true),
    signedIn: () => !$("console").hidden,
  };

  // --- start -----------------------------------------------------------------------------

  if (sessionStorage.getItem(TOKEN_KEY)) enter();
  else $("token").focus();
})();

// The Authorization (alert addresses), Mapping and Schedule forms, over forms.js. The
// drop-downs are read live: Salesforce User fields (GET /admin/salesforce/fields) and iSpring
// Learn profile fields (GET /admin/ispring/fields); the value in force is always among the
// options, so a field Salesforce no longer describes is shown, not silently replaced.
"use strict";

(() => {
  const page = window.connectorPage;
  const forms = window.connectorForms;
  const { api, el } = page;
  const $ = (id) => document.getElementById(id);

  // An integer as typed becomes a number; anything else goes as typed, and the service's
  // error names the key ("expected an integer").
  function numberOrText(input) {
    const text = input.value.trim();
    return /^-?\d+$/.test(text) ? Number(text) : text;
  }

  function fillSelect(select, options, value, emptyLabel) {
    select.replaceChildren();
    if (emptyLabel !== undefined) select.append(el("option", { value: "", text: emptyLabel }));
    const names = options.map((o) => o.value);
    if (value && !names.includes(value)) select.append(el("option", { value, text: value + " (in force)" }));
    for (const o of options) select.append(el("option", { value: o.value, text: o.text }));
    select.value = value || "";
  }

  // --- Authorization: the seed's "Salesforce admin email" -----------------------------------

  // The addresses need the file's alerts.smtp: without it there is nothing to send with.
  let smtpConfigured = true;
  const alerts = forms.sectionForm({
    section: "alerts.email_to", form: $("alerts-form"), tab: "tab-authorization",
    lockedBecause: () => (smtpConfigured ? "" : "Alert mails need an SMTP server: set alerts.smtp in the configuration file first, then the addresses here."),
    fill(value) {
      $("alerts-email-to").value = (value || []).join(", ");
    },
    read() {
      return $("alerts-email-to").value.split(/[,;\s]+/).map((a) => a.trim()).filter(Boolean);
    },
  });
  page.onShow("tab-authorization", async () => {
    const config = await api("/admin/config");
    smtpConfigured = !!(config.alerts && config.alerts.smtp && config.alerts.smtp.host);
    if (!alerts.dirty()) alerts.baseline = null;
    await forms.loadSettings();
  });

  // --- Mapping -----------------------------------------------------------------------------

  const MANDATORY = ["last_name", "login", "email", "department", "groups"];
  const pickers = { salesforce: [], ispring: [] }; // options, once read

  function salesforceOptions() {
    return pickers.salesforce.map((f) => ({ value: f.name, text: `${f.label} (${f.name})` }));
  }
  function ispringOptions() {
    return pickers.ispring.map((f) => ({ value: f.id, text: f.label && f.label !== f.id ? `${f.label} (${f.id})` : f.id }));
  }

  let rowSerial = 0;
  function fieldRow(ispringId, salesforceField) {
    const n = ++rowSerial; // ids for the labels and the errors' aria-describedby
    const target = el("select", { id: `extra-ispring-${n}`, "aria-label": "iSpring Learn field", class: "extra-ispring" });
    fillSelect(target, ispringOptions(), ispringId, "choose a field");
    const source = el("select", { id: `extra-salesforce-${n}`, "aria-label": "Salesforce field", class: "extra-salesforce" });
    fillSelect(source, salesforceOptions(), salesforceField, "choose a field");
    const keyOf = () => "mapping.fields" + (/^[A-Za-z0-9_-]+$/.test(target.value) ? "." + target.value : `[${JSON.stringify(target.value)}]`);
    source.dataset.key = keyOf();
    target.addEventListener("change", () => { source.dataset.key = keyOf(); });
    const remove = el("button", { type: "button", class: "secondary small", text: "Remove" });
    remove.addEventListener("click", () => {
      const row = remove.closest("tr");
      const next = row.nextElementSibling || row.previousElementSibling;
      row.remove();
      (next ? next.querySelector("select") : $("add-field")).focus();
    });
    const row = el("tr", {}, el("td", {}, target), el("td", {}, source), el("td", {}, remove));
    remove.setAttribute("aria-label", "Remove this field");
    $("fields-table").tBodies[0].append(row);
    return row;
  }

  const mapping = forms.sectionForm({
    section: "mapping", form: $("mapping-form"), tab: "tab-mapping",
    fill(value) {
      for (const name of MANDATORY) {
        fillSelect($("map-" + name), salesforceOptions(), value[name] || "",
                   name === "groups" ? "none: groups are not synchronised" : undefined);
      }
      $("fields-table").tBodies[0].replaceChildren();
      for (const [id, field] of Object.entries(value.fields || {})) fieldRow(id, field);
    },
    read() {
      const value = {};
      for (const name of MANDATORY) if ($("map-" + name).value) value[name] = $("map-" + name).value;
      value.fields = {};
      for (const row of $("fields-table").tBodies[0].rows) {
        const id = row.querySelector(".extra-ispring").value;
        if (id || row.querySelector(".extra-salesforce").value) value.fields[id] = row.querySelector(".extra-salesforce").value;
      }
      return value;
    },
    // Two rows for one iSpring field would collapse into one in the JSON: said, not lost.
    check() {
      const seen = new Set();
      for (const row of $("fields-table").tBodies[0].rows) {
        const target = row.querySelector(".extra-ispring");
        const source = row.querySelector(".extra-salesforce");
        if (!target.value) return { key: source.dataset.key, control: target, message: "choose the iSpring Learn field of this row (or remove the row)" };
        if (seen.has(target.value)) return { key: source.dataset.key, control: source, message: `${target.value} is mapped twice: remove one of the rows` };
        seen.add(target.value);
      }
      return null;
    },
  });

  $("add-field").addEventListener("click", () => fieldRow("", "").querySelector("select").focus());

  async function loadMappingPickers() {
    const note = $("mapping-picker-note");
    const [sf, is] = await Promise.allSettled([api("/admin/salesforce/fields"), api("/admin/ispring/fields")]);
    const problems = [];
    if (sf.status === "fulfilled") pickers.salesforce = sf.value.fields || [];
    else problems.push("Salesforce fields could not be read (" + sf.reason.message + ")");
    if (is.status === "fulfilled") {
      const reserved = ["login", "email", "last_name"]; // mapped by the mandatory fields
      pickers.ispring = (is.value.fields || []).filter((f) => !reserved.includes(f.id.toLowerCase()));
    } else {
      problems.push("iSpring Learn fields could not be read (" + is.reason.message + ")");
    }
    note.textContent = problems.length ? problems.join("; ") + ": only the fields in force are offered." : "";
    note.className = problems.length ? "picker-note error" : "picker-note";
  }

  page.onShow("tab-mapping", async () => {
    await loadMappingPickers();
    if (!mapping.dirty()) mapping.baseline = null;
    await forms.loadSettings();
  });

  // --- Schedule: Save is the seed's "Change Schedule Job" -----------------------------------

  const SCHEDULE_NUMBERS = ["run_interval_minutes", "check_sync_status_after_seconds",
                            "check_sync_status_duration_minutes", "interval_after_expire_duration_minutes"];
  const schedule = forms.sectionForm({
    section: "schedule", form: $("schedule-form"), tab: "tab-schedule",
    fill(value) {
      $("schedule-run_type").value = value.run_type;
      for (const name of [...SCHEDULE_NUMBERS, "time_zone"]) $("schedule-" + name).value = value[name];
      $("schedule-start_work_time").value = value.start_work_time || "";
      $("schedule-stop_work_time").value = value.stop_work_time || "";
    },
    read() {
      const value = { run_type: $("schedule-run_type").value, time_zone: $("schedule-time_zone").value.trim() };
      for (const name of SCHEDULE_NUMBERS) value[name] = numberOrText($("schedule-" + name));
      for (const name of ["start_work_time", "stop_work_time"]) {
        const text = $("schedule-" + name).value.trim();
        if (text) value[name] = text; // empty: no work window
      }
      return value;
    },
  });

  const zones = typeof Intl.supportedValuesOf === "function" ? Intl.supportedValuesOf("timeZone") : [];
  $("time-zones").replaceChildren(...["UTC", ...zones].map((z) => el("option", { value: z })));
  page.onShow("tab-schedule", forms.loadSettings);

  window.connectorSettingsForms = { alerts, mapping, schedule };
})();

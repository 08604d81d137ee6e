// The settings forms' common layer (design.md "Settings edited in the page"): one GET
// /admin/settings feeds every form; a form saves its section with PUT
// /admin/settings/{section} and If-Match, so two administrators cannot overwrite each other.
// A 400 is shown beside the field its `key` names, a 409 (someone saved meanwhile) offers a
// reload and never overwrites, a section the config file sets is read-only, and a guard
// warns before unsaved changes are lost. The server is the only validator: the form sends
// what was typed, and the server's error names the key.
"use strict";

(() => {
  const page = window.connectorPage;
  const { api, ApiError, el } = page;
  const $ = (id) => document.getElementById(id);

  const state = { revision: null, settings: null, fileManaged: [] };
  const forms = [];
  const listeners = []; // called after every (re)load: the revisions list, for one

  const clone = (value) => (value === undefined ? undefined : JSON.parse(JSON.stringify(value)));

  // The settings in force; every form that has no unsaved changes shows them again.
  async function loadSettings() {
    const answer = await api("/admin/settings");
    state.revision = answer.revision;
    state.settings = answer.settings;
    state.fileManaged = answer.file_managed || [];
    for (const form of forms) if (!form.dirty()) form.fill();
    for (const listener of listeners) listener(state);
    return state;
  }

  // --- errors beside their field -----------------------------------------------------------

  // The control a key names, or the nearest parent key's ("sync.departments.Sales.users" →
  // "sync.departments.Sales" → "sync.departments"); null when the form has none.
  function controlFor(form, key) {
    let at = key;
    while (at) {
      const control = Array.from(form.querySelectorAll("[data-key]")).find((c) => c.dataset.key === at);
      if (control) return control;
      const cut = Math.max(at.lastIndexOf("."), at.lastIndexOf("["));
      at = cut > 0 ? at.slice(0, cut) : "";
    }
    return null;
  }

  function clearErrors(form) {
    for (const p of form.querySelectorAll(".field-error")) p.remove();
    for (const c of form.querySelectorAll('[aria-invalid="true"]')) {
      c.removeAttribute("aria-invalid");
      const ids = (c.getAttribute("aria-describedby") || "").split(" ").filter((id) => id && !id.endsWith("-error"));
      if (ids.length) c.setAttribute("aria-describedby", ids.join(" "));
      else c.removeAttribute("aria-describedby");
    }
  }

  let errorSerial = 0;
  function showFieldError(form, key, message, control = controlFor(form, key)) {
    if (!control) return false;
    if (!control.id) control.id = "field-" + ++errorSerial;
    const id = control.id + "-error";
    const note = el("p", { class: "field-error error", id, text: message });
    const field = control.closest(".field, td, fieldset.choice");
    if (field) field.append(note);
    else control.after(note);
    control.setAttribute("aria-invalid", "true");
    const described = (control.getAttribute("aria-describedby") || "").split(" ").filter(Boolean);
    control.setAttribute("aria-describedby", [...described, id].join(" "));
    const focusable = control.matches("input, select, textarea, button") ? control
      : control.querySelector("input:checked, input, select, button");
    if (focusable) focusable.focus();
    return true;
  }

  // --- a section's form --------------------------------------------------------------------

  // spec: { section, form (element), tab (its tab id), fill(value, readOnly), read() → value,
  //         check() → {key, message, control?} | null (what the JSON cannot say, e.g. a
  //         field mapped twice; control: the one to mark when the key names two),
  //         lockedBecause() → why the section cannot be edited now, or "" }
  function sectionForm(spec) {
    const form = spec.form;
    const status = form.querySelector(".form-status");
    const note = form.querySelector(".managed-note");
    const self = {
      ...spec,
      baseline: null, // the form's value as loaded, to tell unsaved changes
      readOnly: false,
      fill() {
        const managed = state.fileManaged.includes(spec.section);
        const locked = !managed && spec.lockedBecause ? spec.lockedBecause() : "";
        self.readOnly = managed || !!locked;
        self.revision = state.revision; // what a save says it started from (If-Match)
        clearErrors(form);
        spec.fill(clone(state.settings[spec.section]), self.readOnly);
        for (const body of form.querySelectorAll("fieldset.form-body")) body.disabled = self.readOnly;
        for (const b of form.querySelectorAll(".form-actions button")) b.hidden = self.readOnly;
        note.hidden = !self.readOnly;
        note.textContent = managed
          ? `Read-only: the configuration file sets "${spec.section}"; change it there (or remove it from the file to edit it here).`
          : locked;
        self.baseline = JSON.stringify(spec.read());
      },
      dirty() {
        return self.baseline !== null && !self.readOnly && JSON.stringify(spec.read()) !== self.baseline;
      },
      discard() {
        self.baseline = null;
        self.fill();
      },
      say(text, ...nodes) {
        status.replaceChildren(text, ...nodes);
      },
      showError: (key, message) => showFieldError(form, key, message),
      clearErrors: () => clearErrors(form),
    };
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      save(self);
    });
    forms.push(self);
    return self;
  }

  async function save(form) {
    form.clearErrors();
    const problem = form.check ? form.check() : null;
    if (problem) {
      form.say("Not saved: " + problem.message);
      if (!showFieldError(form.form, problem.key, problem.message, problem.control)) {
        form.say("Not saved: " + problem.key + ": " + problem.message);
      }
      return;
    }
    const from = form.revision;
    form.say("Saving…");
    try {
      const answer = await api("/admin/settings/" + encodeURIComponent(form.section), {
        method: "PUT", body: form.read(), headers: { "If-Match": `"${from}"` } });
      form.baseline = null; // refilled from what the service now holds
      await loadSettings();
      form.say(answer.saved ? `Saved as revision ${answer.revision}. It applies now, without a restart.`
                            : `Nothing to save: revision ${answer.revision} already holds these settings.`);
    } catch (error) {
      sayRefusal(form, error, from);
    }
  }

  function sayRefusal(form, error, from) {
    if (error instanceof ApiError && error.status === 401) return form.say("");
    if (error instanceof ApiError && error.status === 400 && error.key) {
      form.say("Not saved: " + error.message);
      if (!form.showError(error.key, error.message)) form.say(`Not saved: ${error.key}: ${error.message}`);
      return;
    }
    if (error instanceof ApiError && error.status === 409 && error.key !== form.section) {
      const reload = el("button", { type: "button", class: "secondary small", text: "Reload the newest settings" });
      reload.addEventListener("click", () => {
        form.baseline = null;
        loadSettings().then(() => form.say("Reloaded: these are the newest settings. Make your change again."),
                            page.showError);
      });
      form.say(`Not saved: someone saved the settings meanwhile (you started from revision ${from}). ` +
               "Nothing was overwritten. Reload to see theirs (your changes here are dropped). ", reload);
      reload.focus();
      return;
    }
    form.say("Not saved: " + error.message);
  }

  // --- dialogs -----------------------------------------------------------------------------

  // Opens a <dialog> holding a form; resolves with the value of the button that closed it
  // ("" for Escape). Enter submits (the first button), Escape cancels. Settled on the submit
  // and cancel events themselves: "close" is queued, and a late one would settle the next
  // opening of the same dialog.
  function openDialog(dialog, focus) {
    const opener = document.activeElement;
    const form = dialog.querySelector("form");
    return new Promise((resolve) => {
      const finish = (value) => {
        form.removeEventListener("submit", onSubmit);
        dialog.removeEventListener("cancel", onCancel);
        dialog.close(value);
        if (opener && opener.isConnected) opener.focus();
        resolve(value);
      };
      const onSubmit = (event) => {
        event.preventDefault();
        const value = event.submitter ? event.submitter.value : "";
        if (dialog.beforeClose && !dialog.beforeClose(value)) return;
        finish(value);
      };
      const onCancel = () => finish("");
      form.addEventListener("submit", onSubmit);
      dialog.addEventListener("cancel", onCancel);
      dialog.showModal();
      if (focus) focus.focus();
    });
  }

  // A yes/no question: resolves true on the confirming button.
  async function confirmDialog(title, bodyNodes, confirmText) {
    $("confirm-title").textContent = title;
    $("confirm-body").replaceChildren(...bodyNodes);
    $("confirm-ok").textContent = confirmText;
    return (await openDialog($("confirm-dialog"), $("confirm-cancel"))) === "confirm";
  }

  // --- the guard against losing unsaved changes ---------------------------------------------

  const tabName = (form) => $(form.tab).textContent;

  page.setLeaveGuard((proceed) => {
    const dirty = forms.filter((f) => f.dirty());
    if (!dirty.length) return proceed();
    $("unsaved-text").textContent = `The ${dirty.map(tabName).join(" and ")} tab has changes that are not saved. ` +
      "Leave and lose them, or stay and save them?";
    openDialog($("unsaved-dialog"), $("unsaved-stay")).then((choice) => {
      if (choice === "discard") {
        for (const f of dirty) f.discard();
        proceed();
      } else {
        const first = dirty[0].form.querySelector("fieldset.form-body input, fieldset.form-body select");
        if (first) first.focus();
      }
    });
  });

  // Closing or reloading the page: the browser asks (its own words).
  window.addEventListener("beforeunload", (event) => {
    if (!forms.some((f) => f.dirty())) return;
    event.preventDefault();
    event.returnValue = "";
  });

  window.connectorForms = {
    state, loadSettings, sectionForm, openDialog, confirmDialog, clone,
    onLoad: (listener) => listeners.push(listener),
    anyDirty: () => forms.some((f) => f.dirty()),
  };
})();

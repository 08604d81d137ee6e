#!/usr/bin/python3
"""The settings forms of the admin page end to end, in a real headless Chromium.

The real `connector serve` with the iSpring Learn and Salesforce sandboxes, its config
leaving mapping, schedule, sync and the alert addresses to the page (as the packaged config
does). As an administrator coming from the seed's tabs would, it: meets a field error on the
alert address and saves a good one; picks Sales from the departments read from Salesforce;
ticks exactly two of the five Support users in "Manage users"; sees the preview (a dry run
of the form's settings: exactly those users created, nothing saved); saves and
runs a reconciliation from the page; finds exactly those users in iSpring; meets a field
error beside a zero interval with nothing saved; is refused (not overwritten) when someone
saved meanwhile; restores the previous revision; meets the unsaved-changes guard; adds a
group and profile fields. Screenshots of every form at laptop and phone widths go to
<build>/tests/browser-artifacts/settings/.

Usage: settings_page_test.py --build-dir BUILD --source-dir SOURCE
"""

import argparse
import json
import os
import sys
import time
from datetime import datetime, timedelta, timezone

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import admin_page_test as base  # noqa: E402  (the harness: sandboxes, service, Chromium)
from admin_page_test import ADMIN_TOKEN, LAPTOP, PHONE, expect, step  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support.ui import Select  # noqa: E402

SALES = {"ann.lee@acme.example.prod", "sam.cole@acme.example.prod"}  # active; Otto is not
SUPPORT = ["bob.ng", "sue.park", "sid.roy", "sky.lund", "stu.marsh"]
PICKED = {"sue.park@acme.example.prod", "sid.roy@acme.example.prod"}
FORMS = ["authorization", "mapping", "schedule", "sync", "revisions"]


def page_managed(config):
    """The packaged config's shape: the seed's tabs are the page's, not the file's."""
    for section in ("mapping", "sync", "schedule"):
        del config[section]
    # Alert mails go through an SMTP server set in the file (nothing listens: none is sent
    # by this walk); the addresses are the page's.
    config["alerts"] = {"smtp": {"host": "127.0.0.1", "port": 1, "security": "none",
                                 "from": "connector@acme.example"}}


def settings(harness):
    code, answer = harness.admin_json("/admin/settings")
    expect(code == 200, f"GET /admin/settings: {code} {answer}")
    return answer


def ispring_active_logins(harness):
    _, state = harness.request(harness.ispring_url + "/_sandbox/state")
    logins = set()
    for user in json.loads(state)["users"]:
        fields = {f["name"].lower(): f["value"] for f in user["fields"]}
        if user["status"] == 1:
            logins.add(fields.get("login"))
    return logins


def revision_shown(page):
    return [r[0] for r in page.rows("#revisions-table")]


def field_error_beside(page, control_id, fragment):
    """The error under the control, tied to it for screen readers, with the focus on it."""
    driver = page.driver
    page.wait.until(lambda d: d.find_elements(By.ID, control_id + "-error"), "the field error")
    error = page.find("#" + control_id + "-error")
    expect(fragment in error.text, error.text)
    control = page.find("#" + control_id)
    expect(control_id + "-error" in (control.get_attribute("aria-describedby") or ""),
           "aria-describedby does not name the error")
    expect(control.get_attribute("aria-invalid") == "true", "aria-invalid")
    expect(driver.switch_to.active_element.get_attribute("id") == control_id,
           "focus is on " + str(driver.switch_to.active_element.get_attribute("id")))
    # Beside it: inside the same field, right below the control.
    expect(error.find_element(By.XPATH, "..") == control.find_element(By.XPATH, ".."),
           "the error is not in the field's box")


def sign_in(harness, page):
    page.driver.get(harness.admin + "/")
    page.wait.until(lambda d: d.find_element(By.ID, "token").is_displayed(), "the sign-in form")
    page.find("#token").send_keys(ADMIN_TOKEN)
    page.find("#sign-in-button").click()
    page.wait.until(lambda d: d.find_element(By.ID, "console").is_displayed(), "the console")


def authorization(harness, page):
    page.tab("authorization")
    page.wait_text("#ispring-settings", "Client secret")
    expect("Client secret\nset (never shown)" in page.text("#ispring-settings"),
           page.text("#ispring-settings"))
    expect(base.ISPRING_SECRET not in page.driver.page_source, "the iSpring secret is in the page")
    _, config = harness.admin_json("/admin/config")
    expect(base.ISPRING_SECRET not in json.dumps(config), "GET /admin/config reads the secret back")
    box = page.find("#alerts-email-to")
    box.send_keys("ops@acme.example, not an address")
    page.find("#alerts-form button.save").click()
    field_error_beside(page, "alerts-email-to", "e-mail address")
    expect(settings(harness)["revision"] == 0, "saved after a validation error")
    box.clear()
    box.send_keys("ops@acme.example" + Keys.ENTER)  # Enter submits the form
    page.wait_text("#alerts-form .form-status", "Saved as revision 1")
    expect(not page.driver.find_elements(By.ID, "alerts-email-to-error"), "the error stayed")
    expect(settings(harness)["settings"]["alerts.email_to"] == ["ops@acme.example"], "alerts")


def mapping(page):
    page.tab("mapping")
    page.wait.until(lambda d: len(Select(page.find("#map-login")).options) > 3,
                    "Salesforce's User fields in the drop-down")
    expect(page.find("#map-login").get_attribute("value") == "Username", "login")
    options = [o.get_attribute("value") for o in Select(page.find("#map-department")).options]
    expect("Department" in options and "Title" in options, str(options))
    # A new row then removed: nothing left to save, so no guard.
    page.find("#add-field").click()
    expect(len(page.rows("#fields-table")) == 2, str(page.rows("#fields-table")))
    page.find('#fields-table tbody tr:last-child button').click()
    expect(len(page.rows("#fields-table")) == 1, str(page.rows("#fields-table")))


def department_row(page, name):
    for row in page.rows("#sync-departments-table"):
        if len(row) > 1 and row[1].startswith(name):
            return row
    return None


def pick_departments(page):
    """Sales with all its users; Support with exactly two of its five, by Manage users."""
    driver = page.driver
    page.tab("sync")
    page.wait.until(lambda d: department_row(page, "Support") and department_row(page, "Support")[2] == "5",
                    "Support's five active users, read from Salesforce")
    expect(department_row(page, "Sales")[2] == "2", str(department_row(page, "Sales")))
    # Every department is in scope today, and the form says so: ticks are not offered.
    expect(page.find('input[name="department_scope"][value="all"]').is_selected(), "not 'All'")
    expect(not page.find('[aria-label="Synchronise Sales"]').is_enabled(), "a tick in 'All'")
    page.shoot("laptop-sync-all-departments")
    page.find('input[name="department_scope"][value="only"]').click()
    page.wait_text("#sync-departments-note", "No department ticked")
    page.find('[aria-label="Synchronise Sales"]').click()
    page.find('[aria-label="Synchronise Support"]').click()
    page.find('[aria-label="Manage users of Support"]').click()
    dialog = page.find("#users-dialog")
    page.wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#users-dialog-list li")) == 5,
                    "Support's five users in the tick list")
    listed = page.text("#users-dialog-list")
    for name in SUPPORT:
        expect(name in listed, listed)
    # Search narrows the list (Salesforce answers it).
    page.find("#users-dialog-q").send_keys("sue")
    page.wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#users-dialog-list li")) == 1,
                    "the search")
    driver.find_element(By.XPATH, '//ul[@id="users-dialog-list"]//label[contains(., "sue.park")]').click()
    page.find("#users-dialog-q").clear()
    page.find("#users-dialog-q").send_keys(Keys.ENTER)  # Enter searches, it does not close
    page.wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#users-dialog-list li")) == 5,
                    "the whole list again")
    expect(dialog.is_displayed(), "Enter in the search closed the dialog")
    driver.find_element(By.XPATH, '//ul[@id="users-dialog-list"]//label[contains(., "sid.roy")]').click()
    expect(page.find('input[name="users_mode"][value="only"]').is_selected(), "ticking is 'only'")
    page.wait_text("#users-dialog-chosen", "2 ticked")
    page.shoot("laptop-sync-manage-users")
    page.find("#users-dialog-done").click()
    page.wait.until(lambda d: not dialog.is_displayed(), "the dialog closed")
    row = department_row(page, "Support")
    expect("2 users" in row[5], str(row))
    expect(not page.find('[aria-label="Sync all users of Support"]').is_selected(), "all users")
    # Escape leaves the dialog and changes nothing.
    page.find('[aria-label="Manage users of Support"]').click()
    page.wait.until(lambda d: dialog.is_displayed(), "the dialog again")
    page.wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#users-dialog-list li")) == 5, "list")
    driver.find_element(By.XPATH, '//ul[@id="users-dialog-list"]//label[contains(., "sky.lund")]').click()
    driver.switch_to.active_element.send_keys(Keys.ESCAPE)
    page.wait.until(lambda d: not dialog.is_displayed(), "Escape closes the dialog")
    expect("2 users" in department_row(page, "Support")[5], str(department_row(page, "Support")))


def add_department_search(page):
    """Add New Department searches every department (the picker without department=)."""
    driver = page.driver
    page.find("#add-department").click()
    dialog = page.find("#users-dialog")
    page.wait.until(lambda d: dialog.is_displayed(), "the Add New Department dialog")
    expect(driver.switch_to.active_element.get_attribute("id") == "new-department-name", "focus")
    page.find("#users-dialog-q").send_keys("fay" + Keys.ENTER)
    page.wait_text("#users-dialog-list", "fay.wu")
    expect("Finance" in page.text("#users-dialog-list"), page.text("#users-dialog-list"))
    page.shoot("laptop-sync-add-department")
    page.find("#users-dialog-cancel").click()
    page.wait.until(lambda d: not dialog.is_displayed(), "cancelled")
    expect(not any("hand-picked" in r[1] for r in page.rows("#sync-departments-table")),
           "Cancel added a department")


def add_group(harness, page):
    """Add New Group: created in iSpring ahead of any user; with every group synchronised
    the settings do not change (no revision), and the unsaved department picks stay."""
    page.find("#add-group").click()
    page.wait.until(lambda d: d.find_element(By.ID, "group-dialog").is_displayed(), "the dialog")
    page.find("#new-group-name").send_keys("Onboarding 2026" + Keys.ENTER)
    page.wait_text("#add-group-status", "Group Onboarding 2026 created in iSpring Learn.")
    expect("Onboarding 2026" in page.text("#sync-groups-list"), page.text("#sync-groups-list"))
    _, state = harness.request(harness.ispring_url + "/_sandbox/state")
    expect("Onboarding 2026" in state, "the group is not in iSpring")
    expect(settings(harness)["revision"] == 1, "a revision for a group with every group synced")
    expect("2 users" in department_row(page, "Support")[5], "the unsaved picks were lost")


def preview(harness, page):
    page.find("#sync-preview").click()
    page.wait.until(lambda d: d.find_element(By.ID, "sync-preview-result").is_displayed()
                    or "review" in d.find_element(By.CSS_SELECTOR, "#sync-form .form-status").text
                    and "Previewing" not in d.find_element(By.CSS_SELECTOR, "#sync-form .form-status").text,
                    "the preview")
    status = page.text("#sync-form .form-status")
    expect(page.find("#sync-preview-result").is_displayed(), "no preview: " + status)
    summary = page.text("#sync-preview-summary")
    expect("adds 4 users" in summary, summary)
    logins = {r[1] for r in page.rows("#sync-preview-table") if "create" in r[0]}
    expect(logins == SALES | PICKED, str(page.rows("#sync-preview-table")))
    page.shoot("laptop-sync-preview")
    # A dry run of the candidate: nothing saved, nothing written to iSpring.
    expect(settings(harness)["revision"] == 1, "the preview saved a revision")
    expect(ispring_active_logins(harness) == set(), "the preview wrote to iSpring")


def save_and_run(harness, page):
    page.find("#sync-form button.save").click()
    page.wait_text("#sync-form .form-status", "Saved as revision 2")
    departments = settings(harness)["settings"]["sync"]["departments"]
    expect(departments["Sales"] == {"sync_all_users": True}, str(departments))
    expect(departments["Support"]["sync_all_users"] is False
           and sorted(departments["Support"]["users"]) == sorted(PICKED), str(departments))
    expect(set(departments) == {"Sales", "Support"}, str(departments))
    page.tab("runs")
    page.find("#run-now").click()
    page.wait.until(lambda d: "succeeded" in d.find_element(By.ID, "run-progress").text
                    and d.find_element(By.ID, "run-progress").text.startswith("Run "),
                    "the run to finish")
    found = ispring_active_logins(harness)
    expect(found == SALES | PICKED, f"iSpring holds {sorted(found)}")


def zero_interval(harness, page):
    page.tab("schedule")
    page.wait.until(lambda d: page.find("#schedule-run_type").get_attribute("value") == "manual",
                    "the schedule form")
    Select(page.find("#schedule-run_type")).select_by_value("interval")
    interval = page.find("#schedule-run_interval_minutes")
    interval.clear()
    interval.send_keys("0")
    page.find("#schedule-form button.save").click()
    field_error_beside(page, "schedule-run_interval_minutes", "run_interval_minutes")
    expect("Not saved" in page.text("#schedule-form .form-status"), page.text("#schedule-form .form-status"))
    page.shoot("laptop-schedule-field-error")
    now = settings(harness)
    expect(now["revision"] == 2 and now["settings"]["schedule"]["run_type"] == "manual", str(now))
    # The admin fixes it; Change Schedule Job saves it.
    interval.clear()
    interval.send_keys("60")
    # A work window that opens in six hours: no scheduled run starts during the test.
    opens = datetime.now(timezone.utc) + timedelta(hours=6)
    page.find("#schedule-start_work_time").send_keys(opens.strftime("%H:00"))
    page.find("#schedule-stop_work_time").send_keys((opens + timedelta(hours=1)).strftime("%H:00"))
    page.find("#schedule-form button.save").click()
    page.wait_text("#schedule-form .form-status", "Saved as revision 3")
    expect(not page.driver.find_elements(By.ID, "schedule-run_interval_minutes-error"), "error stayed")
    expect(settings(harness)["settings"]["schedule"]["run_interval_minutes"] == 60, "interval")


def stale_save(harness, page):
    """Someone saves meanwhile: the page's save is refused and overwrites nothing."""
    interval = page.find("#schedule-run_interval_minutes")
    interval.clear()
    interval.send_keys("45")
    code, _ = harness.admin_json("/admin/settings/alerts.email_to", "PUT", ["other@acme.example"],
                                 {"If-Match": '"3"'})
    expect(code == 200, f"the other admin's save: {code}")
    page.find("#schedule-form button.save").click()
    page.wait_text("#schedule-form .form-status", "someone saved the settings meanwhile")
    now = settings(harness)
    expect(now["revision"] == 4 and now["settings"]["schedule"]["run_interval_minutes"] == 60
           and now["settings"]["alerts.email_to"] == ["other@acme.example"], str(now))
    page.shoot("laptop-schedule-stale")
    page.find("#schedule-form .form-status button").click()  # Reload the newest settings
    page.wait_text("#schedule-form .form-status", "Reloaded")
    expect(interval.get_attribute("value") == "60", interval.get_attribute("value"))


def restore_previous(harness, page):
    """Revision 3 set the schedule; revision 2 had none: restored, the schedule is manual."""
    driver = page.driver
    page.tab("revisions")
    page.wait.until(lambda d: revision_shown(page)[:1] == ["4 (in force)"], "the list")
    expect(revision_shown(page) == ["4 (in force)", "3", "2", "1"], str(revision_shown(page)))
    rows = page.rows("#revisions-table")
    expect(rows[1][3] == "schedule" and rows[2][3] == "sync", str(rows))
    page.find('[aria-label="Changes of revision 3"]').click()
    page.wait.until(lambda d: d.find_element(By.ID, "revision-diff").is_displayed(), "the diff")
    diff = {r[0]: r[1:] for r in page.rows("#revision-diff-table")}
    expect(diff.get("schedule.run_interval_minutes", [None, None])[1] == "60", str(diff))
    expect(diff.get("schedule.run_type", [None, None])[1] == '"interval"', str(diff))
    expect(not any(k.startswith("sync.") for k in diff), str(diff))
    page.shoot("laptop-revisions-diff")
    page.find('[aria-label="Restore revision 2"]').click()
    confirm = page.find("#confirm-dialog")
    page.wait.until(lambda d: confirm.is_displayed(), "the confirmation")
    expect("schedule.run_type" in page.text("#confirm-body"), page.text("#confirm-body"))
    page.shoot("laptop-revisions-confirm")
    # Escape: nothing restored.
    driver.switch_to.active_element.send_keys(Keys.ESCAPE)
    page.wait.until(lambda d: not confirm.is_displayed(), "cancelled")
    expect(settings(harness)["revision"] == 4, "restored without confirming")
    page.find('[aria-label="Restore revision 2"]').click()
    page.wait.until(lambda d: confirm.is_displayed(), "the confirmation again")
    page.find("#confirm-ok").click()
    page.wait_text("#revisions-status", "Revision 2 restored as revision 5")
    page.wait.until(lambda d: revision_shown(page)[:1] == ["5 (in force)"], "the new revision listed")
    now = settings(harness)
    expect(now["revision"] == 5 and now["settings"]["schedule"]["run_type"] == "manual"
           and "start_work_time" not in now["settings"]["schedule"], str(now))
    expect(now["settings"]["alerts.email_to"] == ["ops@acme.example"], str(now))
    expect(set(now["settings"]["sync"]["departments"]) == {"Sales", "Support"}, str(now))
    page.tab("schedule")
    page.wait.until(lambda d: page.find("#schedule-run_type").get_attribute("value") == "manual",
                    "the page shows the restored schedule")
    expect(page.find("#schedule-start_work_time").get_attribute("value") == "", "work window")


def before_unload_blocked(driver):
    return driver.execute_script(
        "const e = new Event('beforeunload', {cancelable: true});"
        "window.dispatchEvent(e); return e.defaultPrevented;")


def guard(page):
    """An unsaved change, then a tab switch: the guard asks; Escape stays, Discard leaves."""
    driver = page.driver
    page.tab("schedule")
    interval = page.find("#schedule-run_interval_minutes")
    before = interval.get_attribute("value")
    interval.clear()
    interval.send_keys("30")
    page.find("#tab-sync").click()
    dialog = page.find("#unsaved-dialog")
    page.wait.until(lambda d: dialog.is_displayed(), "the unsaved-changes guard")
    expect("Schedule" in page.text("#unsaved-text"), page.text("#unsaved-text"))
    page.shoot("laptop-guard")
    driver.switch_to.active_element.send_keys(Keys.ESCAPE)
    page.wait.until(lambda d: not dialog.is_displayed(), "stayed")
    expect(page.find("#panel-schedule").is_displayed(), "left the tab anyway")
    expect(interval.get_attribute("value") == "30", "the change was lost")
    # Closing or reloading the page: the page asks the browser to confirm (its own dialog,
    # which headless Chromium does not show, so the event is what is checked).
    expect(before_unload_blocked(driver), "closing the page would not ask")
    # Signing out asks too.
    page.find("#sign-out").click()
    page.wait.until(lambda d: dialog.is_displayed(), "the guard on signing out")
    page.find("#unsaved-stay").click()
    expect(page.find("#console").is_displayed(), "signed out with unsaved changes")
    page.find("#tab-sync").click()
    page.wait.until(lambda d: dialog.is_displayed(), "the guard again")
    page.find("#unsaved-discard").click()
    page.wait.until(lambda d: d.find_element(By.ID, "panel-sync").is_displayed(), "the Sync tab")
    page.tab("schedule")
    expect(interval.get_attribute("value") == before, "the discarded change is still there")
    expect(not before_unload_blocked(driver), "closing asks with nothing unsaved")


def mapping_save(harness, page):
    """A new profile field, first mapped twice by mistake (said beside it, nothing saved),
    then saved; an existing one re-pointed."""
    page.tab("mapping")
    page.wait.until(lambda d: len(Select(page.find("#map-login")).options) > 3, "the fields")
    page.find("#add-field").click()
    rows = page.driver.find_elements(By.CSS_SELECTOR, "#fields-table tbody tr")
    Select(rows[-1].find_element(By.CSS_SELECTOR, ".extra-ispring")).select_by_value("first_name")
    Select(rows[-1].find_element(By.CSS_SELECTOR, ".extra-salesforce")).select_by_value("Title")
    page.find("#mapping-form button.save").click()
    page.wait_text("#mapping-form .form-status", "mapped twice")
    twice = rows[-1].find_element(By.CSS_SELECTOR, ".extra-salesforce").get_attribute("id")
    field_error_beside(page, twice, "first_name is mapped twice")
    expect(settings(harness)["revision"] == 5, "saved with a field mapped twice")
    Select(rows[-1].find_element(By.CSS_SELECTOR, ".extra-ispring")).select_by_value("job_title")
    # Re-point first_name to the nickname-like Name field.
    Select(rows[0].find_element(By.CSS_SELECTOR, ".extra-salesforce")).select_by_value("Name")
    page.find("#mapping-form button.save").click()
    page.wait_text("#mapping-form .form-status", "Saved as revision 6")
    fields = settings(harness)["settings"]["mapping"]["fields"]
    expect(fields == {"first_name": "Name", "job_title": "Title"}, str(fields))


def screenshots(page):
    for label, size in (("laptop", LAPTOP), ("phone", PHONE)):
        page.driver.set_window_size(*size)
        for name in FORMS:
            page.tab(name)
            time.sleep(0.3)  # let the tab's pickers land before the picture
            page.shoot(f"{label}-{name}")
            width = page.driver.execute_script("return document.documentElement.scrollWidth")
            wide = page.driver.execute_script(
                "return Array.from(document.querySelectorAll('body *'))"
                ".filter(e => e.getBoundingClientRect().right > window.innerWidth + 1"
                " && !e.closest('.table-wrap'))"
                ".slice(0, 5).map(e => e.tagName + '#' + e.id + '.' + e.className)")
            expect(width <= size[0], f"the {name} tab is {width}px wide at {size[0]}px: {wide}")
    page.driver.set_window_size(*LAPTOP)


def scenario(harness, page):
    harness.launch(page_managed, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                              "settings_page_users.json"))
    step("service and sandboxes ready")
    sign_in(harness, page)
    authorization(harness, page)
    step("alert address")
    mapping(page)
    pick_departments(page)
    add_department_search(page)
    step("departments picked")
    add_group(harness, page)
    step("group added")
    preview(harness, page)
    step("preview")
    save_and_run(harness, page)
    step("saved and run: exactly Sales and the two in iSpring")
    zero_interval(harness, page)
    stale_save(harness, page)
    step("field error and stale save")
    restore_previous(harness, page)
    step("restored")
    guard(page)
    step("guard")
    mapping_save(harness, page)
    step("mapping saved")
    screenshots(page)
    step("screenshots")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--build-dir", required=True)
    parser.add_argument("--source-dir", required=True)
    args = parser.parse_args()
    build_dir, source_dir = map(os.path.abspath, (args.build_dir, args.source_dir))
    # The 400s and the 409 the walk provokes are logged by the browser as failed loads.
    base.run_browser_test("settings page browser test", build_dir, source_dir, scenario,
                          artifacts_subdir="settings",
                          expected_console=["/admin/settings/alerts.email_to - Failed",
                                            "/admin/settings/schedule - Failed",
                                            "/admin/settings/preview - Failed"])


if __name__ == "__main__":
    main()

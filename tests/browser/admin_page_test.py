#!/usr/bin/python3
"""The admin page end to end, in a real headless Chromium driven by Selenium.

Starts the real `connector serve` with the standalone iSpring Learn and Salesforce
sandboxes (ports 0, a temporary folder), then, as an operator would: signs in (a wrong
token first), reads the counts and the last sync, verifies both connections, reads the
configuration tabs, switches tabs with the keyboard, runs a preview and reads its plan,
runs a reconciliation and watches it finish, and retries a dead letter. Screenshots of
every tab, at laptop and phone widths, go to <build>/tests/browser-artifacts/.

Usage: admin_page_test.py --build-dir BUILD --source-dir SOURCE [--users]
  --users  the service has GET /admin/users (per-user history): also search a user and
           read the timeline. Without it the Users tab must say history is unavailable.

Fails (never skips) when chromium, chromedriver or selenium is missing: install-deps.sh
installs them.
"""

import argparse
import json
import os
import re
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.error
import urllib.request
from datetime import datetime, timedelta, timezone

ADMIN_TOKEN = "browser-test-admin-token-4f9a1c"
ORG_ID = "00D5g000004XyZaEAK"
CLIENT_ID = "browser-test"
ISPRING_SECRET = "browser-test-ispring-secret-77aa"
WAIT_S = 20  # upper bound for anything the page waits on; polls return as soon as it holds

LAPTOP = (1280, 1000)
PHONE = (375, 900)


def fail(message):
    print("FAIL: " + message, file=sys.stderr)
    sys.exit(1)


try:
    from selenium import webdriver
    from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
    from selenium.webdriver.chrome.service import Service as ChromeService
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import Select, WebDriverWait
except ImportError as error:
    fail(f"python3-selenium is missing ({error}): run scripts/install-deps.sh")


def salesforce_id_18(id15):
    """The 18-character form of a 15-character Salesforce id (case-safe suffix)."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
    suffix = ""
    for chunk in range(3):
        bits = 0
        for i, c in enumerate(id15[chunk * 5:chunk * 5 + 5]):
            if "A" <= c <= "Z":
                bits |= 1 << i
        suffix += alphabet[bits]
    return id15 + suffix


def outbound_message(user_id, notification_id, fields):
    parts = "".join(f"<sf:{k}>{v}</sf:{k}>" for k, v in fields.items())
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"
 xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
 <soapenv:Body>
  <notifications xmlns="http://soap.sforce.com/2005/09/outbound">
   <OrganizationId>{ORG_ID}</OrganizationId>
   <ActionId>04k5g000000TestAAA</ActionId>
   <SessionId xsi:nil="true"/>
   <EnterpriseUrl>https://acme.my.salesforce.com/services/Soap/c/61.0/{ORG_ID[:15]}</EnterpriseUrl>
   <PartnerUrl>https://acme.my.salesforce.com/services/Soap/u/61.0/{ORG_ID[:15]}</PartnerUrl>
   <Notification>
    <Id>{notification_id}</Id>
    <sObject xsi:type="sf:User" xmlns:sf="urn:sobject.enterprise.soap.sforce.com">
     <sf:Id>{user_id}</sf:Id>{parts}
    </sObject>
   </Notification>
  </notifications>
 </soapenv:Body>
</soapenv:Envelope>
"""


class Harness:
    """The sandboxes and the service as child processes, and HTTPS calls to them."""

    def __init__(self, build_dir, source_dir, work):
        self.build_dir, self.source_dir, self.work = build_dir, source_dir, work
        self.children = []
        certs = os.path.join(work, "certs")
        subprocess.run([os.path.join(source_dir, "certs/generate.sh"), certs], check=True,
                       stdout=subprocess.DEVNULL)
        self.certs = certs
        self.tls = ssl.create_default_context(cafile=os.path.join(certs, "ca.crt"))

    def start(self, name, args):
        ready = os.path.join(self.work, name + ".ready")
        log = open(os.path.join(self.work, name + ".log"), "w")
        child = subprocess.Popen(args + ["--ready-file", ready], stdout=log, stderr=log,
                                 cwd=self.work)
        self.children.append(child)
        deadline = time.monotonic() + WAIT_S
        while not os.path.exists(ready) or os.path.getsize(ready) == 0:
            if child.poll() is not None:
                fail(f"{name} exited with {child.returncode}: {self.log(name)}")
            if time.monotonic() > deadline:
                fail(f"{name} did not become ready: {self.log(name)}")
            time.sleep(0.05)
        with open(ready) as f:
            return json.load(f)

    def log(self, name):
        with open(os.path.join(self.work, name + ".log")) as f:
            return f.read()[-4000:]

    def stop(self):
        for child in reversed(self.children):
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
                try:
                    child.wait(10)
                except subprocess.TimeoutExpired:
                    child.kill()
                    child.wait()

    def request(self, url, method="GET", body=None, headers=None):
        data = body.encode() if isinstance(body, str) else body
        req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
        with urllib.request.urlopen(req, context=self.tls, timeout=10) as answer:
            return answer.status, answer.read().decode()

    def launch(self, edit_config=None, seed=None):
        """`edit_config(config)` changes the service's config before it starts; `seed` is
        the Salesforce sandbox's users file (the demo org's by default)."""
        tools = os.path.join(self.build_dir, "tests")
        cert, key = os.path.join(self.certs, "server.crt"), os.path.join(self.certs, "server.key")
        ispring = self.start("ispring_sandbox", [
            os.path.join(tools, "ispring_sandbox"), "--listen", "127.0.0.1:0", "--cert", cert,
            "--key", key, "--client-id", CLIENT_ID, "--client-secret", ISPRING_SECRET])
        salesforce = self.start("salesforce_sandbox", [
            os.path.join(tools, "salesforce_sandbox"), "--listen", "127.0.0.1:0", "--cert", cert,
            "--key", key, "--client-id", CLIENT_ID, "--username", "integration@example.com",
            "--public-key", os.path.join(self.certs, "salesforce-jwt.pub"), "--org-id", ORG_ID,
            "--seed", seed or os.path.join(self.source_dir, "config/demo-salesforce-users.json")])
        self.ispring_url = ispring["url"]
        self.salesforce_url = salesforce["url"]
        # An interval schedule whose work window opens in six hours: the page shows the next
        # run, and no scheduled run starts during the test.
        now = datetime.now(timezone.utc)
        opens, closes = now + timedelta(hours=6), now + timedelta(hours=7)
        config = {
            "server": {"listen": "127.0.0.1:0", "tls": {"certificate": cert, "private_key": key}},
            "admin": {"listen": "127.0.0.1:0", "token": ADMIN_TOKEN},
            "store": {"sqlite_path": os.path.join(self.work, "connector.db")},
            "salesforce": {
                "organization_ids": [ORG_ID], "login_url": salesforce["url"],
                "client_id": CLIENT_ID, "username": "integration@example.com",
                "private_key": "file:" + os.path.join(self.certs, "salesforce-jwt.key"),
                "tls_ca_file": os.path.join(self.certs, "ca.crt"),
                "allowed_instance_hosts": ["localhost", "127.0.0.1"]},
            "ispring": {
                "api_url": ispring["url"], "client_id": CLIENT_ID,
                "client_secret": ISPRING_SECRET,
                "tls_ca_file": os.path.join(self.certs, "ca.crt")},
            "mapping": {
                "login": "Username", "email": "Email", "last_name": "LastName",
                "department": "Department", "groups": "iSpring_Groups__c",
                "fields": {"first_name": "FirstName", "job_title": "Title"}},
            "sync": {"departments": {"Sales": {"sync_all_users": True, "ispring_name": "Sales EMEA"},
                                     "Support": {"sync_all_users": True}},
                     "groups": ["Onboarding", "Compliance"],
                     # Every deactivation a notification causes waits for the operator.
                     "max_deactivations_per_hour": 0},
            "schedule": {"run_type": "interval", "run_interval_minutes": 60,
                         "start_work_time": opens.strftime("%H:%M"),
                         "stop_work_time": closes.strftime("%H:%M"), "time_zone": "UTC"},
            "logging": {"level": "info", "format": "text"},
        }
        if edit_config:
            edit_config(config)
        config_path = os.path.join(self.work, "config.json")
        with open(config_path, "w") as f:
            json.dump(config, f, indent=2)
        service = self.start("connector", [os.path.join(self.build_dir, "connector"), "serve",
                                           "--config", config_path])
        self.admin = f"https://127.0.0.1:{service['admin_port']}"
        self.public = f"https://127.0.0.1:{service['public_port']}"

    def status(self):
        return self.admin_json("/admin/status")[1]

    def admin_json(self, path, method="GET", body=None, headers=None):
        """An admin API call with the admin token: (status, JSON answer), errors included."""
        all_headers = {"Authorization": "Bearer " + ADMIN_TOKEN, "Content-Type": "application/json"}
        all_headers.update(headers or {})
        data = None if body is None else json.dumps(body)
        try:
            code, text = self.request(self.admin + path, method, data, all_headers)
            return code, json.loads(text)
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read().decode() or "{}")


def eventually(what, condition, timeout=WAIT_S):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for " + what)
        time.sleep(0.1)


def expect(condition, message):
    if not condition:
        raise AssertionError(message)


class Page:
    def __init__(self, driver, artifacts):
        self.driver, self.artifacts = driver, artifacts
        self.wait = WebDriverWait(driver, WAIT_S, poll_frequency=0.1)

    def find(self, css):
        return self.driver.find_element(By.CSS_SELECTOR, css)

    def text(self, css):
        return self.find(css).text

    def wait_text(self, css, fragment):
        self.wait.until(lambda d: fragment in d.find_element(By.CSS_SELECTOR, css).text,
                        f"'{fragment}' in {css}")
        return self.text(css)

    def rows(self, table_css):
        # One script, so a table the page draws again meanwhile is never read half old.
        return self.driver.execute_script(
            "return Array.from(document.querySelectorAll(arguments[0] + ' tbody tr'))"
            ".map(r => Array.from(r.querySelectorAll(':scope > td')).map(c => c.innerText.trim()))",
            table_css)

    def tab(self, name):
        self.find("#tab-" + name).click()
        self.wait.until(lambda d: d.find_element(By.ID, "panel-" + name).is_displayed())

    def shoot(self, name):
        path = os.path.join(self.artifacts, name + ".png")
        self.driver.save_screenshot(path)
        return path


TABS = ["overview", "authorization", "mapping", "schedule", "sync", "revisions", "runs", "dead",
        "users"]


def screenshots(page, label):
    for name in TABS:
        page.tab(name)
        time.sleep(0.2)  # let the tab's data calls land before the picture
        page.shoot(f"{label}-{name}")


def check_users_unavailable(page):
    """This version has no GET /admin/users: the tab says so instead of failing."""
    page.tab("users")
    page.find("#user-query").send_keys("ann.lee")
    page.find("#user-search button").click()
    page.wait_text("#users-status", "not available in this version")


def check_users(page):
    """Needs GET /admin/users and GET /admin/users/{id} (per-user history); run with --users.

    Eve's story, from the dead-letter step: a notification, a refusal that made her a dead
    letter, the operator's retry, and her creation in iSpring."""
    page.tab("users")
    query = page.find("#user-query")
    query.clear()
    query.send_keys("eve.web")
    page.find("#user-search button").click()
    page.wait_text("#users-status", "found")
    expect("eve.web@acme.example" in page.text("#user-results"), page.text("#user-results"))
    page.wait.until(lambda d: d.find_element(By.ID, "user-detail").is_displayed(),
                    "the user's details")
    facts = page.text("#user-facts")
    expect("eve.web@acme.example" in facts, facts)
    expect("iSpring link" in facts and "none yet" not in facts, facts)
    timeline = page.text("#user-timeline")
    for event in ("notification received", "dead letter", "re-queued"):
        expect(event in timeline, f"'{event}' not in the timeline: {timeline}")
    page.driver.execute_script("arguments[0].scrollIntoView()", page.find("#user-timeline"))
    page.shoot("laptop-users-timeline")


STARTED = time.monotonic()


def step(name):
    print(f"{time.monotonic() - STARTED:6.1f} s  {name}", flush=True)


def scenario(harness, page, with_users):
    driver = page.driver
    step("browser started")
    driver.get(harness.admin + "/")
    page.wait.until(lambda d: d.find_element(By.ID, "token").is_displayed(), "the sign-in form")
    expect(not page.find("#console").is_displayed(), "the console shows before signing in")
    page.shoot("laptop-sign-in")

    # A wrong token: a clear message, still on the sign-in form.
    page.find("#token").send_keys("not-the-token")
    page.find("#sign-in-button").click()
    message = page.wait_text("#sign-in-error", "refused the admin token")
    expect("401" in message, message)
    expect(not page.find("#console").is_displayed(), "the console shows after a wrong token")
    page.shoot("laptop-wrong-token")

    page.find("#token").send_keys(ADMIN_TOKEN)
    page.find("#sign-in-button").click()
    page.wait.until(lambda d: d.find_element(By.ID, "console").is_displayed(), "the console")
    expect(page.text("#count-pending") == "0", "pending " + page.text("#count-pending"))
    expect(page.text("#count-dead") == "0", "dead " + page.text("#count-dead"))
    expect(page.text("#last-sync-start") == "never", page.text("#last-sync-start"))
    page.wait.until(lambda d: "T" in d.find_element(By.ID, "next-run").text, "the next run")
    expect(driver.execute_script("return sessionStorage.getItem('connector-admin-token')")
           == ADMIN_TOKEN, "the token is not in sessionStorage")
    expect(driver.get_cookies() == [], "cookies were set")

    step("signed in")
    # Keyboard: the focused tab moves with the arrows, Home and End, and wraps around.
    focused = lambda: driver.switch_to.active_element.get_attribute("id")
    selected = lambda: [t.get_attribute("id") for t in driver.find_elements(
        By.CSS_SELECTOR, '[role="tab"][aria-selected="true"]')]
    page.find("#tab-overview").click()
    driver.switch_to.active_element.send_keys(Keys.ARROW_RIGHT)
    expect(focused() == "tab-authorization", focused())
    expect(selected() == ["tab-authorization"], selected())
    expect(page.find("#panel-authorization").is_displayed(), "authorization panel hidden")
    expect(not page.find("#panel-overview").is_displayed(), "overview panel still shown")
    driver.switch_to.active_element.send_keys(Keys.END)
    expect(focused() == "tab-users" and selected() == ["tab-users"], selected())
    driver.switch_to.active_element.send_keys(Keys.ARROW_RIGHT)
    expect(focused() == "tab-overview", "no wrap to the first tab: " + focused())
    driver.switch_to.active_element.send_keys(Keys.ARROW_LEFT)
    expect(focused() == "tab-users", "no wrap to the last tab: " + focused())
    driver.switch_to.active_element.send_keys(Keys.HOME)
    expect(selected() == ["tab-overview"], selected())
    # Only the selected tab is in the Tab order.
    expect([t.get_attribute("tabindex") for t in driver.find_elements(By.CSS_SELECTOR, '[role="tab"]')]
           == ["0"] + ["-1"] * (len(TABS) - 1), "roving tabindex")

    step("keyboard")
    # Authorization: both connections, no secret, and Verify runs the checks.
    page.tab("authorization")
    page.wait_text("#ispring-settings", harness.ispring_url)
    # Secrets are write-only: shown as set, never read back.
    expect("Client secret\nset (never shown)" in page.text("#ispring-settings"),
           page.text("#ispring-settings"))
    expect("Key or secret\nset (never shown)" in page.text("#salesforce-settings"),
           page.text("#salesforce-settings"))
    # A loopback intake needs no other lock, so neither tab warns.
    expect("Intake locks\nloopback" in page.text("#salesforce-settings"), page.text("#salesforce-settings"))
    expect(not page.find("#intake-warning").is_displayed(), page.text("#intake-warning"))
    expect(page.find("#overview-intake-warning").text == "", "the overview warns")
    expect(ISPRING_SECRET not in driver.page_source, "the iSpring secret is in the page")
    expect("JWT bearer" in page.text("#salesforce-settings"), page.text("#salesforce-settings"))
    page.find("#verify").click()
    page.wait_text("#verify-status", "All checks passed")
    findings = page.text("#findings")
    expect("signed in to " + harness.ispring_url in findings, findings)
    expect("signed in to organization" in findings, findings)

    # The config file sets mapping, schedule and sync: their forms show it, read-only.
    page.tab("mapping")
    page.wait.until(lambda d: page.find("#map-login").get_attribute("value") == "Username",
                    "the mapping form filled")
    expect(page.find("#map-groups").get_attribute("value") == "iSpring_Groups__c", "group field")
    # The rows are drawn again when the Salesforce field list arrives: read them whole, once
    # they hold still, rather than from elements that may be replaced while being read.
    def extra_fields():
        try:
            return [[Select(c).first_selected_option.get_attribute("value")
                     for c in r.find_elements(By.TAG_NAME, "select")]
                    for r in driver.find_elements(By.CSS_SELECTOR, "#fields-table tbody tr")]
        except StaleElementReferenceException:
            return None
    page.wait.until(lambda d: ["job_title", "Title"] in (extra_fields() or []),
                    "the mapping form's extra fields show job_title from Title")
    expect("configuration file sets" in page.text("#mapping-form .managed-note"),
           page.text("#mapping-form .managed-note"))
    expect(not page.find("#map-login").is_enabled(), "a file-managed field is editable")
    expect(not page.find("#mapping-form button.save").is_displayed(), "Save on a file-managed form")
    page.tab("schedule")
    page.wait.until(lambda d: page.find("#schedule-run_type").get_attribute("value") == "interval",
                    "the schedule form filled")
    expect(not page.find("#schedule-run_interval_minutes").is_enabled(), "schedule editable")
    page.tab("sync")
    # Read live from the Salesforce sandbox: the demo org's departments and their users.
    page.wait.until(lambda d: any(r[1:3] == ["Sales", "1"] for r in page.rows("#sync-departments-table")),
                    "Sales with its one active user")
    expect(page.find('[aria-label="Name in iSpring for Sales"]').get_attribute("value")
           == "Sales EMEA", "Sales' iSpring name")
    expect(page.find('[aria-label="Synchronise Sales"]').is_selected(), "Sales not ticked")
    expect(page.find('[aria-label="Synchronise Support"]').is_selected(), "Support not ticked")
    expect(not page.find('[aria-label="Synchronise Sales"]').is_enabled(), "a file-managed tick")
    ticked = [b.get_attribute("value") for b in driver.find_elements(By.CSS_SELECTOR, ".group-tick")
              if b.is_selected()]
    expect(sorted(ticked) == ["Compliance", "Onboarding"], str(ticked))
    page.wait_text("#salesforce-departments-warning", "without a department (never synchronised): 1")
    page.wait_text("#out-of-scope-note", "No preview has finished yet")

    step("configuration tabs")
    # Preview: a dry run's plan, read as a table and filtered by action.
    page.tab("runs")
    page.find("#preview").click()
    page.wait.until(lambda d: d.find_element(By.ID, "plan-section").is_displayed(), "the plan")
    expect("succeeded" in page.text("#run-progress"), page.text("#run-progress"))
    rows = page.rows("#plan-table")
    logins = {r[2]: r[0] for r in rows}
    expect("create" in logins.get("ann.lee@acme.example.prod", ""), str(rows))
    expect("create" in logins.get("bob.ng@acme.example.prod", ""), str(rows))
    Select(page.find("#plan-action")).select_by_value("create")
    page.wait.until(lambda d: all("create" in r[0] for r in page.rows("#plan-table")),
                    "only created users")
    expect(len(page.rows("#plan-table")) == 2, str(page.rows("#plan-table")))
    expect("1–2 of 2" in page.text("#plan-page"), page.text("#plan-page"))
    page.shoot("laptop-runs-preview")
    status = harness.status()
    expect(status["last_sync_start"] is None, "a preview counted as a sync")

    step("preview read")
    # Run now: watch it finish; the overview then shows it as the last sync.
    page.find("#run-now").click()
    page.wait.until(lambda d: "succeeded" in d.find_element(By.ID, "run-progress").text
                    and d.find_element(By.ID, "run-progress").text.startswith("Run "),
                    "the run to finish")
    page.tab("overview")
    page.wait_text("#last-sync-status", "succeeded")
    expect(page.text("#last-sync-start") != "never", "no last sync start")
    # The runs table fills after the counts (a second round of calls).
    page.wait.until(lambda d: len(page.rows("#runs-table")) == 2, "two runs listed")
    runs = page.rows("#runs-table")
    expect(len(runs) == 2 and "succeeded" in runs[0][2] and "(preview)" in runs[1][0], str(runs))
    _, state = harness.request(harness.ispring_url + "/_sandbox/state")
    expect("ann.lee@acme.example.prod" in state, "the run created no iSpring user")
    page.tab("schedule")
    page.wait_text("#schedule-last-status", "succeeded")
    # The Sync tab names the users the preview leaves out, with the reason.
    page.tab("sync")
    page.wait_text("#out-of-scope-note", "From preview 1")
    out = {r[2]: r for r in page.rows("#out-of-scope-table")}
    expect(set(out) == {"cy.diaz@acme.example.prod", "dee.moss@acme.example.prod"}, str(out))
    expect(out["dee.moss@acme.example.prod"][0] == "not synchronised"
           and "department" in out["dee.moss@acme.example.prod"][3], str(out))
    expect(out["cy.diaz@acme.example.prod"][3] != "", str(out))
    page.shoot("laptop-sync-out-of-scope")

    step("run finished")
    # A dead letter: iSpring refuses the next call for good (400); retried from the page.
    harness.request(harness.ispring_url + "/_sandbox/fail", "POST",
                    json.dumps({"count": 1, "status": 400}), {"Content-Type": "application/json"})
    user_id = salesforce_id_18("0055g00000WebAA")
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    eve = {"Username": "eve.web@acme.example.prod", "Email": "eve.web@acme.example",
           "LastName": "Web", "FirstName": "Eve", "Department": "Sales",
           "iSpring_Groups__c": "Onboarding"}
    # Salesforce holds Eve: the notification is verified by a read before it is applied.
    harness.request(harness.salesforce_url + "/_sandbox/seed", "POST",
                    json.dumps({"users": [dict(eve, Id=user_id, IsActive=True)]}),
                    {"Content-Type": "application/json"})
    harness.request(harness.public + "/salesforce/outbound", "POST", outbound_message(
        user_id, salesforce_id_18("04l5g00000WebAA"),
        dict(eve, IsActive="true", SystemModstamp=stamp, LastModifiedDate=stamp)),
        {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '""'})
    eventually("a dead letter", lambda: harness.status()["dead_letters"] == 1)
    page.tab("overview")
    page.find("#refresh-overview").click()
    page.wait_text("#count-dead", "1")
    page.tab("dead")
    page.wait.until(lambda d: user_id in page.text("#dead-table"), "the dead letter's row")
    row = page.rows("#dead-table")[0]
    expect("400" in row[2], str(row))
    page.shoot("laptop-dead-letter")
    page.find(f'#dead-table button[aria-label="Retry {user_id}"]').click()
    page.wait_text("#dead-status", "Re-queued 1 record")
    eventually("the retried user applied", lambda: harness.status()["dead_letters"] == 0
               and harness.status()["pending"] == 0)
    _, state = harness.request(harness.ispring_url + "/_sandbox/state")
    expect("eve.web@acme.example.prod" in state, "the retried user is not in iSpring")
    page.tab("overview")
    page.wait_text("#count-dead", "0")
    # The chart counts this hour's notifications and applied users (the run's two, Eve's).
    caption = page.text("#activity-caption")
    applied = re.search(r"Users applied to iSpring: (\d+)", caption)
    expect(applied and int(applied.group(1)) >= 3, caption)
    expect(re.search(r"Notifications received: [1-9]", caption), caption)

    step("dead letter retried")
    if with_users:
        check_users(page)
    else:
        check_users_unavailable(page)

    step("users tab")
    # Eve leaves (deactivated in Salesforce, which the worker reads back before applying):
    # the safety limit holds her deactivation; released from the page.
    harness.request(harness.salesforce_url + f"/_sandbox/users/{user_id}", "PATCH",
                    json.dumps({"IsActive": False}), {"Content-Type": "application/json"})
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.999Z")
    harness.request(harness.public + "/salesforce/outbound", "POST", outbound_message(
        user_id, salesforce_id_18("04l5g00000WebAB"),
        {"Username": "eve.web@acme.example.prod", "Email": "eve.web@acme.example",
         "LastName": "Web", "FirstName": "Eve", "Department": "Sales", "IsActive": "false",
         "iSpring_Groups__c": "Onboarding", "SystemModstamp": stamp, "LastModifiedDate": stamp}),
        {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '""'})
    eventually("a held deactivation", lambda: harness.status()["held"] == 1)

    def eve_status():
        _, state = harness.request(harness.ispring_url + "/_sandbox/state")
        return [u["status"] for u in json.loads(state)["users"]
                if "eve.web@acme.example.prod" in json.dumps(u)]
    expect(eve_status() == [1], "held, yet changed in iSpring: " + str(eve_status()))
    page.tab("overview")
    page.find("#refresh-overview").click()
    page.wait_text("#count-held", "1")
    page.tab("dead")
    page.wait.until(lambda d: user_id in page.text("#held-table"), "the held record's row")
    row = page.rows("#held-table")[0]
    expect("held by the safety limit" in row[1], str(row))
    page.shoot("laptop-held")
    page.find(f'#held-table button[aria-label="Release {user_id}"]').click()
    page.wait_text("#held-status", "Released 1 record")
    eventually("the released user deactivated", lambda: eve_status() == [3])
    expect(harness.status()["held"] == 0, str(harness.status()))

    step("held deactivation released")
    # Every tab at laptop and phone widths, to look at.
    screenshots(page, "laptop")
    driver.set_window_size(*PHONE)
    screenshots(page, "phone")
    # On a phone nothing but wide tables scrolls sideways.
    width = driver.execute_script("return document.documentElement.scrollWidth")
    expect(width <= PHONE[0], f"the page is {width}px wide on a {PHONE[0]}px phone")

    step("screenshots")
    page.find("#sign-out").click()
    page.wait.until(lambda d: d.find_element(By.ID, "token").is_displayed(), "signed out")
    expect(driver.execute_script("return sessionStorage.getItem('connector-admin-token')") is None,
           "the token outlived signing out")


def run_browser_test(title, build_dir, source_dir, scenario, artifacts_subdir="",
                     expected_console=()):
    """Starts the sandboxes, the service and a headless Chromium in a temporary folder and
    runs `scenario(harness, page)`; `scenario` launches the harness (its config is its own).
    Fails on any Content-Security-Policy violation or console error not in
    `expected_console`. Screenshots go to <build>/tests/browser-artifacts[/subdir]."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    chromedriver = shutil.which("chromedriver") or (
        "/usr/bin/chromedriver" if os.path.exists("/usr/bin/chromedriver") else None)
    if not chromium or not chromedriver:
        fail("chromium and chromium-driver are needed: run scripts/install-deps.sh")

    artifacts = os.path.join(build_dir, "tests", "browser-artifacts", artifacts_subdir)
    os.makedirs(artifacts, exist_ok=True)
    for old in os.listdir(artifacts):
        if old.endswith(".png"):
            os.remove(os.path.join(artifacts, old))

    started = time.monotonic()
    work = tempfile.mkdtemp(prefix="connector-browser-")
    harness = Harness(build_dir, source_dir, work)
    driver = None
    ok = False
    try:
        options = webdriver.ChromeOptions()
        options.binary_location = chromium
        for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     f"--window-size={LAPTOP[0]},{LAPTOP[1]}", "--lang=en-US",
                     f"--user-data-dir={os.path.join(work, 'chromium')}"):
            options.add_argument(flag)
        # The admin listener's certificate comes from the test's own CA.
        options.set_capability("acceptInsecureCerts", True)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        try:
            driver = webdriver.Chrome(service=ChromeService(executable_path=chromedriver),
                                      options=options)
        except WebDriverException as error:
            fail(f"could not start chromium through chromedriver: {error}")
        driver.set_window_size(*LAPTOP)
        page = Page(driver, artifacts)
        scenario(harness, page)
        # The page must run under its Content-Security-Policy without a single violation.
        expected = ["status of 401"] + list(expected_console)
        violations = [e["message"] for e in driver.get_log("browser")
                      if "Content Security Policy" in e["message"] or e["level"] == "SEVERE"
                      and not any(x in e["message"] for x in expected)]
        expect(not violations, "browser console errors: " + "\n".join(violations))
        ok = True
    except Exception:
        traceback.print_exc()
        if driver is not None:
            try:
                Page(driver, artifacts).shoot("failure")
                print("browser console:", json.dumps(driver.get_log("browser"), indent=1),
                      file=sys.stderr)
            except Exception:
                pass
        for name in ("connector", "ispring_sandbox", "salesforce_sandbox"):
            try:
                print(f"--- {name} log ---\n{harness.log(name)}", file=sys.stderr)
            except OSError:
                pass
    finally:
        if driver is not None:
            driver.quit()
        harness.stop()
        shutil.rmtree(work, ignore_errors=True)
    print(f"{title}: {'passed' if ok else 'FAILED'} in "
          f"{time.monotonic() - started:.1f} s; screenshots in {artifacts}")
    sys.exit(0 if ok else 1)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--build-dir", required=True)
    parser.add_argument("--source-dir", required=True)
    parser.add_argument("--users", action="store_true",
                        help="the service has per-user history (GET /admin/users)")
    args = parser.parse_args()
    args.build_dir, args.source_dir = map(os.path.abspath, (args.build_dir, args.source_dir))

    def run(harness, page):
        harness.launch()
        step("service and sandboxes ready")
        scenario(harness, page, args.users)
    # The wrong token's 401 is expected, and so is /admin/users's 404 in a version without
    # per-user history.
    run_browser_test("admin page browser test", args.build_dir, args.source_dir, run,
                     expected_console=[] if args.users else ["/admin/users?"])


if __name__ == "__main__":
    main()

"""Real-browser single sign-on across the three sample apps, in headless Chromium (Debian's
chromium + chromium-driver) driven by selenium.

Run by Tests/HallpassSampleAppTests/BrowserSSOTests.swift, which starts Redis, the hub and the
three apps and passes one JSON argument:

  {"apps": [{"name": "notes", "url": "http://127.0.0.1:PORT"}, ...],   # app 1 first
   "hub": "http://127.0.0.1:PORT", "username": "alice", "password": "...",
   "logout_command": ["/path/hallpass", "--redis", "redis://...", "logout", "alice"],
   "artifacts": "/path/.build/artifacts/browser-sso"}

The steps: app 1 shows the signed-out page; "Sign in with Hallpass" leads to the hub's login
form, which the browser fills in; app 1 then shows the signed-in page. Apps 2 and 3, reached
through app 1's links, sign the user in with one click and no password form (the hub session is
the single sign-on), and all three show the same hub session id. Then the logout command runs
(an admin's `hallpass logout USER`) and the next page load of each app shows the signed-out
page. Last, the user signs in again and signs out at app 1 (RP-initiated logout through the
hub). A PNG screenshot of every step goes to the artifacts folder. Prints one JSON line per
step; exits 1 with the reason on the first failure.
"""

import json
import os
import subprocess
import sys
import tempfile
import time

from selenium import webdriver
from selenium.common.exceptions import NoSuchElementException, TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait


class Failure(Exception):
    pass


def find_binary(*names):
    for name in names:
        for directory in os.environ.get("PATH", "/usr/bin:/bin").split(":") + ["/usr/bin", "/usr/lib/chromium"]:
            candidate = os.path.join(directory, name)
            if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
                return candidate
    raise Failure("none of %s is installed (apt-get install chromium chromium-driver)" % ", ".join(names))


def main():
    config = json.loads(sys.argv[1])
    apps = config["apps"]
    artifacts = config["artifacts"]
    os.makedirs(artifacts, exist_ok=True)
    for name in os.listdir(artifacts):
        if name.endswith(".png"):
            os.remove(os.path.join(artifacts, name))

    options = webdriver.ChromeOptions()
    options.binary_location = find_binary("chromium", "chromium-browser")
    profile = tempfile.mkdtemp(prefix="hallpass-chromium-")
    for argument in (
        "--headless=new",
        "--no-sandbox",  # root in a container has no user namespaces for the sandbox
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=1100,860",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-extensions",
        "--password-store=basic",
        "--user-data-dir=" + profile,
    ):
        options.add_argument(argument)
    service = Service(executable_path=find_binary("chromedriver"))
    driver = webdriver.Chrome(service=service, options=options)
    driver.set_page_load_timeout(30)
    step_number = [0]

    def step(name, **facts):
        step_number[0] += 1
        path = os.path.join(artifacts, "%02d-%s.png" % (step_number[0], name))
        driver.save_screenshot(path)
        print(json.dumps({"step": name, "url": driver.current_url, "screenshot": path, **facts}), flush=True)

    def wait_for(element_id, timeout=15):
        try:
            return WebDriverWait(driver, timeout).until(EC.presence_of_element_located((By.ID, element_id)))
        except TimeoutException:
            step("failed-waiting-for-" + element_id)
            raise Failure("no #%s at %s; page says: %s" % (element_id, driver.current_url, body_text()[:400]))

    def body_text():
        try:
            return driver.find_element(By.TAG_NAME, "body").text
        except NoSuchElementException:
            return ""

    def has(element_id):
        return len(driver.find_elements(By.ID, element_id)) > 0

    def signed_in_facts():
        return {
            "username": driver.find_element(By.ID, "username").text,
            "sid": driver.find_element(By.ID, "sid").text,
            "sub": driver.find_element(By.ID, "sub").text,
        }

    try:
        first = apps[0]
        # 1. App 1, signed out.
        driver.get(first["url"] + "/")
        wait_for("signed-out")
        step(first["name"] + "-signed-out")

        # 2. Sign in: the hub's login form.
        driver.find_element(By.ID, "sign-in").click()
        WebDriverWait(driver, 15).until(EC.presence_of_element_located((By.NAME, "password")))
        if not driver.current_url.startswith(config["hub"]):
            raise Failure("the login form is not at the hub: %s" % driver.current_url)
        driver.find_element(By.NAME, "username").send_keys(config["username"])
        driver.find_element(By.NAME, "password").send_keys(config["password"])
        step("hub-login-form")
        # Press the form's button, as a person would (the hub's CSP allows no script).
        password_field = driver.find_element(By.NAME, "password")
        form = password_field.find_element(By.XPATH, "./ancestor::form")
        form.find_element(By.CSS_SELECTOR, "button[type=submit], input[type=submit], button:not([type])").click()

        # 3. Back at app 1, signed in.
        wait_for("signed-in")
        facts = signed_in_facts()
        if facts["username"] != config["username"]:
            raise Failure("app 1 shows %r, not %r" % (facts["username"], config["username"]))
        sid = facts["sid"]
        step(first["name"] + "-signed-in", **facts)

        # 4. Apps 2 and 3 through app 1's links: one click, no password.
        for app in apps[1:]:
            driver.get(first["url"] + "/")
            wait_for("signed-in")
            link = driver.find_element(By.ID, "peer-" + app["name"])
            link.click()
            wait_for("signed-out")
            step(app["name"] + "-before-sso")
            driver.find_element(By.ID, "sign-in").click()
            element = wait_for("signed-in")
            if driver.find_elements(By.NAME, "password"):
                raise Failure("%s asked for a password" % app["name"])
            if not driver.current_url.startswith(app["url"]):
                raise Failure("expected to be back at %s, am at %s" % (app["url"], driver.current_url))
            facts = signed_in_facts()
            if facts["username"] != config["username"]:
                raise Failure("%s shows %r" % (app["name"], facts["username"]))
            if facts["sid"] != sid:
                raise Failure("%s is in hub session %s, app 1 in %s: not single sign-on" % (app["name"], facts["sid"], sid))
            step(app["name"] + "-signed-in-without-password", **facts)
            del element

        # 5. Every app still signed in on reload.
        for app in apps:
            driver.get(app["url"] + "/")
            wait_for("signed-in")

        # 6. An admin ends the user's login everywhere.
        started = time.monotonic()
        result = subprocess.run(config["logout_command"], capture_output=True, text=True, timeout=60)
        if result.returncode != 0:
            raise Failure("logout command failed (%d): %s" % (result.returncode, result.stderr.strip()))
        print(json.dumps({"step": "admin-logout", "output": result.stdout.strip()}), flush=True)

        # 7. The next page load of each app shows the signed-out page.
        for app in apps:
            driver.get(app["url"] + "/")
            if not has("signed-out"):
                step(app["name"] + "-still-signed-in-after-logout")
                raise Failure("%s still shows a signed-in page after the logout: %s" % (app["name"], body_text()[:300]))
            step(app["name"] + "-signed-out-after-logout", seconds_after_logout=round(time.monotonic() - started, 3))
        # 8. Sign in again (the hub session is gone, so the form is back) and sign out at the
        # app: RP-initiated logout through the hub's end-session endpoint, back to the app.
        driver.get(first["url"] + "/")
        driver.find_element(By.ID, "sign-in").click()
        WebDriverWait(driver, 15).until(EC.presence_of_element_located((By.NAME, "password")))
        driver.find_element(By.NAME, "username").send_keys(config["username"])
        driver.find_element(By.NAME, "password").send_keys(config["password"])
        password_field = driver.find_element(By.NAME, "password")
        password_field.find_element(By.XPATH, "./ancestor::form").find_element(
            By.CSS_SELECTOR, "button[type=submit], input[type=submit], button:not([type])").click()
        wait_for("signed-in")
        driver.find_element(By.ID, "sign-out").click()
        wait_for("signed-out")
        if not driver.current_url.startswith(first["url"] + "/signed-out"):
            raise Failure("sign-out ended at %s" % driver.current_url)
        step(first["name"] + "-signed-out-by-user")
        print(json.dumps({"result": "ok", "sid": sid}), flush=True)
        return 0
    except Failure as failure:
        print(json.dumps({"result": "failed", "reason": str(failure)}), flush=True)
        return 1
    finally:
        driver.quit()


if __name__ == "__main__":
    sys.exit(main())

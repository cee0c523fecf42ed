"""A second factor in a real browser: two headless Chromium windows (separate profiles, as two
devices), the sample apps and the hub's account page, with pyotp as the authenticator app.

Run by Tests/HallpassSampleAppTests/BrowserSecondFactorTests.swift, which starts Redis, the hub
and the apps (single-login policy off, so two devices may be signed in) and passes one JSON
argument: {"apps": {"notes": URL, "billing": URL}, "hub": URL, "username", "password",
"artifacts": folder}.

Device A signs in at notes with the password, follows the app's link to the hub's account page
and sets up TOTP there: it reads the secret from #totp-secret, pyotp makes the confirming code,
and the ten recovery codes are shown once. Device B, fresh, signs in at notes: after the password
the hub asks for the code (input `otp`), and notes then says acr "mfa". Device A opens billing's
invoices, which need a second factor its password-only session lacks: the hub steps it up (a
recovery code this time), and the invoices show. Device A's account page lists both sessions,
this one marked; it ends the other, and device B's next load of notes is signed out. A PNG of
every page goes to the artifacts folder. Prints one JSON line per step; exits 1 on the first
failure.
"""

import json
import os
import sys
import tempfile
import time

import pyotp
from selenium import webdriver
from selenium.common.exceptions import NoSuchElementException, TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from browser_sso import Failure, find_binary


def new_driver():
    options = webdriver.ChromeOptions()
    options.binary_location = find_binary("chromium", "chromium-browser")
    for argument in (
        "--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1100,1000",
        "--no-first-run", "--no-default-browser-check", "--disable-extensions", "--password-store=basic",
        "--user-data-dir=" + tempfile.mkdtemp(prefix="hallpass-chromium-"),
    ):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(executable_path=find_binary("chromedriver")), options=options)
    driver.set_page_load_timeout(30)
    return driver


def main():
    config = json.loads(sys.argv[1])
    apps, hub, artifacts = config["apps"], config["hub"], config["artifacts"]
    os.makedirs(artifacts, exist_ok=True)
    for name in os.listdir(artifacts):
        if name.endswith(".png"):
            os.remove(os.path.join(artifacts, name))
    number = [0]
    a, b = new_driver(), new_driver()

    def step(driver, name, **facts):
        number[0] += 1
        path = os.path.join(artifacts, "%02d-%s.png" % (number[0], name))
        driver.save_screenshot(path)
        print(json.dumps({"step": name, "url": driver.current_url, "screenshot": path, **facts}), flush=True)

    def text(driver):
        try:
            return driver.find_element(By.TAG_NAME, "body").text
        except NoSuchElementException:
            return ""

    def wait(driver, by, value, what, timeout=20):
        try:
            return WebDriverWait(driver, timeout).until(EC.presence_of_element_located((by, value)))
        except TimeoutException:
            step(driver, "failed-waiting-for-" + what)
            raise Failure("no %s at %s; page says: %s" % (what, driver.current_url, text(driver)[:400]))

    def submit(field):
        # Press the form's own button, as a person would (the hub's pages run no script).
        field.find_element(By.XPATH, "./ancestor::form").find_element(By.CSS_SELECTOR, "button[type=submit]").click()

    def password_sign_in(driver, device):
        driver.get(apps["notes"] + "/")
        wait(driver, By.ID, "signed-out", "the signed-out page").is_displayed()
        driver.find_element(By.ID, "sign-in").click()
        wait(driver, By.NAME, "password", "the hub's password form")
        if not driver.current_url.startswith(hub):
            raise Failure("the password form is not at the hub: " + driver.current_url)
        driver.find_element(By.NAME, "username").send_keys(config["username"])
        driver.find_element(By.NAME, "password").send_keys(config["password"])
        step(driver, device + "-password-form")
        submit(driver.find_element(By.NAME, "password"))

    try:
        # Device A: a password sign-in at notes, then the account page through the app's link.
        password_sign_in(a, "a")
        wait(a, By.ID, "signed-in", "notes' signed-in page")
        if a.find_element(By.ID, "acr").text.strip() != "pwd":
            raise Failure("a password sign-in should say acr pwd: " + a.find_element(By.ID, "acr").text)
        step(a, "a-notes-signed-in-with-password")
        a.find_element(By.ID, "account").click()
        wait(a, By.XPATH, "//h1[text()='Your account']", "the account page")
        step(a, "a-account-page")

        # Set up TOTP: the QR code and the secret as text; pyotp confirms.
        a.find_element(By.XPATH, "//button[text()='Set up two-step verification']").click()
        secret = wait(a, By.ID, "totp-secret", "the set-up page").text.replace(" ", "")
        if not a.find_elements(By.CSS_SELECTOR, "svg[role=img] path"):
            raise Failure("the set-up page has no QR code")
        step(a, "a-totp-set-up")
        totp = pyotp.TOTP(secret)
        field = a.find_element(By.NAME, "otp")
        field.send_keys(totp.now())
        submit(field)
        codes = [element.text for element in wait(a, By.ID, "recovery-codes", "the recovery codes").find_elements(By.TAG_NAME, "code")]
        if len(codes) != 10:
            raise Failure("expected 10 recovery codes, got %d" % len(codes))
        step(a, "a-recovery-codes", count=len(codes))
        a.find_element(By.ID, "continue").click()
        wait(a, By.XPATH, "//*[contains(text(), 'Recovery codes left: 10')]", "the account page with the second factor on")
        step(a, "a-account-second-factor-on")

        # Device B: the password, then the code form, then notes with acr mfa. The code is the
        # next step's (the hub takes one step of drift), since this step's was just used.
        password_sign_in(b, "b")
        field = wait(b, By.NAME, "otp", "the hub's code form")
        step(b, "b-code-form")
        field.send_keys(totp.at(int(time.time()) + 30))
        submit(field)
        wait(b, By.ID, "signed-in", "notes' signed-in page on device B")
        if b.find_element(By.ID, "acr").text.strip() != "mfa":
            raise Failure("a sign-in with a code should say acr mfa: " + b.find_element(By.ID, "acr").text)
        b_sid = b.find_element(By.ID, "sid").text
        step(b, "b-notes-signed-in-with-code", sid=b_sid)

        # Device A: billing's invoices need a second factor; the hub steps the session up.
        a.get(apps["billing"] + "/")
        wait(a, By.ID, "signed-out", "billing's signed-out page")
        a.find_element(By.ID, "sign-in").click()
        wait(a, By.ID, "signed-in", "billing, by single sign-on")
        a_sid = a.find_element(By.ID, "sid").text
        a.find_element(By.ID, "invoices-link").click()
        field = wait(a, By.NAME, "otp", "the step-up code form")
        if a.find_elements(By.NAME, "password"):
            raise Failure("the step up asked for the password again")
        step(a, "a-step-up-code-form")
        field.send_keys(codes[0])
        submit(field)
        wait(a, By.ID, "invoices", "the invoices after the step up")
        step(a, "a-billing-invoices")

        # Device A's account page: both sessions, this one marked; end the other one.
        a.get(hub + "/account")
        rows = a.find_elements(By.CSS_SELECTOR, "tbody tr")
        current = a.find_elements(By.CSS_SELECTOR, "tbody tr[aria-current=true]")
        if len(rows) != 2 or len(current) != 1 or current[0].get_attribute("data-sid") != a_sid:
            raise Failure("expected two sessions with this one (%s) marked: %s" % (a_sid, text(a)[:500]))
        step(a, "a-account-two-sessions")
        other = a.find_element(By.CSS_SELECTOR, "tbody tr[data-sid='%s'] button" % b_sid)
        other.click()
        wait(a, By.XPATH, "//*[contains(text(), 'The session was ended')]", "the notice that the session ended")
        step(a, "a-account-other-session-ended")

        # Device B: its next page load is signed out.
        b.get(apps["notes"] + "/")
        if not b.find_elements(By.ID, "signed-out"):
            step(b, "b-still-signed-in")
            raise Failure("device B is still signed in after its session was ended: " + text(b)[:300])
        step(b, "b-notes-signed-out")
        print(json.dumps({"result": "ok", "a_sid": a_sid, "b_sid": b_sid}), flush=True)
        return 0
    except Failure as failure:
        print(json.dumps({"result": "failed", "reason": str(failure)}), flush=True)
        return 1
    finally:
        a.quit()
        b.quit()


if __name__ == "__main__":
    sys.exit(main())

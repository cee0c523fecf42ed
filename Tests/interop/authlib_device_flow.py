#!/usr/bin/env python3
"""Runs the OAuth 2.0 device authorization grant (RFC 8628) against a Hallpass hub as a
third-party device would, with authlib as the OAuth client, requests for the user's browser,
and PyJWT for the ID token.

Driven by Tests/HallpassHubTests/AuthlibDeviceInteropTests.swift: reads one JSON request on
stdin ({"issuer", "client_id", "username", "password"}) and writes one JSON report on stdout.
Starting from the issuer only:

  1. fetches discovery and asks the device_authorization_endpoint for codes (requests);
  2. polls the token endpoint with authlib's OAuth2Session.fetch_token(grant_type=device_code)
     twice at once: authorization_pending, then slow_down;
  3. plays the user in a requests.Session: opens verification_uri_complete, signs in with the
     page's form (html.parser), approves;
  4. polls at the interval (five seconds more after each slow_down, RFC 8628 section 3.5) until
     the tokens come; verifies the ID token with PyJWT against the hub's JWKS; refreshes with
     authlib; and tries the used device code again (invalid_grant, and the grant is revoked).

Anything unexpected raises, so the process exits non-zero with a traceback on stderr.
"""

import json
import sys
import time
from urllib.parse import urljoin

import jwt
import requests
from authlib.integrations.requests_client import OAuth2Session

from authlib_code_flow import TIMEOUT, FormParser, error_of

GRANT = "urn:ietf:params:oauth:grant-type:device_code"


def form_of(html):
    form = FormParser()
    form.feed(html)
    assert form.action is not None, html
    return form


def main():
    request = json.load(sys.stdin)
    issuer, client_id = request["issuer"], request["client_id"]
    report = {}

    discovery = requests.get(issuer + "/.well-known/openid-configuration", timeout=TIMEOUT).json()
    assert discovery["issuer"] == issuer, discovery["issuer"]
    assert GRANT in discovery["grant_types_supported"], discovery["grant_types_supported"]
    token_url = discovery["token_endpoint"]

    # 1. The device asks for codes (a public client names itself).
    answer = requests.post(
        discovery["device_authorization_endpoint"], data={"client_id": client_id, "scope": "openid profile"}, timeout=TIMEOUT)
    assert answer.status_code == 200, (answer.status_code, answer.text)
    codes = answer.json()
    report["user_code"] = codes["user_code"]
    report["verification_uri"] = codes["verification_uri"]
    interval = codes["interval"]

    # 2. authlib polls: too early, then too fast.
    device = OAuth2Session(client_id, token_endpoint_auth_method="none", scope="openid profile")

    def poll():
        return device.fetch_token(token_url, grant_type=GRANT, device_code=codes["device_code"])

    report["first_poll"] = error_of(poll)
    report["second_poll"] = error_of(poll)
    if report["second_poll"] == "slow_down":
        interval += 5

    # 3. The user, in a browser: the page, the sign-in form, Approve.
    browser = requests.Session()
    page = browser.get(codes["verification_uri_complete"], timeout=TIMEOUT)
    assert page.status_code == 200, (page.status_code, page.text)
    form = form_of(page.text)
    report["sign_in_asked"] = "password" in form.inputs
    if report["sign_in_asked"]:
        fields = dict(form.inputs, username=request["username"], password=request["password"])
        page = browser.post(urljoin(page.url, form.action), data=fields, timeout=TIMEOUT)
        assert page.status_code == 200, (page.status_code, page.text)
        form = form_of(page.text)
    report["buttons"] = sorted(value for name, value in form.buttons if name == "decision")
    page = browser.post(urljoin(page.url, form.action), data=dict(form.inputs, decision="approve"), timeout=TIMEOUT)
    assert page.status_code == 200, (page.status_code, page.text)
    report["hub_session"] = (browser.cookies.get("hallpass_session") or "").split(".")[0]

    # 4. Polling at the interval until the tokens come.
    token = None
    deadline = time.time() + 120
    while token is None and time.time() < deadline:
        time.sleep(interval)
        try:
            token = poll()
        except Exception as error:
            code = getattr(error, "error", None)
            if code == "slow_down":
                interval += 5
            elif code != "authorization_pending":
                raise
    assert token is not None, "no token before the deadline"
    report["token_type"] = token["token_type"]
    report["scope"] = token.get("scope")

    signing_key = jwt.PyJWKClient(discovery["jwks_uri"]).get_signing_key_from_jwt(token["id_token"])
    claims = jwt.decode(
        token["id_token"], signing_key.key, algorithms=["ES256", "EdDSA", "RS256"], audience=client_id, issuer=issuer,
        options={"require": ["exp", "iat", "sub", "sid"]})
    report["id_token"] = claims

    refreshed = device.refresh_token(token_url, refresh_token=token["refresh_token"])
    report["refreshed"] = "access_token" in refreshed
    # A replayed device code is refused, and what its exchange issued is revoked.
    report["replayed_device_code"] = error_of(poll)
    report["refresh_after_replay"] = error_of(
        lambda: device.refresh_token(token_url, refresh_token=refreshed["refresh_token"]))

    json.dump(report, sys.stdout)


if __name__ == "__main__":
    main()

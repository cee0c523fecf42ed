#!/usr/bin/env python3
"""A third-party relying party (authlib + requests) asks a Hallpass hub for a second factor with
`acr_values` and reads `amr`/`acr` from the ID token; pyotp plays the user's authenticator app.

Driven by Tests/HallpassHubTests/AuthlibSecondFactorTests.swift: reads one JSON request on stdin
({"issuer", "client_id", "client_secret", "redirect_uri", "username", "password"}) for a user
without a second factor, and writes one JSON report on stdout:

  1. discovery lists `mfa` in acr_values_supported;
  2. a first flow without acr_values: the password form only; the ID token says acr "pwd";
  3. a second flow in the same browser with acr_values=mfa: no password form (single sign-on),
     but the hub's set-up page, whose secret (`id="totp-secret"`) pyotp takes to make the
     confirming code, then the recovery codes and on; the ID token, which authlib validates with
     `acr` essential and equal to "mfa", says amr ["pwd","otp","mfa"], in the same session;
  4. a third flow with acr_values=mfa: no page at all, the session remembers the second factor.

Anything unexpected raises, so the process exits non-zero with a traceback on stderr.
"""

import html
import json
import sys
from urllib.parse import urljoin

import pyotp
import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session
from authlib.jose import JsonWebKey, jwt
from authlib.oidc.core import CodeIDToken

from authlib_code_flow import FormParser, TIMEOUT


def main():
    request = json.load(sys.stdin)
    issuer = request["issuer"]
    report = {}
    discovery = requests.get(issuer + "/.well-known/openid-configuration", timeout=TIMEOUT).json()
    report["acr_values_supported"] = discovery.get("acr_values_supported")
    assert "mfa" in discovery["acr_values_supported"], discovery
    jwks = JsonWebKey.import_key_set(requests.get(discovery["jwks_uri"], timeout=TIMEOUT).json())
    browser = requests.Session()
    secrets = [None]

    def flow(acr_values):
        rp = OAuth2Session(
            request["client_id"], request["client_secret"], scope="openid profile", redirect_uri=request["redirect_uri"],
            code_challenge_method="S256", token_endpoint_auth_method="client_secret_basic")
        verifier, nonce = generate_token(64), generate_token(24)
        extra = {"acr_values": acr_values} if acr_values else {}
        url, state = rp.create_authorization_url(
            discovery["authorization_endpoint"], code_verifier=verifier, nonce=nonce, **extra)
        pages = []
        answer = browser.get(url, allow_redirects=False, timeout=TIMEOUT)
        while answer.status_code != 302 or not answer.headers["Location"].startswith(request["redirect_uri"]):
            if answer.status_code in (302, 303):
                answer = browser.get(urljoin(url, answer.headers["Location"]), allow_redirects=False, timeout=TIMEOUT)
                continue
            assert answer.status_code == 200, (answer.status_code, answer.text[:500])
            form = FormParser()
            form.feed(answer.text)
            if 'id="recovery-codes"' in answer.text:
                pages.append("recovery_codes")
                start = answer.text.index('id="continue" href="') + len('id="continue" href="')
                target = html.unescape(answer.text[start:answer.text.index('"', start)])
                answer = browser.get(urljoin(url, target), allow_redirects=False, timeout=TIMEOUT)
                continue
            if 'id="totp-secret"' in answer.text:
                pages.append("enroll")
                start = answer.text.index('id="totp-secret">') + len('id="totp-secret">')
                secrets[0] = answer.text[start:answer.text.index("<", start)].replace(" ", "")
                fields = dict(form.inputs, otp=pyotp.TOTP(secrets[0]).now())
            elif "password" in form.inputs:
                pages.append("password")
                fields = dict(form.inputs, username=request["username"], password=request["password"])
            elif "otp" in form.inputs:
                pages.append("otp")
                fields = dict(form.inputs, otp=pyotp.TOTP(secrets[0]).now())
            else:
                raise AssertionError("unexpected page: " + answer.text[:500])
            answer = browser.post(urljoin(url, form.action), data=fields, allow_redirects=False, timeout=TIMEOUT)
        token = rp.fetch_token(
            discovery["token_endpoint"], authorization_response=answer.headers["Location"], state=state, code_verifier=verifier)
        options = {"iss": {"essential": True, "value": issuer}}
        if acr_values:
            options["acr"] = {"essential": True, "values": acr_values.split()}
        claims = jwt.decode(
            token["id_token"], jwks, claims_cls=CodeIDToken, claims_options=options,
            claims_params={"nonce": nonce, "client_id": request["client_id"]})
        claims.validate()
        return {"pages": pages, "acr": claims.get("acr"), "amr": claims.get("amr"), "sid": claims.get("sid")}

    report["plain"] = flow(None)
    report["step_up"] = flow("mfa")
    report["again"] = flow("mfa")
    print(json.dumps(report))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Runs the OIDC authorization code flow with PKCE against a Hallpass hub as a third-party
relying party would, with authlib (client and JOSE) and requests.

Driven by Tests/HallpassHubTests/AuthlibInteropTests.swift: reads one JSON request on stdin
({"issuer", "client_id", "client_secret", "redirect_uri", "username", "password",
"foreign_redirect_uri"}) and writes one JSON report on stdout. Starting from the issuer only:

  1. fetches discovery; starts the code flow (S256 PKCE, state, nonce) with authlib's
     OAuth2Session; a requests.Session plays the browser: it parses the hub's login form with
     html.parser, posts the username and password, and carries the hub's cookies;
  2. exchanges the code (authlib checks the state) and verifies the ID token with authlib's
     jose against the hub's JWKS (issuer, audience, nonce, expiry);
  3. runs the refusals: a wrong code_verifier, a replayed code (which also kills what the
     first use issued), a foreign redirect URI (a page at the hub, never a redirect), a
     missing state (an error redirect, no code).

Anything unexpected raises, so the process exits non-zero with a traceback on stderr.
"""

import json
import sys
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit, urlunsplit

import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session
from authlib.jose import JsonWebKey, jwt
from authlib.oidc.core import CodeIDToken

# Per HTTP request. Generous on purpose: the hub runs inside the Swift test process, which on a
# 2-core CI machine shares its cores with the rest of the suite; this checks interop, not speed.
TIMEOUT = 60


class FormParser(HTMLParser):
    """The first form of a page: its action, its inputs and its named submit buttons (the other
    interop scripts import it from here)."""

    def __init__(self):
        super().__init__()
        self.action = None
        self.inputs = {}
        self.buttons = []
        self.in_form = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and self.action is None:
            self.action = attrs.get("action", "")
            self.in_form = True
        elif tag == "input" and self.in_form and attrs.get("name"):
            self.inputs[attrs["name"]] = attrs.get("value") or ""
        elif tag == "button" and self.in_form and attrs.get("name"):
            self.buttons.append((attrs["name"], attrs.get("value") or ""))

    def handle_endtag(self, tag):
        if tag == "form":
            self.in_form = False


def query(url):
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def error_of(call):
    try:
        call()
    except Exception as error:  # authlib raises OAuthError with .error
        return getattr(error, "error", None) or type(error).__name__
    return None


def main():
    request = json.load(sys.stdin)
    issuer = request["issuer"]
    redirect_uri = request["redirect_uri"]
    report = {}

    discovery = requests.get(issuer + "/.well-known/openid-configuration", timeout=TIMEOUT).json()
    assert discovery["issuer"] == issuer, discovery["issuer"]
    assert "S256" in discovery["code_challenge_methods_supported"]
    jwks = JsonWebKey.import_key_set(requests.get(discovery["jwks_uri"], timeout=TIMEOUT).json())

    def client():
        return OAuth2Session(
            request["client_id"], request["client_secret"], scope="openid profile", redirect_uri=redirect_uri,
            code_challenge_method="S256", token_endpoint_auth_method="client_secret_basic")

    browser = requests.Session()

    def authorize(rp, verifier, nonce):
        """Returns (the redirect back to the client, whether the login form was shown)."""
        url, state = rp.create_authorization_url(discovery["authorization_endpoint"], code_verifier=verifier, nonce=nonce)
        answer = browser.get(url, allow_redirects=False, timeout=TIMEOUT)
        if answer.status_code == 302:
            return answer.headers["Location"], state, False
        assert answer.status_code == 200, (answer.status_code, answer.text)
        form = FormParser()
        form.feed(answer.text)
        assert "username" in form.inputs and "password" in form.inputs, form.inputs
        fields = dict(form.inputs, username=request["username"], password=request["password"])
        answer = browser.post(urljoin(url, form.action), data=fields, allow_redirects=False, timeout=TIMEOUT)
        assert answer.status_code == 302, (answer.status_code, answer.text)
        return answer.headers["Location"], state, True

    # 1-2. The flow, and the ID token.
    rp = client()
    verifier, nonce = generate_token(64), generate_token(24)
    location, state, form_shown = authorize(rp, verifier, nonce)
    assert location.startswith(redirect_uri + "?"), location
    report["form_shown"] = form_shown
    report["iss_in_response"] = query(location).get("iss")
    token = rp.fetch_token(
        discovery["token_endpoint"], authorization_response=location, state=state, code_verifier=verifier)
    claims = jwt.decode(
        token["id_token"], jwks, claims_cls=CodeIDToken,
        claims_options={"iss": {"essential": True, "value": issuer}},
        claims_params={"nonce": nonce, "client_id": request["client_id"]})
    claims.validate()
    report["id_token"] = dict(claims)
    report["token_type"] = token["token_type"]
    report["refreshed"] = "access_token" in rp.refresh_token(discovery["token_endpoint"], refresh_token=token["refresh_token"])

    # A second flow in the same browser: single sign-on, no form.
    rp2 = client()
    verifier2 = generate_token(64)
    location2, state2, form_shown2 = authorize(rp2, verifier2, generate_token(24))
    report["second_flow_form_shown"] = form_shown2

    # 3a. A wrong verifier.
    report["wrong_verifier"] = error_of(lambda: rp2.fetch_token(
        discovery["token_endpoint"], authorization_response=location2, state=state2, code_verifier=generate_token(64)))

    # 3b. A replayed code: refused, and what its first use issued is revoked.
    rp3 = client()
    verifier3 = generate_token(64)
    location3, state3, _ = authorize(rp3, verifier3, generate_token(24))
    first = rp3.fetch_token(discovery["token_endpoint"], authorization_response=location3, state=state3, code_verifier=verifier3)
    report["replayed_code"] = error_of(lambda: client().fetch_token(
        discovery["token_endpoint"], authorization_response=location3, state=state3, code_verifier=verifier3))
    report["refresh_after_replay"] = error_of(lambda: client().refresh_token(
        discovery["token_endpoint"], refresh_token=first["refresh_token"]))

    # 3c. A foreign redirect URI: an error page at the hub, never a redirect.
    foreign = OAuth2Session(request["client_id"], scope="openid", redirect_uri=request["foreign_redirect_uri"],
                            code_challenge_method="S256")
    url, _ = foreign.create_authorization_url(discovery["authorization_endpoint"], code_verifier=generate_token(64), nonce="n")
    answer = browser.get(url, allow_redirects=False, timeout=TIMEOUT)
    report["foreign_redirect_status"] = answer.status_code
    report["foreign_redirect_location"] = answer.headers.get("Location")

    # 3d. A missing state: refused with an error redirect that carries no code.
    url, _ = client().create_authorization_url(discovery["authorization_endpoint"], code_verifier=generate_token(64), nonce="n")
    parts = urlsplit(url)
    stripped = urlunsplit(parts._replace(query=urlencode({k: v for k, v in query(url).items() if k != "state"})))
    answer = browser.get(stripped, allow_redirects=False, timeout=TIMEOUT)
    back = query(answer.headers.get("Location", ""))
    report["missing_state_status"] = answer.status_code
    report["missing_state_error"] = back.get("error")
    report["missing_state_code"] = back.get("code")

    json.dump(report, sys.stdout)


if __name__ == "__main__":
    main()

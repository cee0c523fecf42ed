#!/usr/bin/env python3
"""Checks the OpenID Connect conformance points of a Hallpass hub as a strict third-party relying
party would, with authlib (client and JOSE), PyJWT and requests.

Driven by Tests/HallpassHubTests/OIDCConformanceTests.swift: reads one JSON request on stdin
({"issuer", "client_id", "client_secret", "redirect_uri", "username", "password"}), for a client
registered with `--id-token-alg RS256`, and writes one JSON report on stdout:

  1. discovery: the scopes and ID-token algorithms it offers;
  2. the code flow with PKCE asking for `openid profile email offline_access address phone`
     (values the hub does not know must be ignored, not refused): the granted scope, and the ID
     token verified twice, by authlib (CodeIDToken, which checks `at_hash` against the access
     token) and by PyJWT against the hub's JWKS with RS256 only;
  3. UserInfo with the access token in the Authorization header and as a form body parameter
     (RFC 6750 sections 2.1 and 2.2), and with both at once (refused).

Anything unexpected raises, so the process exits non-zero with a traceback on stderr.
"""

import json
import sys
from urllib.parse import urljoin

import jwt as pyjwt
import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session
from authlib.jose import JsonWebKey
from authlib.jose import jwt as authlib_jwt
from authlib.oidc.core import CodeIDToken

from authlib_code_flow import TIMEOUT, FormParser


def main():
    request = json.load(sys.stdin)
    issuer = request["issuer"]
    redirect_uri = request["redirect_uri"]
    report = {}

    # 1. Discovery.
    discovery = requests.get(issuer + "/.well-known/openid-configuration", timeout=TIMEOUT).json()
    report["scopes_supported"] = discovery["scopes_supported"]
    report["id_token_algs"] = discovery["id_token_signing_alg_values_supported"]

    # 2. The code flow, asking for scopes the hub does not know among those it does.
    asked = "openid profile email offline_access address phone"
    rp = OAuth2Session(
        request["client_id"], request["client_secret"], scope=asked, redirect_uri=redirect_uri,
        code_challenge_method="S256", token_endpoint_auth_method="client_secret_basic")
    verifier, nonce = generate_token(64), generate_token(24)
    url, state = rp.create_authorization_url(discovery["authorization_endpoint"], code_verifier=verifier, nonce=nonce)
    browser = requests.Session()
    page = browser.get(url, allow_redirects=False, timeout=TIMEOUT)
    assert page.status_code == 200, (page.status_code, page.text)
    form = FormParser()
    form.feed(page.text)
    fields = dict(form.inputs, username=request["username"], password=request["password"])
    answer = browser.post(urljoin(url, form.action), data=fields, allow_redirects=False, timeout=TIMEOUT)
    assert answer.status_code == 302, (answer.status_code, answer.text)
    location = answer.headers["Location"]
    assert location.startswith(redirect_uri + "?"), location
    token = rp.fetch_token(
        discovery["token_endpoint"], authorization_response=location, state=state, code_verifier=verifier)
    report["granted_scope"] = token["scope"]
    report["has_refresh_token"] = bool(token.get("refresh_token"))

    id_token = token["id_token"]
    report["id_token_header"] = pyjwt.get_unverified_header(id_token)
    report["access_token_header"] = pyjwt.get_unverified_header(token["access_token"])
    # authlib: signature against JWKS, iss, aud, nonce, expiry, and at_hash against the access token.
    keys = JsonWebKey.import_key_set(requests.get(discovery["jwks_uri"], timeout=TIMEOUT).json())
    claims = authlib_jwt.decode(
        id_token, keys, claims_cls=CodeIDToken,
        claims_options={"iss": {"essential": True, "value": issuer}},
        claims_params={"nonce": nonce, "client_id": request["client_id"], "access_token": token["access_token"]})
    claims.validate()
    report["authlib_at_hash_checked"] = "at_hash" in claims
    # PyJWT: the key found by kid in JWKS, RS256 and nothing else accepted.
    signing_key = pyjwt.PyJWKClient(discovery["jwks_uri"]).get_signing_key_from_jwt(id_token)
    verified = pyjwt.decode(
        id_token, signing_key.key, algorithms=["RS256"], audience=request["client_id"], issuer=issuer,
        options={"require": ["exp", "iat", "sub", "at_hash"]})
    report["id_token"] = verified

    # 3. UserInfo, both ways, and both at once.
    userinfo = discovery["userinfo_endpoint"]
    access = token["access_token"]
    by_header = requests.get(userinfo, headers={"Authorization": "Bearer " + access}, timeout=TIMEOUT)
    by_body = requests.post(userinfo, data={"access_token": access}, timeout=TIMEOUT)
    both = requests.post(
        userinfo, data={"access_token": access}, headers={"Authorization": "Bearer " + access}, timeout=TIMEOUT)
    report["userinfo_header_status"] = by_header.status_code
    report["userinfo_body_status"] = by_body.status_code
    report["userinfo_header"] = by_header.json()
    report["userinfo_body"] = by_body.json()
    report["userinfo_both_status"] = both.status_code
    report["userinfo_both_error"] = both.json().get("error")

    json.dump(report, sys.stdout)


if __name__ == "__main__":
    main()

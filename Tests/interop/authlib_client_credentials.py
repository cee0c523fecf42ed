#!/usr/bin/env python3
"""Runs the OAuth 2.0 client credentials grant (RFC 6749 section 4.4) against a Hallpass hub as
a third-party machine client would, with authlib, PyJWT and requests.

Driven by Tests/HallpassHubTests/AuthlibClientCredentialsTests.swift: reads one JSON request
on stdin ({"issuer", "client_id", "client_secret"}) and writes one JSON report on stdout.
Starting from the issuer only:

  1. fetches discovery and takes the token, JWKS, introspection and revocation endpoints
     from it;
  2. gets a token with authlib's OAuth2Session.fetch_token(grant_type="client_credentials"),
     authenticating with HTTP Basic, and again with client_secret_post; a wrong secret must
     be refused;
  3. verifies the access token with PyJWT against the JWKS (signature, iss, aud, exp, typ);
  4. introspects it (RFC 7662) and revokes it (RFC 7009) with requests, then introspects it
     again.

Anything unexpected raises, so the process exits non-zero with a traceback on stderr.
"""

import json
import sys

import jwt
import requests
from authlib.integrations.requests_client import OAuth2Session

from authlib_code_flow import TIMEOUT, error_of


def main():
    request = json.load(sys.stdin)
    issuer = request["issuer"]
    client_id = request["client_id"]
    secret = request["client_secret"]
    auth = (client_id, secret)
    report = {}

    discovery = requests.get(issuer + "/.well-known/openid-configuration", timeout=TIMEOUT).json()
    assert discovery["issuer"] == issuer, discovery["issuer"]
    report["grant_advertised"] = "client_credentials" in discovery["grant_types_supported"]
    token_endpoint = discovery["token_endpoint"]

    # 2. The grant, with Basic (authlib's default) and with client_secret_post.
    session = OAuth2Session(client_id, secret, scope="openid reports:read", timeout=TIMEOUT)
    token = session.fetch_token(token_endpoint, grant_type="client_credentials")
    report["token_type"] = token["token_type"]
    report["expires_in"] = token["expires_in"]
    report["response_members"] = sorted(k for k in token.keys() if k != "expires_at")
    posted = OAuth2Session(client_id, secret, token_endpoint_auth_method="client_secret_post", timeout=TIMEOUT)
    report["post_token"] = "access_token" in posted.fetch_token(token_endpoint, grant_type="client_credentials")
    report["wrong_secret"] = error_of(lambda: OAuth2Session(client_id, "wrong-" + secret, timeout=TIMEOUT).fetch_token(
        token_endpoint, grant_type="client_credentials"))

    # 3. The access token, verified by PyJWT against the published keys.
    access = token["access_token"]
    header = jwt.get_unverified_header(access)
    key = jwt.PyJWKClient(discovery["jwks_uri"], timeout=TIMEOUT).get_signing_key(header["kid"])
    claims = jwt.decode(
        access, key=key.key, algorithms=[header["alg"]], audience=client_id, issuer=issuer,
        options={"require": ["exp", "iat", "iss", "aud", "sub", "jti"]})
    report["typ"] = header["typ"]
    report["claims"] = claims

    # 4. Introspection, revocation, introspection.
    introspected = requests.post(discovery["introspection_endpoint"], data={"token": access}, auth=auth, timeout=TIMEOUT)
    assert introspected.status_code == 200, (introspected.status_code, introspected.text)
    report["introspection"] = introspected.json()
    revoked = requests.post(
        discovery["revocation_endpoint"], data={"token": access, "token_type_hint": "access_token"}, auth=auth,
        timeout=TIMEOUT)
    report["revocation_status"] = revoked.status_code
    again = requests.post(discovery["introspection_endpoint"], data={"token": access}, auth=auth, timeout=TIMEOUT)
    assert again.status_code == 200, (again.status_code, again.text)
    report["introspection_after_revocation"] = again.json()

    json.dump(report, sys.stdout)


if __name__ == "__main__":
    main()

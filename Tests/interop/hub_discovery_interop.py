#!/usr/bin/env python3
"""Verifies a Hallpass hub's access token the way an independent relying party would.

Driven by Tests/HallpassHubTests/DiscoveryTests.swift: reads one JSON request on stdin
({"issuer", "audience", "token"}) and writes one JSON response on stdout. Using only the
standard library's urllib and PyJWT, it

  1. fetches <issuer>/.well-known/openid-configuration and checks its "issuer" member;
  2. follows "jwks_uri" with PyJWT's PyJWKClient and picks the key by the token's "kid";
  3. verifies the token with the algorithm the key names, the expected audience and issuer;
  4. checks that the same token is refused for another audience and for another issuer.

Anything unexpected raises, so the process exits non-zero with a traceback on stderr.
"""

import json
import sys
import urllib.request

import jwt


def fetch_json(url):
    with urllib.request.urlopen(url, timeout=60) as response:
        if response.status != 200:
            raise RuntimeError(f"GET {url} answered {response.status}")
        return json.load(response)


def refused(token, key, algorithm, audience, issuer):
    try:
        jwt.decode(token, key=key, algorithms=[algorithm], audience=audience, issuer=issuer)
    except jwt.InvalidTokenError as error:
        return type(error).__name__
    return None


def main():
    request = json.load(sys.stdin)
    issuer = request["issuer"]
    token = request["token"]
    audience = request["audience"]

    discovery = fetch_json(issuer + "/.well-known/openid-configuration")
    if discovery["issuer"] != issuer:
        raise RuntimeError(f"discovery names issuer {discovery['issuer']!r}, expected {issuer!r}")
    jwks_uri = discovery["jwks_uri"]

    signing_key = jwt.PyJWKClient(jwks_uri, cache_keys=False).get_signing_key_from_jwt(token)
    algorithm = signing_key.algorithm_name
    claims = jwt.decode(
        token,
        key=signing_key.key,
        algorithms=[algorithm],
        audience=audience,
        issuer=issuer,
        options={"require": ["exp", "iat", "iss", "aud", "sub", "jti"]},
    )

    response = {
        "pyjwt_version": jwt.__version__,
        "discovery_issuer": discovery["issuer"],
        "jwks_uri": jwks_uri,
        "key_id": signing_key.key_id,
        "key_algorithm": algorithm,
        "header": jwt.get_unverified_header(token),
        "claims": claims,
        "wrong_audience": refused(token, signing_key.key, algorithm, audience + "-other", issuer),
        "wrong_issuer": refused(token, signing_key.key, algorithm, audience, issuer + "/other"),
    }
    json.dump(response, sys.stdout, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()

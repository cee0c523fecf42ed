#!/usr/bin/env python3
"""Cross-checks Hallpass's JOSE code against PyJWT, an implementation nobody here wrote.

Driven by Tests/HallpassJOSETests/InteropTests.swift: reads one JSON request on stdin and
writes one JSON response on stdout. For the request's algorithm it

  (a) verifies the token Swift signed, with the key from the JWK Set Swift published, and
      returns the header and claims PyJWT decoded;
  (c) tries the token Swift tampered with, and reports how PyJWT refused it;
  (b) generates a key of its own, signs an access token with it, and returns the token, the
      public JWK and the claims, for Swift to verify.

Anything unexpected raises, so the process exits non-zero with a traceback on stderr.
"""

import json
import secrets
import sys
import time

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm


def verify_swift_token(request):
    token = request["token"]
    header = jwt.get_unverified_header(token)
    # The key comes from the published set by kid, as a relying party would look it up.
    key_set = jwt.PyJWKSet.from_json(request["jwks"])
    signing_key = key_set[header["kid"]]
    claims = jwt.decode(
        token,
        key=signing_key.key,
        algorithms=[request["alg"]],
        audience=request["audience"],
        issuer=request["issuer"],
        options={"require": ["exp", "iat", "nbf", "iss", "aud", "sub", "jti"]},
    )
    return {"header": header, "claims": claims, "key_algorithm": signing_key.algorithm_name}


def reject_tampered_token(request):
    key_set = jwt.PyJWKSet.from_json(request["jwks"])
    token = request["tampered_token"]
    signing_key = key_set[jwt.get_unverified_header(token)["kid"]]
    try:
        jwt.decode(
            token,
            key=signing_key.key,
            algorithms=[request["alg"]],
            audience=request["audience"],
            issuer=request["issuer"],
        )
    except jwt.InvalidTokenError as error:
        return {"rejected": True, "error": type(error).__name__}
    return {"rejected": False, "error": None}


def sign_own_token(request):
    alg = request["alg"]
    if alg == "ES256":
        private_key = ec.generate_private_key(ec.SECP256R1())
        jwk = ECAlgorithm.to_jwk(private_key.public_key(), as_dict=True)
    elif alg == "EdDSA":
        private_key = ed25519.Ed25519PrivateKey.generate()
        jwk = OKPAlgorithm.to_jwk(private_key.public_key(), as_dict=True)
    elif alg == "RS256":
        private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        jwk = RSAAlgorithm.to_jwk(private_key.public_key(), as_dict=True)
    else:
        raise ValueError(f"no key type for {alg}")
    kid = f"pyjwt-{alg}-{secrets.token_hex(8)}"
    jwk["kid"] = kid
    now = int(time.time())
    claims = {
        "iss": request["issuer"],
        "aud": [request["audience"], "https://other.example"],
        "sub": "pyjwt-user",
        "jti": secrets.token_urlsafe(16),
        "iat": now,
        "nbf": now,
        "exp": now + 300,
        "scope": "openid profile",
        "client_id": "pyjwt-interop",
        "cnf": {"note": "caf\u00e9 \u2603", "n": [1, 2, 3]},
    }
    token = jwt.encode(claims, private_key, algorithm=alg, headers={"kid": kid, "typ": "at+jwt"})
    return {"token": token, "jwk": jwk, "claims": claims, "kid": kid}


def main():
    request = json.load(sys.stdin)
    response = {
        "pyjwt_version": jwt.__version__,
        "verified": verify_swift_token(request),
        "tampered": reject_tampered_token(request),
        "signed": sign_own_token(request),
    }
    json.dump(response, sys.stdout, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()

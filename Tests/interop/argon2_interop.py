"""Cross-checks Hallpass's Argon2id PHC strings against argon2-cffi, an independent implementation.

stdin: {"password": ..., "hallpass_hash": <PHC made by Hallpass>}
stdout: {"verifies": bool, "wrong_password_verifies": bool, "cffi_hash": <PHC made by argon2-cffi>}
"""
import json
import sys

from argon2 import PasswordHasher, Type
from argon2.exceptions import VerifyMismatchError

request = json.load(sys.stdin)
hasher = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1, hash_len=32, salt_len=16, type=Type.ID)


def verifies(phc, password):
    try:
        return hasher.verify(phc, password)
    except VerifyMismatchError:
        return False


json.dump(
    {
        "verifies": verifies(request["hallpass_hash"], request["password"]),
        "wrong_password_verifies": verifies(request["hallpass_hash"], request["password"] + "x"),
        "cffi_hash": hasher.hash(request["password"]),
    },
    sys.stdout,
)

"""Password hashing with argon2id through ``pwdlib`` (its recommended parameters)."""

from __future__ import annotations

from pwdlib import PasswordHash
from pwdlib.exceptions import UnknownHashError


class Argon2Passwords:
    """The ``PasswordHasher`` port: argon2id hashes, compared in constant time."""

    def __init__(self) -> None:
        self._hash = PasswordHash.recommended()

    def hash(self, password: str) -> str:
        return self._hash.hash(password)

    def verify(self, password: str, hashed: str) -> bool:
        try:
            return self._hash.verify(password, hashed)
        except UnknownHashError:
            return False

"""Who a browser is on a class server: an `Identity` (a random student id, the display name, the role)
and the token that carries it in the student's link, so that a reload keeps it.

A token is `ID.ROLE.MAC`, MAC the HMAC-SHA256 of `ID|ROLE` under the server's secret key (kept in the
data folder, readable only by its owner). A link typed or edited by hand cannot name another student's
id or claim the teacher's role: its MAC would not match. (A token is a bearer credential: whoever
holds a student's own link is that student, as with any sign-in link.)

    >>> key = b"k" * 32
    >>> t = sign(Identity("4f1a2b3c4d5e", "Ada", "student"), key)
    >>> verify(t, key)
    ('4f1a2b3c4d5e', 'student')
    >>> verify(t.replace("student", "teacher"), key)
    Traceback (most recent call last):
    ...
    explorer.server.identity.IdentityError: this link's identity is not valid on this server (it was edited, or made for another class); join again with the class code
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from explorer import paths

ROLES = ("student", "teacher")
KEY_BYTES = 32
MAC_CHARS = 22  # 132 bits of the HMAC, base64url
_ID = re.compile(r"[0-9a-f]{12}")


class IdentityError(ValueError):
    """A token or a join that cannot be accepted; the message says what to do."""


@dataclass(frozen=True)
class Identity:
    """A member of the class: `id` (what owns their work), `name` (what the class sees), `role`."""

    id: str
    name: str
    role: str = "student"

    @property
    def teacher(self) -> bool:
        return self.role == "teacher"


def new_id() -> str:
    return secrets.token_hex(6)


def secret(root: str | Path | None = None) -> bytes:
    """The server's signing key (created at first use, mode 0600, under the data folder's `class/`)."""
    p = paths.class_secret(root)
    if not p.exists():
        paths.ensure_dir(p.parent)
        try:
            fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process made it first: use theirs
            pass
        else:
            with os.fdopen(fd, "wb") as f:
                f.write(secrets.token_bytes(KEY_BYTES))
    key = p.read_bytes()
    if len(key) != KEY_BYTES:
        raise IdentityError(f"{p} holds {len(key)} bytes, not a {KEY_BYTES}-byte key; delete it (every student "
                            "then joins again) and restart the server")
    return key


def _mac(key: bytes, sid: str, role: str) -> str:
    d = hmac.new(key, f"{sid}|{role}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(d).decode()[:MAC_CHARS]


def sign(who: Identity, key: bytes) -> str:
    """The token of `who` for a link."""
    return f"{who.id}.{who.role}.{_mac(key, who.id, who.role)}"


def verify(token: str, key: bytes) -> tuple[str, str]:
    """(id, role) of a token this server signed; `IdentityError` for anything else."""
    parts = str(token).split(".")
    if len(parts) == 3 and _ID.fullmatch(parts[0]) and parts[1] in ROLES \
            and hmac.compare_digest(parts[2], _mac(key, parts[0], parts[1])):
        return parts[0], parts[1]
    raise IdentityError("this link's identity is not valid on this server (it was edited, or made for another "
                        "class); join again with the class code")

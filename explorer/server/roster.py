"""The class list of a class server: who joined, under which display name, with which role. A small
SQLite table under the data folder (`paths.roster_db`), so the app's sessions and the teacher's
overview read one list, and two students typing the same name at once cannot both get it.

    >>> import tempfile
    >>> from explorer.server.settings import ClassSettings
    >>> r = Roster(tempfile.mkdtemp())
    >>> s = ClassSettings(join_code="maple-42", teacher_code="oak-tree-7")
    >>> ada, token = r.join(s, "maple-42", " Ada ")
    >>> ada.name, ada.role, r.admit(token) == ada
    ('Ada', 'student', True)
    >>> r.join(s, "maple-42", "ada")
    Traceback (most recent call last):
    ...
    explorer.server.identity.IdentityError: the name 'ada' is taken in this class; if it is yours, open the link you joined with (it keeps your identity); otherwise choose another name
"""

from __future__ import annotations

import hmac
import re
import sqlite3
import time
from pathlib import Path

from explorer import paths
from explorer.server.identity import Identity, IdentityError, new_id, secret, sign, verify
from explorer.server.settings import ClassSettings

MAX_NAME = 40
_NAME = re.compile(r"[\w][\w .'-]*", re.UNICODE)  # letters (any script), digits, space . ' - _

SCHEMA = """CREATE TABLE IF NOT EXISTS members (
    id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE COLLATE NOCASE, role TEXT NOT NULL, joined REAL NOT NULL)"""


class WrongCodeError(IdentityError):
    """A join with neither the class code nor the teacher code."""


def clean_name(name: str) -> str:
    """A display name as the class will see it (spaces collapsed), or `IdentityError` saying what to change."""
    n = " ".join(str(name).split())
    if not n:
        raise IdentityError("type a display name (the name your teacher will see)")
    if len(n) > MAX_NAME:
        raise IdentityError(f"a display name has at most {MAX_NAME} characters (got {len(n)}); shorten it")
    if not _NAME.fullmatch(n):
        raise IdentityError(f"the name {n!r} may hold letters, digits, spaces and . ' - _ only; "
                            "start it with a letter or digit")
    return n


class Roster:
    """The members of the class whose data folder is `root` (default: the data folder)."""

    def __init__(self, root: str | Path | None = None):
        self.root = Path(root or paths.data_dir())
        self.path = paths.roster_db(self.root)
        paths.ensure_dir(self.path.parent)
        self.key = secret(self.root)
        with self._db() as c:
            c.execute(SCHEMA)

    def _db(self) -> sqlite3.Connection:
        c = sqlite3.connect(self.path, timeout=30)
        c.execute("PRAGMA journal_mode=WAL")
        return c

    def join(self, settings: ClassSettings, code: str, name: str) -> tuple[Identity, str]:
        """A new member: the join code makes a student, the teacher code the teacher. Returns the identity
        and the token for their link; `IdentityError` for a wrong code or a name already taken."""
        code = str(code).strip()
        if hmac.compare_digest(code.encode(), settings.teacher_code.encode()):
            role = "teacher"
        elif hmac.compare_digest(code.encode(), settings.join_code.encode()):
            role = "student"
        else:
            raise WrongCodeError("that is not this class's code; check the code your teacher gave you")
        who = Identity(new_id(), clean_name(name), role)
        try:
            with self._db() as c:
                c.execute("INSERT INTO members VALUES (?, ?, ?, ?)", (who.id, who.name, who.role, time.time()))
        except sqlite3.IntegrityError:
            raise IdentityError(f"the name {who.name!r} is taken in this class; if it is yours, open the link you "
                                "joined with (it keeps your identity); otherwise choose another name") from None
        return who, sign(who, self.key)

    def admit(self, token: str) -> Identity:
        """The member a link's token names; `IdentityError` for a token this server did not sign, or whose
        member is not in this class's list (a class started afresh)."""
        sid, role = verify(token, self.key)
        with self._db() as c:
            row = c.execute("SELECT name, role FROM members WHERE id=?", (sid,)).fetchone()
        if row is None or row[1] != role:
            raise IdentityError("this link names nobody in this class (the class was started afresh); join "
                                "again with the class code")
        return Identity(sid, row[0], role)

    def members(self) -> list[Identity]:
        """Everyone who joined, in the order they joined."""
        with self._db() as c:
            rows = c.execute("SELECT id, name, role FROM members ORDER BY joined").fetchall()
        return [Identity(*r) for r in rows]

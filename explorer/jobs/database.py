"""The SQLite file under the job store: connections, transactions, damage, and the migration of older files.

Every public call of a store opens its own short transaction on a connection private to the
calling thread and process (WAL mode, so readers never block the writer), so one store object
may be used from several threads and any number of processes may open the same file.

A damaged file is never papered over: opening one raises `StoreDamaged`, naming the file and
the way out — `move_aside(path)` keeps it beside as `runs.sqlite3.damaged-<time>` (nothing is
deleted) and the next open starts a fresh store. A file truncated to zero bytes counts as
damaged: a store this project created always holds its schema.

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "runs.sqlite3"
    >>> db = Database(p, "CREATE TABLE IF NOT EXISTS t (x INTEGER);")
    >>> with db.transaction() as c:
    ...     _ = c.execute("INSERT INTO t VALUES (1)")
    >>> db.conn().execute("SELECT COUNT(*) FROM t").fetchone()[0]
    1
    >>> _ = p.write_bytes(b"not a database at all, just bytes")
    >>> Database(p, "CREATE TABLE IF NOT EXISTS t (x INTEGER);")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    explorer.jobs.database.StoreDamaged: the run store ... is damaged (file is not a database); ...
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path


class StoreDamaged(ValueError):
    """The store's SQLite file cannot be read; `path` is the file, `reason` what SQLite said."""

    def __init__(self, path: Path, reason: str):
        self.path, self.reason = Path(path), reason
        super().__init__(f"the run store {path} is damaged ({reason}); move it aside to start a fresh store "
                         f"(`python -m explorer runs repair`, or the button on the Train page): it is kept as "
                         f"{Path(path).name}.damaged-<time> and no file is deleted")


def move_aside(path: str | Path) -> Path:
    """Rename a damaged store file (and its -wal/-shm companions) to `<name>.damaged-<time>`;
    returns the new path of the main file. Nothing is deleted."""
    path = Path(path)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    target = path.with_name(f"{path.name}.damaged-{stamp}")
    k = 1
    while target.exists():
        k += 1
        target = path.with_name(f"{path.name}.damaged-{stamp}-{k}")
    for suffix in ("-wal", "-shm"):
        side = path.with_name(path.name + suffix)
        if side.exists():
            side.rename(target.with_name(target.name + suffix))
    if path.exists():
        path.rename(target)
    return target


def _create(path: Path, schema: str) -> None:
    """A new store file with its schema, put in place atomically: another process never sees it
    half made (so an empty file can only be a truncated one). Losing the race is fine."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.new")
    c = sqlite3.connect(tmp, isolation_level=None)
    try:
        c.executescript(schema)
    finally:
        c.close()
    try:
        os.link(tmp, path)  # atomic, and never replaces a file another process made first
    except FileExistsError:
        pass
    finally:
        tmp.unlink(missing_ok=True)


class Database:
    """One SQLite file with a schema (`CREATE ... IF NOT EXISTS` statements), column migrations
    `(table, column, declaration)` added to older files, and `migrate(conn)`: run on an existing file
    before the schema, inside one write transaction, to bring an older layout up to date."""

    def __init__(self, path: str | Path, schema: str, migrations: Sequence[tuple[str, str, str]] = (),
                 migrate: Callable[[sqlite3.Connection], None] | None = None):
        self.path = Path(path)
        self._local = threading.local()
        fresh = not self.path.exists()
        if fresh:
            _create(self.path, schema)
        if self.path.stat().st_size == 0 and not self.path.with_name(self.path.name + "-wal").exists():
            raise StoreDamaged(self.path, "the file is empty: 0 bytes, truncated")
        try:
            c = self.conn()
            if not fresh:
                ok = c.execute("PRAGMA quick_check").fetchone()[0]
                if ok != "ok":
                    raise StoreDamaged(self.path, f"integrity check: {ok}")
                if migrate is not None:
                    with self.transaction() as t:
                        migrate(t)
            c.executescript(schema)  # executescript manages its own transaction
            for table, column, decl in migrations:
                have = {r["name"] for r in c.execute(f"PRAGMA table_info({table})")}
                if column not in have:
                    c.execute(f"ALTER TABLE {table} ADD COLUMN {column} {decl}")
        except sqlite3.DatabaseError as e:
            self.close()
            raise StoreDamaged(self.path, str(e)) from e

    def conn(self) -> sqlite3.Connection:
        """This thread's connection (a new one after a fork: never share one across processes)."""
        c = getattr(self._local, "conn", None)
        if c is None or self._local.pid != os.getpid():
            c = sqlite3.connect(self.path, timeout=30.0, isolation_level=None, check_same_thread=True)
            c.row_factory = sqlite3.Row
            c.execute("PRAGMA journal_mode=WAL")
            c.execute("PRAGMA busy_timeout=30000")
            c.execute("PRAGMA synchronous=NORMAL")
            self._local.conn, self._local.pid = c, os.getpid()
        return c

    @contextmanager
    def transaction(self, immediate: bool = True) -> Iterator[sqlite3.Connection]:
        """One transaction (BEGIN IMMEDIATE by default: it takes the write lock at once, so a
        read-then-write inside it is atomic across processes)."""
        c = self.conn()
        c.execute("BEGIN IMMEDIATE" if immediate else "BEGIN")
        try:
            yield c
        except BaseException:
            c.execute("ROLLBACK")
            raise
        c.execute("COMMIT")

    def close(self) -> None:
        c = getattr(self._local, "conn", None)
        if c is not None:
            c.close()
            self._local.conn = None

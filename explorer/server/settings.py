"""A class server's settings: one server that a class opens in their browsers, started by
`python -m explorer serve --classroom` (`explorer.cli.serve`).

The serve command puts the join code and the teacher code in the environment of the Streamlit
process it starts (and so of every worker that process starts); this module is the one place that
reads them. With no join code in the environment the app is the local single-user app of
`streamlit run app.py`, and nothing here changes it.

    >>> s = ClassSettings(address="10.0.0.5", port=8502, join_code="maple-42", teacher_code="oak-tree-7")
    >>> s.hosts()
    ('10.0.0.5', 'localhost', '127.0.0.1')
    >>> s.origins()[0]
    'http://10.0.0.5:8502'
    >>> ClassSettings(join_code="maple-42", teacher_code="maple-42")
    Traceback (most recent call last):
    ...
    explorer.server.settings.ClassSettingsError: the teacher code must differ from the join code (students know the join code); choose another --teacher-code
"""

from __future__ import annotations

import ipaddress
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path

ENV_JOIN = "EXPLORER_CLASS_JOIN_CODE"
ENV_TEACHER = "EXPLORER_CLASS_TEACHER_CODE"
WILDCARDS = ("0.0.0.0", "::")  # addresses that bind every interface: students' host name is unknown
MIN_JOIN, MIN_TEACHER = 4, 8  # characters
_CODE = re.compile(r"[!-~]+")  # printable ASCII, no spaces: it is typed and compared as is
_HOST = re.compile(r"[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?")
UPLOAD_MB = 50  # ONNX files and datasets, as in .streamlit/config.toml


class ClassSettingsError(ValueError):
    """A class server setting that cannot be used; the message names it and the fix."""


def _host_ok(h: str) -> bool:
    try:
        ipaddress.ip_address(h)
        return True
    except ValueError:
        return bool(_HOST.fullmatch(h))


@dataclass(frozen=True)
class ClassSettings:
    """Where the class server listens and the two codes: `join_code` lets a student in, `teacher_code`
    makes the one who types it the teacher (who will see every student's work). `host` is the name
    students type in their browser when `address` binds every interface (0.0.0.0)."""

    address: str = "127.0.0.1"
    port: int = 8501
    join_code: str = ""
    teacher_code: str = ""
    host: str = ""

    def __post_init__(self) -> None:
        for flag, code, n in (("--join-code", self.join_code, MIN_JOIN), ("--teacher-code", self.teacher_code, MIN_TEACHER)):
            if len(code) < n or not _CODE.fullmatch(code):
                raise ClassSettingsError(f"{flag} must be at least {n} printable characters without spaces "
                                         f"(got {len(code)} characters); e.g. {flag} "
                                         f"{'maple-42' if flag == '--join-code' else 'oak-tree-7'}")
        if self.join_code == self.teacher_code:
            raise ClassSettingsError("the teacher code must differ from the join code (students know the join "
                                     "code); choose another --teacher-code")
        if not 1 <= int(self.port) <= 65535:
            raise ClassSettingsError(f"--port {self.port} is not a TCP port (1..65535)")
        for flag, h in (("--address", self.address), ("--host", self.host)):
            if h and not _host_ok(h):
                raise ClassSettingsError(f"{flag} {h!r} is not an IP address or a host name")
        if self.address in WILDCARDS and not self.host:
            raise ClassSettingsError(f"--address {self.address} listens on every interface, so the server cannot "
                                     "tell which host name students will type: add --host NAME (e.g. --host "
                                     "lab-pc.school.edu), or give --address the machine's address in the class network")

    def hosts(self) -> tuple[str, ...]:
        """The Host names the server accepts WebSockets from (Streamlit's `server.allowedHosts`): the one
        students type, and the loopback names for the teacher on the machine itself."""
        named = [h for h in (self.host, self.address) if h and h not in WILDCARDS]
        return tuple(dict.fromkeys([*named, "localhost", "127.0.0.1"]))

    def origins(self) -> tuple[str, ...]:
        """The web origins the server accepts (`server.corsAllowedOrigins`)."""
        return tuple(f"http://{h if ':' not in h else f'[{h}]'}:{self.port}" for h in self.hosts())

    def environ(self) -> dict[str, str]:
        """What the Streamlit process (and its workers) must find in their environment to serve this class."""
        return {ENV_JOIN: self.join_code, ENV_TEACHER: self.teacher_code}

    def streamlit_command(self, app: str | Path) -> list[str]:
        """The `streamlit run` command line of this class server: bound to `address:port`, headless, no usage
        statistics, WebSockets only from `hosts()`, CORS limited to `origins()`, XSRF on, no file watching, no
        forced garbage collection after each script run."""
        cmd = [sys.executable, "-m", "streamlit", "run", str(app),
               "--server.address", self.address, "--server.port", str(self.port),
               "--server.headless", "true", "--browser.gatherUsageStats", "false",
               "--browser.serverAddress", self.host or self.hosts()[0],
               "--server.enableCORS", "true", "--server.enableXsrfProtection", "true",
               "--server.enableAgentApi", "false", "--server.runOnSave", "false",
               "--server.fileWatcherType", "none", "--server.maxUploadSize", str(UPLOAD_MB),
               "--runner.postScriptGC", "false"]  # 1-2.5 s of GIL per rerun otherwise (.streamlit/config.toml)
        for h in self.hosts():
            cmd += ["--server.allowedHosts", h]
        for o in self.origins():
            cmd += ["--server.corsAllowedOrigins", o]
        return cmd


def active() -> ClassSettings | None:
    """The settings of the class this process serves (from the environment the serve command set), or None
    in the local single-user app."""
    join = os.environ.get(ENV_JOIN) or ""
    if not join:
        return None
    return ClassSettings(join_code=join, teacher_code=os.environ.get(ENV_TEACHER) or "")


def serving_class() -> bool:
    """True in a class server's processes (the app and its workers): uploaded code must not run here."""
    return bool(os.environ.get(ENV_JOIN))

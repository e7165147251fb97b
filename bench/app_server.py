"""The real app for browser benchmarks: `streamlit run app.py` on a free port and a data folder of
its own, and headless Chromium (Debian's) with the flags this machine needs.

    with serve(data_dir) as url, chromium() as browser:
        page = browser.new_page()
        page.goto(f"{url}/Train")
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


@contextmanager
def serve(data_dir: Path, threads: int | None = None, start_timeout: float = 180.0,
          script: str = "app.py", root: Path = ROOT, classroom: tuple[str, str] | None = None,
          on_start: Callable[[int], None] | None = None) -> Iterator[str]:
    """Run the app (or another Streamlit `script`, for a baseline) of the checkout at `root` (another
    one, e.g. main's, for a before/after comparison) until the block ends; yields its base URL once
    `/_stcore/health` answers. `classroom=(join code, teacher code)`: a class server started as the
    README says (`python -m explorer serve --classroom`). `on_start(pid)`: the server's process id."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "EXPLORER_DATA_DIR": str(data_dir)}
    if threads is not None:
        env["OMP_NUM_THREADS"] = str(threads)
    data_dir.mkdir(parents=True, exist_ok=True)
    log = open(data_dir / "server.log", "w")
    cmd = [sys.executable, "-m", "streamlit", "run", script, "--server.headless", "true",
           "--server.address", "127.0.0.1", "--server.port", str(port),
           "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"]
    if classroom is not None:
        cmd = [sys.executable, "-m", "explorer", "serve", "--classroom", "--address", "127.0.0.1", "--port", str(port),
               "--join-code", classroom[0], "--teacher-code", classroom[1]]
    server = subprocess.Popen(cmd, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    if on_start is not None:
        on_start(server.pid)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + start_timeout
        while True:
            if server.poll() is not None:
                raise RuntimeError(f"streamlit exited with {server.returncode}; see {data_dir / 'server.log'}")
            try:
                if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).status == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"streamlit not healthy after {start_timeout:.0f} s")
            time.sleep(0.3)
        yield url
    finally:
        try:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(20)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(server.pid, signal.SIGKILL)
        log.close()


@contextmanager
def chromium() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()

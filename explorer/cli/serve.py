"""`python -m explorer serve`: start the app. Alone it is `streamlit run app.py` (the local single-user
app on 127.0.0.1); with `--classroom` it is a class server (`explorer.server`): bound to the address
the teacher gives, WebSockets and CORS limited to that host, headless, no usage statistics; students
join with the class code and a display name, and no uploaded code runs on it.

    python -m explorer serve --classroom --address 10.0.0.5 --port 8501 --join-code maple-42 --teacher-code oak-tree-7
"""

from __future__ import annotations

import argparse
import os
import secrets
import shlex
import sys
from pathlib import Path

from explorer.server.settings import ENV_JOIN, ENV_TEACHER, ClassSettings

HELP = "start the app: the local app, or with --classroom a class server students join with a code"
APP = Path(__file__).resolve().parents[2] / "app.py"
LOOPBACK = ("127.0.0.1", "localhost", "::1")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--classroom", action="store_true",
                   help="serve a class: students join with --join-code and a display name; uploaded Python "
                        "model files are never run")
    p.add_argument("--address", default="127.0.0.1",
                   help="the address to listen on (default 127.0.0.1: this machine only); a class server takes "
                        "the machine's address in the class network, or 0.0.0.0 with --host")
    p.add_argument("--port", type=int, default=8501, help="the TCP port (default 8501)")
    p.add_argument("--host", default="",
                   help="the host name students type in their browser (needed with --address 0.0.0.0)")
    p.add_argument("--join-code", default="", help="the code students type to join (default: a random one, printed)")
    p.add_argument("--teacher-code", default="",
                   help="the code that makes its typist the teacher (default: a random one, printed)")
    p.add_argument("--dry-run", action="store_true", help="print the command and stop (nothing is started)")


def command(args: argparse.Namespace) -> tuple[list[str], dict[str, str], ClassSettings | None]:
    """The `streamlit run` command, the environment it adds, and the class settings (None for the local app)."""
    from explorer.cli import CliError

    if not args.classroom:
        if args.address not in LOOPBACK or args.join_code or args.teacher_code or args.host:
            raise CliError("the local app listens on this machine only and has no codes: add --classroom to serve "
                           "a class on another address (students then join with a code, and no uploaded code runs)")
        return ([sys.executable, "-m", "streamlit", "run", str(APP), "--server.address", args.address,
                 "--server.port", str(args.port)], {}, None)
    s = ClassSettings(address=args.address, port=args.port, host=args.host,
                      join_code=args.join_code or f"class-{secrets.token_hex(3)}",
                      teacher_code=args.teacher_code or f"teach-{secrets.token_hex(5)}")
    return s.streamlit_command(APP), s.environ(), s


# what a class's first quick comparison imports in the worker: torch's optimisers import torch._dynamo on
# first use (seconds on 2 cores), then the training code and the export reader
WORKER_MODULES = ("torch._dynamo", "explorer.training.kinds", "explorer.training.sweep", "explorer.training.roles",
                  "explorer.pruning.export", "explorer.data.datasets", "mnist1d")  # mnist1d: 0.7 s at the first job


def start_worker(env: dict[str, str]) -> None:
    """Start the class's queue worker with the server, its training code imported (`worker --warm`), so the
    first student's *Retrain* waits for neither a process start nor those imports. It runs with the class's
    settings (`env`), waits up to 30 min for the next burst, and ends when idle once the server (this
    process, which `execve` turns into the server) has ended."""
    from explorer import paths
    from explorer.jobs.lifecycle import ensure_worker

    os.environ.update(env)
    try:
        ensure_worker(paths.data_dir(), warm=WORKER_MODULES)
    except OSError as e:  # an unwritable data folder: the Train page says so when a job is queued
        print(f"the queue worker did not start ({e}); it starts when the first job is queued", file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    from explorer.cli import CliError

    if not APP.is_file():
        raise CliError(f"{APP} is missing: run `python -m explorer serve` from a checkout of the explorer")
    cmd, env, s = command(args)
    if s is not None:
        where = f"http://{s.host or s.hosts()[0]}:{s.port}"
        print(f"class server at {where}\n  students join with the code: {s.join_code}\n"
              f"  the teacher joins with the code: {s.teacher_code}  (keep it to yourself)\n"
              "  uploaded Python model files are refused on this server; ONNX uploads stay")
    shown = {k: ("***" if k == ENV_TEACHER else v) for k, v in env.items()}
    print(" ".join(f"{k}={shlex.quote(v)}" for k, v in shown.items()), shlex.join(cmd), flush=True)
    if args.dry_run:
        return 0
    os.chdir(APP.parent)  # the app reads .streamlit/config.toml and assets/ from here
    if s is not None:
        start_worker(env)
    os.execve(cmd[0], cmd, {**os.environ, **env})  # the server replaces this process: Ctrl-C stops it
    return 0  # not reached

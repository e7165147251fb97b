"""User code first runs in a child process under a time and memory limit.

`probe(spec)` starts `python -m explorer.models.sandbox SPEC` with its address space capped
(`MEMORY_MB`) and a wall-clock limit (`TIMEOUT_S`); the child imports the file, constructs
the model, runs one forward on its example input, then the stages higher layers add (`add_stage`:
`explorer.graph` adds tracing) — everything the app or the CLI is about to do in its own process.
A model that hangs, loops or asks for too much memory is refused with what it was doing when
the limit hit; an error names the line. Results are kept per (file content, class, stages), so a
file is probed once per process.

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "loop.py"
    >>> _ = p.write_text("import torch\\nclass Net(torch.nn.Module):\\n    input_shape = (2,)\\n"
    ...                  "    def forward(self, x):\\n        while True: pass\\n")
    >>> probe(f"{p}:Net", timeout_s=20)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    explorer.models.spec.ModelSpecError: loop.py:Net did not finish running its forward pass within 20 s...
"""

from __future__ import annotations

import importlib
import json
import os
import resource
import select
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from explorer.concurrency import once_per_key, stage
from explorer.models.spec import ModelSpecError

TIMEOUT_S = 120.0  # import + construction + one forward + tracing of a user model
# Starting Python, torch and the library in the child is our cost, not the user's: the user's limit
# starts when the child begins on the file, and the start has an allowance of its own (a loaded
# machine can take tens of seconds to import torch).
STARTUP_S = 300.0
MEMORY_MB = 6144  # address space of the child: torch itself maps ~3.5 GB of it
# Stages a higher layer runs in the child after the forward pass, as "what=module:function" (the function
# takes the LoadedModel and returns facts for the report). The models layer names no package above it:
# `explorer.graph` adds its tracing stage when it is imported.
_STAGES: dict[str, str] = {}


def add_stage(what: str, target: str) -> None:
    """Also run `target` ("module:function", called with the loaded model; returns a dict merged into the
    report) in the child, announced as `what` ("tracing its graph")."""
    _STAGES[what] = target


def _limits(memory_mb: int) -> Any:
    def apply() -> None:
        cap = memory_mb * (1 << 20)
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
        os.nice(5)
    return apply


def probe(spec: str, timeout_s: float | None = None, memory_mb: int | None = None) -> dict[str, Any]:
    """Run the user model of `spec` in a child under limits; its report ({params, stage: "done"}),
    or `ModelSpecError` saying what failed (or was still running at the limit) and where. The
    limits default to `TIMEOUT_S` and `MEMORY_MB` ($EXPLORER_USER_CODE_TIMEOUT_S / _MEMORY_MB)."""
    if timeout_s is None:
        timeout_s = float(os.environ.get("EXPLORER_USER_CODE_TIMEOUT_S") or TIMEOUT_S)
    if memory_mb is None:
        memory_mb = int(os.environ.get("EXPLORER_USER_CODE_MEMORY_MB") or MEMORY_MB)
    from explorer.models.user_file import file_digest

    stages = tuple(f"{what}={target}" for what, target in _STAGES.items())
    return _probe(spec, file_digest(spec), stages, float(timeout_s), int(memory_mb))


@once_per_key(maxsize=64)
def _probe(spec: str, digest: str, stages: tuple[str, ...], timeout_s: float, memory_mb: int) -> dict[str, Any]:
    """`probe` once per (file content, class, stages, limits), also when several sessions open it at once."""
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")])),
           "OMP_NUM_THREADS": "1"}
    name = Path(spec.rpartition(":")[0]).name + ":" + spec.rpartition(":")[2]
    r = _run_child([sys.executable, "-m", "explorer.models.sandbox", spec, *stages], env, memory_mb, timeout_s, name)
    if r.returncode is None:  # still running at the limit (killed)
        raise ModelSpecError(f"{name} did not finish {_last_stage(r.stdout)} within {timeout_s:g} s: it may loop "
                             "forever or be far too big for this machine; make it finish (and smaller), then load it "
                             "again")
    report = _report(r.stdout)
    if report is None or r.returncode != 0:
        where = _last_stage(r.stdout)
        tail = (r.stderr or "").strip().splitlines()[-1:] or [""]
        if "MemoryError" in (r.stderr or "") or "can't allocate memory" in (r.stderr or "") or r.returncode == -9:
            raise ModelSpecError(f"{name} needs more memory than the {memory_mb:,} MB a user model may take "
                                 f"while {where}; make it smaller (fewer parameters, a smaller example input)")
        raise ModelSpecError(f"{name} failed while {where} in a child process: {tail[0][:300]}")
    if report.get("error"):
        raise ModelSpecError(report["error"])
    return report


def _run_child(cmd: list[str], env: dict[str, str], memory_mb: int, timeout_s: float,
               name: str) -> subprocess.CompletedProcess:
    """Run the child under limits, reporting each stage it prints as it starts
    (`explorer.concurrency.progress.stage`); `returncode` None when it ran past `timeout_s` (then killed).
    The `timeout_s` clock starts at the child's first stage (its own start-up has `STARTUP_S`)."""
    deadline = time.monotonic() + STARTUP_S + timeout_s
    started = False
    out: list[str] = []
    stage(f"checking {name} in a sandboxed child process: starting Python and torch")
    with tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err, text=True, env=env,
                                preexec_fn=_limits(memory_mb), stdin=subprocess.DEVNULL)
        with proc:
            fd, pending = proc.stdout.fileno(), b""  # raw reads: a buffered readline would hide lines from select
            while (left := deadline - time.monotonic()) > 0:
                if not select.select([fd], [], [], min(left, 1.0))[0]:
                    continue
                chunk = os.read(fd, 1 << 16)
                if not chunk:
                    break  # the child closed its output: it is done
                *lines, pending = (pending + chunk).split(b"\n")
                for line in (ln.decode(errors="replace") + "\n" for ln in lines):
                    out.append(line)
                    if line.startswith("stage "):
                        if not started:
                            started, deadline = True, time.monotonic() + timeout_s
                        stage(f"checking {name} in a sandboxed child process: {line[len('stage '):].strip()}")
            out.append(pending.decode(errors="replace"))
            try:
                code = proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                code = None
        err.seek(0)
        return subprocess.CompletedProcess(cmd, code, "".join(out), err.read())  # type: ignore[arg-type]


def _lines(out: Any) -> list[str]:
    if isinstance(out, bytes):
        out = out.decode(errors="replace")
    return (out or "").strip().splitlines()


def _last_stage(out: Any) -> str:
    stages = [ln[len("stage "):] for ln in _lines(out) if ln.startswith("stage ")]
    return stages[-1] if stages else "importing the file"


def _report(out: str) -> dict[str, Any] | None:
    for ln in reversed(_lines(out)):
        if ln.startswith("report "):
            return json.loads(ln[len("report "):])
    return None


def _child(spec: str, stages: list[str]) -> int:
    """The child's side: import, construct, forward, then `stages`; print each stage as it starts."""
    def say(s: str) -> None:
        print(f"stage {s}", flush=True)

    import torch  # the start-up, before the user's clock starts (`STARTUP_S`)

    from explorer.models.user_file import load_file

    say("importing the file and constructing the model")
    try:
        lm = load_file(spec)
        say("running its forward pass")
        args = lm.example_input if isinstance(lm.example_input, tuple) else (lm.example_input,)
        with torch.no_grad():
            out = lm.model(*args)
        if out is None:
            raise ModelSpecError(f"{lm.info.name}'s forward returned None; return the tensor(s) the model computes")
        report = {"params": sum(p.numel() for p in lm.model.parameters())}
        for s in stages:
            what, _, target = s.partition("=")
            say(what)
            module, _, fn = target.partition(":")
            report.update(getattr(importlib.import_module(module), fn)(lm))
        report["stage"] = "done"
    except ValueError as e:  # the library's own errors name the problem and the fix
        report = {"error": str(e)}
    print("report " + json.dumps(report), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(_child(sys.argv[1], sys.argv[2:]))

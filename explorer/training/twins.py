"""Twin runs, trained once: runs of one batched job whose configs differ only in their comparison group and
label train the same network on the same data in the same order, so one of them (the first) trains and its
twins are given its rows as they come, its summary at the end and its checkpoints. On a class server every
student's quick comparison has the same two dense runs in a group of its own (`lottery.group.ticket_group`),
so a merged job (`coalesce`) of 30 comparisons trains 2 dense runs instead of 60.

Each twin keeps its own id, metrics and end: a twin whose job asks to stop gets no rows after that and ends
cancelled at the last step it was given, while the others go on; the one that trains stops only when every
twin has asked to.

    >>> from explorer.training.config import RunConfig
    >>> a = RunConfig(model="mlp", group="s1", label="dense s0")
    >>> t = Twins({"x": a, "y": a.replace(group="s2"), "z": a.replace(seed=1)})
    >>> t.trained, t.twins("x"), t.twins("z")
    (['x', 'z'], ['x', 'y'], ['z'])
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from explorer.training.config import RunConfig


def key(config: RunConfig) -> str:
    """What makes two runs one: the config's hash without its group and label."""
    return config.replace(group="", label="").run_id


class Twins:
    """The runs of one job (`run id -> config`, in order) grouped into twins; `trained` are the ids that train."""

    def __init__(self, configs: Mapping[str, RunConfig]):
        first: dict[str, str] = {}  # key -> the first run with it, which trains
        self._lead = {rid: first.setdefault(key(c), rid) for rid, c in configs.items()}
        self._group: dict[str, list[str]] = {}
        for rid, lead in self._lead.items():
            self._group.setdefault(lead, []).append(rid)
        self.trained = list(self._group)

    def twins(self, rid: str) -> list[str]:
        """Every run that `rid` trains for, itself first (`rid` must be a trained one)."""
        return self._group[rid]

    def lead(self, rid: str) -> str:
        """The run that trains for `rid` (itself when it trains)."""
        return self._lead[rid]

    @property
    def shared(self) -> int:
        """How many runs are not trained because a twin trains for them."""
        return len(self._lead) - len(self.trained)


class Fan:
    """The per-run hooks of a job's sweep (`sweep.execute_sweep`) for its trained runs, passed on to their twins:
    `sink(rid, rows)` gives each twin that has not asked to stop the rows (and remembers the last step it was
    given), `should_stop(rid)` is true once every twin has asked, `on_start` tells them all."""

    def __init__(self, twins: Twins, sink: Callable[[str, list[dict[str, Any]]], None],
                 stop: Callable[[str], bool], on_start: Callable[[str, str, str], None]):
        self.t, self._sink, self._stop, self._on_start = twins, sink, stop, on_start
        self.stopped: dict[str, int] = {}  # twin -> the last step it was given, once it asked to stop
        self.step: dict[str, int] = {}
        self.seen: dict[str, dict[str, Any]] = {}  # twin -> its last train and test rows and best accuracies

    def _asked(self, rid: str) -> bool:
        if rid not in self.stopped and self._stop(rid):
            self.stopped[rid] = self.step.get(rid, 0)
        return rid in self.stopped

    def sink(self, rid: str, rows: list[dict[str, Any]]) -> None:
        for r in self.t.twins(rid):
            if not self._asked(r):
                self._sink(r, rows)
                self.step[r] = max([self.step.get(r, 0), *(int(x["step"]) for x in rows)])
                seen = self.seen.setdefault(r, {})
                for x in rows:
                    seen[x["split"]] = x
                    if x.get("acc") is not None:
                        seen[f"best_{x['split']}"] = max(seen.get(f"best_{x['split']}", x["acc"]), x["acc"])

    def should_stop(self, rid: str) -> bool:
        return all([self._asked(r) for r in self.t.twins(rid)])

    def on_start(self, rid: str, device: str, torch_version: str) -> None:
        for r in self.t.twins(rid):
            self._on_start(r, device, torch_version)

    def results(self, trained: Sequence[Any]) -> dict[str, Any]:
        """Every run's `RunResult`, from the trained runs' (`trained`): a twin's is its trainer's under its own
        id, with `init_source` saying it was trained once with a twin (not which: on a class server that is
        another student's run); a twin that asked to stop ends cancelled at the last step it was given, its
        final and best figures those of the rows it was given."""
        out: dict[str, Any] = {}
        for r in trained:
            for rid in self.t.twins(r.run_id):
                res = r if rid == r.run_id else replace(
                    r, run_id=rid, init_source=f"{r.init_source}; trained once with its twin, the same run in "
                                               "another comparison")  # whose id is another student's business
                if rid in self.stopped and r.status in ("done", "cancelled"):
                    res = self._cut(res, rid)
                out[rid] = res
        return out

    def _cut(self, res: Any, rid: str) -> Any:
        """`res` ended where twin `rid` asked to stop: cancelled at its last step, with its own rows' figures."""
        seen = self.seen.get(rid, {})
        final = {f"{split}_{m}": seen[split][m] for split in ("train", "test") if split in seen for m in ("loss", "acc")}
        return replace(res, status="cancelled", steps_done=self.stopped[rid], final=final,
                       best_train_acc=seen.get("best_train", float("nan")),
                       best_test_acc=seen.get("best_test", float("nan")))


def share_checkpoints(twins: Twins, root: str | Path) -> None:
    """Give each twin its trainer's checkpoints (`paths.checkpoint`: step 0, the rewind step, the last), as
    hard links where the file system allows, so a later rewind to a twin's dense run finds them."""
    from explorer import paths

    for lead in twins.trained:
        src = Path(paths.checkpoint(root, lead, 0)).parent
        if not src.is_dir():
            continue
        for rid in twins.twins(lead)[1:]:
            dst = Path(paths.checkpoint(root, rid, 0)).parent
            dst.mkdir(parents=True, exist_ok=True)
            for f in src.iterdir():
                target = dst / f.name
                if target.exists():
                    continue
                try:
                    os.link(f, target)
                except OSError:
                    shutil.copy2(f, target)

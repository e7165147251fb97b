"""Executing a run a process holds: metrics, heartbeats and the end written as the worker that
claimed it, so a worker that lost the run (reaped while it was frozen) stops and changes nothing.
"""

from __future__ import annotations

from typing import Any

from explorer import paths
from explorer.training.jobs.lifecycle import Heartbeat, failure_message, stop_message


def execute_claimed(store: Any, run: Any, worker_id: str, extra_stop: Any = None) -> None:
    """Train a run this worker holds, writing metrics and heartbeats as `worker_id` (so a worker that
    lost the run — reaped while it was frozen — stops and changes nothing), and record its end."""
    from explorer.training.runner import execute

    rid, cfg = run.id, run.config
    beat = Heartbeat(store, [rid], worker_id)
    beat.start()

    def sink(rows: Any) -> None:
        store.log_metrics(rid, rows, worker_id)
        step = max(r["step"] for r in rows)
        store.heartbeat(rid, step=step, progress=min(1.0, step / cfg.steps), worker_id=worker_id)

    def stop() -> bool:
        return store.should_stop(rid, worker_id) or bool(extra_stop and extra_stop())

    try:
        result = execute(cfg, sink, stop, checkpoint_root=paths.checkpoints(store.dir),
                         on_start=lambda dev, tv: store.set_started(rid, dev, tv))
        store.finish(rid, result.status, stop_message(result.status, result.steps_done, result.stop_reason), summary=result.to_dict(),
                     worker_id=worker_id)
    except Exception as e:  # noqa: BLE001 - the run fails, the worker lives on
        store.finish(rid, "failed", failure_message(e), worker_id=worker_id)
    finally:
        beat.stopped.set()

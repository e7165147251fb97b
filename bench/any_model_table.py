"""The any-model table of the README: for every model of the regression suite
(`tests/models/external.py`), whether its graph is faithful (every parameter, levels equal to an
independent longest path, the output reached), its MACs within 1% of fvcore, the composition
equal to the forward — or, for the models that must be refused, whether the refusal names the
cause. Prints one row per model and one per family.

    python3 bench/any_model_table.py
"""

from __future__ import annotations

import sys
import time
import warnings
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "models"))
sys.path.insert(0, str(ROOT / "tests"))

import torch  # noqa: E402
from external import CASES  # noqa: E402
from reference import fvcore_macs  # noqa: E402
from test_any_model import longest_path_levels  # noqa: E402

from explorer.graph.trace import TraceError, trace  # noqa: E402
from explorer.lifting.verify import verify  # noqa: E402


def check(case) -> dict:
    m, x = case.build()
    row = {"family": case.family, "model": case.name, "tracer": "", "graph": False, "params": False,
           "macs": False, "verify": False, "refusal": None, "note": ""}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            dag = trace(m, x, case.name)
    except TraceError as e:
        row["refusal"] = bool(case.refuse) and case.refuse in str(e)
        row["note"] = str(e).split(";")[0][:90]
        return row
    row["tracer"] = dag.meta["tracer"]
    if case.refuse:
        row["refusal"] = False
        row["note"] = "traced, but should have been refused"
        return row
    row["graph"] = dag.level == longest_path_levels(dag) and bool(dag.in_arcs(dag.outputs[0]))
    row["params"] = sum(n.params for n in dag.nodes) == sum(p.numel() for p in m.parameters())
    ours, ref = sum(n.macs for n in dag.nodes), fvcore_macs(m, x)
    row["macs"] = abs(ours - ref) <= 0.01 * ref
    row["note"] = f"MACs/fvcore {ours / ref:.4f}"
    v = verify(m, dag)
    row["verify"] = v.ok
    row["note"] += f", verify {v.dtype} error {v.forward_error:.1e}" + (f" ({'; '.join(v.notes)})" if v.notes else "")
    return row


def refused(rows: list[dict]) -> str:
    return f"{sum(bool(r['refusal']) for r in rows)}/{len(rows)}" if rows else "–"


def main() -> int:
    torch.set_num_threads(1)
    rows = []
    t0 = time.perf_counter()
    for case in CASES:
        rows.append(check(case))
        r = rows[-1]
        mark = (lambda b: "✓" if b else "✗")
        res = (f"refused: {mark(r['refusal'])}" if r["refusal"] is not None else
               f"graph {mark(r['graph'])} params {mark(r['params'])} MACs {mark(r['macs'])} verify {mark(r['verify'])}")
        print(f"{r['family']:13s} {r['model']:32s} {r['tracer']:7s} {res}  {r['note']}", flush=True)
    fam = defaultdict(list)
    for r in rows:
        fam[r["family"]].append(r)
    print("\n| family | models | faithful graph | params | MACs vs fvcore (±1%) | verify | refused with the cause |")
    print("|---|---|---|---|---|---|---|")
    for f, rs in fam.items():
        ok = [r for r in rs if r["refusal"] is None]
        ref = [r for r in rs if r["refusal"] is not None]
        count = (lambda k: f"{sum(r[k] for r in ok)}/{len(ok)}" if ok else "–")
        print(f"| {f} | {len(rs)} | {count('graph')} | {count('params')} | {count('macs')} | {count('verify')} | "
              f"{refused(ref)} |")
    print(f"\n{len(rows)} models in {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Several sessions at once (AppTest instances in threads of one process, as Streamlit runs them):
each page shows what it shows when it is the only session. The five links of issue 17, and one of
them opened twice at once (two tabs of one user), on cold caches."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from tests.test_concurrency import at_once

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 900
LINKS = [("1_Architecture", "mlp_skip", "unit"), ("3_Prune", "lottery_mlp", "unit"),
         ("1_Architecture", "resnet_tiny", "op"), ("2_Decomposition", "densenet_tiny", "op"),
         ("3_Prune", "cnn1d", "op")]
TIMING = re.compile(r"\d+(\.\d+)? s\b")
READY = re.compile(r" — graph,? .*$")  # how long the graph took and whether a cache (another session's) had it


def _cold() -> None:
    """Caches as on a fresh server: Streamlit's and the library's."""
    st.cache_resource.clear()
    st.cache_data.clear()
    importlib.import_module("explorer.graph.build")._cached.cache_clear()
    importlib.import_module("explorer.models.load")._cached.cache_clear()


def _open(page: str, model: str, g: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "pages" / f"{page}.py"), default_timeout=TIMEOUT)
    for k, v in {"v": "1", "model": model, "g": g}.items():
        at.query_params[k] = v
    try:
        return at.run()
    except KeyError as e:  # AppTest's own bookkeeping, read after the run, raced once in a loaded full suite:
        if "SCRIPT_RUN_WITHOUT_ERRORS" not in str(e):  # not the page's error (a page's errors are elements)
            raise
        return at.run()


def seen(at: AppTest) -> dict:
    """What a person reads on the page: errors, notices, the numbers in metrics, captions and verdicts
    (durations left out, and whether the graph came from a cache another session filled)."""
    def texts(els):
        return [READY.sub(" — graph …", TIMING.sub("# s", e.value)) for e in els]
    return {"exception": [e.value for e in at.exception], "error": texts(at.error), "warning": texts(at.warning),
            "success": texts(at.success), "info": texts(at.info), "caption": texts(at.caption),
            "metric": [(m.label, m.value) for m in at.metric], "title": [t.value for t in at.title]}


@pytest.fixture(scope="module")
def together():
    """The five pages (and the first one twice) opened at once on cold caches."""
    _cold()
    return [p if isinstance(p, Exception) else seen(p)
            for p in at_once([lambda link=link: _open(*link) for link in [*LINKS, LINKS[0]]])]


@pytest.mark.parametrize("k", range(len(LINKS)), ids=[f"{p}-{m}-{g}" for p, m, g in LINKS])
def test_each_page_opened_with_others_at_once_equals_its_lone_session(together, k):
    page = together[k]
    assert not isinstance(page, Exception), page
    assert not page["exception"] and not page["error"], page["exception"] + page["error"]
    assert not any("recorded from one real forward pass" in w for w in page["warning"]), page["warning"]
    _cold()
    alone = seen(_open(*LINKS[k]))
    _same(page, alone)
    if k == 0:  # the same link in a second tab at the same time
        _same(together[-1], alone)


def _same(page: dict, alone: dict) -> None:
    for what, shown in page.items():
        assert shown == alone[what], (what, "only with others:", [x for x in shown if x not in alone[what]],
                                      "only alone:", [x for x in alone[what] if x not in shown])

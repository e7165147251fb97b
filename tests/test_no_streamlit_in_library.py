"""The library `explorer/` never imports Streamlit (STYLE.md: pages are thin, the library is plain)."""

from __future__ import annotations

import ast
import json
import pkgutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LIB = ROOT / "explorer"


def _modules() -> list[str]:
    import explorer

    names = ["explorer"]
    for m in pkgutil.walk_packages(explorer.__path__, "explorer."):
        if m.name == "explorer.__main__":
            continue  # running it would parse argv and exit
        names.append(m.name)
    return names


def test_importing_every_module_leaves_streamlit_out():
    mods = _modules()
    assert len(mods) > 5, f"found too few modules under explorer/: {mods}"
    code = (
        "import importlib, json, sys\n"
        f"mods = {mods!r}\n"
        "failed = {}\n"
        "for m in mods:\n"
        "    try:\n"
        "        importlib.import_module(m)\n"
        "    except ImportError as e:\n"
        "        failed[m] = repr(e)\n"
        "print(json.dumps({'streamlit': sorted(k for k in sys.modules if k == 'streamlit' or k.startswith('streamlit.')),"
        " 'failed': failed}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    res = json.loads(out.stdout.strip().splitlines()[-1])
    assert res["streamlit"] == [], f"importing explorer pulled in {res['streamlit'][:5]}"
    # a module that cannot be imported at all would hide a streamlit import behind it
    assert not res["failed"], f"these modules do not import: {res['failed']}"


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) in (
                "import_module", "__import__"):
            for a in node.args[:1]:
                if isinstance(a, ast.Constant) and isinstance(a.value, str):
                    found.add(a.value.split(".")[0])
    return found


def test_no_file_under_explorer_imports_streamlit():
    files = sorted(LIB.rglob("*.py"))
    assert files
    offenders = [str(f.relative_to(ROOT)) for f in files if "streamlit" in _imports(f)]
    assert offenders == [], f"library files importing streamlit (move that code to ui/ or pages/): {offenders}"


def test_the_check_itself_catches_an_import(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    import streamlit as st\n    return st\n")
    assert "streamlit" in _imports(bad)
    assert "streamlit" in _imports(_write(tmp_path / "b2.py", "from streamlit.components import v1\n"))
    assert "streamlit" not in _imports(_write(tmp_path / "ok.py", "import plotly\n"))


def _write(p: Path, text: str) -> Path:
    p.write_text(text)
    return p

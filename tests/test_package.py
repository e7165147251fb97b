"""The library as a package: `pip install .` (offline: no build isolation, no dependencies — the site's) gives
`import explorer` outside the checkout, light (no torch at import), and the `dag-explorer` command that is
`python -m explorer`; the example notebook docs/notebook.ipynb runs top to bottom and its outputs hold the
figures (plotly JSON and HTML with plotly.js in-line: no CDN)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_pip_install_gives_the_library_and_the_command(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    for f in ("pyproject.toml", "requirements.txt", "README.md"):
        shutil.copy(ROOT / f, src / f)
    shutil.copytree(ROOT / "explorer", src / "explorer", ignore=shutil.ignore_patterns("__pycache__"))
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(venv)], check=True)
    py = venv / "bin" / "python"
    r = subprocess.run([str(py), "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", str(src)],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    r = subprocess.run([str(py), "-c", "import sys, explorer; print(explorer.__file__); print('torch' in sys.modules); "
                        "print(explorer.__version__)"], cwd=elsewhere, capture_output=True, text=True, timeout=120)
    where, torch_loaded, version = r.stdout.split()
    assert str(venv) in where and torch_loaded == "False" and version == __import__("explorer").__version__
    assert (Path(where).parent / "lessons" / "results.json.gz").is_file(), "package data installed"
    r = subprocess.run([str(venv / "bin" / "dag-explorer"), "levels", "mlp_skip", "--json"], cwd=elsewhere,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    from explorer.graph.build import build_dag

    assert json.loads(r.stdout) == json.loads(build_dag("mlp_skip").dumps())
    bad = subprocess.run([str(venv / "bin" / "dag-explorer"), "levels", "no_such_model"], cwd=elsewhere,
                         capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2 and "error" in bad.stderr


def test_import_explorer_is_light():
    r = subprocess.run([sys.executable, "-c", "import sys, explorer; assert callable(explorer.show) and "
                        "callable(explorer.compare); print(sorted(m for m in ('torch', 'plotly', 'streamlit') "
                        "if m in sys.modules))"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert r.stdout.strip() == "[]", r.stderr


def test_the_example_notebook_runs_and_shows_the_figures(tmp_path):
    import nbformat  # pinned in requirements-test.txt with nbclient and ipykernel
    from nbclient import NotebookClient

    nb = nbformat.read(ROOT / "docs" / "notebook.ipynb", as_version=4)
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(ROOT)}}).execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    errors = [o for o in outputs if o.output_type == "error"]
    assert not errors, [f"{e.ename}: {e.evalue}" for e in errors]
    figures = [o for o in outputs if "application/vnd.plotly.v1+json" in o.get("data", {})]
    assert len(figures) == 4, "show ×2, compare ×2"
    for o in figures:
        html = o["data"]["text/html"]
        assert "cdn" not in html.lower()[:2000] and len(html) > 1_000_000, "plotly.js in-line (offline)"
        names = [t.get("name") for t in o["data"]["application/vnd.plotly.v1+json"]["data"]]
        assert "nodes" in names
    titles = [json.dumps(o["data"]["application/vnd.plotly.v1+json"]) for o in figures]  # colour bars are on the traces
    assert "macs (MACs)" in titles[0] and "size: params" in titles[1]
    assert "mlp_skip" in titles[2] and "kept (fraction)" in titles[3]
    diff = next(o for o in outputs if o.output_type == "execute_result" and "only in A" in o["data"].get("text/plain", ""))
    assert diff

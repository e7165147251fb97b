"""The shape of the house, checked on every run: the library's import graph has no cycle, no
module imports another's private names, one module owns the data folder, and no module or
page grows past the size at which it holds two ideas."""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx

ROOT = Path(__file__).resolve().parents[1]
MAX_MODULE_LINES = 500
MAX_PAGE_LINES = 220


def _modules() -> dict[str, Path]:
    out = {}
    for p in (ROOT / "explorer").rglob("*.py"):
        name = ".".join(p.relative_to(ROOT).with_suffix("").parts)
        out[name.removesuffix(".__init__")] = p
    return out


def _imports(mods: dict[str, Path]) -> list[tuple[str, str, str | None]]:
    """(importer, imported module, imported name or None) for every import inside the library."""
    edges = []
    for name, path in mods.items():
        pkg = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = pkg.split(".")[: len(pkg.split(".")) - node.level + 1]
                    base = ".".join(parts + ([node.module] if node.module else []))
                for a in node.names:
                    full = f"{base}.{a.name}"
                    target = full if full in mods else base
                    if target in mods and target != name:
                        edges.append((name, target, a.name if target == base else None))
            elif isinstance(node, ast.Import):
                edges += [(name, a.name, None) for a in node.names if a.name in mods and a.name != name]
    return edges


def test_no_import_cycles():
    g = nx.DiGraph((a, b) for a, b, _ in _imports(_modules()))
    cycles = [sorted(c) for c in nx.strongly_connected_components(g) if len(c) > 1]
    assert not cycles, f"import cycles: {cycles}; move the shared piece into a module both can import"


def test_no_private_names_cross_modules():
    bad = [f"{a} imports {b}.{n}" for a, b, n in _imports(_modules())
           if n and n.startswith("_") and not n.startswith("__")]
    assert not bad, f"private names imported across modules: {bad}; make them public where they are shared"


def test_one_module_reads_the_data_folder_variable():
    readers = sorted(str(p.relative_to(ROOT)) for p in _modules().values() if "EXPLORER_DATA_DIR" in p.read_text())
    assert readers == ["explorer/paths.py"], f"EXPLORER_DATA_DIR appears in {readers}; use explorer.paths"


def test_sizes_and_layout():
    big = [f"{p.relative_to(ROOT)} ({n})" for p in _modules().values()
           if (n := len(p.read_text().splitlines())) > MAX_MODULE_LINES]
    fat = [f"{p.relative_to(ROOT)} ({n})" for p in (ROOT / "pages").glob("*.py")
           if (n := len(p.read_text().splitlines())) > MAX_PAGE_LINES]
    flat = sorted(p.name for p in (ROOT / "explorer").glob("*.py") if p.name not in ("__init__.py", "__main__.py"))
    assert not big, f"modules over {MAX_MODULE_LINES} lines (two ideas in one?): {big}"
    assert not fat, f"pages over {MAX_PAGE_LINES} lines (logic belongs in explorer/ or ui/): {fat}"
    assert flat == ["paths.py"], f"flat modules at the explorer/ root: {flat}; put them in their concept's package"

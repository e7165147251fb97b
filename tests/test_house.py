"""The shape of the house, checked on every run: the library's import graph has no cycle between
modules or packages and no import reaching up the layers of `explorer.LAYERS`, no module imports
another's private names, one module owns the data folder, and no module or page grows past the
size at which it holds two ideas."""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx

ROOT = Path(__file__).resolve().parents[1]
MAX_MODULE_LINES = 500
MAX_PAGE_LINES = 220


def _modules(root: Path = ROOT) -> dict[str, Path]:
    out = {}
    for p in (root / "explorer").rglob("*.py"):
        name = ".".join(p.relative_to(root).with_suffix("").parts)
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


def layers(root: Path = ROOT) -> list[tuple[str, ...]]:
    """`explorer.LAYERS`, read from the source (nothing is imported, so a test tree can declare its own)."""
    for node in ast.parse((root / "explorer" / "__init__.py").read_text()).body:
        if isinstance(node, ast.AnnAssign | ast.Assign):
            target = node.target if isinstance(node, ast.AnnAssign) else node.targets[0]
            if getattr(target, "id", "") == "LAYERS":
                return [tuple(layer) for layer in ast.literal_eval(node.value)]
    raise AssertionError("explorer/__init__.py declares no LAYERS")


def package_problems(root: Path = ROOT) -> tuple[list[str], list[str], list[str]]:
    """(cycles between packages, imports reaching up the layers, packages in no layer) of the library
    under `root`. A module's package is its first name under `explorer` (`explorer.paths` is `paths`);
    every import counts, lazy ones inside functions included; `explorer.__main__` is the entry point."""
    order = layers(root)
    rank = {pkg: i for i, layer in enumerate(order) for pkg in layer}
    mods = _modules(root)
    edges: dict[tuple[str, str], str] = {}
    for a, b, _ in _imports(mods):
        pa, pb = a.split(".")[1:2], b.split(".")[1:2]
        if pa and pb and pa != pb and pa[0] != "__main__":
            edges.setdefault((pa[0], pb[0]), f"{a} imports {b}")
    for name, path in mods.items():  # the app's view code is above every layer of the library
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else []
            for n in names:
                if n.split(".")[0] in ("ui", "pages", "app"):
                    edges.setdefault((name.split(".")[1], "ui"), f"{name} imports {n}")
    rank["ui"] = len(order)
    g = nx.DiGraph(list(edges))
    cycles = [" <-> ".join(sorted(c)) for c in nx.strongly_connected_components(g) if len(c) > 1]
    packages = {n.split(".")[1] for n in mods if n.count(".")} - {"__main__"}
    unplaced = sorted(packages - set(rank))
    upward = sorted(f"{why} ({a}, layer {rank[a]}, reaches up to {b}, layer {rank[b]})"
                    for (a, b), why in edges.items() if a in rank and b in rank and rank[b] > rank[a])
    return cycles, upward, unplaced


def test_packages_form_the_declared_layers():
    cycles, upward, unplaced = package_problems()
    assert not unplaced, f"packages in no layer of explorer.LAYERS: {unplaced}; add each to its layer"
    assert not cycles, f"package import cycles: {cycles}; move the shared piece down to a package both can import"
    assert not upward, ("imports reaching up the layers of explorer.LAYERS: " + "; ".join(upward)
                        + "; move the code down, or pass what it needs in from above")


def test_the_layer_check_catches_a_bad_import(tmp_path):
    """The check above, on a small tree that breaks it twice: an upward import and a cycle."""
    def write(rel: str, text: str = "") -> None:
        f = tmp_path / "explorer" / rel
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text(text)

    write("__init__.py", 'LAYERS = (("paths",), ("models",), ("graph", "lifting"))\n')
    write("paths.py")
    write("models/__init__.py")
    write("models/load.py", "def f():\n    from explorer.graph.dag import Dag  # lazy, upward\n")
    write("graph/__init__.py")
    write("graph/dag.py", "from explorer.lifting.base import L\nfrom explorer import paths\n")
    write("lifting/__init__.py")
    write("lifting/base.py", "import explorer.graph.dag\nL = 1\n")
    cycles, upward, unplaced = package_problems(tmp_path)
    assert cycles == ["graph <-> lifting"] and unplaced == []
    assert len(upward) == 1 and upward[0].startswith("explorer.models.load imports explorer.graph.dag (models")
    write("lottery/__init__.py")
    assert package_problems(tmp_path)[2] == ["lottery"]
    assert package_problems()[0:2] == ([], []), "the real tree keeps its layers"


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

"""The layers of DESIGN.md hold in the code: every import points down the layers, no two modules import each other
(directly or through others), and jobs reach the model only through the predictor's public API.

Imports inside functions count as much as those at the top of a file: a lazy import still ties the two layers.
"""
from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "socialgraph"

#: Packages of ``socialgraph`` by layer, lowest first (docs/architecture.md draws the same picture). A module may
#: import its own package and any package of a lower layer, nothing else.
LAYERS: list[set[str]] = [
    {"(root)"},                     # paths, storage, the configuration machinery
    {"data"},                       # the graph container, files, splits, negatives, graph primitives
    {"encoders", "eval", "synth"},  # modality encoders; metrics, heuristics, baselines; synthetic graphs
    {"model"},                      # fusion, attention layers, heads, link scorer
    {"bundle"},                     # what training produces: config, fitted model, calibration, the folder
    {"train", "predictor"},         # training writes bundles, the predictor reads them: neither imports the other
    {"jobs", "serve"},              # the offline suggestion job and the HTTP service, on the predictor's public API
    {"bench"},                      # benchmark suites
    {"cli"},                        # the command line, on top of everything
]
LEVEL = {pkg: i for i, layer in enumerate(LAYERS) for pkg in layer}
ROOT_MODULES = {"config", "paths", "storage", "version"}


def _module(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _package(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] not in ROOT_MODULES else "(root)"


def _imports(path: Path) -> set[str]:
    """Every ``socialgraph`` module that ``path`` imports (``from a import b`` names ``a.b`` when that is a module)."""
    mod = _module(path)
    base = mod.split(".") if path.name == "__init__.py" else mod.split(".")[:-1]
    out = set()
    tree = ast.parse(path.read_text())
    typing_only = {id(n) for block in ast.walk(tree) if isinstance(block, ast.If) and _is_type_checking(block.test)
                   for stmt in block.body for n in ast.walk(stmt)}
    for node in ast.walk(tree):
        if id(node) in typing_only:  # annotations only: never imported at run time
            continue
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.split(".")[0] == "socialgraph"}
        elif isinstance(node, ast.ImportFrom):
            target = node.module or ""
            if node.level:
                target = ".".join(base[:len(base) - node.level + 1] + ([target] if target else []))
            if target.split(".")[0] != "socialgraph":
                continue
            for a in node.names:
                sub = f"{target}.{a.name}"
                out.add(sub if _exists(sub) else target)
    return out


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or \
        (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _exists(module: str) -> bool:
    p = ROOT.parent.joinpath(*module.split("."))
    return p.with_suffix(".py").exists() or (p / "__init__.py").exists()


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    files = sorted(ROOT.rglob("*.py"))
    assert len(files) > 50
    return {_module(p): {m for m in _imports(p) if _exists(m)} for p in files}


def test_imports_point_down_the_layers(graph):
    assert set(LEVEL) >= {_package(m) for m in graph}, "a package is missing from LAYERS"
    wrong = []
    for mod, targets in graph.items():
        if mod == "socialgraph":  # the package's lazy `socialgraph.Predictor` is the public front door
            continue
        a = _package(mod)
        for t in targets:
            b = _package(t)
            if a != b and LEVEL[b] >= LEVEL[a]:
                wrong.append(f"{mod} -> {t} ({a} is layer {LEVEL[a]}, {b} layer {LEVEL[b]})")
    assert not wrong, "imports up or across the layers:\n" + "\n".join(sorted(wrong))


def test_no_import_cycles(graph):
    # Tarjan's strongly connected components over modules; a package's __init__ importing its own modules is a
    # cycle with any of them that imports the package back, which counts too.
    index, low, stack, on, cycles = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                cycles.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    assert not cycles, f"modules that import each other: {cycles}"


def test_no_package_cycles(graph):
    edges = defaultdict(set)
    for mod, targets in graph.items():
        for t in targets:
            if _package(mod) != _package(t) and mod != "socialgraph":
                edges[_package(mod)].add(_package(t))
    both = sorted({tuple(sorted((a, b))) for a in edges for b in edges[a] if a in edges.get(b, ())})
    assert not both, f"packages that import each other: {both}"


def test_jobs_and_serve_use_only_the_predictor_public_api(graph):
    for mod, targets in graph.items():
        if _package(mod) not in ("jobs", "serve"):
            continue
        reach = {t for t in targets if _package(t) in ("model", "bundle", "train", "encoders")}
        private = {t for t in targets if t.startswith("socialgraph.predictor.")}
        assert not reach and not private, f"{mod} imports {sorted(reach | private)}; use socialgraph.predictor"


def test_the_layer_check_sees_an_upward_import(tmp_path):
    # The checks above would pass on a parser that found no imports at all: make sure they read real ones.
    p = ROOT / "data" / "graph.py"
    found = _imports(p)
    assert "socialgraph.data.schema" in found
    assert any(_package(t) == "model" for t in _imports(ROOT / "bundle" / "fitted.py"))

"""The layer diagram of docs/design.md, enforced: a module imports only from its own package or from lower layers.

Every ``import medms…`` counts, including imports inside functions (a late import is still an arrow).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "medms"

#: Layer of each top-level module or package of medms (docs/design.md draws the same table).
LAYERS: dict[str, int] = {
    "__init__": 0,  # the root: __version__ only
    "errors": 1,
    "atomic": 2,
    "_torchfile": 2,
    "config": 2,
    "datasets": 2,
    "provenance": 3,
    "tables": 3,
    "io": 3,
    "synthetic": 4,
    "sample_data": 5,  # deprecated alias of synthetic
    "transforms": 5,
    "networks": 5,
    "metrics": 5,
    "testing": 5,
    "checkpoint": 6,
    "engine": 7,
    "report": 7,
    "bundles": 8,
    "demo": 9,
    "cli": 10,
}
#: Arrows the layers alone would allow but the design forbids.
FORBIDDEN = {("metrics", "io"), ("io", "networks"), ("io", "transforms")}


def _top(module: str) -> str:
    """The top-level module or package of ``medms.x.y`` (a name of the root package itself → the root)."""
    part = module.split(".")[1] if "." in module else "__init__"
    return part if (PACKAGE / part).is_dir() or (PACKAGE / f"{part}.py").is_file() else "__init__"


def _modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("medms.")}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith("medms"):
            module = node.module or ""
            found |= {f"{module}.{a.name}" if module == "medms" else module for a in node.names}
    return found


def _package_of(path: Path) -> str:
    rel = path.relative_to(PACKAGE)
    return rel.parts[0].removesuffix(".py") if len(rel.parts) > 1 or rel.stem != "__init__" else "__init__"


def test_every_module_has_a_layer():
    assert {_package_of(p) for p in _modules()} <= set(LAYERS)


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_point_down(path):
    own = _package_of(path)
    wrong = []
    for module in sorted(_imports(path)):
        target = _top(module)
        if target == own or target == "__init__":
            continue
        if target not in LAYERS:
            wrong.append(f"{module} (no layer)")
        elif LAYERS[target] >= LAYERS[own] or (own, target) in FORBIDDEN:
            wrong.append(
                f"{module} (layer {LAYERS[target]} ≥ {LAYERS[own]})"
                if LAYERS[target] >= LAYERS[own]
                else module
            )
    assert not wrong, f"{path.relative_to(PACKAGE)} ({own}, layer {LAYERS[own]}) imports upward: {wrong}"


def test_the_test_itself_catches_an_upward_arrow(tmp_path):
    bad = tmp_path / "x.py"
    bad.write_text("def f():\n    from medms.report import evaluate\n    import medms.cli\n")
    assert _imports(bad) == {"medms.report", "medms.cli"}
